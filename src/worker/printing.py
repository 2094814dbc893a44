"""``print`` in the sandbox: RestrictedPython compiles ``print(...)`` into
``_print_(_getattr_)._call_print(...)``, and every other use of the name (``key=print``,
``handlers = {"show": print}``) into ``_print._call_print``, a PrintFunction the program
then holds. The membrane admits it (it is plain by construction); it holds nothing: the
stream is the job's, in sys_stand_in.STREAMS."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

from .membrane import plain_by_construction, shown_as
from .repairs import run_waiting_finalizers
from .sys_stand_in import STREAMS


@plain_by_construction
class PrintFunction:
    """``print`` itself: what ``_print._call_print`` is, called (``print(x)``) or held
    (``key=print``, ``print(print)``). Shown as the builtin it stands for: its repr, name
    and class name are the builtin's, never the sandbox's module or an address. Output
    goes to the job's stdout (sys_stand_in.STREAMS, which redirect_stdout changes), which
    the parent reads against its byte budget while the code runs (RestrictedPython's own
    PrintCollector would buffer it all in memory, unbounded). It holds nothing."""

    __slots__ = ()
    __name__ = "print"

    def __call__(self, *objects: Any, sep: str | None = " ", end: str | None = "\n",
                 file: Any = None, flush: bool = False) -> None:  # fmt: skip
        # A generator the program dropped closes before what follows it is printed, as in
        # CPython (its finalizer waits for a safe point: repairs.begin_deferring_finalizers).
        run_waiting_finalizers()
        builtins.print(*objects, sep=sep, end=end, file=STREAMS["stdout"] if file is None else file, flush=flush)

    def __repr__(self) -> str:
        return "<built-in function print>"

    def __getattr__(self, name: str) -> str:
        if name == "__qualname__":
            return "print"  # a class body cannot hold it: type() takes it for the class's own
        raise AttributeError(f"'builtin_function_or_method' object has no attribute '{name}'")


shown_as(PrintFunction, "builtins", "builtin_function_or_method")
PRINT = PrintFunction()


@plain_by_construction
class Printer:
    """What ``_print_(_getattr_)`` returns, holding ``print``."""

    __slots__ = ()
    _call_print = PRINT

    def __call__(self) -> str:
        return ""  # `printed`: output is streamed, never collected


_PRINTER = Printer()


def make_print() -> Callable[..., Printer]:
    """``_print_``: its output goes where sys_stand_in.STREAMS says (the job's stdout)."""

    def _print_(_getattr_: object = None) -> Printer:
        return _PRINTER

    return _print_
