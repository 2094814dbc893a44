# Tries: use an Enum's members from a hook that runs while the class is being built,
# before any check after the class statement. EnumType makes each member in type.__new__
# (_proto_member.__set_name__), then type.__new__ runs the program's __init_subclass__:
# there C code (map(operator.call, cls, ...)) called a member of an Enum over
# functools.partial holding a value the membrane refuses (a class whose statement failed,
# copied by C code out of the list a hook filled). Also a class kept by a descriptor's
# __set_name__ that runs before the member is made, then iterated by C code after its
# statement failed. Must: the member is refused
# as it is made and is in none of the class's tables, so neither the hook nor C code sees
# it; an Enum over partial of the program's own function works.
import enum
import functools
import itertools
import operator


def a_value_the_membrane_refuses():
    """A tuple C code copied out of a list a hook filled: it holds a class whose statement
    failed, which no route may hand the program."""
    kept = []

    class Keep:
        def __set_name__(self, owner, name):
            kept.append(owner)

    class Fail:
        def __set_name__(self, owner, name):
            raise ValueError("abandoned")

    try:

        class Abandoned:
            keep = Keep()
            fail = Fail()

    except RuntimeError:  # the interpreter's wrapping of what __set_name__ raised
        pass
    return tuple(kept)


REFUSED = a_value_the_membrane_refuses()

called = []


class Hook:
    def __init_subclass__(cls, **kw):
        called.append(list(map(operator.call, cls, ["called by a member the membrane refuses"])))


outcome = []
try:

    class Printing(Hook, functools.partial, enum.Enum):
        A = REFUSED

    outcome.append("class made")
except Exception as e:
    outcome.append(type(e).__name__)


kept = []


class Keep:
    def __set_name__(self, owner, name):
        kept.append(owner)

    def __get__(self, instance, owner=None):
        return 0


try:

    class Printing2(functools.partial, enum.Enum):
        keep = Keep()
        A = REFUSED

except Exception as e:
    outcome.append(type(e).__name__)
called_later = list(map(operator.call, itertools.chain.from_iterable(kept), ["called by a refused member"]))


def double(x):
    return 2 * x


class Ops(functools.partial, enum.Enum):
    DOUBLE = (double,)


[outcome, called, called_later, Ops.DOUBLE(4)]
