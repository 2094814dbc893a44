# Tries: copy the worker's stdout wrapper, to get its real stream in the copy's state.
# Must: TypeError (the wrapper cannot be copied).
import copy, pprint
class P(pprint.PrettyPrinter):
    pass
copy.copy(P()._stream)
