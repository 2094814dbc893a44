# Tries: set p._dispatch on the program's instance, so the private-name check sees it
# in the instance dict, then read super(PP, p)._dispatch, which skips the instance dict
# and returns pprint's shared dispatch table. Must: SecurityError.
import pprint
class PP(pprint.PrettyPrinter):
    pass
p = PP()
p._dispatch = None
super(PP, p)._dispatch
