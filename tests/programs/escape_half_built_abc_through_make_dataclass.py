# Tries: the half-built ABC of a class statement, built by make_dataclass instead: a
# descriptor's __set_name__ keeps the class and raises before ABCMeta gives it a registry
# of its own, so collections.abc.Mapping, asking its subclasses, reads the registry of the
# program's ABC (where int is registered): every int a Mapping for the worker. Must: the
# factory repairs the half-built class and the program cannot use the one it kept.
import abc
import collections.abc
import dataclasses


class Own(abc.ABC):
    pass


Own.register(int)
half = []


class Grab:
    def __set_name__(self, owner, name):
        half.append(owner)
        raise ValueError("stop before ABCMeta gives the class its own registry")


try:
    dataclasses.make_dataclass("Half", [], bases=(Own, collections.abc.Mapping), namespace={"g": Grab()})
except Exception:  # noqa: BLE001, S110
    pass
try:
    kept = half[0].__name__
except Exception as error:  # noqa: BLE001
    kept = type(error).__name__
[kept, isinstance(5, collections.abc.Mapping), isinstance(5, collections.abc.Container)]
