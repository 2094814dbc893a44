"""ProgramChecker: programs are checked in one thread, one at a time, never on the event
loop; the line is bounded in length and in time; verdicts are cached within a byte
budget. The real prepare_program for verdicts; a check that blocks until released
(or records who runs it) to make order and overlap deterministic."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest

from src.errors import Overloaded, QueueTimeout
from src.language.catalogue import CATALOGUE
from src.language.validation import PreparedProgram, SourcePolicy, prepare_program
from src.sandbox import checking
from src.sandbox.checking import ProgramChecker

POLICY = SourcePolicy(50_000, 100, frozenset(CATALOGUE))


def test_a_program_gets_the_validators_verdict() -> None:
    async def scenario() -> tuple[PreparedProgram, PreparedProgram]:
        checker = ProgramChecker(POLICY, limit=4, timeout_s=10)
        return await checker.prepare("print(6 * 7)"), await checker.prepare("import os")

    fine, refused = asyncio.run(scenario())
    assert fine.violations == [] and fine.bytecode is not None
    assert [v.rule for v in refused.violations] == ["import"]


def test_checks_run_one_at_a_time_in_one_thread_off_the_loop() -> None:
    active, most, threads = [0], [0], set()
    lock = threading.Lock()

    def recording(code: str, policy: SourcePolicy) -> PreparedProgram:
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        threads.add(threading.get_ident())
        prepared = prepare_program(code, policy)
        with lock:
            active[0] -= 1
        return prepared

    async def scenario() -> int:
        checker = ProgramChecker(POLICY, limit=16, timeout_s=30, check=recording)
        await asyncio.gather(*(checker.prepare(f"x = {n}\n" + "y = x + 1\n" * 2000) for n in range(8)))
        return threading.get_ident()

    loop_thread = asyncio.run(scenario())
    assert most[0] == 1
    assert len(threads) == 1 and loop_thread not in threads


async def settled(checker: ProgramChecker) -> None:
    """Until the thread's completions are counted (on the loop, soon after each)."""
    for _ in range(500):
        if checker.pending == 0:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{checker.pending} checks still counted as pending")


def blocking_check(release: threading.Event) -> Callable[[str, SourcePolicy], PreparedProgram]:
    def check(code: str, policy: SourcePolicy) -> PreparedProgram:
        release.wait(30)
        return prepare_program(code, policy)

    return check


def test_past_the_limit_a_program_is_refused_at_once() -> None:
    release = threading.Event()

    async def scenario() -> None:
        checker = ProgramChecker(POLICY, limit=2, timeout_s=30, check=blocking_check(release))
        waiting = [asyncio.ensure_future(checker.prepare(f"x = {n}")) for n in range(2)]
        await asyncio.sleep(0)  # both in the line
        with pytest.raises(Overloaded) as refused:
            await checker.prepare("x = 3")
        assert refused.value.reason == "queue_full"
        release.set()
        await asyncio.gather(*waiting)
        await settled(checker)

    asyncio.run(scenario())


def test_a_check_that_does_not_start_in_time_is_a_queue_timeout() -> None:
    release = threading.Event()

    async def scenario() -> None:
        checker = ProgramChecker(POLICY, limit=4, timeout_s=0.1, check=blocking_check(release))
        with pytest.raises(QueueTimeout) as timed_out:
            await checker.prepare("x = 1")
        assert timed_out.value.reason == "queue_timeout"
        assert checker.pending == 1  # the thread is still busy with it: it still counts
        release.set()
        await settled(checker)

    asyncio.run(scenario())


def test_cached_verdicts_stay_within_their_byte_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checking, "CACHE_BYTES", 4096)
    calls: list[str] = []

    def counting(code: str, policy: SourcePolicy) -> PreparedProgram:
        calls.append(code)
        return prepare_program(code, policy)

    async def scenario() -> ProgramChecker:
        checker = ProgramChecker(POLICY, limit=4, timeout_s=10, check=counting)
        for n in range(40):
            await checker.prepare(f"values = [{n}] * 3\nprint(sum(values))")
        await checker.prepare("values = [39] * 3\nprint(sum(values))")  # the newest: kept
        return checker

    checker = asyncio.run(scenario())
    assert len(calls) == 40
    assert 0 < checker.cached_bytes <= 4096
