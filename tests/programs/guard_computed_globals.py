# Tries: read a function's __globals__ under a name built at run time.
# Must: SecurityError.
name = '__glob' + 'als__'
def f():
    pass
getattr(f, name)
