# Tries: have functools.update_wrapper write its attributes onto a library class.
# Must: SecurityError.
import functools, json
def f():
    pass
functools.update_wrapper(json.JSONEncoder, f)
