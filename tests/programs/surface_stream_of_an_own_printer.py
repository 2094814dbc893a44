# Tries: reach the worker's stdout through pprint.PrettyPrinter's _stream, on a subclass of its own.
# Must: SecurityError: the worker's stream (its wrapper or a real file object) is not
# something a program may hold.
import pprint
class P(pprint.PrettyPrinter):
    pass
type(P()._stream).__name__
