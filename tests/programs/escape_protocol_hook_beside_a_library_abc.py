# Tries: put a protocol's structural __subclasshook__ under a library ABC without defining
# one. A base whose own __init_subclass__ does not call super keeps Protocol from giving
# the new class an inert hook, so it inherits typing.SupportsInt's; beside Mapping, that
# hook answered Mapping's subclass question for every class with __int__ (and with the
# protocols' special-method members dropped, for every class at all). The same sibling
# base skipped a sandbox class's refusal to be subclassed (the worker's stream class).
# Must: the class is refused, no library ABC answers differently, the typing protocols
# answer as in CPython, and the program's own protocols work.
import collections.abc
import sys
import typing


class NoHook:
    def __init_subclass__(cls, **kwargs):
        pass


def outcome(action):
    try:
        action()
    except Exception as error:  # noqa: BLE001
        return type(error).__name__
    return "made"


def beside_mapping():
    class Y(NoHook, typing.SupportsInt, collections.abc.Mapping):
        def __getitem__(self, key):
            raise KeyError(key)

        def __iter__(self):
            return iter(())

        def __len__(self):
            return 0


def stream_subclass():
    class Z(NoHook, type(sys.stdout)):
        pass


@typing.runtime_checkable
class Sized(typing.Protocol):
    def __len__(self): ...


[
    [outcome(beside_mapping), outcome(stream_subclass)],
    [isinstance(5, collections.abc.Mapping), issubclass(list, collections.abc.Mapping)],
    [isinstance("s", typing.SupportsInt), isinstance(object(), typing.SupportsIndex), isinstance(3, typing.SupportsInt)],
    [isinstance([], Sized), isinstance(5, Sized)],
]
