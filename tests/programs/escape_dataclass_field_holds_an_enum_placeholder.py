# Tries: get enum's member placeholder out inside a holder the membrane took as plain.
# dataclass() run on an Enum from a hook while EnumType builds it reads a later member's
# default with the real getattr: the placeholder, stored in a Field that fields() hands
# out. Placed as enum.nonmember(field) in another Enum's body, Field.__set_name__ passes
# its default to the placeholder's own __set_name__, which makes a member there that the
# member checks never saw (with a program base lending accessors, a redirect onto
# pprint's stream). Must: dataclass() waits for the class statement to finish, and no
# holder (Field, enum.member/nonmember, cached_property, enum.property) is held with a
# value the membrane would refuse; the ordinary uses of each keep working.
import dataclasses
import enum
import functools

got = []


def outcome(action):
    try:
        action()
    except Exception as error:  # noqa: BLE001
        return type(error).__name__
    return "done"


class Grab:
    def __set_name__(self, owner, name):
        got.append(outcome(lambda: dataclasses.dataclass(owner)))
        got.append(outcome(lambda: dataclasses.fields(owner)))

    def __get__(self, obj, kind=None):
        return self


class Src(enum.Enum):
    grab = Grab()
    zq: int = 5


@dataclasses.dataclass
class Record:
    a: int = 1
    tags: list = dataclasses.field(default_factory=list)


class Colour(enum.Enum):
    RED = 1
    SCALE = enum.nonmember(10)

    @enum.property
    def doubled(self):
        return self.value * 2


class Lazy:
    @functools.cached_property
    def total(self):
        return 42


[
    got,
    [f.name for f in dataclasses.fields(Record)],
    Record(),
    Colour.SCALE,
    Colour.RED.doubled,
    Lazy().total,
    [m.name for m in Src],
]
