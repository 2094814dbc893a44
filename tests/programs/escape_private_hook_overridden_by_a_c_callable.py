# Tries: UserList.__eq__ passes its operand to self._UserList__cast, a private hook a
# subclass may override; overridden by a C callable (items.append) it stored the operand
# unseen, and library code that compares what it holds with the program's value
# (typing.Type[int] == typing.Annotated[u, 0] compares the real type with u) made the
# real type the operand. Must: a library's private method is overridden only by the
# program's def; a def override gets the operand as the membrane admits it; ordinary
# UserList subclasses keep comparing.
import collections
import typing

held = []
try:

    class Sink(collections.UserList):
        _UserList__cast = held.append

    refused = None
except Exception as error:  # noqa: BLE001
    refused = type(error).__name__


class Seen(collections.UserList):
    def _UserList__cast(self, other):
        held.append(other)
        return []


u = Seen()
typing.Type[int] == typing.Annotated[u, 0]


class Plain(collections.UserList):
    pass


[refused, [x is type for x in held], Plain([1]) == [1], Plain([1]) == Plain([2])]
