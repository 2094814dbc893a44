"""The sessions of this process: each a worker of its own, its namespace and directory.

A session is made by ``create`` (a worker from the pool, its working directory, and the
opening call that confines the worker for the session's life: its memory, seccomp,
Landlock on its directory), called by ``execute`` (the request checked as for /execute,
then run in the session's worker under the admission gate, one call of the session at a
time, in arrival order, with at most ``session_max_queued_calls`` waiting), and ended by
``end`` for one of the reasons of ``schemas.SessionEnd``:

* a call stopped by a limit (timeout, cpu, memory, output, files): its worker was killed.
  A notebook kernel interrupts a cell instead; here the program is hostile until proven
  otherwise: an interrupt is an exception it can catch (``except BaseException``), a C
  call does not see it until it returns, and the state a cut call leaves (half-updated
  objects, a half-written file) is not what the client believes it is. Killing the
  worker keeps the guarantees of one-shot executions; the answer says which limit,
  and the next call gets 410 with it;
* ``idle`` (not called for the idle timeout), ``lifetime``, ``executions`` (its last
  allowed call ran), ``deleted`` (DELETE), ``killed`` (its worker died of something the
  service did not decide: the out-of-memory killer, a crash, its template restarting),
  ``shutdown`` (SIGTERM).

An ended session is remembered (its owner and why, not its state) so that its client
gets a 410 that says why rather than a 404, for ``TOMBSTONE_S`` and at most
``MAX_TOMBSTONES`` of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import math
import re
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..errors import (
    InvalidRequest,
    PayloadTooLarge,
    SandboxUnavailable,
    SessionBusy,
    SessionEnded,
    SessionNotFound,
    TooManySessions,
)
from ..metrics import ExecutorMetrics
from ..protocol import Job
from ..sandbox.pool import JobTooLarge, PoolUnavailable, RunOutcome
from ..sandbox.session_workers import SessionCpuSpent, SessionWorker, open_worker
from ..sandbox.workdirs import Collected, DecodedFile, WorkDirectories, WorkDirectory, collect
from ..schemas import ExecuteRequest, ExecuteResponse, SessionCreated, SessionEnd, SessionLimits, SessionState
from ..service import WALL_GRACE_S, ExecutionService, remove_later
from ..settings import Settings
from .peers import SessionPeers

log = logging.getLogger("executor.sessions")
audit_log = logging.getLogger("executor.audit")

#: How long an ended session answers 410 (then 404), and how many are remembered: in all,
#: and per owner (one token's ended sessions push out its own, never others': attack pass 100).
TOMBSTONE_S = 3600.0
MAX_TOMBSTONES = 10_000
MAX_TOMBSTONES_PER_OWNER = 1000
#: How often idle and expired sessions are looked for.
SWEEP_INTERVAL_S = 1.0
#: The opening call (confinement, an empty program): it takes milliseconds.
OPENING_TIMEOUT_S = 10.0
#: Session ids: 192 random bits, URL-safe.
ID_BYTES = 24
#: What a session id looks like: anything else is unknown at once (never looked up in
#: Redis, never written to the audit log).
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{32}")

_END_MESSAGES: dict[SessionEnd, str] = {
    "timeout": "a call ran out of time and its worker was stopped",
    "cpu": "a call used more than its CPU time and its worker was stopped",
    "memory": "the session's memory limit was reached",
    "output": "a call wrote far more output than allowed and its worker was stopped",
    "files": "the session's working directory went past its limits",
    "idle": "it was not called for longer than the idle timeout",
    "lifetime": "it reached the end of its lifetime",
    "executions": "it ran as many calls as a session may",
    "deleted": "it was deleted",
    "killed": "its worker process died (killed from outside, a crash, or the sandbox restarting)",
    "shutdown": "the service shut down",
}


def owner_of(token: str) -> str:
    """Who a session belongs to: the SHA-256 of the token that made it (never the token)."""
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(eq=False)
class Session:
    id: str
    owner: str
    data_libraries: bool
    worker: SessionWorker
    directory: WorkDirectory | None
    created_at: float
    expires_at: float
    last_used_at: float
    executions: int = 0
    ended: SessionEnd | None = None
    #: Calls waiting for the running one; the lock hands over in arrival order.
    queued: int = 0
    running: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def busy(self) -> bool:
        return self.running or self.queued > 0


@dataclass(frozen=True)
class _Tombstone:
    owner: str
    why: SessionEnd
    at: float


class SessionRegistry:
    def __init__(
        self,
        settings: Settings,
        service: ExecutionService,
        metrics: ExecutorMetrics,
        peers: SessionPeers | None = None,
    ) -> None:
        self.settings = settings
        self.service = service
        self.metrics = metrics
        self.peers = peers
        self._sessions: dict[str, Session] = {}
        self._tombstones: OrderedDict[str, _Tombstone] = OrderedDict()
        #: Each owner's remembered ends, oldest first.
        self._tombstones_of: dict[str, deque[str]] = {}
        #: Sessions being opened, per owner (counted against the limits before they exist).
        self._opening: dict[str, int] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._closed = False

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep(), name="session-sweeper")

    async def stop(self) -> None:
        """End every session (``shutdown``): their workers killed, their directories removed."""
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        for session in list(self._sessions.values()):
            self.end(session, "shutdown")
        if self.peers is not None:
            await self.peers.drain()

    def shut_down(self) -> None:
        """The service is draining (SIGTERM): no session opens, those idle end now
        (``shutdown``), and those running a call end when it is answered."""
        self._closed = True
        for session in list(self._sessions.values()):
            if not session.busy:
                self.end(session, "shutdown")

    def report(self) -> dict[str, int]:
        """For /health: how many sessions are open, and the limit."""
        return {"open": len(self._sessions), "max": self.settings.max_sessions}

    def limits(self, data_libraries: bool) -> SessionLimits:
        s = self.settings
        return SessionLimits(
            idle_timeout_s=s.session_idle_timeout_s,
            lifetime_s=s.session_lifetime_s,
            max_executions=s.session_max_executions,
            memory_mb=self._memory_mb(data_libraries),
            max_queued_calls=s.session_max_queued_calls,
            timeout_s=s.execution_timeout_s,
            max_timeout_s=s.max_timeout_s,
        )

    def _memory_mb(self, data_libraries: bool) -> int:
        s = self.settings
        return max(s.session_max_memory_mb, s.data_max_memory_mb if data_libraries else s.max_memory_mb)

    # ------------------------------------------------------------------ create

    async def create(self, owner: str, data_libraries: bool | None = None) -> tuple[Session, SessionCreated]:
        """A new session for ``owner`` (owner_of(token)). Raises TooManySessions (429),
        InvalidRequest (the data tier asked for and off), SandboxUnavailable (503)."""
        if self._closed:
            raise SandboxUnavailable("the service is shutting down", retry_after_s=self.settings.shutdown_retry_after_s)
        if data_libraries and self.service.data_pool is None:
            raise InvalidRequest(
                [
                    {
                        "loc": ["body", "data_libraries"],
                        "msg": "the data tier is not on in this service",
                        "type": "value_error",
                    }
                ]
            )
        data = self.service.data_pool is not None if data_libraries is None else data_libraries
        self.service.require_layers()
        with self._reserved(owner):
            async with self.service.gate.slot():
                session = await self._open(owner, data)
        self._sessions[session.id] = session
        self.metrics.sessions_started.inc()
        self.metrics.sessions_active.set(len(self._sessions))
        session.worker.worker.exited.add_done_callback(lambda _: self._worker_gone(session))
        if self.peers is not None:
            # Before the 201: a client's next request may reach another replica at once.
            await self.peers.publish(session.id, session.expires_at, owner)
        audit_log.info("session", extra={"event": "created", "session_id": session.id, "owner": owner[:16]})
        created = SessionCreated(
            session_id=session.id,
            expires_at=iso(session.expires_at),
            data_libraries=data,
            limits=self.limits(data),
        )
        return session, created

    @contextlib.contextmanager
    def _reserved(self, owner: str) -> Iterator[None]:
        s = self.settings
        opening = sum(self._opening.values())
        mine = sum(1 for session in self._sessions.values() if session.owner == owner) + self._opening.get(owner, 0)
        if len(self._sessions) + opening >= s.max_sessions:
            raise TooManySessions(
                f"{s.max_sessions} sessions are open, the most this service runs; end one (DELETE) or retry later",
                retry_after_s=self._retry_after_s(),
            )
        if mine >= s.max_sessions_per_token:
            raise TooManySessions(
                f"this token has {mine} sessions open, the most a token may; end one (DELETE /sessions/{{id}}) first",
                retry_after_s=self._retry_after_s(owner),
            )
        self._opening[owner] = self._opening.get(owner, 0) + 1
        try:
            yield
        finally:
            self._opening[owner] -= 1
            if not self._opening[owner]:
                del self._opening[owner]

    def _retry_after_s(self, owner: str | None = None) -> int:
        """When a session (the owner's) may end on its own at the earliest: the idle
        timeout of the one used longest ago, within [1, 60]."""
        now = time.time()
        soonest = min(
            (
                min(session.last_used_at + self.settings.session_idle_timeout_s, session.expires_at) - now
                for session in self._sessions.values()
                if owner is None or session.owner == owner
            ),
            default=1.0,
        )
        return max(1, min(60, math.ceil(soonest)))

    async def _open(self, owner: str, data: bool) -> Session:
        s = self.settings
        pool = self.service.data_pool if data else self.service.pool
        assert pool is not None
        directory: WorkDirectory | None = None
        if self.service.workdirs is not None and self.service.workdirs.started:
            try:
                directory = await asyncio.to_thread(self.service.workdirs.create, [])
            except OSError as exc:
                raise SandboxUnavailable("the session's working directory could not be made", retry_after_s=5) from exc
        try:
            worker = await open_worker(pool)
        except PoolUnavailable as exc:
            if directory is not None:
                remove_later(directory)
            raise SandboxUnavailable(str(exc)) from exc
        now = time.time()
        session = Session(
            id=secrets.token_urlsafe(ID_BYTES),
            owner=owner,
            data_libraries=data,
            worker=worker,
            directory=directory,
            created_at=now,
            expires_at=now + s.session_lifetime_s,
            last_used_at=now,
        )
        try:
            outcome = await worker.call(self._opening_job(session), OPENING_TIMEOUT_S, **self.service.budgets())
        except (PoolUnavailable, JobTooLarge) as exc:
            worker.close()
            if directory is not None:
                remove_later(directory)
            raise SandboxUnavailable("the session's worker could not start") from exc
        if not outcome.kept or not outcome.reply["success"]:
            worker.close()
            if directory is not None:
                remove_later(directory)
            log.error("a session's worker failed its opening: %s", outcome.reply["error"])
            raise SandboxUnavailable("the session's worker could not start")
        return session

    def _opening_job(self, session: Session) -> Job:
        """The session's first job: an empty program, with the limits the worker keeps
        for the session's life (its address space, the hard CPU limit, its alarm)."""
        s = self.settings
        life = self._life_s()
        job: Job = {
            "code": "",
            "context": {},
            "session": True,
            "limits": {
                "memory_mb": self._memory_mb(session.data_libraries),
                "cpu_s": max(1, math.ceil(OPENING_TIMEOUT_S)),
                # Every call's allowance is moved below this (session_workers).
                "cpu_hard_s": life,
                "max_open_files": s.max_open_files,
                "max_result_bytes": s.max_result_bytes,
                "max_error_chars": 4096,
                "wall_s": life,
            },
        }
        if session.directory is not None:
            job["workdir"] = str(session.directory.path)
            job["file_rules"] = self.service.file_rules
        return job

    def _life_s(self) -> int:
        """A session's worker's hard CPU limit and alarm: its lifetime and a last call."""
        s = self.settings
        return math.ceil(s.session_lifetime_s + s.max_timeout_s) + WALL_GRACE_S

    # ------------------------------------------------------------------ find

    def find(self, session_id: str, owner: str) -> Session:
        """The owner's session. Raises SessionNotFound (404: unknown, or another owner's)
        and SessionEnded (410, with why)."""
        session = self._sessions.get(session_id)
        if session is not None and hmac.compare_digest(session.owner, owner) and session.ended is None:
            return session
        tomb = self._tombstones.get(session_id)
        if session is None and tomb is not None and hmac.compare_digest(tomb.owner, owner):
            raise SessionEnded(tomb.why, _END_MESSAGES[tomb.why])
        raise SessionNotFound

    def holds(self, session_id: str) -> bool:
        """Whether this process knows the session (open or ended), whoever owns it."""
        return session_id in self._sessions or session_id in self._tombstones

    def state(self, session: Session) -> SessionState:
        s = self.settings
        return SessionState(
            session_id=session.id,
            created_at=iso(session.created_at),
            last_used_at=iso(session.last_used_at),
            expires_at=iso(session.expires_at),
            idle_expires_at=iso(min(session.expires_at, session.last_used_at + s.session_idle_timeout_s)),
            executions=session.executions,
            memory_bytes=session.worker.memory_bytes(),
            data_libraries=session.data_libraries,
            running=session.running,
            queued_calls=session.queued,
        )

    # ------------------------------------------------------------------ calls

    async def execute(
        self, session: Session, request: ExecuteRequest, request_id: str, client: str = ""
    ) -> ExecuteResponse:
        """One call of the session: the /execute answer. Raises SessionBusy (429) when
        its queue is full, SessionEnded (410) when it ended before the call could run,
        and the refusals of ExecutionService.checked_job."""
        job, timeout_s, files = await self.service.checked_job(request, client, data=session.data_libraries)
        job["session"] = True
        # The session's limits, as the opening gave them to the worker: its memory (the
        # messages name it) and the hard CPU limit (how a SIGKILL is told from it).
        job["limits"]["memory_mb"] = self._memory_mb(session.data_libraries)
        job["limits"]["cpu_hard_s"] = self._life_s()
        async with self._turn(session):
            if session.ended is not None:
                raise SessionEnded(session.ended, _END_MESSAGES[session.ended])
            queued_at = time.perf_counter()
            async with self.service.gate.slot():
                self.metrics.queue_wait.observe(time.perf_counter() - queued_at)
                return await self._call(session, job, timeout_s, files, request_id)

    @contextlib.asynccontextmanager
    async def _turn(self, session: Session) -> AsyncIterator[None]:
        """The session's calls one at a time, in arrival order (asyncio.Lock is FIFO)."""
        if session.lock.locked() and session.queued >= self.settings.session_max_queued_calls:
            raise SessionBusy(
                f"the session is running a call and {session.queued} more wait; at most "
                f"{self.settings.session_max_queued_calls} may",
                retry_after_s=1,
            )
        session.queued += 1
        try:
            await session.lock.acquire()
        finally:
            session.queued -= 1
        session.running = True
        try:
            yield
        finally:
            session.running = False
            session.last_used_at = time.time()
            if session.ended is not None:
                # Ended while this call held its turn: its worker and directory were left to
                # it (end); nothing uses them now.
                self._release(session)
            session.lock.release()

    async def _call(
        self, session: Session, job: Job, timeout_s: float, files: list[DecodedFile], request_id: str
    ) -> ExecuteResponse:
        service = self.service
        directory = session.directory
        if files:
            if directory is None:
                raise SandboxUnavailable("the working directories could not be made on this host", retry_after_s=30)
            placed = await self._place(directory, files)
            if session.ended is not None:  # ended meanwhile: its directory is not to be used
                raise SessionEnded(session.ended, _END_MESSAGES[session.ended])
            session.directory = directory = placed
        try:
            outcome = await session.worker.call(job, timeout_s, **service.budgets())
        except SessionCpuSpent:
            self.end(session, "cpu")
            raise SessionEnded("cpu", "the session has used its whole CPU time") from None
        except PoolUnavailable as exc:
            self.end(session, "killed")
            raise SandboxUnavailable(str(exc)) from exc
        except JobTooLarge as exc:
            raise PayloadTooLarge(str(exc)) from exc
        if session.ended is not None and not outcome.kept:
            # Ended while the call ran (DELETE, the service shutting down): its worker was
            # stopped by that, and the call's answer is why.
            raise SessionEnded(session.ended, _END_MESSAGES[session.ended])
        session.executions += 1
        collected: Collected | None = None
        if directory is not None:
            collected = await asyncio.to_thread(collect, directory, service.file_limits, True)
            if session.ended is None:
                session.directory = WorkDirectory(directory.path, collected.baseline)
        response = service.response(outcome, request_id, collected)
        self._after_call(session, outcome, response)
        return response

    async def _place(self, directory: WorkDirectory, files: list[DecodedFile]) -> WorkDirectory:
        """The call's input files written into the session's directory, after checking that
        the directory stays within its limits with them (422 otherwise)."""
        limits = self.service.file_limits
        sizes = {path: info[1] for path, info in directory.inputs.items()}
        sizes.update({file.path: len(file.data) for file in files})
        if len(sizes) > limits.max_files or sum(sizes.values()) > limits.max_files_bytes:
            raise InvalidRequest(
                [
                    {
                        "loc": ["body", "files"],
                        "msg": f"with these files the session's directory would hold {len(sizes)} files, "
                        f"{sum(sizes.values()):,} bytes; the limits are {limits.max_files} files, "
                        f"{limits.max_files_bytes:,} bytes",
                        "type": "value_error",
                    }
                ]
            )
        try:
            return await asyncio.to_thread(WorkDirectories.add, directory, files)
        except OSError:
            raise InvalidRequest(
                [
                    {
                        "loc": ["body", "files"],
                        "msg": "an input file could not be placed: a directory, or a file where a directory "
                        "should be, is in its way",
                        "type": "value_error",
                    }
                ]
            ) from None

    def _after_call(self, session: Session, outcome: RunOutcome, response: ExecuteResponse) -> None:
        if self._closed and session.queued == 0:
            self.end(session, "shutdown")
        elif response.limit is not None:
            self.end(session, response.limit)
        elif not outcome.kept:
            self.end(session, "killed")
        elif session.executions >= self.settings.session_max_executions:
            self.end(session, "executions")
        elif time.time() >= session.expires_at:
            self.end(session, "lifetime")

    # ------------------------------------------------------------------ end

    async def delete(self, session: Session) -> None:
        """End the session now (``deleted``), a call running in it included."""
        self.end(session, "deleted")

    def end(self, session: Session, why: SessionEnd) -> None:
        """End the session: its worker killed, its directory removed, its end remembered."""
        if session.ended is not None:
            return
        session.ended = why
        if session.running:
            # Its call may be reading the worker or writing the directory: the worker is
            # only killed (the call sees it die), and both are released when the call's turn
            # ends (_turn), never under it (attack pass 98).
            session.worker.kill()
        else:
            self._release(session)
        self._sessions.pop(session.id, None)
        self._remember(session, why)
        self.metrics.sessions_ended.labels(why).inc()
        self.metrics.sessions_active.set(len(self._sessions))
        audit_log.info(
            "session",
            extra={
                "event": "ended",
                "session_id": session.id,
                "owner": session.owner[:16],
                "reason": why,
                "executions": session.executions,
            },
        )

    def _remember(self, session: Session, why: SessionEnd) -> None:
        """Keep the session's end for 410s: past its owner's share, its owner's oldest is
        forgotten; past the whole table, the oldest of all."""
        owned = self._tombstones_of.setdefault(session.owner, deque())
        if len(owned) >= MAX_TOMBSTONES_PER_OWNER:
            self._tombstones.pop(owned.popleft(), None)
        owned.append(session.id)
        self._tombstones[session.id] = _Tombstone(session.owner, why, time.time())
        while len(self._tombstones) > MAX_TOMBSTONES:
            self._forget_oldest()

    def _forget_oldest(self) -> None:
        session_id, tomb = self._tombstones.popitem(last=False)
        owned = self._tombstones_of.get(tomb.owner)
        if owned is not None:
            with contextlib.suppress(ValueError):
                owned.remove(session_id)
            if not owned:
                del self._tombstones_of[tomb.owner]

    @staticmethod
    def _release(session: Session) -> None:
        """An ended session's worker killed and closed, its directory removed (once)."""
        session.worker.close()
        directory, session.directory = session.directory, None
        if directory is not None:
            with contextlib.suppress(RuntimeError):  # no loop: the process is exiting
                remove_later(directory)

    def _worker_gone(self, session: Session) -> None:
        """The worker exited while no call was reading it (a call's outcome says how it
        ended on its own): killed from outside, a crash, its template gone."""
        if session.ended is None and not session.running:
            self.end(session, "killed")

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_INTERVAL_S)
            now = time.time()
            for session in list(self._sessions.values()):
                if session.busy:
                    continue
                if now >= session.expires_at:
                    self.end(session, "lifetime")
                elif now - session.last_used_at >= self.settings.session_idle_timeout_s:
                    self.end(session, "idle")
                elif not session.worker.alive:
                    self.end(session, "killed")
            while self._tombstones:
                oldest = next(iter(self._tombstones.values()))
                if now - oldest.at < TOMBSTONE_S:
                    break
                self._forget_oldest()
