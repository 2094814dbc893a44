# Tries: an Enum whose data type is property. The class statement sees each member's
# value as a tuple; EnumType then builds the member as property(*value), a data
# descriptor stored under the member's name. Named like state a library base keeps
# (PrettyPrinter's _stream) it intercepts the library __init__'s own store and its C
# setter keeps the worker's stream; named like a private hook (_format) its getter hands
# pprint a C callable. The functional API (type=property) the same. Must: every Enum whose
# members would be descriptors is refused; Enums over int, str and a dataclass keep
# working.
import dataclasses
import enum
import functools
import pprint

box = {}
got = []


def outcome(action):
    try:
        action()
    except Exception as error:  # noqa: BLE001
        return type(error).__name__
    return "done"


class PPEnum(pprint.PrettyPrinter, enum.Enum):
    pass


def state_member():
    class E(property, PPEnum):
        _stream = (None, box.setdefault)
        a = ("lib",)

        def __init__(self, *args):
            if args == ("lib",):
                super(property, self).__init__()
            else:
                super().__init__(*args)


def hook_member():
    grab = functools.partial(max, key=got.append)

    class E(property, PPEnum):
        _format = None
        a = ("lib",)

        def __init__(self, *args):
            if args == ("lib",):
                super(property, self).__init__()
            else:
                super().__init__(lambda member: grab)

    E.a.pprint([1, 2])


def functional():
    enum.Enum("F", {"a": (None, box.setdefault)}, type=property)


def own_descriptor():
    class G(enum.Enum):
        a = 1

        def __get__(self, obj, kind=None):
            return self


class Level(int, enum.Enum):
    LOW = 1
    HIGH = 2


class Colour(str, enum.Enum):
    RED = "red"


@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    y: int


class Corner(Point, enum.Enum):
    ORIGIN = (0, 0)
    FAR = (3, 4)


[
    [outcome(state_member), outcome(hook_member), outcome(functional), outcome(own_descriptor)],
    box,
    got,
    Level.HIGH > Level.LOW,
    Colour.RED.upper(),
    Corner.FAR.x + Corner.FAR.y,
]
