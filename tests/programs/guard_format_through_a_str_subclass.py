# Tries: traverse attributes in a format field through a str subclass's format().
# Must: SecurityError.
class S(str):
    pass
s = S('{0.real}')
s.format(1)
