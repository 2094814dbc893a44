"""Client side of the template process (src/worker/template.py): start, fork, watch.

The template is spawned, never forked from this server: a fresh interpreter with an
empty environment (so no token, no server memory), isolated mode (-I: no user site, no
PYTHON* variables, no current directory on sys.path) and no bytecode writing (-B).

Every request sent to the template (a spawn, a ping) must be answered within the hang
bound. A template that leaves one unanswered that long (stopped, stuck in a page fault,
looping) is declared hung: it is killed, and everything waiting on it gets TemplateHung
at once instead of waiting for as long as the template stays stuck.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar

from ..protocol import (
    EVENT,
    EVENT_EXITED,
    EVENT_LAYERS,
    EVENT_PONG,
    EVENT_SPAWN_FAILED,
    EVENT_SPAWNED,
    LAYERS,
    PING,
    SPAWN,
    SPAWN_AND_REHEARSE,
    TemplateConfig,
    encode_frame,
    mask_to_layers,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

PROJECT_ROOT = Path(__file__).resolve().parents[2]
_BOOTSTRAP = "import sys; sys.path.insert(0, sys.argv[1]); from {entry} import main; main(int(sys.argv[2]))"
#: The template's module. Tests substitute one that runs programs without the language
#: guards (tests/support); nothing in the settings or a request can.
TEMPLATE_ENTRY = "src.worker.template"
#: How long the template may take to import everything and announce its layers.
START_TIMEOUT_S = 60.0
#: How long the template may go without answering while a request (a spawn, a ping) is
#: outstanding before it is declared hung. A fork or a pong takes milliseconds, so a live
#: template answers well within this even when a burst of spawns is queued.
HANG_TIMEOUT_S = 3.0
#: Once the bound has passed, the verdict waits this much longer: an answer that arrived
#: while this event loop was blocked is read only after the watchdog's callback, and a
#: stalled server must not kill a template that did answer.
HANG_CONFIRM_S = 0.1
#: Worker exit statuses (see src/worker/child.py).
EXIT_HARDENING_FAILED = 71
EXIT_BAD_JOB = 72


#: A confirmation that runs this much later than it was due was delayed by this
#: process's own event loop (a long callback), not by the template.
LOOP_STALL_S = HANG_CONFIRM_S

HangVerdict = Literal["wait", "confirm", "hung"]


def hang_verdict(
    now: float, waiting_since: float, timeout_s: float, confirm_at: float, overdue_since: float | None
) -> HangVerdict:
    """What the watchdog does when it wakes: ``wait`` until the bound, ``confirm`` once
    the bound has passed (an answer that arrived while the loop was busy is read after
    the watchdog's callback), ``hung`` when a confirmation that ran on time still sees no
    answer. A confirmation that itself ran late says the event loop was blocked: the
    answers it has not yet read may be there, with some event loops (uvloop) only after
    more iterations, so it confirms again instead of killing a template that answered."""
    if now < waiting_since + timeout_s:
        return "wait"
    if overdue_since != waiting_since or now - confirm_at > LOOP_STALL_S:
        return "confirm"
    return "hung"


class TemplateDied(Exception):
    """The template process is gone; workers it forked are gone with it."""


class TemplateHung(TemplateDied):
    """The template left a request unanswered past the hang bound. It has been killed
    (SIGKILL also ends a stopped process) and is dead from then on, like any template
    that died: the pool restarts it."""


class SpawnFailed(Exception):
    """The template could not fork a worker (out of processes or memory); it runs on."""


@dataclass
class Worker:
    """A forked worker waiting for (or running) one job, seen from the server."""

    pid: int
    pidfd: int
    stdout_fd: int
    stderr_fd: int
    channel: socket.socket
    #: (wait status, CPU milliseconds used), reported by the template when it reaps the worker.
    exited: asyncio.Future[tuple[int, int]]
    template: TemplateProcess
    closed: bool = field(default=False)

    def kill(self) -> None:
        """SIGKILL the worker and its process group. Safe to call more than once.

        The group is for hosts without seccomp, where a worker could have forked (with
        seccomp its group holds only itself). It is signalled by number, right after the
        job ended: before the template reaps the worker and its pid could be reused.
        """
        with contextlib.suppress(ProcessLookupError, OSError):
            if os.getpgid(self.pid) == self.pid:  # only a group the worker made itself
                os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, OSError):
            signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.kill()
        self.template.forget(self.pid)
        for fd in (self.pidfd, self.stdout_fd, self.stderr_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.channel.close()


@dataclass(frozen=True)
class LayerReport:
    """The OS layers the template's workers apply, as the template announced them."""

    active: frozenset[str]
    disabled: frozenset[str]
    landlock_abi: int

    def status(self) -> dict[str, str]:
        """layer -> "active" | "unavailable" (the host lacks it) | "disabled" (a test)."""
        return {
            name: "active" if name in self.active else "disabled" if name in self.disabled else "unavailable"
            for name in LAYERS
        }


class TemplateProcess:
    def __init__(
        self,
        allowed_imports: list[str],
        *,
        disabled_layers: frozenset[str] = frozenset(),
        entry: str = TEMPLATE_ENTRY,
        hang_timeout_s: float = HANG_TIMEOUT_S,
        files_root: str | None = None,
    ) -> None:
        """``hang_timeout_s``: how long an outstanding request may go without any answer
        before the template is declared hung and killed. ``files_root``: the directory of
        the executions' working directories (protocol.TemplateConfig)."""
        self._config: TemplateConfig = {
            "allowed_imports": sorted(allowed_imports),
            "disabled_layers": sorted(disabled_layers),
            "files_root": files_root,
        }
        self._entry = entry
        self._hang_timeout_s = hang_timeout_s
        self.layers: asyncio.Future[LayerReport] | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._control: socket.socket | None = None
        # The template answers spawns and pings each in the order it reads them, so each
        # kind is a FIFO of futures, appended in send order.
        self._spawns: deque[asyncio.Future[int]] = deque()
        self._pongs: deque[asyncio.Future[None]] = deque()
        # Senders waiting for a full control socket to drain, and whether the socket's
        # writability is being watched for them.
        self._blocked: list[asyncio.Future[None]] = []
        self._watching_writable = False
        self._exits: dict[int, asyncio.Future[tuple[int, int]]] = {}
        self._reader: asyncio.Task[None] | None = None
        # The hang watchdog: one timer, armed while requests are outstanding. The oldest
        # outstanding request has been waiting since the later of its sending and the
        # last answer; the template is hung once that exceeds the bound.
        self._watchdog: asyncio.TimerHandle | None = None
        self._waiting_since = 0.0
        self._overdue_since: float | None = None
        self._confirm_at = 0.0
        #: Set when the template was declared hung (and killed), before ``died``.
        self.hung = False
        self.died = asyncio.Event()
        self._death_callbacks: set[Callable[[], None]] = set()

    @property
    def alive(self) -> bool:
        return self._proc is not None and not self.died.is_set()

    async def start(self) -> None:
        """Spawn the template and wait until it has announced its layers (raises
        TemplateDied if it exits first, TimeoutError if it takes too long)."""
        self.layers = asyncio.get_running_loop().create_future()
        bootstrap = _BOOTSTRAP.format(entry=self._entry)
        parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable, "-I", "-B", "-c", bootstrap, str(PROJECT_ROOT), str(child_end.fileno()),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                env={},
                pass_fds=(child_end.fileno(),),
                close_fds=True,
            )  # fmt: skip
        finally:
            child_end.close()
        parent_end.setblocking(False)
        self._control = parent_end
        assert self._proc.stdin is not None
        self._proc.stdin.write(encode_frame(self._config))
        await self._proc.stdin.drain()
        self._proc.stdin.close()
        self._reader = asyncio.create_task(self._read_events(), name="template-events")
        try:
            await asyncio.wait_for(asyncio.shield(self.layers), START_TIMEOUT_S)
        except BaseException:
            await self.stop()
            raise

    async def _read_events(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        try:
            while True:
                kind, pid, status, cpu_ms = EVENT.unpack(await self._proc.stdout.readexactly(EVENT.size))
                if kind == EVENT_SPAWNED:
                    self._answered()
                    if self._spawns:
                        fut = self._spawns.popleft()
                        if not fut.done():
                            fut.set_result(pid)
                elif kind == EVENT_PONG:
                    self._answered()
                    if self._pongs:
                        pong = self._pongs.popleft()
                        if not pong.done():
                            pong.set_result(None)
                elif kind == EVENT_EXITED:
                    exit_fut = self._exits.pop(pid, None)
                    if exit_fut is not None and not exit_fut.done():
                        exit_fut.set_result((status, cpu_ms))
                elif kind == EVENT_SPAWN_FAILED:
                    self._answered()
                    if self._spawns:
                        fut = self._spawns.popleft()
                        if not fut.done():
                            fut.set_exception(SpawnFailed(os.strerror(status)))
                    log.error("the template could not fork a worker: %s", os.strerror(status))
                elif kind == EVENT_LAYERS and self.layers is not None and not self.layers.done():
                    disabled = frozenset(self._config["disabled_layers"])
                    self.layers.set_result(LayerReport(mask_to_layers(status), disabled, cpu_ms))
        except asyncio.IncompleteReadError:
            pass  # the template exited
        except (ValueError, OSError):
            log.exception("template event stream broken")
        finally:
            self._mark_dead()

    def on_death(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` when the template dies; returns the function that cancels it."""
        self._death_callbacks.add(callback)
        return lambda: self._death_callbacks.discard(callback)

    def _mark_dead(self) -> None:
        if self.died.is_set():
            return
        self.died.set()
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        self._stop_watching_writable()
        for callback in list(self._death_callbacks):
            callback()
        futures: list[
            asyncio.Future[int] | asyncio.Future[None] | asyncio.Future[tuple[int, int]] | asyncio.Future[LayerReport]
        ] = [
            *self._spawns,
            *self._pongs,
            *self._blocked,
            *self._exits.values(),
        ]
        if self.layers is not None:
            futures.append(self.layers)
        for fut in futures:
            if not fut.done():
                fut.set_exception(self._death_error())
                fut.exception()  # mark retrieved: nobody may be waiting on an exit
        self._spawns.clear()
        self._pongs.clear()
        self._blocked.clear()
        self._exits.clear()

    def _death_error(self) -> TemplateDied:
        return TemplateHung() if self.hung else TemplateDied()

    # ------------------------------------------------------------------ hang watchdog

    def _answered(self) -> None:
        """The template answered a request: the next one's wait is counted from now."""
        self._waiting_since = asyncio.get_running_loop().time()

    def _outstanding(self) -> bool:
        return bool(self._spawns or self._pongs or self._blocked)

    def _arm_watchdog(self, was_idle: bool) -> None:
        """Called as a request starts waiting; ``was_idle``: nothing else was, so its wait
        starts now rather than at the last answer."""
        loop = asyncio.get_running_loop()
        if was_idle:
            self._waiting_since = loop.time()
        if self._watchdog is None:
            self._watchdog = loop.call_at(self._waiting_since + self._hang_timeout_s, self._check_hang)

    def _check_hang(self) -> None:
        self._watchdog = None
        if self.died.is_set() or not self._outstanding():
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        verdict = hang_verdict(now, self._waiting_since, self._hang_timeout_s, self._confirm_at, self._overdue_since)
        if verdict == "wait":
            self._watchdog = loop.call_at(self._waiting_since + self._hang_timeout_s, self._check_hang)
        elif verdict == "confirm":
            self._overdue_since = self._waiting_since
            self._confirm_at = now + HANG_CONFIRM_S
            self._watchdog = loop.call_at(self._confirm_at, self._check_hang)
        else:
            self._declare_hung(now - self._waiting_since)

    def _declare_hung(self, silent_s: float) -> None:
        log.error(
            "the template answered nothing for %.1f s (bound %g s) with %d spawn(s) and %d ping(s) outstanding: "
            "declaring it hung and killing it",
            silent_s,
            self._hang_timeout_s,
            len(self._spawns),
            len(self._pongs),
        )
        self.hung = True
        if self._proc is not None and self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()
        self._mark_dead()

    # ------------------------------------------------------------------ requests

    def _send(self, message: bytes, fds: list[int], answers: deque[asyncio.Future[T]], fut: asyncio.Future[T]) -> bool:
        """Send one control message and queue ``fut`` for its answer. False when the
        control socket is full (nothing sent); raises TemplateDied when the template is
        gone."""
        control = self._control
        if control is None or self.died.is_set():
            raise self._death_error()
        try:
            socket.send_fds(control, [message], fds)
        except BlockingIOError:
            return False
        except OSError as exc:
            raise TemplateDied() from exc
        # Appended right after the send, with no await between: the queue order is the
        # order the template reads, which is the order it answers.
        was_idle = not self._outstanding()
        answers.append(fut)
        self._arm_watchdog(was_idle)
        return True

    async def _send_when_drained(
        self, message: bytes, fds: list[int], answers: deque[asyncio.Future[T]], fut: asyncio.Future[T]
    ) -> None:
        """``_send`` for a full control socket. A live template can be that far behind
        (hundreds of spawns queued with large pool settings), so a full socket is not
        death: the sender waits for it to drain, under the hang watchdog like any
        request, and gets TemplateHung if the template does not read in time."""
        loop = asyncio.get_running_loop()
        while True:
            control = self._control
            if control is None or self.died.is_set():
                raise self._death_error()
            waiter: asyncio.Future[None] = loop.create_future()
            was_idle = not self._outstanding()
            if not self._watching_writable:
                loop.add_writer(control.fileno(), self._on_drained)
                self._watching_writable = True
            self._blocked.append(waiter)
            self._arm_watchdog(was_idle)
            try:
                await waiter
            finally:
                with contextlib.suppress(ValueError):
                    self._blocked.remove(waiter)
                if not self._blocked:
                    self._stop_watching_writable()
            if self._send(message, fds, answers, fut):
                return

    def _on_drained(self) -> None:
        self._stop_watching_writable()
        blocked, self._blocked = self._blocked, []
        for waiter in blocked:
            if not waiter.done():
                waiter.set_result(None)

    def _stop_watching_writable(self) -> None:
        if self._watching_writable and self._control is not None:
            asyncio.get_running_loop().remove_writer(self._control.fileno())
        self._watching_writable = False

    def forget(self, pid: int) -> None:
        """Stop waiting for an exit report (clean exits are not reported)."""
        self._exits.pop(pid, None)

    async def spawn(self, rehearse: bool = True) -> Worker:
        """Fork one worker (which rehearses while it waits, if asked). Raises TemplateDied
        if the template is gone, TemplateHung if it does not answer within the hang bound
        (it is then killed), SpawnFailed if its fork failed."""
        if not self.alive or self._control is None:
            raise self._death_error()
        loop = asyncio.get_running_loop()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        fut: asyncio.Future[int] = loop.create_future()
        try:
            try:
                message = SPAWN_AND_REHEARSE if rehearse else SPAWN
                fds = [out_w, err_w, theirs.fileno()]
                if not self._send(message, fds, self._spawns, fut):
                    await self._send_when_drained(message, fds, self._spawns, fut)
            finally:
                os.close(out_w)
                os.close(err_w)
                theirs.close()
            pid = await fut
        except BaseException:
            for fd in (out_r, err_r):
                os.close(fd)
            ours.close()
            raise
        exited: asyncio.Future[tuple[int, int]] = loop.create_future()
        self._exits[pid] = exited
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:
            pidfd = os.open("/dev/null", os.O_RDONLY)  # already gone: exit event follows
        for fd in (out_r, err_r):
            os.set_blocking(fd, False)
        ours.setblocking(False)
        return Worker(pid, pidfd, out_r, err_r, ours, exited, self)

    async def ping(self) -> float:
        """Have the template answer a PING; returns the round trip in seconds. Raises
        TemplateHung if no answer comes within the hang bound (the template is then
        killed), TemplateDied if it is gone."""
        if not self.alive or self._control is None:
            raise self._death_error()
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        started = time.perf_counter()
        if not self._send(PING, [], self._pongs, fut):
            await self._send_when_drained(PING, [], self._pongs, fut)
        await fut
        return time.perf_counter() - started

    async def stop(self) -> None:
        self._stop_watching_writable()
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._proc is not None and self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._proc.wait(), 5)
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._reader, 5)
        self._mark_dead()
