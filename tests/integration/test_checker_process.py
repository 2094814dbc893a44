"""The checker process: a real child checks programs with the real validator, off the API
process. Its verdicts are the validator's; a check past its budget kills it and the next
check gets a fresh one; it holds nothing of the server (empty environment). To make
"the check is still running" deterministic, the child is stopped with SIGSTOP: a stopped
process never answers, whatever the machine's speed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from src.language.catalogue import CATALOGUE
from src.language.validation import PreparedProgram, SourcePolicy, prepare_program
from src.protocol import ProtocolError
from src.sandbox.checker_client import CheckerProcess, CheckTooSlow, parse_verdict
from src.sandbox.checking import ProgramChecker

POLICY = SourcePolicy(50_000, 100, frozenset(CATALOGUE))
MAX_CODE_BYTES = 262_144

PROGRAMS = [
    "print(6 * 7)",
    "import os",
    "def f(:\n    pass",
    "x = ().__class__",
    "class A:\n    def __init__(self, x):\n        self.x = x\nA(1).x",
    "return 1",
    'x = "\ud800"\nx',
    "name_\u00e9 = 'caf\u00e9'\nname_\u00e9",
    "s = ('x' * 4096, 'y' * 4096) * 64\n" * 40,
]


def run(scenario: Callable[[CheckerProcess], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        process = CheckerProcess(POLICY, MAX_CODE_BYTES)
        try:
            return await scenario(process)
        finally:
            await process.stop()

    return asyncio.run(main())


@asynccontextmanager
async def stopped(pid: int) -> AsyncIterator[None]:
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):  # killed meanwhile, as some tests mean it to be
            os.kill(pid, signal.SIGCONT)


def test_its_verdicts_are_the_validators() -> None:
    async def scenario(process: CheckerProcess) -> list[PreparedProgram]:
        return [await process.check(code, 30) for code in PROGRAMS]

    assert run(scenario) == [prepare_program(code, POLICY) for code in PROGRAMS]


def test_it_runs_in_another_process_with_nothing_of_the_servers() -> None:
    os.environ["EXECUTOR_CANARY_SECRET"] = "do-not-inherit"
    try:

        async def scenario(process: CheckerProcess) -> tuple[int, bytes]:
            await process.start()
            assert process.pid is not None
            return process.pid, Path(f"/proc/{process.pid}/environ").read_bytes()

        pid, environ = run(scenario)
    finally:
        del os.environ["EXECUTOR_CANARY_SECRET"]
    assert pid != os.getpid()
    assert environ == b""


def test_a_check_past_its_budget_kills_the_child_and_the_next_gets_a_new_one() -> None:
    async def scenario(process: CheckerProcess) -> tuple[int, PreparedProgram]:
        await process.start()
        first = process.pid
        assert first is not None
        async with stopped(first):
            with pytest.raises(CheckTooSlow):
                await process.check("x = 1", 0.2)
        assert process.pid is None
        assert not Path(f"/proc/{first}").exists() or "Z" in Path(f"/proc/{first}/stat").read_text().split()[2]
        verdict = await process.check("x = 1", 30)
        return process.starts, verdict

    starts, verdict = run(scenario)
    assert verdict.bytecode is not None
    assert starts == 2


def test_the_event_loop_runs_while_a_check_is_in_progress() -> None:
    """With the child stopped the check cannot finish; the loop must still run other work
    to completion meanwhile (a thread holding the GIL in the compiler would not let it)."""

    async def scenario(checker: ProgramChecker) -> list[str]:
        await checker.start()
        process = checker.checker
        assert isinstance(process, CheckerProcess) and process.pid is not None
        events: list[str] = []
        async with stopped(process.pid):
            check = asyncio.ensure_future(checker.prepare("print('checked')"))
            for _ in range(100):
                if checker.pending:
                    break
                await asyncio.sleep(0)
            await asyncio.sleep(0.01)
            events.append(f"loop ran; check done: {check.done()}")
        await check
        events.append("check done")
        return events

    async def main() -> list[str]:
        checker = ProgramChecker(POLICY, limit=4, timeout_s=30, max_code_bytes=MAX_CODE_BYTES)
        try:
            return await scenario(checker)
        finally:
            await checker.stop()

    assert asyncio.run(main()) == ["loop ran; check done: False", "check done"]


def test_a_child_killed_mid_check_is_replaced_and_the_program_checked_again() -> None:
    async def scenario(checker: ProgramChecker) -> PreparedProgram:
        await checker.start()
        process = checker.checker
        assert isinstance(process, CheckerProcess) and process.pid is not None
        pid = process.pid
        os.kill(pid, signal.SIGSTOP)
        check = asyncio.ensure_future(checker.prepare("print('again')"))
        for _ in range(100):
            if checker.pending:
                break
            await asyncio.sleep(0)
        os.kill(pid, signal.SIGKILL)
        return await check

    async def main() -> PreparedProgram:
        checker = ProgramChecker(POLICY, limit=4, timeout_s=30, max_code_bytes=MAX_CODE_BYTES)
        try:
            return await scenario(checker)
        finally:
            await checker.stop()

    assert asyncio.run(main()) == prepare_program("print('again')", POLICY)


@pytest.mark.parametrize(
    "reply",
    [
        None,
        [],
        {"violations": [], "bytecode": None},
        {"violations": [], "bytecode": "not base64!"},
        {"violations": [{"line": 1, "rule": "import", "message": "m", "hint": "h"}], "bytecode": "AAAA"},
        {"violations": [{"line": 1, "rule": "invented", "message": "m", "hint": "h"}], "bytecode": None},
        {"violations": [{"line": "1", "rule": "import", "message": "m", "hint": "h"}], "bytecode": None},
        {"violations": [{"line": 1, "rule": "import", "message": 1, "hint": "h"}], "bytecode": None},
        {"violations": [], "bytecode": "AAAA", "extra": 1},
    ],
)
def test_a_reply_that_is_not_a_verdict_is_refused(reply: object) -> None:
    with pytest.raises(ProtocolError):
        parse_verdict(reply)


def test_a_well_formed_reply_reads_back() -> None:
    assert parse_verdict({"violations": [], "bytecode": base64.b64encode(b"\x01\x02").decode()}).bytecode == b"\x01\x02"


def test_it_holds_no_capability_and_no_new_privileges() -> None:
    """The first process to parse the untrusted source: a memory-safety bug in CPython's
    parser or compiler must not be a process with root's capabilities."""

    async def scenario(process: CheckerProcess) -> dict[str, str]:
        await process.start()
        status = Path(f"/proc/{process.pid}/status").read_text()
        return dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)

    status = run(scenario)
    assert int(status["CapEff"].strip(), 16) == 0
    assert int(status["CapPrm"].strip(), 16) == 0
    assert status["NoNewPrivs"].strip() == "1"
