"""``print`` in the sandbox: RestrictedPython compiles ``print(...)`` into
``_print_(_getattr_)._call_print(...)``, and every other use of the name (``key=print``,
``handlers = {"show": print}``) into ``_print._call_print``, a bound method the program
then holds. The membrane admits it (this module's functions are the sandbox's own, and a
Printer is plain): its only state is the stream, in a private slot no guard hands out."""

from __future__ import annotations

import builtins
import functools
from collections.abc import Callable
from typing import Any

from .membrane import plain_by_construction
from .repairs import run_waiting_finalizers


@plain_by_construction
class Printer:
    """What ``_print_(_getattr_)`` returns. Output goes straight to the worker's stdout,
    which the parent reads against its byte budget while the code runs (RestrictedPython's
    own PrintCollector would buffer it all in memory, unbounded)."""

    __slots__ = ("_stdout",)

    def __init__(self, stdout: Any, _getattr_: object = None) -> None:
        self._stdout = stdout

    def _call_print(self, *objects: Any, sep: str | None = " ", end: str | None = "\n",
                    file: Any = None, flush: bool = False) -> None:  # fmt: skip
        # A generator the program dropped closes before what follows it is printed, as in
        # CPython (its finalizer waits for a safe point: repairs.begin_deferring_finalizers).
        run_waiting_finalizers()
        builtins.print(*objects, sep=sep, end=end, file=self._stdout if file is None else file, flush=flush)

    def __call__(self) -> str:
        return ""  # `printed`: output is streamed, never collected


def make_print(stdout: Any) -> Callable[..., Printer]:
    """``_print_`` for a job whose output goes to ``stdout``."""
    return functools.partial(Printer, stdout)
