"""Graceful shutdown: on SIGTERM, stop admitting, finish what runs, then stop the sandbox.

uvicorn handles SIGTERM by closing its listening socket, waiting for the requests in
progress, then running the lifespan shutdown (which stops the template and kills every
worker). ``Drain`` adds what uvicorn cannot know about:

* from the signal on, /execute answers 503 with Retry-After (a request that still
  reaches this replica, e.g. on a keep-alive connection, is told to go elsewhere), and
  /health says ``draining`` so that load balancers stop sending traffic;
* requests waiting in the admission queue get that 503 at once: they have not started,
  and another replica can serve them sooner than this one would;
* executions already running finish, each within its own deadline (``timeout_s``), so
  the drain is bounded by EXECUTOR_MAX_TIMEOUT_S. Give the orchestrator a grace period
  above that (Kubernetes ``terminationGracePeriodSeconds``).

uvicorn installs its handlers with ``signal.signal`` before the application starts;
``Drain.install`` wraps them, so uvicorn still gets every signal.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)

_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Drain:
    def __init__(self) -> None:
        self.draining = False
        self._callbacks: list[Callable[[], None]] = []
        self._previous: dict[int, Any] = {}

    def on_drain(self, callback: Callable[[], None]) -> None:
        self._callbacks.append(callback)

    def begin(self) -> None:
        """Stop admitting (idempotent)."""
        if self.draining:
            return
        self.draining = True
        log.warning("shutting down: no new executions; running ones finish within their deadline")
        for callback in self._callbacks:
            callback()

    def install(self) -> None:
        """Wrap the current SIGTERM/SIGINT handlers (uvicorn's) so that draining starts
        first. Only from the main thread (signal handlers live there); elsewhere (an app
        served by a test harness in a thread) draining is started by calling ``begin``."""
        for sig in _SIGNALS:
            try:
                previous = signal.getsignal(sig)
                signal.signal(sig, self._handler)
            except ValueError:  # not the main thread
                return
            self._previous[sig] = previous

    def uninstall(self) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous.clear()

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        self.begin()
        previous = self._previous.get(signum)
        if callable(previous):
            previous(signum, frame)
        elif previous == signal.SIG_DFL:
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)
