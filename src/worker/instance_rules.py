"""Allow-lists of attributes for the data tier's classes (zope.security's checkers, by
class): an instance of a numpy, pandas or matplotlib class, and such a class itself, has
only the public attributes its class's entries in language/data_catalogue.py list
(INSTANCE_ATTRIBUTES, along the MRO); the others do not exist for the program, whatever
the library adds in a new release. Names that take paths or strings the library
evaluates are read as guarded versions (data_guards.INSTANCE_GUARDS).

The guards (guards.py, and _fastguards.c through RULED_KINDS) send every attribute read
of a ruled object here. A class is ruled as soon as the sandbox may hand out one of its
instances or itself: the template rules every class of the tier's modules it offers,
and the membrane every other class of the tier's libraries as it first judges it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .refusal import refused

#: id(class) -> class, for every ruled class: read by the C getattr (by id, so that no
#: metaclass's __hash__ or __eq__ runs).
RULED_KINDS: dict[int, type] = {}
#: id(class) -> (the readable names, the guarded ones).
_RULES: dict[int, tuple[frozenset[str], frozenset[str]]] = {}
#: The rules, by "module.QualName" of the class that defines them (set in the template).
_ATTRIBUTES: Mapping[str, frozenset[str]] = {}
_GUARDED: Mapping[str, frozenset[str]] = {}
_LIBRARIES: tuple[str, ...] = ()
#: name -> factory(receiver, real attribute) -> the guarded attribute.
_GUARDS: Mapping[str, Callable[[Any, Any], Any]] = {}
_NOTHING: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())


def configure(
    libraries: tuple[str, ...],
    attributes: Mapping[str, frozenset[str]],
    guarded: Mapping[str, frozenset[str]],
    guards: Mapping[str, Callable[[Any, Any], Any]],
) -> None:
    global _ATTRIBUTES, _GUARDED, _LIBRARIES, _GUARDS
    _ATTRIBUTES, _GUARDED, _LIBRARIES, _GUARDS = attributes, guarded, libraries, guards
    missing = sorted(name for names in guarded.values() for name in names if name not in guards)
    if missing:
        raise RuntimeError(f"guarded attributes without a guard: {', '.join(missing)}")


def _key(cls: type) -> str:
    return f"{type.__dict__['__module__'].__get__(cls)}.{cls.__qualname__}"


def in_a_data_library(cls: type) -> bool:
    module = type.__dict__["__module__"].__get__(cls)
    return type(module) is str and module.partition(".")[0] in _LIBRARIES


def rule(cls: type) -> None:
    """Rule ``cls`` if it is one of the tier's libraries' classes (else nothing)."""
    if not _LIBRARIES or id(cls) in _RULES or not in_a_data_library(cls):
        return
    readable: set[str] = set()
    guarded: set[str] = set()
    for klass in type.__dict__["__mro__"].__get__(cls):
        key = _key(klass)
        readable.update(_ATTRIBUTES.get(key, ()))
        guarded.update(_GUARDED.get(key, ()))
    _RULES[id(cls)] = (frozenset(readable), frozenset(guarded))
    RULED_KINDS[id(cls)] = cls


def ruled(obj: object) -> bool:
    """Whether ``obj``'s attributes are decided here (an instance, or a class, ruled, or a
    ``super`` over one: ``super(pd.DataFrame, df).to_csv`` read the method unguarded)."""
    kind = type(obj)
    if RULED_KINDS.get(id(kind)) is kind:
        return True
    if kind is super:
        bound = super.__dict__["__self__"].__get__(obj)
        over = super.__dict__["__thisclass__"].__get__(obj)
        return (bound is not None and ruled(bound)) or (isinstance(over, type) and ruled(over))
    return isinstance(obj, type) and RULED_KINDS.get(id(obj)) is obj


def names_of(obj: object) -> tuple[frozenset[str], frozenset[str]]:
    kind = type(obj)
    if kind is super:
        return _NOTHING  # the libraries' classes have no subclass of the program's to need one
    if RULED_KINDS.get(id(kind)) is kind:
        return _RULES.get(id(kind), _NOTHING)
    return _RULES.get(id(obj), _NOTHING)  # a ruled class, read as an object


def is_readable(obj: object, name: str) -> bool:
    return name in names_of(obj)[0]


#: (obj, name) -> the value of a name that is data, not an attribute (a frame's column read
#: as ``df.price``), or _NOT_DATA: set by the data template (data_guards.py).
_DATA_BY_NAME: list[Callable[[Any, str], Any]] = []
NOT_DATA = object()


def data_by_name(reader: Callable[[Any, str], Any]) -> None:
    _DATA_BY_NAME.append(reader)


def read_data(obj: object, name: str) -> Any:
    """What ``obj.name`` is when ``name`` is no attribute of its class but a label of its
    data (``df.price``: the column), or NOT_DATA."""
    for reader in _DATA_BY_NAME:
        value = reader(obj, name)
        if value is not NOT_DATA:
            return value
    return NOT_DATA


def guarded(obj: object, name: str, value: Any) -> Any:
    """``value`` (the real attribute ``name`` of ``obj``) or its guarded version. A guarded
    name read through the class (``pd.DataFrame.to_csv``) is refused: the guards check the
    arguments of a bound method, and an unbound one takes its receiver first."""
    if name in names_of(obj)[1]:
        if isinstance(obj, type):
            raise refused(f"{obj.__qualname__}.{name} is offered on instances only: call it on one")
        return _GUARDS[name](obj, value)
    return value


def class_name(obj: object) -> str:
    cls = obj if isinstance(obj, type) else type(obj)
    return cls.__qualname__
