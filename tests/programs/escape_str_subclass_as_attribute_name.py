# Tries: name an attribute with a str subclass whose startswith() lies, so that the
# name check passes __globals__. Must: SecurityError.
import json
class S(str):
    def startswith(self, p):
        return False
getattr(json.dumps, S('__glob' + 'als__'))
