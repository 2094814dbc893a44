# Tries: make `case G(x)` read x = subject.gi_frame with the real getattr, through a
# namedtuple field named gi_frame. Must: TypeError (G() accepts 0 positional sub-patterns).
import collections
G = collections.namedtuple('G', ['gi_frame'])
match G(0):
    case G(x):
        pass
