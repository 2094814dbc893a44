"""How the pool describes a worker that died without a reply (src/sandbox/pool.py)."""

from __future__ import annotations

import signal

import pytest

from src.sandbox.pool import _died_reply


@pytest.mark.parametrize("name", ["SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE", "SIGABRT", "SIGTRAP", "SIGSYS"])
def test_a_worker_dead_of_a_fault_is_described_and_logged_alike(name: str, caplog: pytest.LogCaptureFixture) -> None:
    """A forged pointer that misses ends as SIGSEGV or SIGBUS by where it led; a refused
    system call as SIGSYS: each is worth an operator's look (pass 65 saw SIGBUS go unlogged)."""
    with caplog.at_level("WARNING", logger="src.sandbox.pool"):
        reply = _died_reply((int(signal.Signals[name]), 0), cpu_s=5, memory_mb=256)
    assert reply["error"] is not None
    assert reply["error"]["type"] == "WorkerCrashed"
    assert f"the interpreter crashed ({name})" in reply["error"]["message"]
    assert [record.getMessage() for record in caplog.records if name in record.getMessage()]
