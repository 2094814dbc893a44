"""Strings the guards rely on: exact ``str`` names, and ``str.format`` through the guards.

``str.format`` resolves ``"{0.__class__}"`` and ``"{0[key]}"`` fields with the real
getattr and getitem (CVE-2023-41039). Wherever a real ``format``/``format_map`` would
reach a program (read by the program, or handed over by library code), the membrane and
the guards swap it for one that resolves every field here instead: each value a field
names passes the membrane, and each ``.attr`` and ``[key]`` step goes through the same
guards as ``obj.attr`` and ``obj[key]`` in the program's own code (the design of
AccessControl's SafeFormatter). So ``"{o[customer][name]}"`` and ``"{0.year}"`` work, and
``"{0.__globals__}"`` is refused exactly as ``x.__globals__`` is.
"""

from __future__ import annotations

import _string
import builtins
import types
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .refusal import refused

Lookup = Callable[[Any, Any], Any]

#: The guards a field's steps go through: (getattr, getitem, admit). Set by guards.py
#: when it is imported (it imports this module, so this one cannot import it).
_field_guards: tuple[Lookup, Lookup, Callable[[Any], Any]] | None = None

#: CPython's limit for fields nested in format specs ("{:{width}}").
_MAX_SPEC_NESTING = 2

_CONVERSIONS: dict[str, Callable[[Any], str]] = {"r": repr, "s": str, "a": ascii}


def set_field_guards(get_attribute: Lookup, get_item: Lookup, admit: Callable[[Any], Any]) -> None:
    global _field_guards  # wired once, at import, by the guards module
    _field_guards = (get_attribute, get_item, admit)


def exact_str(value: object, what: str = "attribute name") -> str:
    """An exact ``str`` with the value's contents. A ``str`` subclass can override
    ``startswith``, ``__eq__`` and ``__hash__`` to pass every check while the real lookup
    uses its contents (``getattr(f, S("__globals__"))``): checks and lookup must see one
    and the same plain string."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string, not {builtins.type(value).__name__}")
    return value if builtins.type(value) is str else str.__str__(value)


class _Fields:
    """One ``format`` call: the arguments and the automatic numbering, shared with the
    fields nested in format specs, as str.format shares them."""

    def __init__(self, args: Sequence[Any], kwargs: Mapping[str, Any] | None, mapping: Any = None) -> None:
        self.args = args
        self.kwargs = kwargs
        self.mapping = mapping
        self.from_mapping = kwargs is None  # format_map, whatever the mapping is (None too)
        self.next_index = 0
        self.numbering: str | None = None  # "automatic" or "manual", once a field chose

    def first(self, name: int | str) -> Any:
        if name == "":
            if self.numbering == "manual":
                raise ValueError("cannot switch from manual field specification to automatic field numbering")
            self.numbering, name = "automatic", self.next_index
            self.next_index += 1
        elif isinstance(name, int):
            if self.numbering == "automatic":
                raise ValueError("cannot switch from automatic field numbering to manual field specification")
            self.numbering = "manual"
        if isinstance(name, int):
            if self.from_mapping:
                raise ValueError("Format string contains positional fields")
            if name >= len(self.args):
                raise IndexError(f"Replacement index {name} out of range for positional args tuple")
            return self.args[name]
        if self.from_mapping:
            return self.mapping[name]
        assert self.kwargs is not None
        return self.kwargs[name]


def _render(template: str, fields: _Fields, nesting: int) -> str:
    if nesting < 0:
        raise ValueError("Max string recursion exceeded")
    if _field_guards is None:  # pragma: no cover - guards.py is always imported first
        raise refused("format fields are not available before the guards are")
    get_attribute, get_item, admit = _field_guards
    parts: list[str] = []
    # _string.formatter_parser is what string.Formatter.parse wraps; calling the C function
    # directly means no library class the program might have altered is on this path.
    for literal, field_name, spec, conversion in _string.formatter_parser(template):
        parts.append(literal)
        if field_name is None:
            continue
        first, rest = _string.formatter_field_name_split(field_name)
        value = admit(fields.first(first))
        for is_attribute, key in rest:
            value = get_attribute(value, key) if is_attribute else get_item(value, key)
        if conversion:
            convert = _CONVERSIONS.get(conversion)
            if convert is None:
                raise ValueError(f"Unknown conversion specifier {conversion}")
            value = convert(value)
        rendered_spec = _render(spec, fields, nesting - 1) if spec and "{" in spec else spec or ""
        parts.append(builtins.format(value, rendered_spec))
    return "".join(parts)


def guarded_format(template: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> str:
    """``template.format(*args, **kwargs)``, every field resolved through the guards."""
    return _render(exact_str(template, "format string"), _Fields(args, kwargs), _MAX_SPEC_NESTING)


def guarded_format_map(template: str, mapping: Any) -> str:
    """``template.format_map(mapping)``, every field resolved through the guards."""
    return _render(exact_str(template, "format string"), _Fields((), None, mapping), _MAX_SPEC_NESTING)


def safe_format(template: str) -> Callable[..., str]:
    template = exact_str(template, "format string")

    def format(*args: Any, **kwargs: Any) -> str:  # noqa: A001 - mirrors str.format
        return guarded_format(template, args, kwargs)

    return format


def safe_format_map(template: str) -> Callable[[Mapping[str, Any]], str]:
    template = exact_str(template, "format string")

    def format_map(mapping: Mapping[str, Any]) -> str:
        return guarded_format_map(template, mapping)

    return format_map


def unbound_format(template: object, *args: Any, **kwargs: Any) -> str:
    if not isinstance(template, str):
        raise TypeError("descriptor 'format' requires a 'str' object")
    return safe_format(template)(*args, **kwargs)


def unbound_format_map(template: object, mapping: Mapping[str, Any]) -> str:
    if not isinstance(template, str):
        raise TypeError("descriptor 'format_map' requires a 'str' object")
    return safe_format_map(template)(mapping)


#: This module's functions the program holds (``str.format`` read from the class): offered,
#: as the membrane passes a function of the sandbox's modules only as offered.
OFFERED_FUNCTIONS = (unbound_format, unbound_format_map)


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
