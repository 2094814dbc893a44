# Tries: return a dict subclass whose items() raises, to break the worker's reporting of
# the result. Must: the result is described: "<unrepresentable D>".
class D(dict):
    def items(self):
        raise ValueError('no')
D(a=1)
