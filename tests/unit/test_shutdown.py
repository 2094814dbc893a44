"""Drain: starts once, tells its listeners, wraps (never replaces) the server's handlers."""

from __future__ import annotations

import os
import signal
from types import FrameType

from src.api.shutdown import Drain


def test_begin_runs_callbacks_once() -> None:
    drain = Drain()
    calls: list[str] = []
    drain.on_drain(lambda: calls.append("closed"))
    drain.begin()
    drain.begin()
    assert (drain.draining, calls) == (True, ["closed"])


def test_signal_starts_draining_then_reaches_the_previous_handler() -> None:
    seen: list[int] = []

    def previous(signum: int, frame: FrameType | None) -> None:
        seen.append(signum)

    original = signal.signal(signal.SIGTERM, previous)
    drain = Drain()
    try:
        drain.install()
        os.kill(os.getpid(), signal.SIGTERM)
        assert drain.draining
        assert seen == [signal.SIGTERM]
    finally:
        drain.uninstall()
        assert signal.getsignal(signal.SIGTERM) is previous
        signal.signal(signal.SIGTERM, original)
