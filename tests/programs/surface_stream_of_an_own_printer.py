# Tries: reach the worker's stdout through pprint.PrettyPrinter's _stream, on a subclass of its own.
# Must: find the worker's OutputStream wrapper, never a real file object.
import pprint
class P(pprint.PrettyPrinter):
    pass
type(P()._stream).__name__
