# Tries: make EnumType run a library class's __repr__ on the program's own objects. With a
# library mixin that has a Python __repr__ but no __new__ (statistics.NormalDist), EnumType
# takes the mixin's __repr__ as the members' _value_repr_ although the values stay what the
# class body gave, so repr(member) ran NormalDist.__repr__ on a Probe, reading attributes
# the library meant for its own instances; also from __init_subclass__, while the class
# is still being built, and through a Flag's pseudo-member, whose value is whatever the
# caller gave. Must: the library function runs only on an instance of its class (a
# SecurityError otherwise, whenever it is called); an Enum whose values are instances of
# the mixin (float), or of the program's own dataclass, keeps CPython's repr.
import dataclasses
import enum
import statistics
import typing


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

shown = []


class Hook:
    def __init_subclass__(cls, **kw):
        try:
            shown.append(repr(cls.A))  # while the class is being built
        except Exception as e:
            shown.append(type(e).__name__)


class Early(Hook, statistics.NormalDist, enum.Enum):
    A = probe

    def __repr__(self):
        return super(statistics.NormalDist, self).__repr__()


class Mixin(typing.NewType, int):  # a library Python __repr__, no __new__; int is the data type
    def __init__(self, *args):
        pass

    # NewType's own __or__/__ror__ build typing unions: plain int arithmetic instead
    def __or__(self, other):
        return int(self) | int(other)

    def __ror__(self, other):
        return int(other) | int(self)

    def __and__(self, other):
        return int(self) & int(other)

    def __rand__(self, other):
        return int(other) & int(self)

    def __xor__(self, other):
        return int(self) ^ int(other)

    def __rxor__(self, other):
        return int(other) ^ int(self)


class Bits(Mixin, enum.Flag):
    A = 1
    B = 2


class Liar(int):
    def __and__(self, other):
        return 0

    def __rand__(self, other):
        return 0


try:
    outcome.append(repr(Bits(Liar(0))))  # a pseudo-member whose value is the Liar
except Exception as e:
    outcome.append(type(e).__name__)


class Rate(float, enum.Enum):
    LOW = 0.5


@dataclasses.dataclass
class Point:
    x: int


class Corner(Point, enum.Enum):
    ORIGIN = 0


[outcome, shown, probe.read, repr(Rate.LOW), repr(Corner.ORIGIN)]
