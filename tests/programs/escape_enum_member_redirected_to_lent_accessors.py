# Tries: EnumType puts a member whose name a base class defines as a property, or as any
# object with fget/fset/fdel attributes (its test is hasattr), behind a new enum.property
# with those accessors, inside type.__new__. Lent by a program base under a name
# PrettyPrinter keeps state by (_stream), the accessor (a C callable) received the
# worker's stream from PrettyPrinter.__init__ run on another member. Here: a program
# object with the three attributes, a real property with a C setter, a function carrying
# the three as attributes, a function given them only while type.__new__ runs (by a
# descriptor's __set_name__ earlier in the body), and the functional API. Must: each
# refused before the class exists; members named like a base's ordinary attribute, or like a str method, work.
import enum
import pprint

box = {}


def outcome(action):
    try:
        action()
    except Exception as error:  # noqa: BLE001
        return type(error).__name__
    return "done"


class PPEnum(pprint.PrettyPrinter, enum.Enum):
    pass


class Holder:
    def __init__(self, fset):
        self.fget, self.fset, self.fdel = None, fset, None


class ByHolder:
    _stream = Holder(box.setdefault)


class ByProperty:
    _stream = property(None, box.setdefault)


def carrier():
    return None


carrier.fget, carrier.fset, carrier.fdel = None, box.setdefault, None


class ByFunction:
    _stream = carrier


def bare():
    return None


class ByBareFunction:
    _stream = bare


class Arm:
    def __set_name__(self, owner, name):
        bare.fget, bare.fset, bare.fdel = None, box.setdefault, None

    def __get__(self, obj, kind=None):
        return self


def armed():
    class E(ByBareFunction, PPEnum):
        arm = Arm()
        _stream = ()
        a = ()


def lend(lender):
    def make():
        class E(lender, PPEnum):
            _stream = ()
            a = ()

    return make


def functional():
    enum.Enum("F", [("_stream", ()), ("a", ())], type=ByHolder)


class Base:
    label = "plain"


class Kind(Base, enum.Enum):
    label = 1
    other = 2


class Field(str, enum.Enum):
    title = "title"
    count = "count"


[
    [
        outcome(lend(ByHolder)),
        outcome(lend(ByProperty)),
        outcome(lend(ByFunction)),
        outcome(armed),
        outcome(functional),
    ],
    box,
    Kind.label.value,
    Field.title.value + Field.count.upper(),
]
