# Tries: read a library class's __init__ through a subclass of its own, then run it with
# a self the library never made (a module proxy, the program's unrelated object), to
# rewrite that object's attributes with the library's code.
# Must: SecurityError (held unbound, it runs only on an instance of the class read).
import json
import string
class D(json.JSONDecoder):
    pass
init = D.__init__
try:
    init(string, object_hook=print)
except Exception as exc:
    print(type(exc).__name__)
class Other:
    pass
init(Other(), object_hook=print)
