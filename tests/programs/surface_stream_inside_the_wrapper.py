# Tries: reach the real stream inside the worker's stdout wrapper (its _stream).
# Must: SecurityError.
import pprint
class P(pprint.PrettyPrinter):
    pass
P()._stream._stream
