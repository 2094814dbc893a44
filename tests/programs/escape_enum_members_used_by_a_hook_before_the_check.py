# Tries: use an Enum's members from a hook that runs while the class is being built,
# before any check after the class statement. EnumType makes each member in type.__new__
# (_proto_member.__set_name__), then type.__new__ runs the program's __init_subclass__:
# there C code (map(operator.call, cls, ...)) called a member of an Enum over
# functools.partial holding the sandbox's print, which the membrane hands out only as a
# crossing. Also a class kept by a descriptor's __set_name__ that runs before the member
# is made, then iterated by C code after its statement failed. Must: the member is refused
# as it is made and is in none of the class's tables, so neither the hook nor C code sees
# it; an Enum over partial of the program's own function works.
import enum
import functools
import itertools
import operator

called = []


class Hook:
    def __init_subclass__(cls, **kw):
        called.append(list(map(operator.call, cls, ["printed by a member the membrane refuses"])))


outcome = []
try:

    class Printing(Hook, functools.partial, enum.Enum):
        A = (print,)

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
        A = (print,)

except Exception as e:
    outcome.append(type(e).__name__)
called_later = list(map(operator.call, itertools.chain.from_iterable(kept), ["printed by a refused member"]))


def double(x):
    return 2 * x


class Ops(functools.partial, enum.Enum):
    DOUBLE = (double,)


[outcome, called, called_later, Ops.DOUBLE(4)]
