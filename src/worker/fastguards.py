"""The guards' C half, where it is built (``python -m src.build_extensions``).

The guards run for every ``obj.name``, ``x[i]``, call result and assignment target the
program evaluates; in Python their checks cost more than the operation itself
(bench/overhead: ``squares.append``, ``self.x``, ``counts[w] = ...``). ``_fastguards.c``
decides the common cases in C and answers only where the Python rules give the value
unchanged:

* ``getattr``: a public name already seen, on an object that is not a frame, code,
  traceback or module, whose value is plain, a member the sandbox offers read from a
  module proxy, a built-in method bound to the object, the program's own method bound to
  it, or a library method bound to it whose crossing the membrane already made (that
  crossing, bound to the object);
* ``_admit_``, ``_getitem_``: a value whose exact type is in PLAIN;
* ``_write_``: an exact dict or list;
* ``_write_attribute_``: a public name on an instance of a class the running job's rules
  already accepted for one (``ownership.PUBLIC_ATTRIBUTES_WRITABLE``);
* a crossing's call (crossing.py): every argument's exact type in PLAIN;
* ``_admitting_iter_``: a ``for`` statement's items whose exact types are in PLAIN.

Every other case goes to the Python guard (or, for a value already read, to its verdict
on that value): the rules are written once, in guards.py and membrane.py.

Without the built module (no compiler on the machine), or with
``EXECUTOR_PURE_PYTHON_GUARDS=1``, the Python guard is used as it is: the same answers,
more slowly. tests/unit/test_fastguards.py feeds both the same objects and names and
compares what they give."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

try:
    from . import _fastguards  # type: ignore[attr-defined]
except ImportError:  # not built here: the pure-Python guards
    _fastguards = None

#: Set to "1" to run the guards in pure Python even where the C half is built: a switch for
#: test processes (the service's workers start with an empty environment).
PURE_PYTHON_VARIABLE = "EXECUTOR_PURE_PYTHON_GUARDS"


def available() -> bool:
    """Whether the C half is built and not switched off."""
    return _fastguards is not None and os.environ.get(PURE_PYTHON_VARIABLE) != "1"


def accelerated_getattr(
    *,
    public_names: set[str],
    plain: set[type],
    opaque: tuple[type, ...],
    source_filename: str,
    fallback: Callable[..., Any],
    value_read: Callable[[object, type, str, Any], Any],
    method_crossings: dict[Any, Callable[..., Any]],
    module_proxy: type,
    offered_ids: set[int],
    private_names: set[str],
    private_kinds: dict[int, type],
    receivers: frozenset[type],
    ruled: dict[int, type],
) -> Callable[..., Any]:
    """The C guard over the Python one (``fallback``), or ``fallback`` itself where the C
    half is not available. The sets are the Python guard's own, shared, not copied: a
    class the membrane judges plain, or a name found public, counts at once in both."""
    if not available():
        return fallback
    return _fastguards.make_getattr(  # type: ignore[no-any-return]
        public_names,
        plain,
        opaque,
        source_filename,
        fallback,
        value_read,
        method_crossings,
        module_proxy,
        offered_ids,
        private_names,
        private_kinds,
        receivers,
        ruled,
    )


def accelerated_admit(
    plain: set[type], fallback: Callable[[Any], Any], safe_point: Callable[[], None]
) -> Callable[[Any], Any]:
    """``_admit_``: the value if its exact type is in ``plain``, else ``fallback(value)``;
    every so many calls, ``safe_point()`` first (guards.collect_at_a_safe_point)."""
    if not available():
        return fallback
    return _fastguards.make_admit(plain, fallback, safe_point)  # type: ignore[no-any-return]


def accelerated_getitem(
    plain: set[type], fallback: Callable[[Any, Any], Any], admit_slow: Callable[[Any], Any]
) -> Callable[[Any, Any], Any]:
    """``_getitem_``: ``obj[key]`` if its exact type is in ``plain``, else what
    ``admit_slow`` makes of it; ``fallback`` for any other call shape."""
    if not available():
        return fallback
    return _fastguards.make_getitem(plain, fallback, admit_slow)  # type: ignore[no-any-return]


def accelerated_write(plain: set[type], fallback: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``_write_``: an exact dict or list as it is, else ``fallback(obj)``."""
    if not available():
        return fallback
    return _fastguards.make_write(plain, fallback)  # type: ignore[no-any-return]


def accelerated_write_attribute(
    plain: set[type],
    writable: dict[int, type],
    fallback: Callable[[Any, str], Any],
    private_names: set[str],
    private_kinds: dict[int, type],
) -> Callable[[Any, str], Any]:
    """``_write_attribute_``: ``obj`` for a public name when ``writable`` (the running
    job's table of classes whose public attributes are writable,
    ``ownership.PUBLIC_ATTRIBUTES_WRITABLE``) holds ``obj``'s class, or for a name of
    ``private_names`` when ``private_kinds`` (``ownership.PRIVATE_ATTRIBUTES_OF_INSTANCES``)
    does, else ``fallback(obj, name)`` (which fills both)."""
    if not available():
        return fallback
    return _fastguards.make_write_attribute(  # type: ignore[no-any-return]
        plain, writable, fallback, private_names, private_kinds
    )


def built_call_through(
    plain: set[type],
    fallback: Callable[[Callable[..., Any], tuple[Any, ...], dict[str, Any]], Any],
    admitted_nested: Callable[[tuple[Any, ...]], Any],
    admit: Callable[[Any], Any],
) -> Callable[[Callable[..., Any], tuple[Any, ...], dict[str, Any]], Any] | None:
    """A crossing's work (crossing.py) in C where the module is built, whether or not it
    is switched off (the environment chooses, per process: crossing.select_call_through):
    ``function(*args, **kwargs)`` when every argument's exact type is in ``plain``, the
    result admitted; anything else to ``fallback``."""
    if _fastguards is None:
        return None
    return _fastguards.make_call_through(plain, fallback, admitted_nested, admit)  # type: ignore[no-any-return]


def accelerated_admitting_iter(
    plain: set[type],
    admit: Callable[[Any], Any],
    unpack: Callable[[Any, int], tuple[Any, ...]],
    fallback: Callable[[Any, int], Any],
    safe_point: Callable[[], None],
) -> Callable[[Any, int], Any]:
    """``_admitting_iter_``: a C iterator that admits each item (``admit``), or for
    ``count`` names passes an exact tuple of plain values as it is and hands anything
    else to ``unpack(item, count)``; every so many items ``safe_point()`` first;
    ``fallback`` (the Python generator) where the C half is not available."""
    if not available():
        return fallback
    return _fastguards.make_admitting_iter(plain, admit, unpack, safe_point)  # type: ignore[no-any-return]


def called_form(guard: Callable[..., Any]) -> Callable[..., Any]:
    """What the compiled program calls for ``guard``: a C guard's ``_call``, the guard as a
    built-in method bound to it, else ``guard`` itself (a Python guard).

    The interpreter specialises a call site whose callable is a built-in method (3.11:
    PRECALL_BUILTIN_FAST_WITH_KEYWORDS) and calls any other callable, a C guard
    included, through its generic path, which costs about a third more per call. Only the
    namespace's reserved names hold this form; a guard the program may hold as a value
    (the builtin ``getattr``) stays the guard, whose repr is the builtin's."""
    if _fastguards is not None and type(guard) is _fastguards.Guard:
        return guard._call  # type: ignore[attr-defined,no-any-return]  # noqa: SLF001 - the C guard's own
    return guard


def guard_type() -> type | None:
    """The C guards' class, or None where the C half is not built."""
    return None if _fastguards is None else _fastguards.Guard


def plain_throughout_check() -> Callable[[set[type], Any], bool] | None:
    """``plain_throughout(plain, container)``: whether an exact tuple, list, set,
    frozenset or dict holds, at any depth through containers of those types, only values
    whose exact types are in ``plain`` (membrane.admitted_nested's common case); None
    where the C half is not built."""
    return None if _fastguards is None else _fastguards.plain_throughout


def allocation_failures() -> int | None:
    """How many of the interpreter's allocations have failed in this process (the first
    call installs the count), or None where the C half is not built. Not a guard: it
    counts in either guard mode."""
    return None if _fastguards is None else int(_fastguards.allocation_failures())


def safe_point_soon() -> None:
    """The C guards' next counted call (``_admit_``, a loop's next item) is a safe point;
    nothing where the C half is not built."""
    if _fastguards is not None:
        _fastguards.safe_point_soon()
