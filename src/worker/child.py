"""One worker: read a Job, confine, run, write the WorkerReply, exit.

A worker is forked from the template with exactly four descriptors: 0 (/dev/null),
1 and 2 (pipes the parent reads against its output budgets) and ``CHANNEL_FD``, a
socket to the parent that carries the job in and the reply out. The reply is written
only by this code, after the program has finished; anything the program prints goes
to stdout, so a printed "reply" is only ever stdout.
"""

from __future__ import annotations

import io
import os
import signal
import sys
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import CodeType
from typing import Any, TextIO, cast

from ..language.policy import SOURCE_FILENAME
from ..protocol import (
    EXIT_FLUSHED,
    FILES_LIMIT_SIGNAL,
    FLUSH_SIGNAL,
    HEADER,
    MAX_JOB_BYTES,
    SANDBOX_ERROR,
    Job,
    Limits,
    ProtocolError,
    WorkerReply,
    decode_body,
    encode_frame,
    frame_length,
)
from . import file_system, sys_stand_in
from .isolation.hardening import Confinement, HardeningError, harden
from .jsonsafe import clean_text
from .proxies import ModuleProxy
from .runner import Environment, build_environment, execute, run_job, write_traceback

CHANNEL_FD = 3
#: Exit status of a worker that could not confine itself; the parent answers 503.
EXIT_HARDENING_FAILED = 71
EXIT_BAD_JOB = 72
#: Exit status when the worker's own code failed unexpectedly (a bug, not the program).
EXIT_INTERNAL_ERROR = 73
STREAM_BUFFER_BYTES = 64 * 1024

try:
    from . import _output  # type: ignore[attr-defined]
except ImportError:  # not built (no compiler): Python streams, which lose output in a C call
    _output = None


def _read_exact(fd: int, n: int) -> bytes:
    chunks = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            raise ProtocolError("channel closed before the job was complete")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_job(fd: int) -> Job:
    length = frame_length(_read_exact(fd, HEADER.size), MAX_JOB_BYTES)
    job = decode_body(_read_exact(fd, length))
    if not isinstance(job, dict) or not isinstance(job.get("code"), str):
        raise ProtocolError("job is malformed")
    return cast(Job, job)


def _stream(fd: int) -> TextIO:
    """A buffered UTF-8 text stream onto ``fd``. The C sink (``_output.c``) can be written
    out by a signal handler at any instruction; io's streams only by a Python handler,
    between two bytecodes."""
    if _output is not None:
        return cast(TextIO, _output.Sink(fd, STREAM_BUFFER_BYTES))
    raw = io.FileIO(fd, "w", closefd=False)
    # backslashreplace: a lone surrogate in printed text shows up escaped instead of
    # raising UnicodeEncodeError in the middle of the program's output (the sink does too).
    return io.TextIOWrapper(
        io.BufferedWriter(raw, STREAM_BUFFER_BYTES), encoding="utf-8", errors="backslashreplace", newline="\n"
    )


class OutputStream:
    """What ``sys.stdout``/``sys.stderr`` are in a worker: write, flush and little else.

    Library code keeps references to sys.stdout (``pprint.PrettyPrinter()._stream``), and a
    program may read private attributes of its own subclass of such a class. The real
    stream would hand out ``.buffer.raw``, an ``io.FileIO`` whose class opens any path;
    this wrapper's own fields are private to a class the program does not own.

    Writes go where the program's own are going (sys_stand_in.STREAMS): library code that
    prints through the real sys (``pprint.pprint``, ``calendar.prmonth``) follows the
    program's ``redirect_stdout`` and ``sys.stdout = buffer`` as in CPython. Outside a job,
    or for a stream the table does not name, the worker's own stream.
    """

    __slots__ = ("_name", "_stream")

    def __init__(self, name: str, stream: TextIO) -> None:
        self._name = name
        self._stream = stream

    def _target(self) -> TextIO:
        return sys_stand_in.STREAMS.get(self._name, self._stream)

    def write(self, text: str) -> int:
        return self._target().write(text)

    def writelines(self, lines: list[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._target().flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:
        return "utf-8"

    def __reduce_ex__(self, protocol: object) -> Any:
        # copy/deepcopy/pickle would take the state, i.e. the real stream, along.
        raise TypeError("the sandbox's output stream cannot be copied")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


#: Limits for the rehearsal: the job's own limits are not known yet, and nothing is
#: confined yet either, which is fine: the rehearsal runs our program, not the user's.
_REHEARSAL_LIMITS: Limits = {
    "memory_mb": 0, "cpu_s": 0, "max_open_files": 0, "max_result_bytes": 4096, "max_error_chars": 200
}  # fmt: skip


def rehearse(program: CodeType, environment: Environment) -> None:
    """Run a small fixed program of ours while the worker waits for its job.

    A forked worker pays a copy-on-write page fault for every page of the template it
    writes to, and running Python writes everywhere (reference counts). Doing it now, while
    the worker is idle and before it has a job, takes most of those faults off the request
    path. The rehearsal uses its own namespace and output, and changes no state a program
    can see: module proxies are read-only and every guard is rebuilt for the real job.
    """
    sink = io.StringIO()
    job: Job = {"code": "", "context": {}, "limits": _REHEARSAL_LIMITS}
    try:  # noqa: SIM105 - no contextlib here: see the note in serve()
        execute(program, job, sink, sink, environment)
    except Exception:  # noqa: BLE001, S110 - a failed rehearsal only costs latency
        pass


#: Runs one job: (job, stdout, stderr, environment) -> reply.
Runner = Callable[[Job, TextIO, TextIO, Environment], WorkerReply]


def guarded_runner(job: Job, stdout: TextIO, stderr: TextIO, environment: Environment) -> WorkerReply:
    """The service's runner: RestrictedPython bytecode in a guarded namespace."""
    return run_job(job, stdout, stderr, {}, frozenset(), environment)


@dataclass(frozen=True)
class Kit:
    """Everything a worker needs that does not depend on its job, built once in the
    template before any fork: forked workers share it instead of each building it."""

    environment: Environment
    stdout: TextIO
    stderr: TextIO
    rehearsal: CodeType | None
    confinement: Confinement
    runner: Runner


def prepare(
    proxies: Mapping[str, ModuleProxy],
    allowed: frozenset[str],
    rehearsal: CodeType | None,
    confinement: Confinement,
    runner: Runner | None = None,
) -> Kit:
    """In the template. The streams wrap descriptors 1 and 2 by number; the template never
    writes through them, and in a worker those numbers are its own output pipes."""
    return Kit(
        build_environment(proxies, allowed), _stream(1), _stream(2), rehearsal, confinement, runner or guarded_runner
    )


def _flush_on_signal(stdout: TextIO, stderr: TextIO) -> None:
    """At the deadline the parent sends FLUSH_SIGNAL: the output printed so far is
    written to the pipes (the contract: output before a timeout is returned) and the
    worker exits. At the CPU limit, or when C code faults, the same output is written out
    before the signal ends the worker. With the C sinks the handler is C's and runs at
    once, also in the middle of a long C call; the Python fallback runs between two
    bytecodes only, so a program stuck in a C call loses its buffered output."""
    if _output is not None:
        _output.catch_ending_signals((stdout, stderr), FLUSH_SIGNAL, EXIT_FLUSHED)
        return

    def flush_and_exit(signum: int, frame: object) -> None:
        for stream in (stdout, stderr):
            try:  # noqa: SIM105 - no contextlib while the program runs (see serve())
                stream.flush()
            except BaseException:  # noqa: BLE001, S110 - e.g. a reentrant write: output is best effort
                pass
        os._exit(EXIT_FLUSHED)

    def flush_at_the_cpu_limit(signum: int, frame: object) -> None:
        # The soft RLIMIT_CPU: write out what was printed, then let the limit take its
        # course (the next SIGXCPU, or SIGKILL at the hard limit a second later), so the
        # parent still sees the CPU limit and the answer keeps the output before it.
        signal.signal(signal.SIGXCPU, signal.SIG_DFL)
        for stream in (stdout, stderr):
            try:  # noqa: SIM105 - no contextlib while the program runs (see serve())
                stream.flush()
            except BaseException:  # noqa: BLE001, S110 - output is best effort
                pass

    def flush_at_the_files_limit(signum: int, frame: object) -> None:
        # The size limit (the kernel's SIGXFSZ) or another limit on files (the worker's
        # own): the output, then the signal's default action, which the parent reports.
        for stream in (stdout, stderr):
            try:  # noqa: SIM105 - no contextlib while the program runs (see serve())
                stream.flush()
            except BaseException:  # noqa: BLE001, S110 - output is best effort
                pass
        signal.signal(FILES_LIMIT_SIGNAL, signal.SIG_DFL)
        os.kill(0, FILES_LIMIT_SIGNAL)

    signal.signal(FLUSH_SIGNAL, flush_and_exit)
    signal.signal(signal.SIGXCPU, flush_at_the_cpu_limit)
    signal.signal(FILES_LIMIT_SIGNAL, flush_at_the_files_limit)


def _show_warning(  # noqa: PLR0917 - warnings.showwarning's signature, called positionally
    message: Warning | str, category: type[Warning], filename: str, lineno: int, file: Any = None, line: Any = None
) -> None:
    """A warning as CPython prints it, with its place only when that is the program's
    source: a library's is a path on the host (``string.py:85``, ``guards.py:612``)."""
    where = f"{SOURCE_FILENAME}:{lineno}: " if filename == SOURCE_FILENAME else ""
    sys.stderr.write(f"{where}{category.__name__}: {message}\n")


def _show_unraisable(unraisable: Any) -> None:
    """``Exception ignored in: ...`` (an exception in a finalizer, a generator's
    ``finally`` at collection), with the traceback's frames of the program only, as the
    runner writes any other."""
    try:
        sys.stderr.write(f"Exception ignored in: <{type(unraisable.object).__name__} object>\n")
        if unraisable.exc_value is not None:
            write_traceback(unraisable.exc_value, sys.stderr)
    except BaseException:  # noqa: BLE001, S110 - a hook that raises makes CPython print its own report, paths and all
        pass


def serve(kit: Kit, rehearse_first: bool = True) -> None:
    """Run one job and exit the process; or, for a session (``Job.session``), run its
    calls one after another until the channel closes. Never returns.

    No explicit reseeding of ``random``: the module reseeds itself in every forked child
    (os.register_at_fork), so no two workers share a stream.
    """
    stdout, stderr = kit.stdout, kit.stderr
    if rehearse_first and kit.rehearsal is not None:
        rehearse(kit.rehearsal, kit.environment)
    try:
        job = read_job(CHANNEL_FD)
    except (ProtocolError, OSError):
        os._exit(EXIT_BAD_JOB)
    workdir = job.get("workdir")
    try:
        # The program's current directory (its own Landlock rule below); without one, the
        # root, which the worker cannot read (not the service's own directory).
        os.chdir(workdir if workdir is not None else "/")
    except (OSError, TypeError, ValueError):
        os._exit(EXIT_BAD_JOB)
    _flush_on_signal(stdout, stderr)
    rules = job.get("file_rules") if workdir is not None else None
    writable = rules is not None and kit.confinement is not None and kit.confinement.writes
    try:
        harden(job["limits"], kit.confinement, workdir, rules["max_file_bytes"] if writable and rules else 0)
    except HardeningError:
        os._exit(EXIT_HARDENING_FAILED)
    file_system.begin(rules, writable)
    # pprint, calendar.prmonth & co. write to sys.stdout: the same buffered stream as print.
    sys.stdout, sys.stderr = OutputStream("stdout", stdout), OutputStream("stderr", stderr)
    sys.stdin = None  # nothing to read, nothing to hand out
    # What the interpreter itself writes to stderr (warnings, exceptions it cannot raise)
    # would name the host's paths of the library and the sandbox.
    warnings.showwarning = _show_warning
    sys.unraisablehook = _show_unraisable
    while True:
        _reply_to(job, kit)
        if not job.get("session"):
            os._exit(0)
        # A session's worker waits for the session's next call. The channel closing (the
        # session ended) or a frame it cannot read ends the worker, as a kill would.
        try:
            job = read_job(CHANNEL_FD)
        except (ProtocolError, OSError):
            os._exit(0)


def _reply_to(job: Job, kit: Kit) -> None:
    """Run one job and write its reply on the channel."""
    stdout, stderr = kit.stdout, kit.stderr
    try:
        reply = kit.runner(job, stdout, stderr, kit.environment)
    except BaseException:  # noqa: BLE001 - a bug of ours; the program's own errors are data
        reply = {
            "success": False,
            "result": None,
            "result_truncated": False,
            "error": {"type": SANDBOX_ERROR, "message": "the sandbox could not describe the outcome", "line": None},
            "limit": None,
        }
    # From here on only our own code and C-level objects fixed before the program ran
    # (protocol.dumps): nothing the program could have altered decides the reply.
    file_system.flush_open_files()  # before the API reads the directory back
    if job.get("session"):
        file_system.close_removed_files()
    for stream in (stdout, stderr):
        try:  # noqa: SIM105 - no contextlib after the program ran (see above)
            stream.flush()
        except BaseException:  # noqa: BLE001, S110 - output is best effort; the reply is not
            pass
    try:
        frame = encode_frame(reply)
    except (ValueError, TypeError, RecursionError, MemoryError):
        error = reply["error"]
        reply["result"], reply["result_truncated"] = None, True
        if error is not None:
            error["message"] = clean_text(error["message"])
        frame = encode_frame(reply)
    try:
        _write_all(CHANNEL_FD, frame)
    except OSError:
        os._exit(0)  # the parent gave up on this job (its deadline): nobody reads the reply
