# Tries: reach str.format_map unchecked through super() on a str subclass.
# Must: SecurityError (the field reads a special attribute the guards refuse).
class S(str):
    pass
s = S('{x.__globals__}')
super(S, s).format_map({"x": len})
