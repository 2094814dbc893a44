# Tries: reach str.format_map unchecked through super() on a str subclass.
# Must: SecurityError.
class S(str):
    pass
s = S('{x.real}')
super(S, s).format_map({'x': 1})
