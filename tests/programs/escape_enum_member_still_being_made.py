# Tries: hold an Enum member before EnumType has made it. While type.__new__ calls
# __set_name__ on the class's attributes, the names of later members still hold
# enum._proto_member placeholders: a program object's __set_name__ (or a mixin's
# __init__ reading its own class) can read one. Placed in another Enum's body (bare, as
# enum.nonmember(...) or as a dataclasses.field default), its __set_name__ runs
# EnumType's member machinery under a name the member checks never saw, and puts a
# redirect to library accessors there. Must: the placeholder is never held; a
# __set_name__ hook that reads the class's ordinary attributes keeps working.
import enum

got = []


def outcome(action):
    try:
        action()
    except Exception as error:  # noqa: BLE001
        return type(error).__name__
    return "done"


class Peek:
    def __init__(self, name):
        self.name = name

    def __set_name__(self, owner, name):
        got.append(getattr(owner, self.name))


def read_a_later_member():
    class E(enum.Enum):
        a = enum.nonmember(Peek("b"))
        b = 2


def read_through_the_class_dict():
    class E(enum.Enum):
        a = enum.nonmember(Peek("c"))
        c = 3

    return E


def mixin_reads_its_class():
    class Mixin:
        def __init__(self, *args):
            got.append(type(self).later)

    class E(Mixin, enum.Enum):
        first = 1
        later = 2


class Label:
    def __set_name__(self, owner, name):
        self.seen = [name, owner.unit]


class Size(enum.Enum):
    unit = enum.nonmember("cm")
    label = enum.nonmember(Label())
    SMALL = 1
    LARGE = 2


[
    [outcome(read_a_later_member), outcome(read_through_the_class_dict), outcome(mixin_reads_its_class)],
    [type(x).__name__ for x in got],
    Size.label.seen,
    [m.name for m in Size],
]
