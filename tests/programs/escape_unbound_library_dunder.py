# Tries: read a library class's __init__ through a subclass of its own.
# Must: SecurityError.
import json
class D(json.JSONDecoder):
    pass
D.__init__
