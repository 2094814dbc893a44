"""ProgramChecker: the line in front of the checker process. Programs are checked one at
a time, clients taking turns, each client's in arrival order; the line is bounded in
length (and per client) and in waiting time; a program
whose own check is too slow, or that the checker dies on twice, is refused; verdicts are
cached within a byte budget.

The checker behind the line is a stand-in here whose checks finish when the test says
so (the real prepare_program gives the verdicts), which makes order and overlap
deterministic; the real checker process is tested in tests/integration/test_checker_process.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

import pytest

from src.errors import Overloaded, QueueTimeout, SandboxUnavailable
from src.language.catalogue import CATALOGUE
from src.language.validation import PreparedProgram, SourcePolicy, prepare_program
from src.sandbox import checking
from src.sandbox.checker_client import CheckerCannotStart, CheckerCrashed, CheckTooSlow
from src.sandbox.checking import ProgramChecker

POLICY = SourcePolicy(50_000, 100, frozenset(CATALOGUE))


class HeldChecker:
    """Checks each program with prepare_program once the test releases it; or fails the
    way ``failures`` says, one failure per check."""

    def __init__(self, *, held: bool = False, failures: Iterable[Exception] = ()) -> None:
        self.held = held
        self.release = asyncio.Event()
        self.failures = iter(failures)
        self.started: list[str] = []
        self.active = 0
        self.most_active = 0
        self.stopped = False

    async def start(self) -> None:
        pass

    async def check(self, code: str, budget_s: float) -> PreparedProgram:
        self.started.append(code)
        self.active += 1
        self.most_active = max(self.most_active, self.active)
        try:
            if self.held:
                await self.release.wait()
            failure = next(self.failures, None)
            if failure is not None:
                raise failure
            return prepare_program(code, POLICY)
        finally:
            self.active -= 1

    async def stop(self) -> None:
        self.stopped = True


def line(checker: HeldChecker, limit: int = 16, timeout_s: float = 30) -> ProgramChecker:
    return ProgramChecker(POLICY, limit=limit, timeout_s=timeout_s, max_code_bytes=262_144, checker=checker)


async def until(condition: Callable[[], object], what: str) -> None:
    """Let the loop run the other tasks until ``condition()`` holds (no clock involved)."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError(f"never: {what}")


def test_a_program_gets_the_validators_verdict() -> None:
    async def scenario() -> tuple[PreparedProgram, PreparedProgram]:
        checker = line(HeldChecker())
        return await checker.prepare("print(6 * 7)"), await checker.prepare("import socket")

    fine, refused = asyncio.run(scenario())
    assert fine.violations == [] and fine.bytecode is not None
    assert [v.rule for v in refused.violations] == ["import"]


def test_checks_run_one_at_a_time_in_arrival_order() -> None:
    held = HeldChecker(held=True)

    async def scenario() -> list[PreparedProgram]:
        checker = line(held)
        programs = [asyncio.ensure_future(checker.prepare(f"x = {n}")) for n in range(6)]
        await until(lambda: checker.pending == 6 and held.started, "all in line, the first being checked")
        assert held.started == ["x = 0"]  # the others wait for their turn
        held.release.set()
        return await asyncio.gather(*programs)

    verdicts = asyncio.run(scenario())
    assert held.most_active == 1
    assert held.started == [f"x = {n}" for n in range(6)]
    assert all(v.bytecode is not None for v in verdicts)


def test_past_the_limit_a_program_is_refused_at_once() -> None:
    held = HeldChecker(held=True)

    async def scenario() -> None:
        checker = line(held, limit=2)
        waiting = [asyncio.ensure_future(checker.prepare(f"x = {n}", client=f"c{n}")) for n in range(2)]
        await until(lambda: checker.pending == 2, "both in line")
        with pytest.raises(Overloaded) as refused:
            await checker.prepare("x = 3", client="c3")
        assert refused.value.reason == "queue_full"
        held.release.set()
        await asyncio.gather(*waiting)
        assert checker.pending == 0

    asyncio.run(scenario())


def test_one_client_holds_at_most_half_of_the_line() -> None:
    """A client that fills the line would leave every other one a 429 queue_full."""
    held = HeldChecker(held=True)

    async def scenario() -> None:
        checker = line(held, limit=4)
        waiting = [asyncio.ensure_future(checker.prepare(f"x = {n}", client="busy")) for n in range(2)]
        await until(lambda: checker.pending == 2, "both in line")
        with pytest.raises(Overloaded) as refused:
            await checker.prepare("x = 3", client="busy")
        assert refused.value.reason == "queue_full"
        assert "this client's" in str(refused.value)
        other = asyncio.ensure_future(checker.prepare("y = 1", client="other"))
        await until(lambda: checker.pending == 3, "the other client in line")
        held.release.set()
        await asyncio.gather(*waiting, other)
        assert checker.pending == 0

    asyncio.run(scenario())


def test_clients_take_turns_at_the_checker() -> None:
    """Round-robin among the clients waiting, each client's own programs in arrival
    order: a client that sent many programs delays another by one check, not all."""
    held = HeldChecker(held=True)

    async def scenario() -> list[str]:
        checker = line(held, limit=16)
        first = asyncio.ensure_future(checker.prepare("a = 0", client="a"))
        await until(lambda: held.started == ["a = 0"], "the first check started")
        rest = [asyncio.ensure_future(checker.prepare(f"a = {n}", client="a")) for n in range(1, 5)]
        rest += [asyncio.ensure_future(checker.prepare(f"b = {n}", client="b")) for n in range(2)]
        rest += [asyncio.ensure_future(checker.prepare("c = 0", client="c"))]
        await until(lambda: checker.pending == 8, "all in line")
        held.release.set()
        await asyncio.gather(first, *rest)
        return held.started

    assert asyncio.run(scenario()) == ["a = 0", "a = 1", "b = 0", "c = 0", "a = 2", "b = 1", "a = 3", "a = 4"]


def test_a_caller_that_times_out_leaves_the_line_and_the_round_goes_on() -> None:
    held = HeldChecker(held=True)

    async def scenario() -> list[str]:
        checker = line(held, limit=16, timeout_s=30)
        first = asyncio.ensure_future(checker.prepare("a = 0", client="a"))
        await until(lambda: held.started == ["a = 0"], "the first check started")
        leaving = asyncio.ensure_future(checker.prepare("b = 0", client="b"))
        staying = asyncio.ensure_future(checker.prepare("c = 0", client="c"))
        await until(lambda: checker.pending == 3, "all in line")
        leaving.cancel()  # as its timeout would
        await until(lambda: checker.pending == 2, "the cancelled caller left")
        held.release.set()
        await asyncio.gather(first, staying)
        with pytest.raises(asyncio.CancelledError):
            await leaving
        return held.started

    assert asyncio.run(scenario()) == ["a = 0", "c = 0"]


def test_a_program_whose_turn_does_not_come_in_time_is_a_queue_timeout() -> None:
    held = HeldChecker(held=True)

    async def scenario() -> None:
        checker = line(held, timeout_s=0.05)
        first = asyncio.ensure_future(checker.prepare("x = 1"))  # holds the checker
        await until(lambda: held.started, "the first check started")
        with pytest.raises(QueueTimeout) as timed_out:
            await checker.prepare("x = 2")
        assert timed_out.value.reason == "queue_timeout"
        assert checker.pending == 1 and held.started == ["x = 1"]  # the second never reached it
        held.release.set()
        await first
        assert checker.pending == 0

    asyncio.run(scenario())


def test_a_caller_that_leaves_mid_check_still_gets_its_verdict_cached() -> None:
    held = HeldChecker(held=True)

    async def scenario() -> None:
        checker = line(held)
        leaving = asyncio.ensure_future(checker.prepare("x = 1"))
        await until(lambda: held.started, "the check started")
        leaving.cancel()
        await until(leaving.done, "the caller left")
        assert checker.pending == 1  # the check itself goes on
        held.release.set()
        await until(lambda: checker.pending == 0, "the check finished")
        assert (await checker.prepare("x = 1")).bytecode is not None
        assert held.started == ["x = 1"]  # the retry was answered from the cache

    asyncio.run(scenario())


def test_a_check_past_its_budget_refuses_the_program_and_is_not_cached() -> None:
    held = HeldChecker(failures=[CheckTooSlow("slow"), CheckTooSlow("slow")])

    async def scenario() -> tuple[PreparedProgram, PreparedProgram]:
        checker = line(held)
        return await checker.prepare("x = 1"), await checker.prepare("x = 1")

    first, again = asyncio.run(scenario())
    for verdict in (first, again):
        assert [(v.rule, v.message) for v in verdict.violations] == [
            ("uncheckable", f"checking the program took longer than {checking.CHECK_BUDGET_S:g} s")
        ]
        assert verdict.bytecode is None
    assert held.started == ["x = 1", "x = 1"]


def test_one_crash_is_retried_and_two_refuse_the_program() -> None:
    async def scenario(failures: list[Exception]) -> tuple[PreparedProgram, int]:
        held = HeldChecker(failures=failures)
        verdict = await line(held).prepare("x = 1")
        return verdict, len(held.started)

    verdict, attempts = asyncio.run(scenario([CheckerCrashed("killed")]))
    assert verdict.bytecode is not None and attempts == 2
    verdict, attempts = asyncio.run(scenario([CheckerCrashed("killed"), CheckerCrashed("killed")]))
    assert [v.rule for v in verdict.violations] == ["uncheckable"] and attempts == 2


def test_a_checker_that_cannot_start_is_a_503_not_a_verdict() -> None:
    async def scenario() -> None:
        checker = line(HeldChecker(failures=[CheckerCannotStart("no python")]))
        with pytest.raises(SandboxUnavailable):
            await checker.prepare("x = 1")
        assert checker.pending == 0
        assert (await checker.prepare("x = 1")).bytecode is not None  # not cached, tried again

    asyncio.run(scenario())


def test_cached_verdicts_stay_within_their_byte_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checking, "CACHE_BYTES", 4096)
    held = HeldChecker()

    async def scenario() -> ProgramChecker:
        checker = line(held)
        for n in range(40):
            await checker.prepare(f"values = [{n}] * 3\nprint(sum(values))")
        await checker.prepare("values = [39] * 3\nprint(sum(values))")  # the newest: kept
        return checker

    checker = asyncio.run(scenario())
    assert len(held.started) == 40
    assert 0 < checker.cached_bytes <= 4096


def test_stop_stops_the_checker() -> None:
    held = HeldChecker()
    asyncio.run(line(held).stop())
    assert held.stopped


def test_the_same_large_program_sent_many_times_is_checked_once() -> None:
    """Verdicts are kept by digest whatever the size, and a copy that waited behind the
    first is answered from its verdict (pass 62: copies of one large program held the
    checker for 30 s and every other client got 429)."""
    held = HeldChecker(held=True)
    large = "x = 1\n" * 5000  # past what a verdict cache keyed by the source would keep

    async def scenario() -> None:
        checker = line(held)
        copies = [asyncio.ensure_future(checker.prepare(large)) for _ in range(4)]
        await until(lambda: held.started, "the first copy's check started")
        held.release.set()
        verdicts = await asyncio.gather(*copies)
        assert all(verdict is verdicts[0] for verdict in verdicts)
        assert held.started == [large]
        assert (await checker.prepare(large)) is verdicts[0]
        assert held.started == [large]

    asyncio.run(scenario())


def test_a_verdict_is_kept_for_the_client_that_asked_only() -> None:
    # Kept for anyone, a cached verdict would answer another client faster, telling it
    # that the same text was sent recently (attack pass 90, N4).
    held = HeldChecker()

    async def scenario() -> None:
        checker = line(held)
        await checker.prepare("secret = 41", "token-a@10.0.0.1")
        await checker.prepare("secret = 41", "token-a@10.0.0.1")
        assert held.started == ["secret = 41"]  # the same client: from the cache
        await checker.prepare("secret = 41", "token-b@10.0.0.2")
        assert held.started == ["secret = 41", "secret = 41"]  # another: checked again

    asyncio.run(scenario())
