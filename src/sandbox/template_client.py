"""Client side of the template process (src/worker/template.py): start, fork, watch.

The template is spawned, never forked from this server: a fresh interpreter with an
empty environment (so no token, no server memory), isolated mode (-I: no user site, no
PYTHON* variables, no current directory on sys.path) and no bytecode writing (-B).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..protocol import (
    EVENT,
    EVENT_EXITED,
    EVENT_LAYERS,
    EVENT_SPAWN_FAILED,
    EVENT_SPAWNED,
    LAYERS,
    SPAWN,
    SPAWN_AND_REHEARSE,
    TemplateConfig,
    encode_frame,
    mask_to_layers,
)

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
_BOOTSTRAP = "import sys; sys.path.insert(0, sys.argv[1]); from {entry} import main; main(int(sys.argv[2]))"
#: The template's module. Tests substitute one that runs programs without the language
#: guards (tests/support); nothing in the settings or a request can.
TEMPLATE_ENTRY = "src.worker.template"
#: How long the template may take to import everything and announce its layers.
START_TIMEOUT_S = 60.0
#: Worker exit statuses (see src/worker/child.py).
EXIT_HARDENING_FAILED = 71
EXIT_BAD_JOB = 72


class TemplateDied(Exception):
    """The template process is gone; workers it forked are gone with it."""


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
        self, allowed_imports: list[str], *, disabled_layers: frozenset[str] = frozenset(), entry: str = TEMPLATE_ENTRY
    ) -> None:
        self._config: TemplateConfig = {
            "allowed_imports": sorted(allowed_imports),
            "disabled_layers": sorted(disabled_layers),
        }
        self._entry = entry
        self.layers: asyncio.Future[LayerReport] | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._control: socket.socket | None = None
        self._pending: deque[asyncio.Future[int]] = deque()
        self._exits: dict[int, asyncio.Future[tuple[int, int]]] = {}
        self._reader: asyncio.Task[None] | None = None
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
                    if self._pending:
                        fut = self._pending.popleft()
                        if not fut.done():
                            fut.set_result(pid)
                elif kind == EVENT_EXITED:
                    exit_fut = self._exits.pop(pid, None)
                    if exit_fut is not None and not exit_fut.done():
                        exit_fut.set_result((status, cpu_ms))
                elif kind == EVENT_SPAWN_FAILED:
                    if self._pending:
                        fut = self._pending.popleft()
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
        for callback in list(self._death_callbacks):
            callback()
        futures: list[asyncio.Future[int] | asyncio.Future[tuple[int, int]] | asyncio.Future[LayerReport]] = [
            *self._pending,
            *self._exits.values(),
        ]
        if self.layers is not None:
            futures.append(self.layers)
        for fut in futures:
            if not fut.done():
                fut.set_exception(TemplateDied())
                fut.exception()  # mark retrieved: nobody may be waiting on an exit
        self._pending.clear()
        self._exits.clear()

    def forget(self, pid: int) -> None:
        """Stop waiting for an exit report (clean exits are not reported)."""
        self._exits.pop(pid, None)

    async def spawn(self, rehearse: bool = True) -> Worker:
        """Fork one worker (which rehearses while it waits, if asked). Raises TemplateDied
        if the template is gone."""
        if not self.alive or self._control is None:
            raise TemplateDied()
        loop = asyncio.get_running_loop()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        fut: asyncio.Future[int] = loop.create_future()
        try:
            self._pending.append(fut)
            socket.send_fds(self._control, [SPAWN_AND_REHEARSE if rehearse else SPAWN], [out_w, err_w, theirs.fileno()])
        except OSError as exc:
            with contextlib.suppress(ValueError):
                self._pending.remove(fut)
            for fd in (out_r, err_r):
                os.close(fd)
            ours.close()
            raise TemplateDied() from exc
        finally:
            os.close(out_w)
            os.close(err_w)
            theirs.close()
        try:
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

    async def stop(self) -> None:
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
