# Tries: reach str.format unchecked through super() on a str subclass.
# Must: SecurityError.
class S(str):
    pass
s = S('{0.real}')
super(S, s).format(1)
