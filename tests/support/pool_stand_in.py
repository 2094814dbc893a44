"""``python -m tests.support.pool_stand_in``: a stand-in for the server process, for the
test that SIGKILLs it (tests/integration/test_os_layers.py). It starts a pool of the
unguarded template, runs a program that disarms its own alarm and sleeps, prints the
pids of the template and its workers on one line, and sleeps until it is killed.
"""

from __future__ import annotations

import asyncio

from src.language.catalogue import CATALOGUE
from src.sandbox.pool import ExecutionPool
from tests.support.inprocess import program
from tests.support.jobs import job
from tests.support.procfs import blocked_in, children
from tests.support.unguarded_template import ENTRY

SLEEPER = program("sleeper_disarms_its_alarm")


async def main() -> None:
    pool = ExecutionPool(sorted(CATALOGUE), 2, template_entry=ENTRY)
    await pool.start()
    running = asyncio.ensure_future(
        pool.run(
            job(SLEEPER, max_result_bytes=4096, wall_s=8), 20, stdout_budget=4096, stderr_budget=4096, flood_factor=4
        )
    )
    assert pool._template is not None and pool._template._proc is not None
    template = pool._template._proc.pid
    # Bounded poll (the worker sends no signal): until one worker sleeps in the program
    # and another is forked ahead.
    for _ in range(2000):
        workers = children(template)
        if len(workers) >= 2 and any(blocked_in(pid, "clock_nanosleep") for pid in workers):
            break
        await asyncio.sleep(0.005)
    print(" ".join(map(str, [template, *children(template)])), flush=True)
    await asyncio.sleep(60)
    running.cancel()


if __name__ == "__main__":
    asyncio.run(main())
