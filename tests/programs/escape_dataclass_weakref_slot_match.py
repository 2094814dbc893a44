# Tries: dataclass(weakref_slot=True) sets __match_args__ and only then raises, skipping
# the sanitizer; with a field named gi_frame, G registered for heapq.merge's generator
# type, `case G(f)` reads the generator's real frame. Must: not bind a frame: TypeError
# (no positional sub-patterns) or SecurityError (the capture refused).
import dataclasses, abc, heapq
class G(abc.ABC):
    gi_frame: int
try:
    dataclasses.dataclass(G, weakref_slot=True)
except TypeError:
    pass
G.register(type(heapq.merge([1])))
match heapq.merge([1]):
    case G(f):
        captured = f
captured
