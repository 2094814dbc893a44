# Tries: make a subclass of a class whose class statement has not finished, from a hook
# that runs inside it (__set_name__). The rules that judge a base read its namespace and
# metaclass; while the hooks run, the library's own later steps have not: typing puts a
# Protocol's structural __subclasshook__ in place only afterwards (so Y(X, Mapping) passed
# the "no program hook under a library ABC" rule and then made every int a Mapping), and a
# final class's raising __init_subclass__ runs for direct subclasses only (so Y(X), X over
# the worker's stream class, survived X's failure). Must: no class has a base whose
# statement has not finished; a hook may still make ordinary classes, and a finished
# class is an ordinary base.
import collections.abc
import sys
import typing

made = []
errors = []


class Spawn:
    def __init__(self, *bases):
        self.bases = bases

    def __set_name__(self, owner, name):
        try:

            class Y(owner, *self.bases):
                def __getitem__(self, key):
                    raise KeyError(key)

                def __iter__(self):
                    return iter(())

                def __len__(self):
                    return 0

            made.append(Y)
        except Exception as error:  # noqa: BLE001
            errors.append(type(error).__name__)

    def __get__(self, obj, kind=None):
        return 0


class X(typing.Protocol):
    real = Spawn(collections.abc.Mapping)

    def __init_subclass__(cls, **kwargs):
        pass


typing.runtime_checkable(X)

try:

    class Z(type(sys.stdout)):
        spawn = Spawn()

        def __init_subclass__(cls, **kwargs):
            pass

except Exception as error:  # noqa: BLE001
    errors.append("Z: " + type(error).__name__)


class Helper:
    def __set_name__(self, owner, name):
        class Side:
            pass

        made.append(Side)


class Fine:
    h = Helper()


class Later(Fine):
    pass


[errors, [k.__name__ for k in made], isinstance(5, collections.abc.Mapping), Later.__mro__[1].__name__]
