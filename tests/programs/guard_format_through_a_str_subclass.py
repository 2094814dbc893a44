# Tries: traverse attributes in a format field through a str subclass's format().
# Must: SecurityError (the field reads a special attribute the guards refuse).
class S(str):
    pass
s = S('{0.__globals__}')
s.format(len)
