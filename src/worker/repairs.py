"""Repairs of memory-safety bugs in CPython's C code that a program reaches with its own
classes, hooks and bytes (``interpreter_repairs/*.c`` say each one and why, one file per
family; docs/security.md, "The interpreter's C code", the family).

They are a security layer, not a guard: made in the template before any program class
exists, whatever the guard mode, and reported to the server as the layer
``interpreter_repairs`` (protocol.LAYERS), which ``EXECUTOR_REQUIRED_LAYERS`` requires by
default. Without the built extension (no C compiler where the checkout was set up) the
layer is missing and the service refuses to run programs unless an operator drops it from
the required layers."""

from __future__ import annotations

from collections.abc import Callable

try:
    from . import _repairs  # type: ignore[attr-defined]
except ImportError:  # not built here: the layer is reported missing
    _repairs = None

_applied = False


#: A Python method for every slot whose calls ``interpreter_repairs/operands.c`` holds the
#: operands of: typeobject.c installs its generic slot function for each in a class that
#: has it, and apply() reads them from one such class.
_HELD_SPECIAL_METHODS = (
    *(f"__{op}__" for op in ("add", "sub", "mul", "mod", "divmod", "lshift", "rshift", "and", "xor", "or")),
    *(f"__{op}__" for op in ("floordiv", "truediv", "matmul", "pow")),
    *(f"__i{op}__" for op in ("add", "sub", "mul", "mod", "lshift", "rshift", "and", "xor", "or")),
    *(f"__i{op}__" for op in ("floordiv", "truediv", "matmul", "pow")),
    *("__index__", "__bool__", "__getitem__", "__contains__", "__call__", "__next__", "__hash__", "__eq__"),
    *("__neg__", "__pos__", "__abs__", "__invert__", "__int__", "__float__", "__len__", "__setitem__"),
    *("__repr__", "__str__", "__iter__", "__getattr__", "__get__", "__set__"),
)


def _never_called(*args: object) -> None:
    raise AssertionError("only the slot functions of its class are read")


def _no_attribute(self: object, name: str) -> None:
    raise AttributeError(name)


def available() -> bool:
    """Whether the extension is built here."""
    return _repairs is not None


def apply() -> bool:
    """Make every repair in this process (once; later calls change nothing). False where
    the extension is not built."""
    global _applied  # once per process: the template's
    if _repairs is None:
        return False
    generic = type("GenericSlots", (), dict.fromkeys(_HELD_SPECIAL_METHODS, _never_called))
    getattribute_only = type("GetattributeOnly", (), {"__getattribute__": _no_attribute})
    getattr(getattribute_only(), "any", None)  # its slot rewrites itself at the first lookup
    _repairs.apply(generic, getattribute_only)
    _applied = True
    return True


def hold_new_types() -> None:
    """The repairs that cover every type (the C types' repr, str, hash and comparison),
    for the types made since apply(): the C types of the modules imported after it. The
    template calls it once everything it imports is imported; nothing where the repairs
    are not applied."""
    if _applied:
        _repairs.hold_new_types()


def applied() -> bool:
    return _applied


def hold_operands(cls: type) -> None:
    """The program's class ``cls`` holds its operands while its special methods run (and
    keeps one that the call left with no other owner): C code that calls them with a
    pointer it does not own cannot be handed freed memory after. Nothing where the
    repairs are not applied (the layer is reported missing then)."""
    if _applied:
        _repairs.hold_operands(cls)


def operands_held(cls: type) -> bool:
    """Whether every slot of ``cls`` that runs a Python special method holds its operands
    (tests)."""
    return _repairs is not None and bool(_repairs.operands_held(cls))


def callees_held(cls: type) -> bool:
    """Whether ``cls``'s repr, str, hash and comparison hold their objects for the call
    (tests): C types' own slots by the repairs, the program's classes' by their held
    operands, the slots that run nothing of the program's as they are."""
    return _repairs is not None and bool(_repairs.callees_held(cls))


def begin_deferring_finalizers(program_filename: str, soon: Callable[[], None]) -> None:
    """From now on (a job), a finalizer a decref runs (a suspended generator's ``finally``,
    ``close()`` of an io class of the program's) waits for a safe point instead of running
    inside whatever C operation released its object (interpreter_repairs/finalizers.c):
    between two instructions of code compiled as ``program_filename``, or at the guards'
    next safe point, which ``soon()`` asks for. Nothing where the repairs are not applied."""
    if _applied:
        _repairs.begin_deferring_finalizers(program_filename, soon)


def end_deferring_finalizers() -> None:
    """The job is over and its outcome final: the finalizers that wait never run (nor
    what dropping them releases), nor those of the program's generators freed later;
    the others run at once again."""
    if _applied:
        _repairs.end_deferring_finalizers()


def run_waiting_finalizers() -> int:
    """The finalizers that wait, run now (a safe point); how many ran."""
    return int(_repairs.run_waiting_finalizers()) if _applied else 0


def finalizers_never_run() -> int:
    """How many objects were freed unfinalized: the queue had no memory, or the job was
    over (tests)."""
    return int(_repairs.finalizers_never_run()) if _repairs is not None else 0


def finalizer_deferred(cls: type) -> bool:
    """Whether ``cls``'s finalizer, if it has one, waits for a safe point (tests)."""
    return _repairs is not None and bool(_repairs.finalizer_deferred(cls))
