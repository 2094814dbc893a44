# Tries: make `case G(x)` read x = subject.gi_frame with the real getattr, through a
# dataclass field named gi_frame. Must: TypeError (G() accepts 0 positional sub-patterns).
import dataclasses, abc
@dataclasses.dataclass
class G(abc.ABC):
    gi_frame: int
match G(0):
    case G(x):
        pass
