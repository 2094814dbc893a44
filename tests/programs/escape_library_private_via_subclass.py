# Tries: read a library class's private attribute through a subclass of its own.
# Must: SecurityError.
import pprint
class PP(pprint.PrettyPrinter):
    pass
PP._dispatch
