# Tries: make `case G(x)` read x = subject.gi_frame with the real getattr, through a
# typing.NamedTuple field named gi_frame. Must: TypeError (G() accepts 0 positional sub-patterns).
import typing
class G(typing.NamedTuple):
    gi_frame: int
match G(0):
    case G(x):
        pass
