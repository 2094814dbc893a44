"""ExecutionPool: one fresh, pre-forked worker per job, a deadline, and a kill.

The pool keeps a few workers forked ahead of demand so the fork is off the request
path. A job takes one, sends it the program, and reads three things at once: stdout and
stderr against their byte budgets, and the reply frame on the channel. The first of
these ends the job: a complete reply, the channel closing without one (the worker died),
an output flood, or the deadline. Then the worker is killed, whatever state it is in,
and never reused.

The template is watched two ways: its death (the supervisor restarts it) and its
silence. A spawn or a liveness ping it leaves unanswered for ``hang_timeout_s`` makes it
hung (see template_client): it is killed, the requests waiting on it get a 503 at once,
and the supervisor restarts it as after any death.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from ..offload import parse_sized
from ..protocol import (
    CPU_TIME_EXCEEDED,
    EXIT_FLUSHED,
    FILES_LIMIT_EXCEEDED,
    FILES_LIMIT_SIGNAL,
    FLUSH_SIGNAL,
    HEADER,
    MAX_FIGURES_BYTES,
    MAX_JOB_BYTES,
    OUTPUT_LIMIT_EXCEEDED,
    WORKER_CRASHED,
    FigureRules,
    FileRules,
    Job,
    LimitKind,
    Limits,
    ProtocolError,
    WorkerReply,
    decode_body,
    encode_frame,
    parse_reply,
)
from .template_client import (
    EXIT_BAD_JOB,
    EXIT_HARDENING_FAILED,
    HANG_TIMEOUT_S,
    TEMPLATE_ENTRY,
    LayerReport,
    SpawnFailed,
    TemplateDied,
    TemplateHung,
    TemplateProcess,
    Worker,
)

log = logging.getLogger(__name__)

READ_CHUNK = 65536
#: How long a worker past its deadline has to write out its buffered output (it was sent
#: FLUSH_SIGNAL) before it is killed with whatever it has not written.
FLUSH_GRACE_S = 0.25
#: How long to wait for the template's exit report of a worker that closed its channel.
EXIT_STATUS_WAIT_S = 1.0
#: How often the template is pinged, so that a hang is found even when no request needs
#: a fork (the ready workers hide a stuck template until they are used up).
LIVENESS_INTERVAL_S = 1.0


class PoolUnavailable(Exception):
    """The pool cannot run code right now (template down or restarting, worker unable
    to confine itself). Maps to 503."""


class JobTooLarge(Exception):
    """The job's frame (program, compiled program, context) is larger than a worker reads
    (MAX_JOB_BYTES): settings can allow a body and a program that make one. Maps to 413;
    sent, the worker would refuse it and the reply would be a crash."""

    def __init__(self, size: int) -> None:
        super().__init__(
            f"the program, its compiled form and its context make a job of {size:,} bytes; a worker "
            f"takes at most {MAX_JOB_BYTES:,}: send a smaller context or program"
        )
        self.size = size


@dataclass
class StreamCapture:
    """Bounded capture of one output pipe: keeps ``budget`` bytes, counts the rest."""

    budget: int
    flood_at: int
    data: bytearray = field(default_factory=bytearray)
    total: int = 0

    def feed(self, chunk: bytes) -> None:
        room = self.budget - len(self.data)
        if room > 0:
            self.data += chunk[:room]
        self.total += len(chunk)

    def checkpoint(self) -> tuple[int, int]:
        return len(self.data), self.total

    def rewind(self, checkpoint: tuple[int, int]) -> None:
        """Forget what was fed after ``checkpoint``."""
        kept, self.total = checkpoint
        del self.data[kept:]

    @property
    def truncated(self) -> bool:
        return self.total > self.budget

    @property
    def flooded(self) -> bool:
        return self.total > self.flood_at

    def text(self) -> str:
        # A cut may split a multi-byte character: drop the partial tail, not the reply.
        return self.data.decode("utf-8", "replace" if not self.truncated else "ignore")


@dataclass
class RunOutcome:
    """What happened to one job, before it becomes an HTTP reply."""

    reply: WorkerReply
    stdout: StreamCapture
    stderr: StreamCapture
    duration_s: float
    #: Whether the worker lives on after the job (a session's that replied).
    kept: bool = False


Ending = Literal["reply", "eof", "flood", "timeout"]


class _JobIO:
    """Reads a worker's three descriptors until one of them ends the job."""

    def __init__(self, worker: Worker, stdout: StreamCapture, stderr: StreamCapture, max_reply_bytes: int) -> None:
        self.worker = worker
        self.stdout = stdout
        self.stderr = stderr
        self.max_reply_bytes = max_reply_bytes
        self.reply_buf = bytearray()
        self.reply_len: int | None = None
        self.loop = asyncio.get_running_loop()
        self.ended: asyncio.Future[Ending] = self.loop.create_future()
        #: Done when both output pipes are at EOF (the worker exited).
        self.streams_closed: asyncio.Future[None] = self.loop.create_future()
        self._open_streams = 2
        self.protocol_error = False

    def end(self, why: Ending) -> None:
        if not self.ended.done():
            self.ended.set_result(why)

    def _on_stream(self, fd: int, capture: StreamCapture) -> None:
        try:
            chunk = os.read(fd, READ_CHUNK)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self.loop.remove_reader(fd)
            self._open_streams -= 1
            if self._open_streams == 0 and not self.streams_closed.done():
                self.streams_closed.set_result(None)
            return
        capture.feed(chunk)
        if capture.flooded:
            self.end("flood")

    def _on_channel(self) -> None:
        try:
            chunk = self.worker.channel.recv(READ_CHUNK)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self.end("eof")
            return
        self.reply_buf += chunk
        if self.reply_len is None and len(self.reply_buf) >= HEADER.size:
            (self.reply_len,) = HEADER.unpack_from(self.reply_buf)
            if self.reply_len > self.max_reply_bytes:
                self.protocol_error = True
                self.end("eof")
                return
        if self.reply_len is not None and len(self.reply_buf) >= HEADER.size + self.reply_len:
            self.end("reply")

    def abandon_flooded_stream(self) -> None:
        """Stop reading the stream that flooded, and release its pipe's read end (the fd
        number now reads /dev/null): the worker's write into it fails at once (EPIPE)
        instead of waiting for a reader, so its flush handler can run and write out what
        the other stream still holds."""
        fd = self.worker.stdout_fd if self.stdout.flooded else self.worker.stderr_fd
        self.loop.remove_reader(fd)
        null = os.open(os.devnull, os.O_RDONLY)
        try:
            os.dup2(null, fd)
        finally:
            os.close(null)
        self._open_streams -= 1
        if self._open_streams == 0 and not self.streams_closed.done():
            self.streams_closed.set_result(None)

    def drain_streams(self) -> None:
        """Read what the pipes already hold. Called once the reply is in: the worker
        flushed its output before writing the reply, so nothing is missing after this."""
        for fd, capture in ((self.worker.stdout_fd, self.stdout), (self.worker.stderr_fd, self.stderr)):
            for _ in range(1 + capture.flood_at // READ_CHUNK):
                try:
                    chunk = os.read(fd, READ_CHUNK)
                except (BlockingIOError, OSError):
                    break
                if not chunk:
                    break
                capture.feed(chunk)

    def __enter__(self) -> _JobIO:
        self.loop.add_reader(self.worker.stdout_fd, self._on_stream, self.worker.stdout_fd, self.stdout)
        self.loop.add_reader(self.worker.stderr_fd, self._on_stream, self.worker.stderr_fd, self.stderr)
        self.loop.add_reader(self.worker.channel.fileno(), self._on_channel)
        return self

    def __exit__(self, *exc: object) -> None:
        for fd in (self.worker.stdout_fd, self.worker.stderr_fd, self.worker.channel.fileno()):
            self.loop.remove_reader(fd)


def job_frame(job: Job) -> bytes:
    """The job's frame; JobTooLarge for one no worker would read."""
    frame = encode_frame(job)
    if len(frame) - HEADER.size > MAX_JOB_BYTES:
        raise JobTooLarge(len(frame) - HEADER.size)
    return frame


def _limit_reply(limit: LimitKind, etype: str, message: str) -> WorkerReply:
    return {
        "success": False,
        "result": None,
        "result_truncated": False,
        "error": {"type": etype, "message": message, "line": None},
        "limit": limit,
    }


def _read_reply(body: bytes, limits: Limits, figure_rules: FigureRules | None = None) -> WorkerReply:
    return parse_reply(decode_body(body), limits, figure_rules)


def _crash_reply(message: str) -> WorkerReply:
    return {
        "success": False,
        "result": None,
        "result_truncated": False,
        "error": {"type": WORKER_CRASHED, "message": message, "line": None},
        "limit": None,
    }


def _files_limit_message(rules: FileRules | None) -> str:
    if rules is None:
        return "the program went past a limit on its files"
    return (
        f"the program went past a limit on its files: at most {rules['max_files']} files, "
        f"{rules['max_file_bytes']:,} bytes each and {rules['max_files_bytes']:,} bytes in all"
    )


def _died_reply(
    exit_info: tuple[int, int] | None,
    cpu_s: int,
    memory_mb: int,
    file_rules: FileRules | None = None,
    hard_cpu_s: int | None = None,
) -> WorkerReply:
    """Describe a worker that closed its channel without a reply, from how it ended.
    ``hard_cpu_s``: the CPU time of its whole life past which a SIGKILL is the hard
    RLIMIT_CPU's (default ``cpu_s``: a one-shot worker's, a second before its hard limit;
    a session's worker has the session's)."""
    if exit_info is None:
        return _crash_reply("the worker ended without a result")
    status, cpu_ms = exit_info
    if not os.WIFSIGNALED(status):
        return _crash_reply(f"the worker exited with status {os.WEXITSTATUS(status)} without a result")
    sig = os.WTERMSIG(status)
    # SIGXCPU comes at the soft RLIMIT_CPU, SIGKILL at the hard one.
    killed_at_s = cpu_s if hard_cpu_s is None else hard_cpu_s
    if sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu_ms >= killed_at_s * 1000):
        return _limit_reply("cpu", CPU_TIME_EXCEEDED, f"the program used more than {cpu_s} s of CPU time")
    if sig == FILES_LIMIT_SIGNAL:
        # The kernel's, at RLIMIT_FSIZE, or the worker's own at another limit on its files.
        return _limit_reply("files", FILES_LIMIT_EXCEEDED, _files_limit_message(file_rules))
    if sig == signal.SIGKILL:
        # Not us (we had not given up on it) and not RLIMIT_CPU: the kernel's OOM killer or
        # an operator. RLIMIT_AS normally stops memory growth first, so no limit is claimed.
        return _crash_reply("the worker was killed (SIGKILL) from outside, e.g. by the out-of-memory killer")
    try:
        name = signal.Signals(sig).name
    except ValueError:  # a real-time signal has no name in the enum
        name = f"signal {sig}"
    if sig in _FAULT_SIGNALS:
        # A recursion in C deeper than the C stack (hash of a tuple nested a million deep),
        # or a fault in C code: what an exploit of a memory-safety bug leaves when it misses
        # (SIGSEGV or SIGBUS by where a forged pointer led, SIGABRT from the allocator's
        # checks), or a system call the filter kills for (SIGSYS: an escaped program
        # probing it). Not a limit the service set, and worth an operator's look.
        log.warning("a worker crashed with %s (deep C recursion, a fault in C code, or a refused system call)", name)
        return _crash_reply(
            f"the interpreter crashed ({name}): a recursion deeper than the C stack, a fault in C code, "
            "or a refused system call"
        )
    return _crash_reply(f"the worker was killed by {name}")


#: The signals a process dies of by its own fault, not by anyone's decision.
_FAULT_SIGNALS = frozenset(
    {signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE, signal.SIGABRT, signal.SIGTRAP, signal.SIGSYS}
)


class ExecutionPool:
    """Template process + ready workers. ``run`` is safe to call concurrently; admission
    (how many at once, in which order) is the caller's job."""

    def __init__(
        self,
        allowed_imports: list[str],
        prefork: int,
        *,
        busy: Callable[[], bool] = lambda: False,
        disabled_layers: frozenset[str] = frozenset(),
        template_entry: str = TEMPLATE_ENTRY,
        hang_timeout_s: float = HANG_TIMEOUT_S,
        files_root: str | None = None,
    ) -> None:
        """``busy()``: True when every execution slot is taken; new workers then skip the
        rehearsal, which would only compete for CPU with the executions running.
        ``hang_timeout_s``: how long the template may leave a spawn or a liveness ping
        unanswered before it is declared hung, killed and restarted.
        ``disabled_layers`` and ``template_entry`` exist for the tests that show what
        each layer stops on its own; the service passes neither (see app.create_app).
        ``files_root``: the directory of the executions' working directories, which the
        workers may read beneath (each its own only: protocol.Job.workdir)."""
        self._allowed = allowed_imports
        self._prefork = prefork
        self._disabled_layers = disabled_layers
        self._template_entry = template_entry
        self._hang_timeout_s = hang_timeout_s
        self._files_root = files_root
        self._template: TemplateProcess | None = None
        self._ready: deque[Worker] = deque()
        self._forking = 0
        self._supervisor: asyncio.Task[None] | None = None
        self._liveness: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._stopping = False
        #: Template restarts (after a death or a hang).
        self.restarts = 0
        #: Times a template was declared hung (each is followed by a restart).
        self.hangs = 0
        self._last_ping_s: float | None = None
        self._last_ping_at: float | None = None
        self.started = asyncio.Event()
        self._busy = busy
        self._restart_listeners: list[Callable[[], None]] = []
        self._hang_listeners: list[Callable[[], None]] = []

    def on_restart(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` after each template restart (metrics, a new self-test)."""
        self._restart_listeners.append(listener)

    def on_hang(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` each time a template is declared hung, right after it was
        killed and before its restart (which calls the ``on_restart`` listeners)."""
        self._hang_listeners.append(listener)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        await self._start_template()
        self._supervisor = asyncio.create_task(self._supervise(), name="template-supervisor")
        self._liveness = asyncio.create_task(self._watch_liveness(), name="template-liveness")

    async def _start_template(self) -> None:
        template = TemplateProcess(
            self._allowed,
            disabled_layers=self._disabled_layers,
            entry=self._template_entry,
            hang_timeout_s=self._hang_timeout_s,
            files_root=self._files_root,
        )
        await template.start()
        self._template = template
        self._ready.clear()
        self.started.set()
        self._replenish()

    async def _supervise(self) -> None:
        while not self._stopping:
            template = self._template
            assert template is not None
            await template.died.wait()
            if self._stopping:
                return
            self.started.clear()
            if template.hung:
                self.hangs += 1
                log.error("template process hung and was killed; restarting")
                for listener in self._hang_listeners:
                    listener()
            else:
                log.error("template process died; restarting")
            for worker in self._ready:
                worker.close()
            self._ready.clear()
            await template.stop()
            backoff = 0.1
            while not self._stopping:
                await asyncio.sleep(backoff)
                try:
                    await self._start_template()
                except Exception:
                    log.exception("template restart failed")
                    backoff = min(backoff * 2, 5.0)
                    continue
                self.restarts += 1
                for listener in self._restart_listeners:
                    listener()
                break

    async def _watch_liveness(self) -> None:
        """Ping the current template every LIVENESS_INTERVAL_S. A ping left unanswered is
        the template's own hang watchdog's verdict (it kills the template; the supervisor
        restarts it), so a failed ping needs nothing more here."""
        while True:
            await asyncio.sleep(LIVENESS_INTERVAL_S)
            template = self._template
            if template is None or not template.alive:
                continue
            try:
                round_trip_s = await template.ping()
            except TemplateDied:
                continue
            self._last_ping_s = round_trip_s
            self._last_ping_at = time.monotonic()

    async def stop(self) -> None:
        self._stopping = True
        for task in (self._supervisor, self._liveness):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for task in list(self._background):
            task.cancel()
        while self._ready:
            self._ready.popleft().close()
        if self._template is not None:
            await self._template.stop()

    @property
    def alive(self) -> bool:
        return self._template is not None and self._template.alive

    @property
    def layers(self) -> LayerReport | None:
        """The OS layers of the current template's workers; None before it announced them."""
        template = self._template
        if template is None or template.layers is None or not template.layers.done():
            return None
        if template.layers.cancelled() or template.layers.exception() is not None:
            return None
        return template.layers.result()

    @property
    def ready_workers(self) -> int:
        return len(self._ready)

    @property
    def hang_timeout_s(self) -> float:
        """How long the template may leave a spawn or a ping unanswered before it is hung."""
        return self._hang_timeout_s

    @property
    def responsive(self) -> bool:
        """False from the moment the template left a spawn or a ping unanswered past
        ``hang_timeout_s`` until a new template has started (and so answered: it announced
        its layers). A template that merely died does not make this False (see ``alive``)."""
        template = self._template
        return template is None or not template.hung

    @property
    def last_ping_ms(self) -> float | None:
        """Round trip of the last answered liveness ping, in milliseconds; None before any."""
        return None if self._last_ping_s is None else self._last_ping_s * 1000

    @property
    def last_ping_age_s(self) -> float | None:
        """Seconds since the last liveness ping was answered; None before any. Normally
        under LIVENESS_INTERVAL_S plus a round trip; larger while the template is hung,
        dead or restarting (or this event loop is blocked)."""
        return None if self._last_ping_at is None else time.monotonic() - self._last_ping_at

    # ------------------------------------------------------------------ workers

    def _replenish(self) -> None:
        while not self._stopping and len(self._ready) + self._forking < self._prefork and self.alive:
            self._forking += 1
            task = asyncio.create_task(self._fork_ahead())
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _fork_ahead(self) -> None:
        template = self._template
        try:
            assert template is not None
            worker = await template.spawn(rehearse=not self._busy())
        except (TemplateDied, SpawnFailed, AssertionError):
            return
        finally:
            self._forking -= 1
        if template is self._template and not self._stopping:
            self._ready.append(worker)
        else:
            worker.close()

    async def _take_worker(self) -> Worker:
        while self._ready:
            worker = self._ready.popleft()
            if not worker.exited.done() and worker.template.alive:
                self._replenish()
                return worker
            worker.close()
        if self._template is None or not self._template.alive:
            raise PoolUnavailable("the sandbox is restarting")
        try:
            worker = await self._template.spawn(rehearse=False)  # needed now: no time to rehearse
        except TemplateHung as exc:
            raise PoolUnavailable("the sandbox stopped answering and is restarting") from exc
        except TemplateDied as exc:
            raise PoolUnavailable("the sandbox is restarting") from exc
        except SpawnFailed as exc:
            raise PoolUnavailable("the sandbox could not start a worker (out of processes or memory)") from exc
        self._replenish()
        return worker

    # ------------------------------------------------------------------ one job

    async def run(
        self, job: Job, timeout_s: float, *, stdout_budget: int, stderr_budget: int, flood_factor: int
    ) -> RunOutcome:
        """Run ``job`` in a fresh worker. Raises PoolUnavailable (503), never for the
        program's own behaviour: that is always described in the returned reply. Raises
        JobTooLarge, before any worker is taken, for a job no worker would read."""
        frame = job_frame(job)
        worker = await self._take_worker()
        try:
            return await self.converse(
                worker, job, frame, timeout_s, stdout_budget=stdout_budget, stderr_budget=stderr_budget,
                flood_factor=flood_factor, keep=False,
            )  # fmt: skip
        finally:
            worker.close()

    async def take_session_worker(self) -> Worker:
        """A worker for a session, which the caller owns from now on (and closes)."""
        return await self._take_worker()

    async def converse(
        self,
        worker: Worker,
        job: Job,
        frame: bytes,
        timeout_s: float,
        *,
        stdout_budget: int,
        stderr_budget: int,
        flood_factor: int,
        keep: bool,
    ) -> RunOutcome:
        """Send ``job`` (its ``frame``) to ``worker`` and read its outcome. The worker is
        killed afterwards unless ``keep`` (a session's) and it replied: a worker that ran
        out of time, flooded its output, died or sent a malformed reply is never reused."""
        max_reply = job["limits"]["max_result_bytes"] * 2 + job["limits"]["max_error_chars"] * 4 + 65536
        if "figure_rules" in job:
            max_reply += MAX_FIGURES_BYTES + 4096
        stdout = StreamCapture(stdout_budget, stdout_budget * flood_factor)
        stderr = StreamCapture(stderr_budget, stderr_budget * flood_factor)
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        with _JobIO(worker, stdout, stderr, max_reply) as io:
            # The deadline covers sending the job too (a large job to a worker that
            # does not read it must not hold the request forever).
            timer = loop.call_later(timeout_s, io.end, "timeout")
            send = self._send_job(worker, frame)
            # The template dying ends the executions it forked (a clean 503), even
            # though a worker could finish on its own: the pool is restarting.
            forget = worker.template.on_death(lambda: io.end("eof"))
            try:
                ending = await io.ended
            finally:
                timer.cancel()
                forget()
                if send is not None:
                    send.cancel()
            duration = time.perf_counter() - started
            if ending == "reply":
                io.drain_streams()
            elif ending == "timeout":
                io.drain_streams()  # what reached the pipes by the deadline
                at_deadline = stdout.checkpoint(), stderr.checkpoint()
                if await self._flush_at_deadline(worker, io):
                    io.drain_streams()
                else:
                    # Not the flush: the program ran on past its deadline (it can
                    # make the handler's call fail and catch the error), or was
                    # stuck in a C call. Nothing it wrote after the deadline counts.
                    stdout.rewind(at_deadline[0])
                    stderr.rewind(at_deadline[1])
            elif ending == "flood":
                # One stream flooded; what the program printed to the other is still
                # in the worker's buffer (attack pass 76: a reply with stdout '' and
                # not truncated). The flooded stream keeps only its budget anyway.
                io.drain_streams()
                io.abandon_flooded_stream()
                if await self._flush_at_deadline(worker, io):
                    io.drain_streams()
        if not (keep and ending == "reply" and not io.protocol_error):
            worker.kill()
        reply = await self._describe(worker, io, ending, job, timeout_s)
        kept = keep and ending == "reply" and not io.protocol_error
        if not kept:
            worker.kill()  # a malformed reply too: the worker is not what it should be
        return RunOutcome(reply, stdout, stderr, duration, kept)

    @staticmethod
    async def _flush_at_deadline(worker: Worker, io: _JobIO) -> bool:
        """Output printed before a timeout (or before the other stream flooded) is part of
        the answer, but the worker buffers it: ask the worker to write it out and exit
        (FLUSH_SIGNAL), and keep reading its pipes until they close, for at most
        FLUSH_GRACE_S. Whether the worker exited through its flush handler within the
        grace."""
        try:
            signal.pidfd_send_signal(worker.pidfd, FLUSH_SIGNAL)
        except OSError:
            return False  # already gone: the pipes hold what it wrote
        try:
            async with asyncio.timeout(FLUSH_GRACE_S):
                await asyncio.shield(io.streams_closed)
                status, _ = await asyncio.shield(worker.exited)
        except (TimeoutError, TemplateDied, TemplateHung):
            # Not seen to exit through its handler; a template gone meanwhile does not
            # change what happened to the program: it ran out of time.
            return False
        return os.WIFEXITED(status) and os.WEXITSTATUS(status) == EXIT_FLUSHED

    @staticmethod
    def _send_job(worker: Worker, frame: bytes) -> asyncio.Future[None] | None:
        """Send the job; the usual small frame goes in one non-blocking call, a large one
        continues in the background (under the job's deadline). A dead worker shows up
        as EOF on its channel, so a failed send is not an error here."""
        try:
            sent = worker.channel.send(frame)
        except BlockingIOError:
            sent = 0
        except OSError:
            return None
        if sent == len(frame):
            return None
        rest = asyncio.ensure_future(asyncio.get_running_loop().sock_sendall(worker.channel, frame[sent:]))
        rest.add_done_callback(lambda done: done.cancelled() or done.exception())
        return rest

    async def _describe(self, worker: Worker, io: _JobIO, ending: Ending, job: Job, timeout_s: float) -> WorkerReply:
        limits = job["limits"]
        if ending == "timeout":
            return _limit_reply("timeout", "TimeoutError", f"the program did not finish within {timeout_s:g} s")
        if ending == "flood":
            flooded = io.stdout if io.stdout.flooded else io.stderr
            name = "stdout" if flooded is io.stdout else "stderr"
            message = (
                f"the program wrote more than {flooded.flood_at:,} bytes to {name}; the output limit keeps "
                f"{flooded.budget:,} bytes, and a program that writes {flooded.flood_at // flooded.budget} times "
                "that is stopped"
            )
            return _limit_reply("output", OUTPUT_LIMIT_EXCEEDED, message)
        if ending == "reply" and not io.protocol_error:
            # The frame only: bytes after it are none of this job's (a session's worker is
            # read again for its next call, which throws them away first).
            assert io.reply_len is not None
            body = bytes(io.reply_buf[HEADER.size : HEADER.size + io.reply_len])
            try:
                return await parse_sized(len(body), _read_reply, body, limits, job.get("figure_rules"))
            except ProtocolError:
                log.warning("worker %d sent a malformed reply", worker.pid)
                io.protocol_error = True  # never reused
                return _died_reply(None, limits["cpu_s"], limits["memory_mb"])
        if io.protocol_error:
            # The worker was killed by us for it: its exit status would blame someone else.
            log.warning("worker %d sent a reply larger than the protocol allows", worker.pid)
            return _crash_reply("the program's outcome was too large to describe")
        # The channel closed without a reply: ask the template how the worker ended.
        try:
            exit_info: tuple[int, int] | None = await asyncio.wait_for(
                asyncio.shield(worker.exited), EXIT_STATUS_WAIT_S
            )
        except TemplateDied as exc:
            raise PoolUnavailable("the sandbox restarted during the execution") from exc
        except TimeoutError:
            exit_info = None
        if not worker.template.alive:
            raise PoolUnavailable("the sandbox restarted during the execution")
        if exit_info is not None and os.WIFEXITED(exit_info[0]):
            code = os.WEXITSTATUS(exit_info[0])
            if code == EXIT_HARDENING_FAILED:
                log.error("worker %d could not confine itself (exit %d)", worker.pid, code)
                raise PoolUnavailable("the sandbox could not apply its isolation layers")
            if code == EXIT_BAD_JOB:
                # The job is built and checked here: a worker that cannot read it is a
                # bug of the service, never a failed layer.
                log.error("worker %d could not read its job (exit %d)", worker.pid, code)
                return _crash_reply("the sandbox could not read the job it was given")
        hard = limits["cpu_hard_s"] - 1 if "cpu_hard_s" in limits else None
        return _died_reply(exit_info, limits["cpu_s"], limits["memory_mb"], job.get("file_rules"), hard)
