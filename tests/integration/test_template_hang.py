"""A template that stops answering is declared hung, killed and restarted.

Real template processes, frozen with SIGSTOP (as a stuck page fault, a bug or a debugger
would leave them). Each scenario runs inside ``asyncio.run`` and records what it saw;
the tests below read those records. Detection is asserted against generous upper bounds
(the bound plus SLACK_S), never against lower bounds on sleeps. A frozen template is
always resumed when its scenario ends, whatever happened, so no stopped process
outlives a test.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest

from src.language.catalogue import CATALOGUE
from src.protocol import Job
from src.sandbox.pool import LIVENESS_INTERVAL_S, ExecutionPool, PoolUnavailable, RunOutcome
from src.sandbox.template_client import HANG_CONFIRM_S, TemplateHung, TemplateProcess
from tests.support.jobs import job, poll_until

#: Small, so that the scenarios are quick; the service's default is larger.
HANG_TIMEOUT_S = 1.0
#: Added to every expected bound: scheduling on a loaded host, a template restart.
SLACK_S = 3.0
#: Far longer than any bound here: a job that waited this long waited for the freeze.
JOB_TIMEOUT_S = 30.0
#: More pings than a unix socket's default send buffer holds (about 278 one-byte
#: messages), so that some senders find the control socket full.
FLOOD_PINGS = 400


@asynccontextmanager
async def running_pool(hang_timeout_s: float | None = HANG_TIMEOUT_S, prefork: int = 2) -> AsyncIterator[ExecutionPool]:
    """``hang_timeout_s=None``: the pool's default."""
    if hang_timeout_s is None:
        pool = ExecutionPool(sorted(CATALOGUE), prefork=prefork)
    else:
        pool = ExecutionPool(sorted(CATALOGUE), prefork=prefork, hang_timeout_s=hang_timeout_s)
    await pool.start()
    try:
        yield pool
    finally:
        await pool.stop()


def template_of(pool: ExecutionPool) -> TemplateProcess:
    template = pool._template
    assert template is not None and template._proc is not None
    return template


@contextlib.contextmanager
def frozen(template: TemplateProcess) -> Iterator[None]:
    """SIGSTOP the template; SIGCONT it on the way out if it still exists. Signalled
    through a pidfd, so a recycled pid can never be hit."""
    assert template._proc is not None
    pidfd = os.pidfd_open(template._proc.pid)
    try:
        signal.pidfd_send_signal(pidfd, signal.SIGSTOP)
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            signal.pidfd_send_signal(pidfd, signal.SIGCONT)
        os.close(pidfd)


async def run(pool: ExecutionPool, code_or_job: str | Job, timeout_s: float = JOB_TIMEOUT_S) -> RunOutcome:
    the_job = job(code_or_job) if isinstance(code_or_job, str) else code_or_job
    return await pool.run(the_job, timeout_s, stdout_budget=4096, stderr_budget=4096, flood_factor=4)


async def outcome_or_error(awaitable: Awaitable[RunOutcome]) -> RunOutcome | BaseException:
    try:
        return await awaitable
    except Exception as exc:  # noqa: BLE001 - the error is the observation
        return exc


async def ready(pool: ExecutionPool) -> None:
    """Workers forked ahead and a first ping answered: the template is fully up."""
    await poll_until(lambda: pool.ready_workers == 2 and pool.last_ping_ms is not None, timeout_s=SLACK_S + 2)


# ---------------------------------------------------------------------- waiting for a worker


@dataclass
class FrozenUnderJobs:
    prefork_outcomes: list[RunOutcome | BaseException]
    waiting_outcomes: list[RunOutcome | BaseException]
    waited_s: float
    responsive_at_hang: list[bool]
    hangs_before: int
    hangs_after: int
    restarts_before: int
    restarts_after: int
    restart_hook_calls: int
    old_template_returncode: int | None
    responsive_after_restart: bool
    later: RunOutcome


@pytest.fixture(scope="module")
def frozen_under_jobs() -> FrozenUnderJobs:
    async def main() -> FrozenUnderJobs:
        async with running_pool() as pool:
            responsive_at_hang: list[bool] = []
            restart_calls: list[None] = []
            restarted = asyncio.Event()
            pool.on_hang(lambda: responsive_at_hang.append(pool.responsive))
            pool.on_restart(lambda: restart_calls.append(None))
            pool.on_restart(restarted.set)
            await ready(pool)
            hangs_before, restarts_before = pool.hangs, pool.restarts
            template = template_of(pool)
            with frozen(template):
                # The workers forked ahead are processes of their own: they still run.
                prefork_outcomes = [await outcome_or_error(run(pool, f"print({i})")) for i in range(2)]
                started = time.monotonic()
                waiting = asyncio.gather(*(outcome_or_error(run(pool, "print('waited')")) for _ in range(3)))
                waiting_outcomes = list(await asyncio.wait_for(waiting, HANG_TIMEOUT_S + HANG_CONFIRM_S + 2 * SLACK_S))
                waited_s = time.monotonic() - started
                await asyncio.wait_for(restarted.wait(), SLACK_S + 2)
            assert template._proc is not None
            return FrozenUnderJobs(
                prefork_outcomes,
                waiting_outcomes,
                waited_s,
                responsive_at_hang,
                hangs_before,
                pool.hangs,
                restarts_before,
                pool.restarts,
                len(restart_calls),
                template._proc.returncode,
                pool.responsive,
                await run(pool, "print('back')"),
            )

    return asyncio.run(main())


def test_workers_forked_before_the_freeze_still_run_jobs(frozen_under_jobs: FrozenUnderJobs) -> None:
    texts = [o.stdout.text() if isinstance(o, RunOutcome) else repr(o) for o in frozen_under_jobs.prefork_outcomes]
    assert texts == ["0\n", "1\n"]


def test_jobs_waiting_on_a_frozen_template_get_pool_unavailable(frozen_under_jobs: FrozenUnderJobs) -> None:
    assert all(isinstance(o, PoolUnavailable) for o in frozen_under_jobs.waiting_outcomes)


def test_the_503_says_the_sandbox_is_restarting(frozen_under_jobs: FrozenUnderJobs) -> None:
    assert all("is restarting" in str(o) for o in frozen_under_jobs.waiting_outcomes)


def test_waiting_jobs_are_answered_within_the_hang_bound_not_their_timeout(frozen_under_jobs: FrozenUnderJobs) -> None:
    assert frozen_under_jobs.waited_s < HANG_TIMEOUT_S + HANG_CONFIRM_S + SLACK_S < JOB_TIMEOUT_S


def test_a_hang_is_counted_once(frozen_under_jobs: FrozenUnderJobs) -> None:
    assert frozen_under_jobs.hangs_after == frozen_under_jobs.hangs_before + 1


def test_the_pool_is_not_responsive_when_the_hang_is_reported(frozen_under_jobs: FrozenUnderJobs) -> None:
    assert frozen_under_jobs.responsive_at_hang == [False]


def test_the_hung_template_is_killed_with_sigkill(frozen_under_jobs: FrozenUnderJobs) -> None:
    assert frozen_under_jobs.old_template_returncode == -signal.SIGKILL


def test_the_hung_template_is_restarted(frozen_under_jobs: FrozenUnderJobs) -> None:
    assert frozen_under_jobs.restarts_after == frozen_under_jobs.restarts_before + 1


def test_a_restart_after_a_hang_calls_the_restart_hook(frozen_under_jobs: FrozenUnderJobs) -> None:
    assert frozen_under_jobs.restart_hook_calls == 1


def test_the_pool_is_responsive_again_after_the_restart(frozen_under_jobs: FrozenUnderJobs) -> None:
    assert frozen_under_jobs.responsive_after_restart is True


def test_a_job_after_the_restart_succeeds(frozen_under_jobs: FrozenUnderJobs) -> None:
    assert frozen_under_jobs.later.stdout.text() == "back\n"


# ---------------------------------------------------------------------- the liveness ping alone


@dataclass
class FrozenWhileIdle:
    detected_s: float
    restarted_s: float
    hangs: int
    restarts: int
    ready_before: int
    responsive_after: bool
    later: RunOutcome


@pytest.fixture(scope="module")
def frozen_while_idle() -> FrozenWhileIdle:
    """No job at all: the workers forked ahead are all there, nothing asks for a fork;
    only the liveness ping can find the freeze."""

    async def main() -> FrozenWhileIdle:
        async with running_pool() as pool:
            hung, restarted = asyncio.Event(), asyncio.Event()
            pool.on_hang(hung.set)
            pool.on_restart(restarted.set)
            await ready(pool)
            ready_before = pool.ready_workers
            with frozen(template_of(pool)):
                started = time.monotonic()
                await asyncio.wait_for(hung.wait(), LIVENESS_INTERVAL_S + HANG_TIMEOUT_S + SLACK_S)
                detected_s = time.monotonic() - started
                await asyncio.wait_for(restarted.wait(), SLACK_S + 2)
                restarted_s = time.monotonic() - started
            await poll_until(lambda: pool.last_ping_age_s is not None and pool.last_ping_age_s < detected_s)
            return FrozenWhileIdle(
                detected_s,
                restarted_s,
                pool.hangs,
                pool.restarts,
                ready_before,
                pool.responsive,
                await run(pool, "print('back')"),
            )

    return asyncio.run(main())


def test_no_job_was_needed_to_find_the_freeze(frozen_while_idle: FrozenWhileIdle) -> None:
    assert frozen_while_idle.ready_before == 2


def test_the_ping_finds_a_frozen_template_within_interval_and_bound(frozen_while_idle: FrozenWhileIdle) -> None:
    assert frozen_while_idle.detected_s < LIVENESS_INTERVAL_S + HANG_TIMEOUT_S + HANG_CONFIRM_S + SLACK_S


def test_the_frozen_idle_template_is_restarted_promptly(frozen_while_idle: FrozenWhileIdle) -> None:
    assert frozen_while_idle.restarted_s < LIVENESS_INTERVAL_S + HANG_TIMEOUT_S + HANG_CONFIRM_S + 2 * SLACK_S


def test_the_idle_hang_is_counted_and_restarted(frozen_while_idle: FrozenWhileIdle) -> None:
    assert (frozen_while_idle.hangs, frozen_while_idle.restarts) == (1, 1)


def test_the_new_template_answers_pings_and_runs_jobs(frozen_while_idle: FrozenWhileIdle) -> None:
    assert (frozen_while_idle.responsive_after, frozen_while_idle.later.stdout.text()) == (True, "back\n")


# ---------------------------------------------------------------------- not a hang


@dataclass
class UnderLoad:
    sequential: list[str]
    concurrent: list[str]
    hangs: int
    restarts: int
    responsive: bool
    last_ping_ms: float | None


#: CPU work for every concurrent job: with more jobs than CPUs, the template forks while
#: the CPUs are taken.
BUSY_JOB = "total = 0\nfor i in range(200000):\n    total += i\nprint(total > 0)"


@pytest.fixture(scope="module")
def under_load() -> UnderLoad:
    """Default settings (the pool's default hang bound, the service's default of four
    workers forked ahead) and ordinary load."""

    async def main() -> UnderLoad:
        async with running_pool(hang_timeout_s=None, prefork=4) as pool:
            started = time.monotonic()
            sequential = [(await run(pool, f"print({i})", timeout_s=10)).stdout.text() for i in range(30)]
            concurrent: list[str] = []
            for _ in range(3):
                outcomes = await asyncio.gather(*(run(pool, BUSY_JOB, timeout_s=10) for _ in range(8)))
                concurrent.extend(o.stdout.text() for o in outcomes)
            # A ping sent and answered since the load began: the liveness loop ran through it.
            await poll_until(
                lambda: pool.last_ping_age_s is not None and pool.last_ping_age_s < time.monotonic() - started,
                timeout_s=LIVENESS_INTERVAL_S + SLACK_S,
            )
            return UnderLoad(sequential, concurrent, pool.hangs, pool.restarts, pool.responsive, pool.last_ping_ms)

    return asyncio.run(main())


def test_sequential_jobs_all_succeed(under_load: UnderLoad) -> None:
    assert under_load.sequential == [f"{i}\n" for i in range(30)]


def test_concurrent_jobs_all_succeed(under_load: UnderLoad) -> None:
    assert under_load.concurrent == ["True\n"] * 24


def test_a_template_busy_forking_is_not_declared_hung(under_load: UnderLoad) -> None:
    assert (under_load.hangs, under_load.restarts, under_load.responsive) == (0, 0, True)


def test_the_ping_round_trip_is_measured(under_load: UnderLoad) -> None:
    assert under_load.last_ping_ms is not None and 0 < under_load.last_ping_ms < 1000 * SLACK_S


def test_a_template_that_dies_is_not_counted_as_hung() -> None:
    async def main() -> tuple[int, int, bool]:
        async with running_pool() as pool:
            restarted = asyncio.Event()
            pool.on_restart(restarted.set)
            await ready(pool)
            template = template_of(pool)
            assert template._proc is not None
            os.kill(template._proc.pid, signal.SIGKILL)
            await asyncio.wait_for(restarted.wait(), SLACK_S + 2)
            return pool.hangs, pool.restarts, pool.responsive

    assert asyncio.run(main()) == (0, 1, True)


# ---------------------------------------------------------------------- a full control socket


async def started_template(hang_timeout_s: float) -> TemplateProcess:
    template = TemplateProcess(sorted(CATALOGUE), hang_timeout_s=hang_timeout_s)
    await template.start()
    return template


def test_a_full_control_socket_of_a_live_template_is_a_backlog_not_a_death() -> None:
    """Frozen for a moment (well within the bound) while more pings are sent than the
    socket holds: the senders that found it full wait, and every ping is answered once
    the template reads again."""

    async def main() -> tuple[bool, int, bool, bool]:
        template = await started_template(hang_timeout_s=HANG_TIMEOUT_S + SLACK_S)
        try:
            with frozen(template):
                pings = [asyncio.ensure_future(template.ping()) for _ in range(FLOOD_PINGS)]
                await poll_until(lambda: len(template._pongs) + len(template._blocked) == FLOOD_PINGS)
                some_blocked = bool(template._blocked)
            outcomes = await asyncio.wait_for(asyncio.gather(*pings, return_exceptions=True), 2 * SLACK_S)
            answered = sum(isinstance(o, float) for o in outcomes)
            return some_blocked, answered, template.alive, template.hung
        finally:
            await template.stop()

    assert asyncio.run(main()) == (True, FLOOD_PINGS, True, False)


def test_a_full_control_socket_of_a_frozen_template_ends_in_template_hung() -> None:
    """Every sender, those whose ping went out and those waiting for room, gets
    TemplateHung within the bound, and the template is killed."""

    async def main() -> tuple[set[type[object]], float, bool, int | None]:
        template = await started_template(hang_timeout_s=HANG_TIMEOUT_S)
        try:
            with frozen(template):
                started = time.monotonic()
                pings = [asyncio.ensure_future(template.ping()) for _ in range(FLOOD_PINGS)]
                outcomes = await asyncio.wait_for(
                    asyncio.gather(*pings, return_exceptions=True), HANG_TIMEOUT_S + HANG_CONFIRM_S + SLACK_S
                )
                waited_s = time.monotonic() - started
                assert template._proc is not None
                await asyncio.wait_for(template._proc.wait(), SLACK_S)
            return {type(o) for o in outcomes}, waited_s, template.hung, template._proc.returncode
        finally:
            await template.stop()

    kinds, waited_s, hung, returncode = asyncio.run(main())
    assert (kinds, hung, returncode) == ({TemplateHung}, True, -signal.SIGKILL)
    assert waited_s < HANG_TIMEOUT_S + HANG_CONFIRM_S + SLACK_S
