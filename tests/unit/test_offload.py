"""Large inputs are parsed in the large-input thread, small ones inline; either way the
caller gets the same value or the same exception."""

from __future__ import annotations

import asyncio
import threading

import pytest

from src.offload import INLINE_BYTES, parse_sized


def _where(value: int) -> tuple[int, str]:
    if value < 0:
        raise ValueError("negative")
    return value * 2, threading.current_thread().name


@pytest.mark.parametrize(("size", "inline"), [(0, True), (INLINE_BYTES, True), (INLINE_BYTES + 1, False)])
def test_the_size_decides_where_the_parse_runs_and_the_answer_is_the_same(size: int, inline: bool) -> None:
    async def scenario() -> tuple[int, str, str]:
        value, thread = await parse_sized(size, _where, 21)
        return value, thread, threading.current_thread().name

    value, thread, caller = asyncio.run(scenario())
    assert value == 42
    assert (thread == caller) is inline
    assert inline or thread.startswith("large-input")


@pytest.mark.parametrize("size", [1, INLINE_BYTES + 1])
def test_an_exception_reaches_the_caller_either_way(size: int) -> None:
    with pytest.raises(ValueError, match="negative"):
        asyncio.run(parse_sized(size, _where, -1))
