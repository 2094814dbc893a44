"""Rate-limit counters in Redis, with a visible, chosen behaviour while Redis is down.

With ``EXECUTOR_RATE_LIMIT_STORAGE_URI=redis://…`` the limiter's storage is a
``FailoverStorage`` (registered with ``limits`` under ``executor+redis://…``): every
counter operation goes to Redis while it answers. The first operation that fails marks
it unreachable (logged once), and until a probe finds it again:

* ``EXECUTOR_RATE_LIMIT_FAIL_MODE=open`` (the default): counters live in this process's
  memory. Executions go on; each replica then counts its own callers, so a caller spread
  over N replicas gets up to N budgets, and what was spent meanwhile is not carried back
  to Redis;
* ``closed``: executions are refused (503 ``limits_unavailable``, Retry-After): no
  caller runs anything that is not counted where every replica sees it.

``StorageWatch`` probes Redis in a thread every ``PROBE_INTERVAL_S``, so a recovery is
seen within seconds whether or not requests arrive, and /health and
``executor_rate_limit_storage_up`` show the state. The probe counts a key, as requests
do (a Redis that answers PING but refuses writes, full at ``maxmemory``, is down), and
must be answered within ``PROBE_SLOW_S``.

Slow is down too: every call blocks the event loop, four per execution, so a Redis
answering in 100 ms would cost every other client 400 ms per execution. After
``SLOW_CALLS_TO_FAIL`` calls in a row slower than ``REDIS_SLOW_S`` (one slow answer is a
blip), Redis is marked unreachable like a failed one.

Redis calls block the event loop (slowapi is synchronous), so each has a deadline of
``REDIS_TIMEOUT_S`` in all, and no retries: an unreachable or slow Redis costs one
request at most that long, not every request. The client's own timeouts apply to each
socket read, so a Redis (or a network) that answers a byte at a time would pass them;
the call therefore runs in a daemon thread and the loop waits for it no longer than the
deadline. A call still stuck there is left to its socket timeouts, and at most
``MAX_CALLS_IN_FLIGHT`` of them are let run at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Literal, TypeVar

from limits.storage import MemoryStorage, SlidingWindowCounterSupport, Storage, storage_from_string
from redis.backoff import NoBackoff
from redis.retry import Retry

from ..errors import LimitsUnavailable

log = logging.getLogger(__name__)

FailMode = Literal["open", "closed"]
#: The prefix that selects FailoverStorage in front of a Redis URI.
FAILOVER_PREFIX = "executor+"
#: How long one Redis call may take in all (also its connect and read timeouts), and how
#: slow a probe's answer may be, in seconds.
REDIS_TIMEOUT_S = 0.25
#: Redis calls past their deadline whose thread is still waiting; beyond, a call fails at
#: once.
MAX_CALLS_IN_FLIGHT = 4
#: A call slower than this is slow (a Redis near the service answers in well under a
#: millisecond); this many slow calls in a row mark Redis unreachable.
REDIS_SLOW_S = 0.02
SLOW_CALLS_TO_FAIL = 3
#: A probe must be answered within this (it goes through two threads: more slack).
PROBE_SLOW_S = 0.05
#: The key the probe counts (expiring), and for how long it lives.
PROBE_KEY = "executor/storage-probe"
PROBE_EXPIRY_S = 60
#: How often StorageWatch asks Redis whether it is there.
PROBE_INTERVAL_S = 2.0
#: How often the memory storage drops counters whose window has passed.
SWEEP_INTERVAL_S = 1.0

R = TypeVar("R")


class SweptMemoryStorage(MemoryStorage):
    """``limits``' MemoryStorage without its expiry thread.

    MemoryStorage drops expired counters in a ``threading.Timer`` of 10 ms that it
    starts again from any counter operation once the last one has run: at one
    execution every few milliseconds that is a new thread for every other request, and
    the request waits for it to start (a tenth of a trivial execution's latency). A
    counter is already checked for expiry whenever it is read, so the sweep only frees
    the memory of callers who went away: here it runs inline, at most once per
    ``SWEEP_INTERVAL_S``, from the counter operation that finds it due."""

    STORAGE_SCHEME = [FAILOVER_PREFIX + "memory"]  # noqa: RUF012 - limits declares it a list

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: Any) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.timer.cancel()  # the one MemoryStorage starts in its constructor
        self._next_sweep = time.monotonic() + SWEEP_INTERVAL_S

    def _MemoryStorage__schedule_expiry(self) -> None:  # MemoryStorage calls it by this name
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_INTERVAL_S
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]


class FailoverStorage(Storage, SlidingWindowCounterSupport):
    """Redis while it answers; then this process's memory (fail open) or a refusal
    (fail closed) until StorageWatch finds Redis again."""

    STORAGE_SCHEME = [FAILOVER_PREFIX + scheme for scheme in ("redis", "rediss", "redis+unix")]  # noqa: RUF012 - limits declares it a list

    def __init__(self, uri: str, wrap_exceptions: bool = False, fail_mode: FailMode = "open", **options: Any) -> None:
        super().__init__(uri, wrap_exceptions=False)
        self.primary = storage_from_string(
            uri.removeprefix(FAILOVER_PREFIX),
            socket_timeout=REDIS_TIMEOUT_S,
            socket_connect_timeout=REDIS_TIMEOUT_S,
            retry=Retry(NoBackoff(), 0),  # type: ignore[arg-type]  # passed on to redis.from_url
            **options,
        )
        self.fallback = SweptMemoryStorage()
        self.fail_mode = fail_mode
        self.reachable = True
        self.listeners: list[Callable[[bool], None]] = []
        self._in_flight = 0
        self._in_flight_lock = threading.Lock()
        self._slow_calls = 0

    @property
    def base_exceptions(self) -> tuple[type[Exception], ...]:
        return ()  # failures are handled here, never passed on as storage errors

    def mark(self, reachable: bool) -> None:
        if reachable == self.reachable:
            return
        self.reachable = reachable
        if reachable:
            log.warning("rate-limit storage reachable again; counting in it")
        elif self.fail_mode == "open":
            log.warning("rate-limit storage unreachable; counting in this process's memory until it is back")
        else:
            log.error("rate-limit storage unreachable; executions are refused until it is back")
        for listener in self.listeners:
            listener(reachable)

    def _call(self, operation: str, *args: Any) -> Any:
        if self.reachable:
            started = time.monotonic()
            try:
                result = self._within_deadline(getattr(self.primary, operation), *args)
            except Exception:  # noqa: BLE001 - whatever Redis raised, it is not answering
                self.mark(False)
            else:
                self._slow_calls = self._slow_calls + 1 if time.monotonic() - started > REDIS_SLOW_S else 0
                if self._slow_calls >= SLOW_CALLS_TO_FAIL:
                    log.warning("rate-limit storage answers too slowly (over %g s per call)", REDIS_SLOW_S)
                    self._slow_calls = 0
                    self.mark(False)
                return result
        if self.fail_mode == "closed":
            raise LimitsUnavailable(
                "the rate-limit storage is unreachable; executions are refused until it is back",
                retry_after_s=int(PROBE_INTERVAL_S * 2),
            )
        return getattr(self.fallback, operation)(*args)

    def _within_deadline(self, function: Callable[..., R], *args: Any) -> R:
        """``function(*args)``, run in a thread and waited for at most REDIS_TIMEOUT_S."""
        with self._in_flight_lock:
            if self._in_flight >= MAX_CALLS_IN_FLIGHT:
                raise TimeoutError("too many rate-limit storage calls are still waiting for Redis")
            self._in_flight += 1
        outcome: Future[R] = Future()

        def call() -> None:
            try:
                outcome.set_result(function(*args))
            except BaseException as error:  # noqa: BLE001 - handed to the waiting caller
                outcome.set_exception(error)
            finally:
                with self._in_flight_lock:
                    self._in_flight -= 1

        threading.Thread(target=call, name="rate-limit-storage-call", daemon=True).start()
        return outcome.result(timeout=REDIS_TIMEOUT_S)

    def probe(self) -> bool:
        """Count the probe key in Redis directly (blocking: call it in a thread). A slow
        answer is no answer."""
        started = time.monotonic()
        try:
            self._within_deadline(self.primary.incr, PROBE_KEY, PROBE_EXPIRY_S)
        except Exception:  # noqa: BLE001 - a probe reports, it never raises
            return False
        return time.monotonic() - started <= PROBE_SLOW_S

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        result: int = self._call("incr", key, expiry, amount)
        return result

    def get(self, key: str) -> int:
        result: int = self._call("get", key)
        return result

    def get_expiry(self, key: str) -> float:
        result: float = self._call("get_expiry", key)
        return result

    def check(self) -> bool:
        return self.reachable

    def reset(self) -> int | None:
        result: int | None = self._call("reset")
        return result

    def clear(self, key: str) -> None:
        self._call("clear", key)

    def acquire_sliding_window_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        result: bool = self._call("acquire_sliding_window_entry", key, limit, expiry, amount)
        return result

    def get_sliding_window(self, key: str, expiry: int) -> tuple[int, float, int, float]:
        result: tuple[int, float, int, float] = self._call("get_sliding_window", key, expiry)
        return result

    def clear_sliding_window(self, key: str, expiry: int) -> None:
        self._call("clear_sliding_window", key, expiry)


def limiter_storage_uri(uri: str) -> str:
    """The URI to give the limiter: Redis behind FailoverStorage, memory in
    SweptMemoryStorage."""
    return FAILOVER_PREFIX + uri


class StorageWatch:
    """Probes a FailoverStorage in the background; does nothing for memory://."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage if isinstance(storage, FailoverStorage) else None
        self._task: asyncio.Task[None] | None = None

    @property
    def kind(self) -> Literal["memory", "redis"]:
        return "memory" if self.storage is None else "redis"

    @property
    def reachable(self) -> bool:
        return self.storage is None or self.storage.reachable

    def on_change(self, listener: Callable[[bool], None]) -> None:
        if self.storage is not None:
            self.storage.listeners.append(listener)

    async def _loop(self, storage: FailoverStorage) -> None:
        while True:
            storage.mark(await asyncio.to_thread(storage.probe))
            await asyncio.sleep(PROBE_INTERVAL_S)

    def start(self) -> None:
        if self.storage is not None:
            self._task = asyncio.create_task(self._loop(self.storage), name="rate-limit-storage-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
