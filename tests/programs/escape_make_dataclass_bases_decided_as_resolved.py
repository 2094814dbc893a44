# Tries: make_dataclass with bases given as aliases (type(list[int])(Own, (int,)),
# collections.abc.Mapping[str, int]) that resolve to ABCs: the registry a new ABC gets
# before the hooks run was seeded only for bases that were ABCMeta instances as given, so
# a base whose library __init_subclass__ raises (typing.NewType's Dummy) left a half-built
# subclass of Mapping whose registry was the program's; and a descriptor's __set_name__
# registered float into abc.ABC's own registry (pass 39).
# Must: make_dataclass builds as a class statement does, on the resolved bases: the
# library ABCs answer as before, and the registration lands in the program's own class.
import abc
import collections.abc
import dataclasses
import typing


class Own(abc.ABC):
    pass


def answers():  # what the library ABCs say (compared before and after: earlier jobs of a test process count)
    return [isinstance(5, collections.abc.Mapping), issubclass(int, collections.abc.Container),
            isinstance(1.5, abc.ABC)]


before = answers()


Alias = type(list[int])
try:
    dataclasses.make_dataclass("Half", [], bases=(Alias(Own, (int,)), collections.abc.Mapping[str, int],
                                                  typing.NewType("N", int)))
except TypeError:
    pass
Own.register(int)


class Hook:
    def __set_name__(self, owner, name):
        owner.register(float)


Made = dataclasses.make_dataclass("Made", [], bases=(Alias(abc.ABC, (int,)),), namespace={"h": Hook()})
[answers() == before, issubclass(float, Made), isinstance(5, Own)]
