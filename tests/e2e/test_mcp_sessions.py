"""MCP sessions: an agent keeps state across run_python calls with the session_id that
start_session gives, over Streamable HTTP and over stdio, with no plumbing of its own."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.e2e.test_mcp import mcp_session
from tests.support.server import PROJECT_ROOT, LiveServer, run_server, tight_rate_limit


def test_state_lasts_across_calls_of_a_session_and_not_outside_it(live_server: LiveServer) -> None:
    async def scenario() -> tuple[Any, ...]:
        async with mcp_session(live_server) as session:
            started = await session.call_tool("start_session", {})
            session_id = started.structured_content["session_id"]
            first = await session.call_tool(
                "run_python",
                {"code": "import json\nrows = [1, 2]\nopen('n.txt', 'w').write('3')", "session_id": session_id},
            )
            second = await session.call_tool(
                "run_python",
                {"code": "rows.append(int(open('n.txt').read()))\njson.dumps(rows)", "session_id": session_id},
            )
            outside = await session.call_tool("run_python", {"code": "rows"})
            ended = await session.call_tool("end_session", {"session_id": session_id})
            after = await session.call_tool("run_python", {"code": "rows", "session_id": session_id})
            return started, first, second, outside, ended, after

    started, first, second, outside, ended, after = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert not started.is_error
    assert "Pass session_id=" in started.content[0].text
    assert set(started.structured_content["limits"]) >= {"idle_timeout_s", "lifetime_s", "max_executions"}
    assert not first.is_error
    assert (second.is_error, second.structured_content["result"]) == (False, "[1, 2, 3]")
    # A call without the session runs in a fresh process, as always.
    assert outside.is_error and outside.structured_content["error"]["type"] == "NameError"
    assert not ended.is_error
    assert after.is_error and "session ended (deleted)" in after.content[0].text.lower()


def test_an_unknown_session_and_a_bad_id_are_readable_errors(live_server: LiveServer) -> None:
    async def scenario() -> tuple[Any, ...]:
        async with mcp_session(live_server) as session:
            unknown = await session.call_tool("run_python", {"code": "1", "session_id": "x" * 32})
            not_text = await session.call_tool("run_python", {"code": "1", "session_id": 5})
            no_id = await session.call_tool("end_session", {})
            return unknown, not_text, no_id

    unknown, not_text, no_id = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert unknown.is_error and "no such session" in unknown.content[0].text.lower()
    assert not_text.is_error and "session_id" in not_text.content[0].text
    assert no_id.is_error and "session_id" in no_id.content[0].text


def test_a_limit_ends_the_session_and_the_next_call_says_why(live_server: LiveServer) -> None:
    async def scenario() -> tuple[Any, Any]:
        async with mcp_session(live_server) as session:
            started = await session.call_tool("start_session", {})
            session_id = started.structured_content["session_id"]
            stopped = await session.call_tool(
                "run_python", {"code": "while True:\n    pass", "timeout_s": 1, "session_id": session_id}
            )
            after = await session.call_tool("run_python", {"code": "1", "session_id": session_id})
            return stopped, after

    stopped, after = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert stopped.is_error and stopped.structured_content["limit"] == "timeout"
    assert after.is_error and "session ended (timeout)" in after.content[0].text.lower()


def test_sessions_over_stdio() -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "src.mcp_stdio"],
        cwd=str(PROJECT_ROOT),
        env={"EXECUTOR_PREFORK_WORKERS": "1", "EXECUTOR_LOG_FORMAT": "json", "EXECUTOR_DATA_TIER_ENABLED": "false"},
    )

    async def scenario() -> Any:
        async with stdio_client(params) as streams, ClientSession(streams[0], streams[1]) as session:
            await session.initialize()
            started = await session.call_tool("start_session", {})
            session_id = started.structured_content["session_id"]
            await session.call_tool("run_python", {"code": "total = 40", "session_id": session_id})
            return await session.call_tool("run_python", {"code": "total + 2", "session_id": session_id})

    result = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert (result.is_error, result.structured_content["result"]) == (False, 42)


def test_starting_a_session_spends_the_execution_budget_and_a_malformed_id_is_unknown(tmp_path: Path) -> None:
    """Attack pass 99: start_session was outside the rate limits POST /sessions is in, and
    a session_id of any size went to the audit log as sent."""
    limit = {"EXECUTOR_RATE_LIMIT_EXECUTE_PER_TOKEN": tight_rate_limit(2)}
    with run_server(tmp_path, limit) as server:

        async def scenario() -> tuple[Any, ...]:
            async with mcp_session(server) as session:
                first = await session.call_tool("start_session", {})
                second = await session.call_tool("start_session", {})
                third = await session.call_tool("start_session", {})
                huge = await session.call_tool("end_session", {"session_id": "x" * 100_000})
                return first, second, third, huge

        first, second, third, huge = asyncio.run(asyncio.wait_for(scenario(), 60))
        log = server.log()
    assert not first.is_error and not second.is_error
    assert third.is_error and "rate limit" in third.content[0].text.lower()
    assert huge.is_error and "no such session" in huge.content[0].text.lower()
    assert "x" * 1000 not in log
