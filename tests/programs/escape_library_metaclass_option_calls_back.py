# Tries: EnumType reads its boundary keyword (`boundary or ...`) after the class factory's
# checks and before type.__new__; a library container around the program's object
# (ChainMap(obj), whose truth value asks obj) ran the program's __bool__ in that window,
# which wrote a private hook onto a program base the class then inherited. The same for
# _TypedDictMeta's total. Must: a library metaclass's own options take only their exact
# values (boundary: None or a FlagBoundary member; total: True or False); Flag with a
# boundary and a non-total TypedDict keep working.
import collections
import enum
import functools
import pprint
import typing

got = []


class Lender:
    pass


class Window:
    def __bool__(self):
        Lender._format = functools.partial(max, key=got.append)
        return False


class PPEnum(pprint.PrettyPrinter, enum.Enum):
    pass


def outcome(action):
    try:
        action()
    except Exception as error:  # noqa: BLE001
        return type(error).__name__
    return "done"


def boundary_window():
    class E(Lender, PPEnum, boundary=collections.ChainMap(Window())):
        a = ()


def total_window():
    class T(typing.TypedDict, total=collections.ChainMap(Window())):
        x: int


class Perm(enum.Flag, boundary=enum.STRICT):
    R = 4
    W = 2


class Movie(typing.TypedDict, total=False):
    title: str


[
    [outcome(boundary_window), outcome(total_window)],
    got,
    (Perm.R | Perm.W).value,
    sorted(Movie.__optional_keys__),
    enum.Flag("Dyn", "A B", boundary=enum.KEEP).B.value,
]
