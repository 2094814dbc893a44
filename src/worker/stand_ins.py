"""Inert stand-ins for classes a program may name but never call.

A stand-in answers ``isinstance``/``issubclass`` and ``__name__`` like the real class,
and refuses to be called: a metaclass would build a class from a dict outside the class
statement's rules, ``FunctionType`` a function from a code object.
"""

from __future__ import annotations

from typing import Any

from .refusal import refused

#: Each stand-in with the class it stands for (``metaclass=abc.ABCMeta`` names the stand-in).
STANDS_FOR: dict[type, type] = {}
#: The ids of the stand-ins' metaclasses, held in STAND_IN_METACLASSES: known to the
#: membrane, which refuses a class of any metaclass it does not know.
STAND_IN_METACLASS_IDS: set[int] = set()
STAND_IN_METACLASSES: list[type] = []


def real_class(value: object) -> object:
    """The class a stand-in stands for, or ``value`` itself."""
    return STANDS_FOR.get(value, value) if isinstance(value, type) else value


def stand_in(real: type, call_message: str) -> type:
    class StandInMeta(type):
        def __instancecheck__(cls, obj: object) -> bool:
            return isinstance(obj, real)

        def __subclasscheck__(cls, sub: type) -> bool:
            return issubclass(sub, real)

        def __call__(cls, *args: Any, **kwargs: Any) -> Any:
            raise refused(call_message)

    def refuse_subclass(cls: type, /, **kwargs: Any) -> None:
        raise TypeError(f"{real.__name__} cannot be subclassed in the sandbox")

    namespace: dict[str, Any] = {
        "__module__": real.__module__,
        "__doc__": real.__doc__,
        "__init_subclass__": classmethod(refuse_subclass),
    }
    STAND_IN_METACLASSES.append(StandInMeta)
    STAND_IN_METACLASS_IDS.add(id(StandInMeta))
    made = StandInMeta(real.__name__, (), namespace)
    made.__qualname__ = real.__qualname__
    STANDS_FOR[made] = real
    return made
