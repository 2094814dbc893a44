"""Bounded FIFO admission: at most ``slots`` executions at once, at most ``queue_limit``
waiting, served strictly in arrival order. A request that finds the queue full is
refused at once (429) instead of piling up latency for everyone behind it, and one that
waits longer than ``queue_timeout_s`` gives up its place (429 ``queue_timeout``): the
wait is bounded by a deadline of its own, not only by how long the executions ahead take.

asyncio.Semaphore is not used: before Python 3.11.3 it could let a newcomer overtake
a waiter, and it has no notion of a bounded queue.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from ..errors import Overloaded, QueueTimeout


class AdmissionGate:
    def __init__(self, slots: int, queue_limit: int, retry_after_s: int = 1, queue_timeout_s: float = 30.0) -> None:
        self._free = slots
        self._slots = slots
        self._queue_limit = queue_limit
        self._retry_after_s = retry_after_s
        self._queue_timeout_s = queue_timeout_s
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._refusal: Callable[[], Exception] | None = None

    @property
    def in_flight(self) -> int:
        return self._slots - self._free

    @property
    def queued(self) -> int:
        return len(self._waiters)

    @property
    def saturated(self) -> bool:
        """Every slot is taken or someone is waiting: a new request would queue."""
        return self._free == 0 or bool(self._waiters)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one execution slot. Raises Overloaded when the wait queue is full,
        QueueTimeout after ``queue_timeout_s`` in the queue, and the closing refusal once
        the gate is closed."""
        if self._refusal is not None:
            raise self._refusal()
        if self._free > 0 and not self._waiters:
            self._free -= 1
        elif len(self._waiters) >= self._queue_limit:
            raise Overloaded(
                f"the execution queue is full ({self._queue_limit} waiting); retry later", self._retry_after_s
            )
        else:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                async with asyncio.timeout(self._queue_timeout_s):
                    await waiter
            except TimeoutError:
                if not waiter.done() or waiter.cancelled():
                    self._forget(waiter)
                    raise QueueTimeout(
                        f"no execution slot came free within {self._queue_timeout_s:g} s; retry later",
                        self._retry_after_s,
                    ) from None
                waiter.result()  # handed a slot (or the closing refusal) at the deadline: taken
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                    self._release()  # we were handed a slot as we were cancelled: pass it on
                else:
                    self._forget(waiter)
                raise
        try:
            yield
        finally:
            self._release()

    def close(self, refusal: Callable[[], Exception]) -> None:
        """Admit nothing more: every request still waiting, and every new one, gets
        ``refusal()``. Slots already held are not touched (their executions finish)."""
        self._refusal = refusal
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(refusal())

    def _forget(self, waiter: asyncio.Future[None]) -> None:
        with contextlib.suppress(ValueError):  # already taken off by close()
            self._waiters.remove(waiter)

    def _release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot moves to the oldest waiter
                return
        self._free += 1
