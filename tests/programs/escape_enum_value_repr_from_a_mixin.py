# Tries: make EnumType run a library class's __repr__ on the program's own objects. With a
# library mixin that has a Python __repr__ but no __new__ (statistics.NormalDist), EnumType
# takes the mixin's __repr__ as the members' _value_repr_ although the values stay what the
# class body gave, so repr(member) ran NormalDist.__repr__ on a Probe, reading attributes
# the library meant for its own instances. Must: such a class is refused; an Enum whose
# values are instances of the mixin (float), or of the program's own dataclass, keeps
# CPython's repr.
import dataclasses
import enum
import statistics


class Probe:
    def __init__(self):
        self.read = []

    def __float__(self):
        return 1.0

    def __getattr__(self, name):
        self.read.append(name)
        return 1.5


probe = Probe()
outcome = []
try:

    class Shown(statistics.NormalDist, enum.Enum):
        A = probe

        def __repr__(self):  # Enum's __repr__, which shows the value with _value_repr_
            return super(statistics.NormalDist, self).__repr__()

    outcome.append(repr(Shown.A))
except Exception as e:
    outcome.append(type(e).__name__)


class Rate(float, enum.Enum):
    LOW = 0.5


@dataclasses.dataclass
class Point:
    x: int


class Corner(Point, enum.Enum):
    ORIGIN = 0


[outcome, probe.read, repr(Rate.LOW), repr(Corner.ORIGIN)]
