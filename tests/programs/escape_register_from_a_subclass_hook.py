# Tries: ABC.register's guard refuses an ABC that is a sequence registering a library
# class (register copies the ABC's collection flag onto it, worker-wide), but the real
# register first runs the program's __subclasshook__ (issubclass): the hook made the ABC
# a sequence by registering it under one of the program's, and UserDict then matched as
# a sequence. Must: a registration from inside another is refused, UserDict still
# matches as a mapping; registering a library class under the program's ABC still works.
import abc
import collections


def shape():
    match collections.UserDict(a=1):
        case {"a": _}:
            return "mapping"
        case [*_]:
            return "sequence"
    return "none"


class Seqy(list, abc.ABC):
    pass


class Reg(abc.ABC):
    @classmethod
    def __subclasshook__(cls, other):
        if cls is Reg and not getattr(Reg, "flagged", False):
            Reg.flagged = True
            Seqy.register(Reg)
        return NotImplemented


try:
    Reg.register(collections.UserDict)
    refused = None
except Exception as error:  # noqa: BLE001
    refused = type(error).__name__


class Number(abc.ABC):
    pass


Number.register(int)
[refused, shape(), isinstance(3, Number)]
