"""The read-only module proxies a program receives instead of real modules.

User code never holds a real module object. ``import json`` binds a ``ModuleProxy``
whose attributes were copied, once, in the template process, from the real module: the
names its catalogue entry allows, and nothing else. A proxy holds no module, so
no module is reachable from another (``datetime.sys``, ``json.codecs``, ``typing.sys``
do not exist inside), and a proxy refuses attribute writes, so one execution cannot
patch a library.
"""

from __future__ import annotations

import types
from collections.abc import Iterable, Iterator
from typing import Any

from ..language.catalogue import ModuleRule
from ..language.module_rules import RULES
from .stand_ins import stand_in


class ModuleProxy:
    """A read-only stand-in for a module: vetted attributes in the instance dict."""

    _proxy_name: str

    def __init__(self, name: str, attrs: dict[str, Any]) -> None:
        # No `__name__` of its own: `from json import decoder` falls back, when the proxy
        # has no `decoder`, to sys.modules[proxy.__name__ + ".decoder"], the real module.
        # The program reads `json.__name__` through its guard (module_name).
        object.__setattr__(self, "_proxy_name", name)
        self.__dict__.update(attrs)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # A subclass would make ModuleProxy.__init__ "the program's own" and let it
        # rebuild a shared proxy with other attributes.
        raise TypeError("module proxies cannot be subclassed")

    def __getattr__(self, name: str) -> Any:
        # Only for names the proxy does not hold (`__name__` included, see __init__).
        message = f"module '{self._proxy_name}' has no attribute '{name}' in the sandbox"
        raise AttributeError(with_reason(message, self._proxy_name, name), name=name, obj=None)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"module '{self._proxy_name}' is read-only in the sandbox")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"module '{self._proxy_name}' is read-only in the sandbox")

    def __repr__(self) -> str:
        return f"<module '{self._proxy_name}' (sandboxed)>"


def with_reason(message: str, module: str, name: object) -> str:
    """``message`` about a member the proxy of ``module`` lacks, with the catalogue's
    reason when it gives one (``subprocess`` is ...), so the program learns why."""
    rule = RULES.get(module)
    reason = rule.refused.get(name, rule.others) if rule is not None and type(name) is str else None
    return f"{message}: {reason}" if reason else message


def module_name(proxy: ModuleProxy) -> str:
    """What ``proxy.__name__`` reads as for the program: the module's name."""
    return proxy._proxy_name  # noqa: SLF001 - the proxy's own field


#: The mutable containers a library keeps at module or class level as tables
#: (``calendar.mdays``, ``urllib.parse.uses_netloc``, ``TextWrapper.unicode_whitespace_trans``):
#: the program reads a copy, so what it changes is its own, never the library's.
TABLE_TYPES = (list, dict, set, bytearray)


def copy_of_table(value: Any) -> Any:
    return value.copy() if type(value) in TABLE_TYPES else value


class TableCopies:
    """A library class's table, in the class's namespace in its place: every read, the
    library's own (``self.cssclasses``) as the program's (``HTMLCalendar.cssclasses``),
    gets a fresh copy. Reads are per call of the method that uses it, and tables are a
    few entries long."""

    __slots__ = ("_table",)

    def __init__(self, table: Any) -> None:
        self._table = table

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        return self._table.copy()


#: Never copied from any module: command-line entry points read sys.argv and files.
_NEVER = frozenset({"main", "test"})


def _metaclass_stand_in(real: type) -> type:
    """Stand-in for a metaclass (abc.ABCMeta, enum.EnumType, numbers.ABCMeta ...):
    ``isinstance(x, abc.ABCMeta)`` still works, but calling it to build a class from a
    dict (``ABCMeta("X", (), {"__getattr__": f})``) is refused. Classes come from class
    statements, where the compiler's rules apply; inheriting from ``abc.ABC`` or
    ``enum.Enum`` uses the real metaclass through the bases, not this object."""
    return stand_in(real, f"{real.__name__}(...) cannot build classes in the sandbox; use a class statement")


def _members(module: types.ModuleType, names: Iterable[str]) -> Iterator[tuple[str, Any]]:
    """The named members of ``module`` that a proxy may hold: never a name starting with
    ``_``, ``main``/``test``, a name the running Python lacks, or a module object (a
    module reachable from another is how pivots start)."""
    for name in sorted(names):
        if name.startswith("_") or name in _NEVER:
            continue
        try:
            value = getattr(module, name)
        except AttributeError:
            continue  # named in __all__ but missing, or listed for another Python version
        if not isinstance(value, types.ModuleType):
            yield name, value


def public_members(module: types.ModuleType) -> set[str]:
    """The names of ``module`` its catalogue entry must list, allowed or refused: those of
    ``__all__`` and ``dir()`` that a proxy could hold."""
    return {name for name, _ in _members(module, set(getattr(module, "__all__", ())) | set(dir(module)))}


def unlisted_members(module: types.ModuleType, rule: ModuleRule) -> list[str]:
    """Public members of ``module`` that ``rule`` neither allows nor refuses, sorted:
    names a new Python version added, which nobody reviewed yet."""
    if rule.others is not None:
        return []  # every name not listed is refused, with the rule's reason
    return sorted(public_members(module) - rule.allowed.keys() - rule.refused.keys())


def public_attrs(module: types.ModuleType, rule: ModuleRule) -> dict[str, Any]:
    """The attributes of ``module``'s proxy: exactly the names ``rule`` allows that a proxy
    may hold, a metaclass replaced by a stand-in and a table by a copy."""
    attrs: dict[str, Any] = {}
    for name, value in _members(module, rule.allowed):
        is_metaclass = isinstance(value, type) and issubclass(value, type)
        attrs[name] = _metaclass_stand_in(value) if is_metaclass else copy_of_table(value)
    return attrs


def refused_members(module: types.ModuleType, rule: ModuleRule) -> list[Any]:
    """The values of the names ``rule`` refuses that the running Python has, and the
    command-line entry points no proxy holds (``base64.main``), however they are reached."""
    never = [getattr(module, name) for name in sorted(_NEVER) if hasattr(module, name)]
    names = rule.refused.keys() if rule.others is None else public_members(module) - rule.allowed.keys()
    return [value for _, value in _members(module, names)] + never


def link_proxies(attrs_by_name: dict[str, dict[str, Any]]) -> dict[str, ModuleProxy]:
    """One proxy per name, each dotted name linked into its parent's proxy (created
    empty when the parent is not itself in ``attrs_by_name``)."""
    for name in list(attrs_by_name):
        parts = name.split(".")
        for i in range(1, len(parts)):
            attrs_by_name.setdefault(".".join(parts[:i]), {})
    proxies: dict[str, ModuleProxy] = {}
    # Deepest first: a package's proxy is built after all its children were linked in.
    for name in sorted(attrs_by_name, key=lambda n: -n.count(".")):
        proxies[name] = ModuleProxy(name, attrs_by_name[name])
        parent, _, child = name.rpartition(".")
        if parent:
            attrs_by_name[parent][child] = proxies[name]
    return proxies
