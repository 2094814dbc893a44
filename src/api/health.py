"""Health: a real self-test execution, and the isolation layers active on this host.

/health is what orchestrators act on, so it reports what was *observed*: the template
answers, a worker ran ``print(6*7)`` and printed 42, recently. A layer is "active" when
the template announced it and a worker (which fails closed when it cannot apply one)
has since passed the self-test; "unavailable" when this host lacks it; "unknown" before
any self-test passed. A layer named in EXECUTOR_REQUIRED_LAYERS that is not active
makes the service unhealthy (and /execute answers 503).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any, Literal

from ..data_tier import describe as describe_data_tier
from ..errors import SandboxUnavailable
from ..protocol import LAYERS
from ..sandbox.pool import LIVENESS_INTERVAL_S
from ..schemas import ExecuteRequest
from ..service import ExecutionService
from ..sessions.registry import SessionRegistry
from .limit_storage import StorageWatch
from .shutdown import Drain

log = logging.getLogger(__name__)

Status = Literal["healthy", "degraded", "unhealthy"]
SELF_TEST_CODE = "print(6 * 7)"
SELF_TEST_TIMEOUT_S = 5.0
#: A template restart this recent makes the service "degraded" rather than "healthy".
RECENT_RESTART_S = 60.0
#: A last answered liveness ping older than this many (interval + hang bound) is unhealthy.
PING_OVERDUE_FACTOR = 2
#: Layers that hold in every worker by construction of the pipeline (the OS layers the
#: template announces come from protocol.LAYERS).
LANGUAGE_LAYERS = ("restricted_python", "process_per_execution", "empty_environment", "descriptor_isolation")


@dataclass
class SelfTest:
    ok: bool
    at: float
    duration_ms: float
    detail: str


class HealthMonitor:
    def __init__(
        self,
        service: ExecutionService,
        interval_s: float,
        drain: Drain | None = None,
        storage: StorageWatch | None = None,
        sessions: SessionRegistry | None = None,
    ) -> None:
        self.service = service
        self.sessions = sessions
        self.interval_s = interval_s
        self.drain = drain if drain is not None else Drain()
        self.storage = storage
        self.last: SelfTest | None = None
        self._restarts_seen = 0
        self._last_restart_at: float | None = None
        self._task: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[SelfTest]] = set()

    async def self_test(self) -> SelfTest:
        started = time.perf_counter()
        request = ExecuteRequest(code=SELF_TEST_CODE)
        try:
            outcome = await self.service.run_job(self.service.job(request, SELF_TEST_TIMEOUT_S), SELF_TEST_TIMEOUT_S)
            ok = outcome.reply["success"] and outcome.stdout.text() == "42\n"
            detail = "ok" if ok else "the self-test program did not print 42"
        except SandboxUnavailable as exc:
            ok, detail = False, str(exc)
        except Exception:
            log.exception("self-test failed unexpectedly")
            ok, detail = False, "the self-test raised an internal error"
        self.last = SelfTest(ok, time.monotonic(), round((time.perf_counter() - started) * 1000, 3), detail)
        if not ok:
            log.error("health self-test failed: %s", detail)
        return self.last

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            await self.self_test()

    def request_self_test(self) -> None:
        """Run a self-test soon, without waiting for it (called after a template restart)."""
        task = asyncio.create_task(self.self_test(), name="health-self-test-now")
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="health-self-test")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def layers(self) -> dict[str, str]:
        works = self.last is not None and self.last.ok
        layers = dict.fromkeys(LANGUAGE_LAYERS, "active" if works else "unknown")
        announced = self.service.pool.layers
        for name in LAYERS:
            status = announced.status()[name] if announced is not None else "unknown"
            layers[name] = "unknown" if status == "active" and not works else status
        return layers

    def _data_tier(self) -> dict[str, Any]:
        described = describe_data_tier(self.service.settings)
        data_pool = self.service.data_pool
        described["enabled"] = data_pool is not None
        described["template_alive"] = data_pool is not None and data_pool.alive
        return described

    def _ping_overdue(self) -> bool:
        """No liveness ping answered for longer than the pool would take to find a hang:
        the ping loop itself is stuck, or the template answers nothing at all."""
        pool = self.service.pool
        age = pool.last_ping_age_s
        return age is not None and age > PING_OVERDUE_FACTOR * (LIVENESS_INTERVAL_S + pool.hang_timeout_s)

    def report(self) -> tuple[Status, dict[str, Any]]:
        pool = self.service.pool
        restarts = pool.restarts
        if restarts != self._restarts_seen:
            self._restarts_seen = restarts
            self._last_restart_at = time.monotonic()
        checks: dict[str, Any] = {
            "token_configured": self.service.settings.token_configured,
            "template_alive": pool.alive,
            # The template answers a liveness ping every second (pool.LIVENESS_INTERVAL_S);
            # one unanswered for EXECUTOR_TEMPLATE_HANG_TIMEOUT_S gets it killed and restarted.
            "template_responsive": pool.responsive,
            "template_ping_ms": pool.last_ping_ms,
            "template_ping_age_s": None if pool.last_ping_age_s is None else round(pool.last_ping_age_s, 1),
            "ready_workers": pool.ready_workers,
            "template_restarts": restarts,
            # Below 6, Landlock cannot scope signals and abstract sockets (seccomp does).
            "landlock_abi": pool.layers.landlock_abi if pool.layers is not None else None,
            "required_layers": sorted(self.service.settings.required_layers),
            "missing_layers": self.service.missing_layers(),
            "draining": self.drain.draining,
            # numpy, pandas and matplotlib (docs/data.md): on when installed and enabled.
            "data_tier": self._data_tier(),
        }
        if self.sessions is not None:
            # Sessions open in this replica, and how many may be (POST /sessions is 429 past it).
            checks["sessions"] = self.sessions.report()
        storage_down = False
        if self.storage is not None:
            storage_down = not self.storage.reachable
            checks["rate_limit_storage"] = {
                "kind": self.storage.kind,
                "reachable": not storage_down,
                "fail_mode": self.service.settings.rate_limit_fail_mode,
            }
        if self.last is not None:
            checks["self_test"] = {
                "ok": self.last.ok,
                "age_s": round(time.monotonic() - self.last.at, 1),
                "duration_ms": self.last.duration_ms,
                "detail": self.last.detail,
            }
        status: Status
        if (
            not checks["token_configured"]
            or self.drain.draining  # SIGTERM: load balancers must stop sending traffic here
            or not pool.alive
            or not pool.responsive
            or self._ping_overdue()
            or checks["missing_layers"]
            or self.last is None
            or not self.last.ok
        ):
            status = "unhealthy"
        elif (
            time.monotonic() - self.last.at > 3 * self.interval_s
            or (self._last_restart_at is not None and time.monotonic() - self._last_restart_at < RECENT_RESTART_S)
            # Executions go on (fail open) or are refused (fail closed), but restarting this
            # replica would not bring Redis back: degraded, not unhealthy.
            or storage_down
            # The data tier's programs get 503 while its template is down; the rest run.
            or (checks["data_tier"]["enabled"] and not checks["data_tier"]["template_alive"])
        ):
            status = "degraded"
        else:
            status = "healthy"
        return status, checks
