# Tries: have C code call a library class's Python __getitem__ through the type's slot
# (dict(m) subscripts m for each key m.keys() gives), where the library method subscripts
# an object the program chose by a key it chose: ChainMap.__getitem__ (m[key] for each of
# its maps), UserList.__getitem__ (self.data[i], data set by the program), ValuesView's
# iteration (self._mapping[key]); typing.Union['...'] compiles a ForwardRef, which thus
# reached the program's own dict raw. Also call typing's internal classes, reached as
# type(typing.Union). Must: each such result passes the membrane (the ForwardRef is
# refused), the internal class cannot be called, and ordinary ChainMap, UserList, UserDict,
# views, Enum lookups and typing subscripts keep working.
import collections
import enum
import typing


def outcome(action):
    try:
        action()
    except Exception as error:  # noqa: BLE001
        return type(error).__name__
    return "done"


class Keys(collections.ChainMap):
    def keys(self):
        return ["os.system('id')"]

    def __iter__(self):
        return iter(self.keys())


class Listed(collections.UserList):
    def keys(self):
        return ["__import__('os')"]


listed = Listed()
listed.data = typing.Union


class Color(enum.Enum):
    RED = 1


refusals = [
    outcome(lambda: dict(Keys(typing.Union))),
    outcome(lambda: dict(listed)),
    outcome(lambda: list(collections.abc.ValuesView(Keys(typing.Union)))),
    outcome(lambda: type(typing.Union)("Mine", "doc")),
]
chain = collections.ChainMap({"a": 1}, {"b": 2})
[
    refusals,
    dict(chain),
    list(collections.abc.ValuesView(chain)),
    collections.UserList([1, 2, 3])[1],
    dict(collections.UserDict(a=1)),
    Color["RED"].value,
    typing.Optional[int] == typing.Union[int, None],
]
