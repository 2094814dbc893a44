# Tries: copy the worker's stdout wrapper, to get its real stream in the copy's state.
# Must: SecurityError (the program cannot hold the wrapper) or TypeError (it cannot be
# copied).
import copy, pprint
class P(pprint.PrettyPrinter):
    pass
copy.copy(P()._stream)
