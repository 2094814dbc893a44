"""One session's worker, seen from the API process: a worker of the pool kept for every
call of one session, with the limits a call must not inherit from the calls before it.

The worker confines itself once, at its first job (the session's opening: its memory, its
working directory, seccomp, Landlock), then serves the session's calls one after another
(worker/child.serve). What differs per call is enforced from here:

* CPU time. RLIMIT_CPU counts the process's whole life, so before each call the soft limit
  is moved to what the worker has used so far plus the call's own allowance (``prlimit``
  on the worker, which a process of the same user may do below the hard limit the worker
  set itself: the session's whole CPU budget). A call's limit therefore never depends on
  what earlier calls spent.
* Time and output: the pool's deadline and budgets, per call (ExecutionPool.converse).

Anything that stops a call (its deadline, its CPU time, the memory, an output flood, the
files limit, a crash) kills the worker: the session then ends (sessions/registry.py).
"""

from __future__ import annotations

import contextlib
import math
import os
import resource

from ..protocol import Job
from .pool import ExecutionPool, RunOutcome, job_frame
from .template_client import Worker

#: The CPU clock's ticks per second, as /proc reports times in.
_TICKS_PER_S = os.sysconf("SC_CLK_TCK")
_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
#: How much a pipe or the channel may hold between two calls that is thrown away before
#: the next (what an earlier call's program left: a finalizer's print).
_BETWEEN_CALLS_BYTES = 1 << 20


class SessionCpuSpent(Exception):
    """The session has used its whole CPU budget (the worker's hard RLIMIT_CPU)."""


class SessionWorker:
    """The worker of one session: calls run one at a time (the caller's lock)."""

    def __init__(self, pool: ExecutionPool, worker: Worker) -> None:
        self.pool = pool
        self.worker = worker
        self._opened = False

    @property
    def pid(self) -> int:
        return self.worker.pid

    @property
    def alive(self) -> bool:
        return not self.worker.closed and not self.worker.exited.done() and self.worker.template.alive

    async def call(
        self, job: Job, timeout_s: float, *, stdout_budget: int, stderr_budget: int, flood_factor: int
    ) -> RunOutcome:
        """Run one call. The first is the session's opening, which confines the worker
        with its limits. Raises JobTooLarge, SessionCpuSpent, and PoolUnavailable as the
        pool does; afterwards ``alive`` says whether the worker lives on."""
        frame = job_frame(job)
        if self._opened:
            self._discard_between_calls()
            self._set_cpu_allowance(job["limits"]["cpu_s"])
        self._opened = True
        outcome = await self.pool.converse(
            self.worker, job, frame, timeout_s, stdout_budget=stdout_budget, stderr_budget=stderr_budget,
            flood_factor=flood_factor, keep=True,
        )  # fmt: skip
        if not outcome.kept:
            self.close()
        return outcome

    def close(self) -> None:
        """Kill the worker and release its descriptors (safe to call more than once)."""
        self.worker.close()

    def kill(self) -> None:
        """Kill the worker, keeping its descriptors for the call that is reading them."""
        self.worker.kill()

    def memory_bytes(self) -> int | None:
        """The worker's resident memory (bytes), or None when it is gone."""
        try:
            with open(f"/proc/{self.worker.pid}/statm", "rb") as statm:
                return int(statm.read().split()[1]) * _PAGE_BYTES
        except (OSError, ValueError, IndexError):
            return None

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system) the worker has used, or None when it is gone."""
        try:
            with open(f"/proc/{self.worker.pid}/stat", "rb") as stat:
                text = stat.read()
        except OSError:
            return None
        # The command name (field 2) is in parentheses and may hold spaces: count from the
        # last parenthesis. utime and stime are fields 14 and 15.
        fields = text[text.rfind(b")") + 2 :].split()
        try:
            return (int(fields[11]) + int(fields[12])) / _TICKS_PER_S
        except (ValueError, IndexError):
            return None

    def _set_cpu_allowance(self, cpu_s: int) -> None:
        if not self.alive:
            return  # the call finds it dead at once and says how it died
        used = self.cpu_seconds()
        try:
            _, hard = resource.prlimit(self.worker.pid, resource.RLIMIT_CPU)
        except OSError:
            return  # gone meanwhile: the same
        if used is None:
            return
        soft = math.ceil(used) + cpu_s
        if hard != resource.RLIM_INFINITY and soft >= hard:
            raise SessionCpuSpent
        with contextlib.suppress(OSError):
            resource.prlimit(self.worker.pid, resource.RLIMIT_CPU, (soft, hard))

    def _discard_between_calls(self) -> None:
        """Throw away what the pipes and the channel received since the last reply: it
        belongs to no call (an escaped program's early "reply" among it)."""
        for fd in (self.worker.stdout_fd, self.worker.stderr_fd, self.worker.channel.fileno()):
            left = _BETWEEN_CALLS_BYTES
            while left > 0:
                try:
                    chunk = os.read(fd, min(left, 65536))
                except (BlockingIOError, OSError):
                    break
                if not chunk:
                    break
                left -= len(chunk)


async def open_worker(pool: ExecutionPool) -> SessionWorker:
    """A session worker from ``pool`` (not yet opened: its first call confines it)."""
    return SessionWorker(pool, await pool.take_session_worker())
