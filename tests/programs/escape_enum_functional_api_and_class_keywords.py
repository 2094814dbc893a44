# Tries: the Enum functional API skipped rules the class statement applies, depending on
# how the members were spelled: (name, value) pairs holding a property with a C setter
# under json.JSONDecoder's state (scan_once), the same as a dict without type= on a program
# enum that already has the library data type, a private hook lent by the program's type=
# mixin (pprint's _format as a C callable); and through the class statement itself,
# `boundary=Window()` ran the program's __bool__ inside EnumType.__new__, after the
# factory's checks, where it wrote the hook onto a program base (pass 43).
# Must: the functional API builds its class as a class statement does (the same rules),
# a library metaclass's keyword cannot be the program's object; every ordinary spelling of
# the functional API still works.
import enum
import functools
import json
import pprint

box = []


def outcome(action):
    try:
        action()
    except Exception as error:  # noqa: BLE001
        return type(error).__name__
    return "done"


def pairs():
    enum.Enum("E1", [("scan_once", property(None, box.append)), ("a", ())], type=json.JSONDecoder)


class JEnum(json.JSONDecoder, enum.Enum):
    pass


def dict_without_type():
    JEnum("J2", {"parse_string": property(None, box.append), "a": ()})


class Hooks:
    pass


Hooks._format = functools.partial(max, key=box.append)


class PPEnum(pprint.PrettyPrinter, enum.Enum):
    pass


def lent_hook():
    PPEnum("E3", [("a", ())], type=Hooks).a.pprint([1])


class Window:
    def __bool__(self):
        return False


def boundary_window():
    class F(enum.Flag, boundary=Window()):
        A = 1


Color = enum.Enum("Color", "RED GREEN, BLUE")
Listed = enum.Enum("Listed", ["A", "B"], start=10)
Paired = enum.IntEnum("Paired", [("X", 5), ("Y", 7)])
Mapped = enum.Enum("Mapped", {"ON": True, "OFF": False}, qualname="Switch")
Strict = enum.Flag("Strict", "R W X", boundary=enum.STRICT)


class Perm(enum.Flag, boundary=enum.CONFORM):
    R = 4
    W = 2


[
    [outcome(pairs), outcome(dict_without_type), outcome(lent_hook), outcome(boundary_window)],
    box,
    [Color.BLUE.value, Listed.B.value, Paired.Y + 1, Mapped.ON.value, Mapped.__qualname__, Strict.W.value],
    [Color.__module__, (Perm.R | Perm.W).value],
]
