"""AdmissionGate: strict FIFO, a bounded queue that refuses at once, and no leaked slots.

pytest-asyncio is not used: each test runs its scenario with ``asyncio.run``.
"""

from __future__ import annotations

import asyncio

import pytest

from src.errors import Overloaded, QueueTimeout, ShuttingDown
from src.sandbox.admission import AdmissionGate


async def hold(gate: AdmissionGate, name: str, entered: list[str], release: asyncio.Event) -> None:
    async with gate.slot():
        entered.append(name)
        await release.wait()


async def settle() -> None:
    """Let every ready task run until it blocks again."""
    for _ in range(5):
        await asyncio.sleep(0)


# ---------------------------------------------------------------------- counts


def test_fresh_gate_has_nothing_in_flight_or_queued() -> None:
    gate = AdmissionGate(slots=2, queue_limit=4)
    assert (gate.in_flight, gate.queued) == (0, 0)


def test_counts_while_slots_are_held_and_waiters_queue() -> None:
    async def scenario() -> tuple[int, int]:
        gate = AdmissionGate(slots=2, queue_limit=4)
        release = asyncio.Event()
        entered: list[str] = []
        tasks = [asyncio.create_task(hold(gate, str(i), entered, release)) for i in range(5)]
        await settle()
        counts = (gate.in_flight, gate.queued)
        release.set()
        await asyncio.gather(*tasks)
        return counts

    assert asyncio.run(scenario()) == (2, 3)


def test_counts_return_to_zero_after_everyone_is_done() -> None:
    async def scenario() -> tuple[int, int]:
        gate = AdmissionGate(slots=2, queue_limit=4)
        release = asyncio.Event()
        entered: list[str] = []
        tasks = [asyncio.create_task(hold(gate, str(i), entered, release)) for i in range(5)]
        await settle()
        release.set()
        await asyncio.gather(*tasks)
        return gate.in_flight, gate.queued

    assert asyncio.run(scenario()) == (0, 0)


def test_slot_is_released_when_the_body_raises() -> None:
    async def scenario() -> int:
        gate = AdmissionGate(slots=1, queue_limit=0)
        with pytest.raises(ZeroDivisionError):
            async with gate.slot():
                _ = 1 / 0
        return gate.in_flight

    assert asyncio.run(scenario()) == 0


# ---------------------------------------------------------------------- order


def test_waiters_are_served_in_arrival_order() -> None:
    async def scenario() -> list[str]:
        gate = AdmissionGate(slots=1, queue_limit=10)
        entered: list[str] = []
        releases = {name: asyncio.Event() for name in ["holder", *"abcdef"]}
        tasks = [asyncio.create_task(hold(gate, "holder", entered, releases["holder"]))]
        await settle()
        for name in "abcdef":
            tasks.append(asyncio.create_task(hold(gate, name, entered, releases[name])))
            await settle()  # arrival order is creation order
        for name in ["holder", *"abcde"]:
            releases[name].set()  # one at a time: exactly the next one gets in
            await settle()
        releases["f"].set()
        await asyncio.gather(*tasks)
        return entered

    assert asyncio.run(scenario()) == ["holder", *"abcdef"]


def test_each_release_admits_exactly_one_waiter() -> None:
    async def scenario() -> list[int]:
        gate = AdmissionGate(slots=1, queue_limit=10)
        entered: list[str] = []
        releases = [asyncio.Event() for _ in range(4)]
        tasks = []
        for i, release in enumerate(releases):
            tasks.append(asyncio.create_task(hold(gate, str(i), entered, release)))
            await settle()
        seen = []
        for release in releases:
            seen.append(len(entered))
            release.set()
            await settle()
        await asyncio.gather(*tasks)
        return seen

    assert asyncio.run(scenario()) == [1, 2, 3, 4]


def test_newcomer_does_not_overtake_a_handed_over_slot() -> None:
    """A slot freed while someone waits goes to the waiter, not to a caller arriving now."""

    async def scenario() -> list[str]:
        gate = AdmissionGate(slots=1, queue_limit=10)
        entered: list[str] = []
        release_holder, release_waiter, release_late = asyncio.Event(), asyncio.Event(), asyncio.Event()
        holder = asyncio.create_task(hold(gate, "holder", entered, release_holder))
        await settle()
        waiter = asyncio.create_task(hold(gate, "waiter", entered, release_waiter))
        await settle()
        release_holder.set()
        await asyncio.sleep(0)  # the holder leaves; the waiter has not resumed yet
        late = asyncio.create_task(hold(gate, "late", entered, release_late))
        await settle()
        release_waiter.set()
        release_late.set()
        await asyncio.gather(holder, waiter, late)
        return entered

    assert asyncio.run(scenario()) == ["holder", "waiter", "late"]


# ---------------------------------------------------------------------- queue full


def test_full_queue_raises_overloaded() -> None:
    async def scenario() -> None:
        gate = AdmissionGate(slots=1, queue_limit=1)
        release = asyncio.Event()
        entered: list[str] = []
        tasks = [asyncio.create_task(hold(gate, str(i), entered, release)) for i in range(2)]
        await settle()
        try:
            with pytest.raises(Overloaded):
                async with gate.slot():
                    pass
        finally:
            release.set()
            await asyncio.gather(*tasks)

    asyncio.run(scenario())


def test_overloaded_carries_retry_after() -> None:
    async def scenario() -> Overloaded:
        gate = AdmissionGate(slots=1, queue_limit=0, retry_after_s=7)
        release = asyncio.Event()
        entered: list[str] = []
        task = asyncio.create_task(hold(gate, "holder", entered, release))
        await settle()
        try:
            async with gate.slot():
                pass
        except Overloaded as exc:
            return exc
        finally:
            release.set()
            await task
        raise AssertionError("the gate admitted a request beyond its queue")

    exc = asyncio.run(scenario())
    assert exc.headers == {"Retry-After": "7"}


def test_overloaded_is_http_429() -> None:
    assert Overloaded("full", 1).status_code == 429


def test_refused_request_leaves_the_counts_alone() -> None:
    async def scenario() -> tuple[int, int]:
        gate = AdmissionGate(slots=1, queue_limit=1)
        release = asyncio.Event()
        entered: list[str] = []
        tasks = [asyncio.create_task(hold(gate, str(i), entered, release)) for i in range(2)]
        await settle()
        with pytest.raises(Overloaded):
            async with gate.slot():
                pass
        counts = (gate.in_flight, gate.queued)
        release.set()
        await asyncio.gather(*tasks)
        return counts

    assert asyncio.run(scenario()) == (1, 1)


def test_queue_limit_zero_still_admits_up_to_the_slots() -> None:
    async def scenario() -> int:
        gate = AdmissionGate(slots=2, queue_limit=0)
        release = asyncio.Event()
        entered: list[str] = []
        tasks = [asyncio.create_task(hold(gate, str(i), entered, release)) for i in range(2)]
        await settle()
        admitted = len(entered)
        release.set()
        await asyncio.gather(*tasks)
        return admitted

    assert asyncio.run(scenario()) == 2


# ---------------------------------------------------------------------- cancellation


def cancelled_waiter_counts() -> tuple[tuple[int, int], tuple[int, int]]:
    """(in_flight, queued) right after a queued waiter is cancelled, and after the holder
    of the only slot releases it."""

    async def scenario() -> tuple[tuple[int, int], tuple[int, int]]:
        gate = AdmissionGate(slots=1, queue_limit=4)
        release = asyncio.Event()
        entered: list[str] = []
        holder = asyncio.create_task(hold(gate, "holder", entered, release))
        await settle()
        waiter = asyncio.create_task(hold(gate, "waiter", entered, release))
        await settle()
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)
        after_cancel = (gate.in_flight, gate.queued)
        release.set()
        await holder
        return after_cancel, (gate.in_flight, gate.queued)

    return asyncio.run(scenario())


def test_cancelled_waiter_leaves_the_queue() -> None:
    assert cancelled_waiter_counts()[0] == (1, 0)


def test_cancelled_waiter_does_not_leak_a_slot() -> None:
    assert cancelled_waiter_counts()[1] == (0, 0)


def test_waiter_cancelled_as_it_is_handed_the_slot_passes_it_on() -> None:
    """The holder leaves (the slot moves to the waiter) and the waiter is cancelled
    before it resumes: the slot must go to the next waiter, not disappear."""

    async def scenario() -> tuple[list[str], int, int]:
        gate = AdmissionGate(slots=1, queue_limit=4)
        entered: list[str] = []
        release_holder, release_next = asyncio.Event(), asyncio.Event()
        doomed: asyncio.Task[None] | None = None

        async def holder_then_cancel() -> None:
            await hold(gate, "holder", entered, release_holder)
            # The exit just handed the slot to "doomed", which has not run since.
            assert doomed is not None
            doomed.cancel()

        holder = asyncio.create_task(holder_then_cancel())
        await settle()
        doomed = asyncio.create_task(hold(gate, "doomed", entered, asyncio.Event()))
        await settle()
        following = asyncio.create_task(hold(gate, "next", entered, release_next))
        await settle()
        release_holder.set()
        await holder
        await asyncio.gather(doomed, return_exceptions=True)
        await settle()
        release_next.set()
        await asyncio.wait_for(following, 2)  # a leaked slot would leave "next" waiting forever
        return entered, gate.in_flight, gate.queued

    assert asyncio.run(scenario()) == (["holder", "next"], 0, 0)


def test_slot_is_free_again_after_a_cancelled_holder() -> None:
    async def scenario() -> tuple[int, int]:
        gate = AdmissionGate(slots=1, queue_limit=0)
        entered: list[str] = []
        holder = asyncio.create_task(hold(gate, "holder", entered, asyncio.Event()))
        await settle()
        holder.cancel()
        await asyncio.gather(holder, return_exceptions=True)
        async with gate.slot():
            inside = gate.in_flight
        return inside, gate.in_flight

    assert asyncio.run(scenario()) == (1, 0)


# ---------------------------------------------------------------------- closing (shutdown)


def test_closing_refuses_the_waiting_and_the_new_but_not_the_running() -> None:
    async def scenario() -> tuple[list[str], list[str], str]:
        gate = AdmissionGate(slots=1, queue_limit=4)
        release = asyncio.Event()
        entered: list[str] = []
        running = asyncio.create_task(hold(gate, "running", entered, release))
        await settle()
        waiting = [asyncio.create_task(hold(gate, f"waiting-{i}", entered, release)) for i in range(2)]
        await settle()
        gate.close(lambda: ShuttingDown(5))
        outcomes = await asyncio.gather(*waiting, return_exceptions=True)
        try:
            async with gate.slot():
                newcomer = "admitted"
        except ShuttingDown:
            newcomer = "refused"
        release.set()
        await running
        return entered, [type(o).__name__ for o in outcomes], newcomer

    entered, waiting, newcomer = asyncio.run(scenario())
    assert entered == ["running"]
    assert waiting == ["ShuttingDown", "ShuttingDown"]
    assert newcomer == "refused"


def test_slots_held_when_closing_are_still_released() -> None:
    async def scenario() -> int:
        gate = AdmissionGate(slots=1, queue_limit=1)
        async with gate.slot():
            gate.close(lambda: ShuttingDown(5))
        return gate.in_flight

    assert asyncio.run(scenario()) == 0


# ---------------------------------------------------------------------- queue deadline


def test_a_waiter_past_the_queue_deadline_gets_queue_timeout_and_leaves_the_queue() -> None:
    async def scenario() -> tuple[QueueTimeout, int, list[str]]:
        gate = AdmissionGate(slots=1, queue_limit=4, retry_after_s=3, queue_timeout_s=0.05)
        release = asyncio.Event()
        entered: list[str] = []
        holder = asyncio.create_task(hold(gate, "holder", entered, release))
        await settle()
        try:
            async with gate.slot():
                raise AssertionError("admitted while the only slot is held")
        except QueueTimeout as exc:
            refused = exc
        queued = gate.queued
        release.set()
        await holder
        async with gate.slot():  # the slot was not lost with the waiter that gave up
            entered.append("after")
        return refused, queued, entered

    refused, queued, entered = asyncio.run(scenario())
    assert (refused.status_code, refused.reason, refused.headers) == (429, "queue_timeout", {"Retry-After": "3"})
    assert queued == 0
    assert entered == ["holder", "after"]


def test_waiters_within_the_queue_deadline_are_admitted_in_order() -> None:
    async def scenario() -> list[str]:
        gate = AdmissionGate(slots=1, queue_limit=4, queue_timeout_s=60)
        release = asyncio.Event()
        entered: list[str] = []
        tasks = [asyncio.create_task(hold(gate, str(i), entered, release)) for i in range(3)]
        await settle()
        release.set()
        await asyncio.gather(*tasks)
        return entered

    assert asyncio.run(scenario()) == ["0", "1", "2"]


def test_a_waiter_refused_by_closing_and_then_cancelled_frees_no_slot() -> None:
    async def scenario() -> int:
        gate = AdmissionGate(slots=1, queue_limit=4)
        release = asyncio.Event()
        entered: list[str] = []
        holder = asyncio.create_task(hold(gate, "holder", entered, release))
        waiter = asyncio.create_task(hold(gate, "waiter", entered, release))
        await settle()
        gate.close(lambda: ShuttingDown(1))
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)
        in_flight = gate.in_flight
        release.set()
        await holder
        return in_flight

    assert asyncio.run(scenario()) == 1
