"""The in-process rate-limit counters (``memory://``): no thread per request, and the
counters of callers who went away are still dropped."""

from __future__ import annotations

import threading

from limits.storage import storage_from_string

from src.api.limit_storage import SweptMemoryStorage, limiter_storage_uri


def _timers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if isinstance(t, threading.Timer) and t.is_alive()]


def test_memory_uri_selects_the_swept_storage() -> None:
    assert isinstance(storage_from_string(limiter_storage_uri("memory://")), SweptMemoryStorage)


def test_counter_operations_start_no_thread() -> None:
    storage = SweptMemoryStorage()
    storage.timer.join()  # the constructor's own timer, cancelled
    before = _timers()
    for _ in range(3):
        storage.incr("caller", 60)
        storage.acquire_sliding_window_entry("window", 10, 60)
    assert _timers() == before
    assert storage.get("caller") == 3


def test_expired_counters_are_swept_when_due() -> None:
    storage = SweptMemoryStorage()
    storage.incr("gone", 0)  # a window that has already passed
    storage.incr("here", 60)
    assert "gone" in storage.storage  # not due yet: nothing swept
    storage._next_sweep = 0.0  # due now
    storage.incr("here", 60)
    assert "gone" not in storage.storage
    assert storage.get("here") == 2
