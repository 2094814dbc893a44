"""Buffers that hold object references, and the C methods that write into a buffer.

numpy exports the memory of an array of objects (``dtype=object``, or a structured dtype
with an object field) through the buffer protocol: eight bytes per element, each the
address of an object. Bytes written there are pointers the interpreter trusts: a program
that writes a chosen address forges an object (attack pass 95, F5). Reading them gives
addresses only (as ``id`` does). So every C method the sandbox offers that writes into a
buffer it is given (``readinto``, ``readinto1``, ``struct.pack_into``), or that views one as
another type (``memoryview.cast``), is handed out checked: it refuses a buffer of
references. The check asks the buffer's exporter, so a view of a view, a slice or a cast
of one is recognised.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from types import ModuleType
from typing import Any

from ..language.names import BUFFER_WRITING_METHOD_NAMES
from .refusal import refused

#: A struct format's field names (``T{O:name:}``), which may hold any letter.
_FIELD_NAMES = re.compile(r":[^:]*:")


def _format_holds_objects(format_: str) -> bool:
    return "O" in _FIELD_NAMES.sub("", format_)


def holds_references(target: Any) -> bool:
    """Whether ``target`` exports (or is a view of) memory that holds object references."""
    try:
        view = memoryview(target)
    except TypeError:
        return False
    with view:
        if _format_holds_objects(view.format):
            return True
        exporter = view.obj
    if exporter is None or exporter is target:
        return False
    try:
        with memoryview(exporter) as original:
            return _format_holds_objects(original.format)
    except TypeError:
        return False


def refuse_references(target: Any, what: str) -> None:
    if holds_references(target):
        raise refused(f"{what}: the memory of an array of object references is not offered as bytes")


def checked_method(method: Any, name: str) -> Callable[..., Any]:
    """``method`` (a C method of BUFFER_WRITING_METHOD_NAMES, bound) that refuses a buffer
    of references: the receiver for ``cast``, the first argument for the writers."""

    def checked(*args: Any, **kwargs: Any) -> Any:
        if name == "cast":
            refuse_references(method.__self__, "memoryview.cast()")
        elif args:
            refuse_references(args[0], f"{name}()")
        return method(*args, **kwargs)

    checked.__name__ = checked.__qualname__ = name
    return checked


def checked_unbound(descriptor: Any, name: str) -> Callable[..., Any]:
    """``descriptor`` (``memoryview.cast``, ``io.BytesIO.readinto``...), unbound: the
    receiver comes first, the buffer written after it."""

    def checked(*args: Any, **kwargs: Any) -> Any:
        position = 0 if name == "cast" else 1
        if len(args) > position:
            refuse_references(args[position], f"{name}()")
        return descriptor(*args, **kwargs)

    checked.__name__ = checked.__qualname__ = name
    return checked


def checked_writer(value: Any, name: str) -> Any:
    """``value`` (read as ``obj.name``) checked if it is one of the C methods that write
    into a buffer, bound (``f.readinto``) or read through its class (``io.BytesIO.readinto``);
    anything else as it is."""
    if name not in BUFFER_WRITING_METHOD_NAMES:
        return value
    kind = type(value)
    if kind is _METHOD_DESCRIPTOR:
        return checked_unbound(value, name)
    if kind is _BUILTIN_METHOD and not isinstance(value.__self__, (type, ModuleType)):
        return checked_method(value, name)
    return value


_METHOD_DESCRIPTOR: type = type(str.join)
_BUILTIN_METHOD: type = type([].append)
