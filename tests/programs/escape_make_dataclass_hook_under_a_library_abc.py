# Tries: put the program's __subclasshook__ under a library ABC through a class factory
# (make_dataclass(bases=(P, Mapping))), so that Mapping asks it and every int becomes a
# Mapping for the whole worker. Must: SecurityError before the class exists; Mapping
# unchanged.
import collections.abc
import dataclasses


class P:
    __subclasshook__ = classmethod(lambda cls, other: True)


try:
    dataclasses.make_dataclass("D", [], bases=(P, collections.abc.Mapping))
    refused = None
except Exception as error:  # noqa: BLE001
    refused = type(error).__name__
[refused, isinstance(5, collections.abc.Mapping)]
