"""Strings the guards rely on: exact ``str`` names, and ``str.format`` without traversal.

``str.format`` resolves ``"{0.__class__}"`` and ``"{0[key]}"`` fields with the real
getattr and getitem (CVE-2023-41039). Wherever a real ``format``/``format_map`` would
reach a program (read by the program, or handed over by library code), the membrane and
the guards swap it for a checked one that refuses such fields.
"""

from __future__ import annotations

import _string
import builtins
import types
from collections.abc import Callable, Mapping
from typing import Any

from .refusal import SecurityError


def exact_str(value: object, what: str = "attribute name") -> str:
    """An exact ``str`` with the value's contents. A ``str`` subclass can override
    ``startswith``, ``__eq__`` and ``__hash__`` to pass every check while the real lookup
    uses its contents (``getattr(f, S("__globals__"))``): checks and lookup must see one
    and the same plain string."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string, not {builtins.type(value).__name__}")
    return value if builtins.type(value) is str else str.__str__(value)


def reject_traversal(template: str) -> None:
    """Refuse "{0.attr}" and "{0[key]}" fields: str.format would resolve them with the real getattr."""
    # _string.formatter_parser is what string.Formatter.parse wraps; calling the C function
    # directly means no library class the program might have altered is on this path.
    for _literal, field_name, spec, _conv in _string.formatter_parser(template):
        if field_name and ("." in field_name or "[" in field_name):
            raise SecurityError(
                "format fields may not read attributes or items ('{0.attr}', '{0[key]}'); "
                "compute the value first and format it: '{}'.format(obj.attr)"
            )
        if spec:
            reject_traversal(spec)  # nested fields inside a format spec


def safe_format(template: str) -> Callable[..., str]:
    template = exact_str(template, "format string")

    def format(*args: Any, **kwargs: Any) -> str:  # noqa: A001 - mirrors str.format
        reject_traversal(template)
        return template.format(*args, **kwargs)

    return format


def safe_format_map(template: str) -> Callable[[Mapping[str, Any]], str]:
    template = exact_str(template, "format string")

    def format_map(mapping: Mapping[str, Any]) -> str:
        reject_traversal(template)
        return template.format_map(mapping)

    return format_map


def unbound_format(template: object, *args: Any, **kwargs: Any) -> str:
    if not isinstance(template, str):
        raise TypeError("descriptor 'format' requires a 'str' object")
    return safe_format(template)(*args, **kwargs)


def unbound_format_map(template: object, mapping: Mapping[str, Any]) -> str:
    if not isinstance(template, str):
        raise TypeError("descriptor 'format_map' requires a 'str' object")
    return safe_format_map(template)(mapping)


def wrap_format(value: Any) -> Any:
    """Swap a real ``str.format``/``format_map`` for the checked one, however it was reached
    (``s.format``, ``str.format``, ``super(S, s).format``)."""
    if value is str.format:
        return unbound_format
    if value is str.format_map:
        return unbound_format_map
    if not isinstance(value, types.BuiltinMethodType) or value.__name__ not in ("format", "format_map"):
        return value
    owner = value.__self__
    if not isinstance(owner, str):
        return value
    return safe_format(owner) if value.__name__ == "format" else safe_format_map(owner)
