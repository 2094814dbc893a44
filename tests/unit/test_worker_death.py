"""How the pool describes a worker that died without a reply (src/sandbox/pool.py)."""

from __future__ import annotations

import logging
import signal

import pytest

from src.sandbox.pool import _died_reply


class _Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.mark.parametrize("name", ["SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE", "SIGABRT", "SIGTRAP", "SIGSYS"])
def test_a_worker_dead_of_a_fault_is_described_and_logged_alike(name: str) -> None:
    """A forged pointer that misses ends as SIGSEGV or SIGBUS by where it led; a refused
    system call as SIGSYS: each is worth an operator's look (pass 65 saw SIGBUS go unlogged).
    The handler sits on the pool's own logger: whatever configuration other tests left."""
    logger = logging.getLogger("src.sandbox.pool")
    kept = _Kept()
    logger.addHandler(kept)
    disabled, logger.disabled = logger.disabled, False
    try:
        reply = _died_reply((int(getattr(signal, name)), 0), cpu_s=5, memory_mb=256)
    finally:
        logger.removeHandler(kept)
        logger.disabled = disabled
    assert reply["error"] is not None
    assert reply["error"]["type"] == "WorkerCrashed"
    assert f"the interpreter crashed ({name})" in reply["error"]["message"]
    assert any(name in message for message in kept.messages)


def test_a_worker_killed_by_another_signal_is_not_a_fault() -> None:
    reply = _died_reply((int(signal.SIGTERM), 0), cpu_s=5, memory_mb=256)
    assert reply["error"] is not None
    assert reply["error"]["message"] == "the worker was killed by SIGTERM"
