"""A session's worker (src/sandbox/session_workers.py) with the real template: the calls of
one session in one process and one namespace, a CPU allowance per call, what arrives
between two calls thrown away, and a worker that is gone when its call was stopped."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from src.language.catalogue import CATALOGUE
from src.protocol import FileRules, Job
from src.sandbox.pool import ExecutionPool, RunOutcome
from src.sandbox.session_workers import SessionWorker, open_worker
from src.sandbox.workdirs import WorkDirectories
from tests.support import unguarded_template
from tests.support.jobs import job

BUDGETS = {"stdout_budget": 4096, "stderr_budget": 2048, "flood_factor": 4}
FILE_RULES: FileRules = {
    "max_files": 8, "max_file_bytes": 1 << 20, "max_files_bytes": 4 << 20, "max_path_chars": 255, "max_path_depth": 4
}  # fmt: skip


def session_job(code: str, cpu_s: int = 5, context: dict[str, object] | None = None) -> Job:
    made = job(code, context, wall_s=120)
    made["session"] = True
    made["limits"]["cpu_s"] = cpu_s
    made["limits"]["cpu_hard_s"] = 120
    return made


@asynccontextmanager
async def session_worker(files_root: Path | None = None) -> AsyncIterator[SessionWorker]:
    """A session's worker, opened; with ``files_root``, in a working directory beneath it."""
    workdirs = WorkDirectories(files_root) if files_root is not None else None
    if workdirs is not None:
        workdirs.start()
    pool = ExecutionPool(sorted(CATALOGUE), prefork=1, files_root=str(workdirs.root) if workdirs else None)
    await pool.start()
    worker = await open_worker(pool)
    try:
        opening = session_job("")
        if workdirs is not None:
            opening["workdir"] = str(workdirs.create([]).path)
            opening["file_rules"] = FILE_RULES
        opened = await worker.call(opening, 10, **BUDGETS)
        assert opened.kept and opened.reply["success"], opened.reply
        yield worker
    finally:
        worker.close()
        await pool.stop()
        if workdirs is not None:
            workdirs.stop()


async def call(worker: SessionWorker, code: str, timeout_s: float = 10, **options: object) -> RunOutcome:
    return await worker.call(session_job(code, **options), timeout_s, **BUDGETS)  # type: ignore[arg-type]


def test_names_classes_and_modules_carry_over_and_only_this_calls_value_is_the_answer() -> None:
    async def scenario() -> list[RunOutcome]:
        async with session_worker() as worker:
            pid = worker.pid
            outcomes = [
                await call(
                    worker,
                    "import json\nclass Box:\n    def __init__(self):\n        self.items = []\nbox = Box()\n_ = 1",
                ),
                await call(worker, "box.items.append(n)\nbox.tag = 'x'\njson.dumps(box.items)", context={"n": 7}),
                await call(worker, "print(box.tag, isinstance(box, Box))"),
                await call(worker, "'last'"),
                await call(worker, "kept = 1"),
            ]
            assert worker.pid == pid and worker.alive
            return outcomes

    first, second, third, fourth, fifth = asyncio.run(scenario())
    assert first.reply["result"] == 1  # `_` assigned by this call
    assert second.reply["result"] == "[7]"
    assert (third.reply["result"], third.stdout.text()) == (None, "x True\n")
    assert fourth.reply["result"] == "last"
    # Neither the previous call's final expression nor an unchanged `_`.
    assert fifth.reply["result"] is None
    assert all(outcome.kept for outcome in (first, second, third, fourth, fifth))


def test_each_call_has_its_own_cpu_allowance_however_much_earlier_calls_used() -> None:
    burn = "import time\nstart = time.process_time()\nwhile time.process_time() - start < 0.7:\n    pass\n"

    async def scenario() -> tuple[list[RunOutcome], RunOutcome, float | None]:
        async with session_worker() as worker:
            # 1 s of CPU each (the soft limit lands 1 to 2 s above what was used): three
            # calls of 0.7 s pass only if each gets its own allowance.
            passed = [await call(worker, burn, cpu_s=1) for _ in range(3)]
            used = worker.cpu_seconds()
            # A generous deadline: on a loaded machine 2 s of CPU take much longer than 2 s.
            stopped = await call(worker, "while True:\n    pass", timeout_s=60, cpu_s=1)
            return passed, stopped, used

    passed, stopped, used = asyncio.run(scenario())
    assert [outcome.reply["success"] for outcome in passed] == [True, True, True]
    assert used is not None and used > 2.0
    assert stopped.reply["limit"] == "cpu" and not stopped.kept


def test_a_call_stopped_by_its_deadline_kills_the_worker() -> None:
    async def scenario() -> tuple[RunOutcome, bool, int]:
        async with session_worker() as worker:
            outcome = await call(worker, "while True:\n    pass", timeout_s=0.5)
            return outcome, worker.alive, worker.pid

    outcome, alive, pid = asyncio.run(scenario())
    assert outcome.reply["limit"] == "timeout" and not outcome.kept and not alive
    assert not os.path.exists(f"/proc/{pid}/stat") or Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"


def test_a_forged_frame_left_on_the_channel_is_never_a_later_calls_reply() -> None:
    """A program past the language layer (the unguarded template) writes two forged frames
    on the channel at once: the first is its own call's reply (as a one-shot worker's could
    be); the second, read with it or left in the socket, is thrown away, never the next
    call's. (The worker's own reply to the forging call may still be taken for the next
    call's when it arrives after the next call began: a program past every layer can forge
    its own session's replies, docs/security.md.)"""
    forge = (
        "import json, os, struct\n"
        "body = json.dumps({'success': True, 'result': 'FORGED', 'result_truncated': False, "
        "'error': None, 'limit': None}).encode()\n"
        "frame = struct.pack('>I', len(body)) + body\n"
        "os.write(3, frame + frame)\n"
        "result = 'own'\n"
    )

    async def scenario() -> tuple[RunOutcome, RunOutcome]:
        pool = ExecutionPool(sorted(CATALOGUE), prefork=1, template_entry=unguarded_template.ENTRY)
        await pool.start()
        worker = await open_worker(pool)
        try:
            await worker.call(session_job(""), 10, **BUDGETS)
            forged = await worker.call(session_job(forge), 10, **BUDGETS)
            after = await worker.call(session_job("result = 'real'"), 10, **BUDGETS)
            return forged, after
        finally:
            worker.close()
            await pool.stop()

    forged, after = asyncio.run(scenario())
    assert forged.reply["result"] == "FORGED"
    assert after.reply["success"] is True and after.reply["result"] in ("own", "real")


def test_what_the_program_releases_between_calls_waits_for_the_next_calls_safe_point() -> None:
    """Attack pass 98: a finalizer of the program's ran inside the runner's own
    dict.update of the next call's context, half applied, and deferred to nothing. It now
    waits (neither run nor dropped) and runs inside the next call, after its set-up."""

    async def scenario() -> tuple[RunOutcome, RunOutcome]:
        async with session_worker() as worker:
            await call(
                worker,
                "import io\nseen = []\nclass P(io.StringIO):\n    def close(self):\n"
                "        seen.append([a, b, c])\n        super().close()\na = P()\nb = 0\nc = 0",
            )
            replaced = await call(worker, "seen", context={"a": 1, "b": 2, "c": 3})
            later = await call(worker, "seen")
            return replaced, later

    replaced, later = asyncio.run(scenario())
    # Run at the call's first safe point, with the whole context bound.
    assert later.reply["result"] == [[1, 2, 3]], (replaced.reply, later.reply)


def test_the_programs_own_memory_error_keeps_the_sessions_names() -> None:
    async def scenario() -> tuple[RunOutcome, RunOutcome]:
        async with session_worker() as worker:
            raised = await call(worker, "kept = [1, 2]\nraise MemoryError('mine')")
            after = await call(worker, "kept")
            return raised, after

    raised, after = asyncio.run(scenario())
    error = raised.reply["error"]
    assert error is not None and error["type"] == "MemoryError" and raised.reply["limit"] is None
    assert raised.kept and after.reply["result"] == [1, 2]


def test_a_removed_file_kept_open_is_closed_after_the_call_and_workers_go_first_to_the_oom_killer(
    tmp_path: Path,
) -> None:
    """Attack pass 99: a file with no name, held open across calls, counted in no limit of
    the directory. And the kernel's out-of-memory killer takes workers before the API."""

    async def scenario() -> tuple[RunOutcome, RunOutcome, str]:
        async with session_worker(tmp_path) as worker:
            made = await call(
                worker, "import os\nkept = open('gone.txt', 'w')\nkept.write('x')\nos.remove('gone.txt')\nkept.closed"
            )
            later = await call(worker, "kept.closed")
            score = Path(f"/proc/{worker.pid}/oom_score_adj").read_text().strip()
            return made, later, score

    made, later, score = asyncio.run(scenario())
    assert made.reply["result"] is False and later.reply["result"] is True
    assert score == "1000"


def test_no_descriptor_of_the_worker_holds_a_removed_file_after_a_call(tmp_path: Path) -> None:
    """Attack pass 100: an archive opened by its path has a file object of its own, which
    closing the program's open() files missed: every descriptor is looked at."""

    async def scenario() -> tuple[RunOutcome, list[str]]:
        async with session_worker(tmp_path) as worker:
            made = await call(
                worker,
                "import os, zipfile\nbundle = zipfile.ZipFile('a.zip', 'w')\nbundle.writestr('x', 'y' * 1000)\n"
                "os.remove('a.zip')\n'made'",
            )
            fds = Path(f"/proc/{worker.pid}/fd")
            held = [os.readlink(fd) for fd in fds.iterdir()]
            return made, held

    made, held = asyncio.run(scenario())
    assert made.reply["result"] == "made", made.reply
    assert not [target for target in held if target.endswith("(deleted)")], held
