"""The compiled-size limit: a program whose constant expressions the compiler would expand
far beyond its source is a 400, decided before it is compiled, and never cached or sent.
Ordinary uses of the same constructs (a banner of dashes, a large string built at run
time) still pass.
"""

from __future__ import annotations

import asyncio
import os
import signal

import httpx
import pytest

from src.app import create_app
from src.language import validation
from src.language.catalogue import CATALOGUE
from src.language.validation import (
    COMPILED_BYTES_PER_SOURCE_BYTE,
    COMPILED_FLOOR_BYTES,
    PreparedProgram,
    SourcePolicy,
    compiled_limit_bytes,
    prepare_program,
)
from src.sandbox.checking import ProgramChecker
from tests.support.server import TOKEN, make_settings

POLICY = SourcePolicy(max_ast_nodes=50_000, max_ast_depth=100, allowed_imports=frozenset(CATALOGUE))


def _strings(count: int, length: int = 4096) -> list[str]:
    """``count`` different literal expressions the compiler folds into ``length``-character strings."""
    return [f'"{chr(0x4E00 + i)}" * {length}' for i in range(count)]


#: The adversarial review's program: 16 KB of source, about 18 MB of bytecode.
TUPLE_OF_FOLDED_STRINGS = "(" + ", ".join(_strings(1300)) + ")\n"


def _balanced_sum(parts: list[str]) -> str:
    """``(a + b) + (c + d) ...``: the chain kept shallow enough for the nesting limit."""
    if len(parts) == 1:
        return parts[0]
    middle = len(parts) // 2
    return f"({_balanced_sum(parts[:middle])} + {_balanced_sum(parts[middle:])})"


EXPANDING = [
    pytest.param(TUPLE_OF_FOLDED_STRINGS, id="tuple-of-folded-strings"),
    pytest.param("x = " + _balanced_sum(_strings(2000)) + "\n", id="sum-of-folded-strings"),
    pytest.param(
        "\n".join(f"x{k} = " + " + ".join(_strings(40)[:40]) for k in range(40)) + "\n", id="chains-of-additions"
    ),
    pytest.param("(" + ", ".join(f"b'{i % 10}' * 4096" for i in range(1000)) + ")\n", id="folded-bytes"),
    pytest.param("(" + ", ".join(f"'{i}' * (2 ** 11)" for i in range(1000)) + ")\n", id="count-folded-first"),
]


@pytest.mark.parametrize("code", EXPANDING)
def test_a_program_that_expands_when_compiled_is_refused_before_compiling(code: str) -> None:
    prepared = prepare_program(code, POLICY)
    assert [(v.line, v.rule) for v in prepared.violations] == [(None, "too_large_compiled")]
    assert prepared.bytecode is None


def test_the_refusal_names_the_limit_and_what_to_do() -> None:
    source_bytes = len(TUPLE_OF_FOLDED_STRINGS.encode())
    (violation,) = prepare_program(TUPLE_OF_FOLDED_STRINGS, POLICY).violations
    detail = violation.as_detail()
    assert detail["message"].startswith("compiling the program would build about ")
    limit = compiled_limit_bytes(source_bytes)
    assert f"its source of {source_bytes} bytes; the limit is {limit} bytes" in detail["message"]
    assert detail["hint"].startswith("build large constants at run time")


ORDINARY = [
    pytest.param("LINE = '-' * 80\nprint(LINE)", id="banner"),
    pytest.param("BLOCK = 'x' * 4096\nprint(len(BLOCK))", id="largest-folded-string"),
    pytest.param("x = 'x' * 10 ** 6\nprint(len(x))", id="large-string-built-at-run-time"),
    pytest.param("n = 4096\nrows = [chr(0x4E00 + i) * n for i in range(1300)]\nprint(len(rows))", id="loop-built"),
    pytest.param("DAY_S = 60 * 60 * 24\nMASK = (1 << 64) - 1\nprint(DAY_S, MASK, 2 ** 100)", id="folded-numbers"),
    pytest.param("GRID = ((0,) * 16,) * 16\nprint(len(GRID))", id="folded-tuples"),
]


@pytest.mark.parametrize("code", ORDINARY)
def test_ordinary_constant_expressions_compile(code: str) -> None:
    prepared = prepare_program(code, POLICY)
    assert prepared.violations == []
    assert prepared.bytecode is not None


def test_the_limit_is_a_multiple_of_the_source_above_a_floor() -> None:
    assert compiled_limit_bytes(10) == COMPILED_FLOOR_BYTES
    assert compiled_limit_bytes(1_000_000) == COMPILED_BYTES_PER_SOURCE_BYTE * 1_000_000


def test_compiled_bytecode_over_the_limit_is_refused_even_when_the_estimate_passes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The estimate only knows constant folding; the size of the bytecode itself is
    checked too. With no floor, even ``x = 1`` compiles to more than 16 times its source."""
    monkeypatch.setattr(validation, "COMPILED_FLOOR_BYTES", 0)
    (violation,) = prepare_program("x = 1", POLICY).violations
    assert violation.rule == "too_large_compiled"
    assert violation.message.startswith("the compiled program is ")


def test_the_checker_keeps_no_bytecode_of_a_refused_program() -> None:
    async def scenario() -> tuple[PreparedProgram, int]:
        checker = ProgramChecker(POLICY, limit=4, timeout_s=30, max_code_bytes=262_144)
        try:
            prepared = await checker.prepare(TUPLE_OF_FOLDED_STRINGS)
            return prepared, checker.cached_bytes
        finally:
            await checker.stop()

    prepared, cached_bytes = asyncio.run(scenario())
    assert prepared.bytecode is None
    assert cached_bytes == 0


def test_the_api_answers_400_with_the_violation() -> None:
    app = create_app(make_settings())

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                return await client.post(
                    "/execute", json={"code": TUPLE_OF_FOLDED_STRINGS}, headers={"X-Executor-Token": TOKEN}
                )
        finally:
            await app.state.front.service.checker.stop()

    response = asyncio.run(send())
    assert response.status_code == 400
    assert [(d["line"], d["rule"]) for d in response.json()["detail"]] == [(None, "too_large_compiled")]


def test_livez_answers_while_a_program_is_being_checked() -> None:
    """The check runs in the checker process: the event loop keeps serving. The checker is
    stopped (SIGSTOP) until /livez has answered, so a blocked loop would fail here, not
    merely be slow."""
    app = create_app(make_settings())
    checker: ProgramChecker = app.state.front.service.checker

    async def scenario() -> tuple[int, int]:
        await checker.start()
        pid = checker.checker.pid  # type: ignore[attr-defined]
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                os.kill(pid, signal.SIGSTOP)
                try:
                    execute = asyncio.ensure_future(
                        client.post("/execute", json={"code": "import socket"}, headers={"X-Executor-Token": TOKEN})
                    )
                    for _ in range(1000):
                        if checker.pending:
                            break
                        await asyncio.sleep(0)
                    assert checker.pending == 1
                    livez = await client.get("/livez")
                finally:
                    os.kill(pid, signal.SIGCONT)
                return livez.status_code, (await execute).status_code
        finally:
            await checker.stop()

    assert asyncio.run(scenario()) == (200, 400)
