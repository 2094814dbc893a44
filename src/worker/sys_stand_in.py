"""The guarded members of ``import sys``: exit, the output streams and their redirection
(``sys.stdout = buffer``, ``contextlib.redirect_stdout``), the recursion and int-digit
limits, ``argv``.

The rest of the ``sys`` proxy is the catalogue's read-only facts (``version_info``,
``maxsize``...). These replace members whose real versions hand out the interpreter:
the real ``sys.stdout`` has ``.buffer.raw``, an ``io.FileIO`` whose class opens any
path; a recursion limit past what the worker's C stack holds turns deep recursion
through C code (``map``, ``sorted(key=...)``, ``__eq__``) into a segfault instead of a
RecursionError. Where output goes is one table, STREAMS, that print and the streams read:
a redirect changes the table, never the real sys, and the worker's own stream is never
handed to the program.

Every function of this module can be held by the program (the membrane approves a
module's functions once it offers one of them): keep nothing else here. (``begin`` and
``end`` are the runner's: they only point the table at streams, which gives a program
nothing.)
"""

from __future__ import annotations

import contextlib
import operator
import sys
from collections.abc import Iterator
from typing import Any, NoReturn, TextIO, cast

from .membrane import SANDBOX_CLASSES, plain_by_construction
from .refusal import refused

#: Where the running job's output goes: runner.execute fills it before each job, and
#: redirect_stdout/redirect_stderr change it for the length of a with block.
STREAMS: dict[str, TextIO] = {}

#: The guards' getattr (guards.py sets it: it imports this module).
_guarded_getattr: list[Any] = [None]

#: The job's own streams, which STREAMS starts with and returns to.
ORIGINAL_STREAMS: dict[str, TextIO] = {}


def begin(stdout: TextIO, stderr: TextIO) -> None:
    """Called by the runner as the job starts, with the job's output streams."""
    ORIGINAL_STREAMS.update(stdout=stdout, stderr=stderr)
    STREAMS.update(ORIGINAL_STREAMS)


def end() -> None:
    """Called by the runner as the job ends: the table names no stream until the next
    job, never an object of the program's it left as the target (what the sandbox writes
    after the job, an unraisable error's report, would run the program's code) nor the
    job's (the worker's sys.stdout writes to its own stream when the table is empty)."""
    STREAMS.clear()
    ORIGINAL_STREAMS.clear()


@plain_by_construction
class StreamSwitch:
    """What ``sys.stdout = buffer`` writes through (the guards' write guard gives it for
    the sys proxy, which is otherwise read-only): print() and sys.stdout write to the
    program's object from then on, as with redirect_stdout, and assigning the
    StandardStream back (``sys.stdout = saved``) returns to the job's stream. The real
    sys is never changed."""

    __slots__ = ()

    def __setattr__(self, name: str, value: object) -> None:
        if name not in ("stdout", "stderr"):
            raise refused("modules are read-only in the sandbox; sys.stdout and sys.stderr can be replaced")
        back = type(value) is StandardStream and object.__getattribute__(value, "_name") == name
        STREAMS[name] = ORIGINAL_STREAMS[name] if back else cast(TextIO, value)

    def __delattr__(self, name: str) -> None:
        raise refused("modules are read-only in the sandbox")


SWITCH = StreamSwitch()

#: ``sys.argv``: a program in the sandbox is given no command line (as the interpreter
#: gives ``[""]`` when it names no script).
ARGV = [""]

#: The highest recursion limit a program may set. Recursion that passes through C code
#: on each level (a function calling itself through sorted(key=lambda ...), map(), a
#: comparison calling __eq__ again) costs up to ~3.5 KB of C stack per level here; the
#: worker's stack may grow to 64 MiB (isolation/hardening.py), so this leaves room
#: twice over (tests/integration/test_worker_layers.py recurses to the cap), and ordinary
#: recursive code (DFS over a 10 000-node graph) fits.
RECURSION_LIMIT_CAP = 10_000


class StandardStream:
    """``sys.stdout`` / ``sys.stderr``: write-only, to the job's own output (the bytes
    count against the same budgets as print's). Holds the stream's name, never the
    stream, and cannot be changed or subclassed."""

    __slots__ = ("_name",)
    _name: str

    def __new__(cls, name: str) -> StandardStream:
        # The exact text: a str subclass answers == and hash as it likes, and found the
        # worker's own stream in one table and not in the other (pass 85, F15).
        name = str.__str__(name) if isinstance(name, str) else name
        if name not in ("stdout", "stderr"):
            raise ValueError("a standard stream is 'stdout' or 'stderr'")
        stream = object.__new__(cls)
        object.__setattr__(stream, "_name", name)
        return stream

    def __init_subclass__(cls, **kwargs: Any) -> None:
        raise TypeError("the sandbox's standard streams cannot be subclassed")

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"sys.{self._name} is read-only in the sandbox")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"sys.{self._name} is read-only in the sandbox")

    def __reduce_ex__(self, protocol: object) -> Any:
        raise TypeError(f"sys.{self._name} cannot be copied")

    def __repr__(self) -> str:
        return f"<sys.{self._name} (sandboxed)>"

    def __getattr__(self, name: str) -> Any:
        # Redirected (sys.stdout = buffer, redirect_stdout): what the program reads through
        # sys.stdout is its own object's (sys.stdout.getvalue()), through the guards.
        target = STREAMS.get(self._name)
        if target is None or target is ORIGINAL_STREAMS.get(self._name) or name.startswith("_"):
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")
        return _guarded_getattr[0](target, name)

    @property
    def name(self) -> str:
        return f"<{self._name}>"

    @property
    def encoding(self) -> str:
        return "utf-8"

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        return STREAMS[self._name].write(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        STREAMS[self._name].flush()

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def seekable(self) -> bool:
        return False

    def isatty(self) -> bool:
        return False


# Its instances are sys.stdout and sys.stderr; the class is the sandbox's (never called).
SANDBOX_CLASSES.add(StandardStream)


def exit(status: object = None, /) -> NoReturn:  # noqa: A001 - sys.exit's name
    """``sys.exit``: ends the program. ``None`` or 0 is a normal end (runner.py)."""
    raise SystemExit(status)


def setrecursionlimit(limit: int, /) -> None:
    """``sys.setrecursionlimit``, capped at RECURSION_LIMIT_CAP (past it, the cap)."""
    sys.setrecursionlimit(min(int(operator.index(limit)), RECURSION_LIMIT_CAP))


def set_int_max_str_digits(maxdigits: int, /) -> None:
    """``sys.set_int_max_str_digits``: the limit CPython's own ValueError tells users to
    raise. It protects against quadratic conversions, which the job's CPU limit and
    timeout bound anyway; the reply's conversion of a result has its own bound."""
    sys.set_int_max_str_digits(operator.index(maxdigits))


def _redirect(name: str, new_target: Any) -> Iterator[Any]:
    previous = STREAMS[name]
    STREAMS[name] = new_target
    try:
        yield new_target
    finally:
        STREAMS[name] = previous


@contextlib.contextmanager
def redirect_stdout(new_target: Any) -> Iterator[Any]:
    """``contextlib.redirect_stdout``: print() and sys.stdout write to ``new_target``
    (the program's own object, a StringIO) until the with block ends."""
    yield from _redirect("stdout", new_target)


@contextlib.contextmanager
def redirect_stderr(new_target: Any) -> Iterator[Any]:
    """``contextlib.redirect_stderr``: sys.stderr writes to ``new_target`` until the with
    block ends."""
    yield from _redirect("stderr", new_target)
