"""Jobs for an ExecutionPool driven directly (integration tests, and the pool stand-in
they run in a process of its own), and a bounded poll for pool state that offers no
event to await.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from src.protocol import Job, Limits


def job(
    code: str, context: dict[str, Any] | None = None, max_result_bytes: int = 65536, wall_s: int | None = None
) -> Job:
    """A job with the limits of these tests; ``wall_s`` arms the worker's own alarm."""
    limits: Limits = {
        "memory_mb": 256,
        "cpu_s": 5,
        "max_open_files": 16,
        "max_result_bytes": max_result_bytes,
        "max_error_chars": 2000,
    }
    if wall_s is not None:
        limits["wall_s"] = wall_s
    return {"code": code, "context": context or {}, "limits": limits}


async def poll_until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Bounded poll, for pool state (a restart, a self-test) that offers no event to await."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)
