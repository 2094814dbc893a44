# Tries: reach str.format unchecked through super() on a str subclass.
# Must: SecurityError (the field reads a special attribute the guards refuse).
class S(str):
    pass
s = S('{0.__globals__}')
super(S, s).format(len)
