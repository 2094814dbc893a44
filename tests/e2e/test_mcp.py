"""The MCP server, through the official SDK's own clients: Streamable HTTP against a real
uvicorn on 127.0.0.1, and stdio against ``python -m src.mcp_stdio``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from prometheus_client.parser import text_string_to_metric_families

from src.schemas import ExecuteResponse
from tests.support.server import PROJECT_ROOT, TEST_ENV, TOKEN, LiveServer, run_server


@asynccontextmanager
async def mcp_session(server: LiveServer, headers: dict[str, str] | None = None) -> AsyncIterator[ClientSession]:
    given = {"Authorization": f"Bearer {TOKEN}"} if headers is None else headers
    async with (
        httpx2.AsyncClient(headers=given, timeout=30) as http,
        streamable_http_client(server.url + "/mcp", http_client=http) as streams,
        ClientSession(streams[0], streams[1]) as session,
    ):
        await session.initialize()
        yield session


def call(server: LiveServer, tool: str, arguments: dict[str, Any]) -> Any:
    async def scenario() -> Any:
        async with mcp_session(server) as session:
            return await session.call_tool(tool, arguments)

    return asyncio.run(scenario())


def sample(server: LiveServer, name: str, labels: dict[str, str]) -> float:
    for family in text_string_to_metric_families(httpx.get(server.url + "/metrics", timeout=10).text):
        for s in family.samples:
            if s.name == name and s.labels == labels:
                return float(s.value)
    raise AssertionError(f"{name}{labels} not in /metrics")


# --------------------------------------------------------------------------- discovery


def test_tools_are_listed_with_what_an_llm_needs(live_server: LiveServer) -> None:
    async def scenario() -> Any:
        async with mcp_session(live_server) as session:
            return await session.list_tools()

    tools = {tool.name: tool for tool in asyncio.run(scenario()).tools}
    assert set(tools) == {"run_python", "sandbox_info"}
    description = tools["run_python"].description or ""
    for expected in ("last expression", "print()", "json", "datetime", "timeout_s", "MB memory", "Nothing persists"):
        assert expected in description, expected
    assert set(tools["run_python"].input_schema["properties"]) == {"code", "context", "timeout_s"}
    assert tools["run_python"].input_schema["required"] == ["code"]


def test_sandbox_info_tool_and_resource_describe_modules_and_limits(live_server: LiveServer) -> None:
    async def scenario() -> tuple[Any, Any]:
        async with mcp_session(live_server) as session:
            tool = await session.call_tool("sandbox_info", {})
            resource = await session.read_resource("sandbox://info")
            return tool, resource

    tool, resource = asyncio.run(scenario())
    info = tool.structured_content
    assert "json" in info["allowed_modules"] and "os" not in info["allowed_modules"]
    assert info["limits"]["memory_mb"] == int(TEST_ENV["EXECUTOR_MAX_MEMORY_MB"])
    assert json.loads(resource.contents[0].text) == info


# --------------------------------------------------------------------------- run_python


def test_value_comes_back_structured_like_execute(live_server: LiveServer) -> None:
    result = call(live_server, "run_python", {"code": "x = 6 * 7\n[x, {'k': 'v'}]"})
    assert result.is_error is False
    reply = ExecuteResponse.model_validate(result.structured_content)  # the /execute shape, exactly
    assert reply.result == [42, {"k": "v"}]
    assert "result: [42, {'k': 'v'}]" in result.content[0].text


def test_stdout_comes_back(live_server: LiveServer) -> None:
    result = call(live_server, "run_python", {"code": "for i in range(3):\n    print(i)"})
    assert result.structured_content["stdout"] == "0\n1\n2\n"
    assert "stdout:\n0\n1\n2" in result.content[0].text


def test_context_becomes_globals(live_server: LiveServer) -> None:
    result = call(live_server, "run_python", {"code": "n * 2", "context": {"n": 21}})
    assert result.structured_content["result"] == 42


def test_raised_error_is_a_tool_error_with_its_line(live_server: LiveServer) -> None:
    result = call(live_server, "run_python", {"code": "a = 1\nb = a / 0"})
    assert result.is_error is True
    error = result.structured_content["error"]
    assert (error["type"], error["line"]) == ("ZeroDivisionError", 2)
    assert "ZeroDivisionError (line 2): division by zero" in result.content[0].text


def test_validator_rejection_is_a_tool_error_listing_violations_and_hints(live_server: LiveServer) -> None:
    result = call(live_server, "run_python", {"code": "import os\nopen('/etc/passwd')"})
    assert result.is_error is True
    text = result.content[0].text
    assert "refused before running" in text
    assert "Line 1: import of 'os' is not allowed" in text and "Hint:" in text
    rules = {v["rule"] for v in result.structured_content["violations"]}
    assert len(result.structured_content["violations"]) >= 2, rules


def test_timeout_is_reported_as_the_timeout_limit(live_server: LiveServer) -> None:
    result = call(live_server, "run_python", {"code": "while True:\n    pass", "timeout_s": 0.5})
    assert result.is_error is True
    assert result.structured_content["limit"] == "timeout"
    assert "stopped by the timeout limit" in result.content[0].text


def test_invalid_arguments_are_a_tool_error(live_server: LiveServer) -> None:
    result = call(live_server, "run_python", {"code": "1", "timeout_s": 10_000})
    assert result.is_error is True
    assert "timeout_s" in result.content[0].text


# --------------------------------------------------------------------------- auth


def initialize_raw(server: LiveServer, headers: dict[str, str]) -> httpx.Response:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    return httpx.post(
        server.url + "/mcp",
        json=body,
        headers={"Accept": "application/json, text/event-stream", **headers},
        timeout=10,
    )


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Executor-Token": "wrong"}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}],
    ids=["missing", "wrong-header", "wrong-bearer", "not-bearer"],
)
def test_missing_or_wrong_token_is_refused_before_mcp(live_server: LiveServer, headers: dict[str, str]) -> None:
    response = initialize_raw(live_server, headers)
    assert response.status_code == 401
    assert TOKEN not in response.text
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("headers", [{"X-Executor-Token": TOKEN}, {"Authorization": f"Bearer {TOKEN}"}])
def test_either_header_is_accepted(live_server: LiveServer, headers: dict[str, str]) -> None:
    async def scenario() -> Any:
        async with mcp_session(live_server, headers) as session:
            return await session.call_tool("run_python", {"code": "print('ok')"})

    assert asyncio.run(scenario()).structured_content["stdout"] == "ok\n"


def test_the_sdk_client_is_refused_without_a_token(live_server: LiveServer) -> None:
    async def scenario() -> None:
        async with mcp_session(live_server, {}) as session:
            await session.list_tools()

    with pytest.raises(BaseException):  # noqa: B017 - the SDK raises a group of transport errors
        asyncio.run(scenario())


# --------------------------------------------------------------------------- isolation, metrics, audit, limits


def test_two_concurrent_sessions_are_isolated(live_server: LiveServer) -> None:
    async def one(name: str) -> list[Any]:
        async with mcp_session(live_server) as session:
            first = await session.call_tool(
                "run_python", {"code": f"owner = '{name}'\nimport time\ntime.sleep(0.2)\nowner"}
            )
            second = await session.call_tool(
                "run_python", {"code": "try:\n    owner\n    found = True\nexcept NameError:\n    found = False\nfound"}
            )
            return [first.structured_content["result"], second.structured_content["result"]]

    async def scenario() -> list[list[Any]]:
        return list(await asyncio.gather(one("alice"), one("bob")))

    assert asyncio.run(scenario()) == [["alice", False], ["bob", False]]


def test_mcp_executions_are_counted_and_audited_as_mcp(tmp_path: Path) -> None:
    with run_server(tmp_path) as server:
        call(server, "run_python", {"code": "print(1)"})
        call(server, "run_python", {"code": "import os"})
        assert sample(server, "executor_executions_total", {"outcome": "success", "transport": "mcp"}) == 1
        assert sample(server, "executor_executions_total", {"outcome": "rejected", "transport": "mcp"}) == 1
        assert sample(server, "executor_rejections_total", {"reason": "validation", "transport": "mcp"}) == 1
        assert sample(server, "executor_executions_total", {"outcome": "success", "transport": "http"}) == 0
        audit = [json.loads(line) for line in server.log().splitlines() if '"executor.audit"' in line]
    assert [(a["transport"], a["outcome"]) for a in audit] == [("mcp", "success"), ("mcp", "rejected")]
    assert all(a["token_fingerprint"] and a["code_sha256"] for a in audit)
    assert "import os" not in server.log()


def test_mcp_and_execute_share_one_rate_limit_budget(tmp_path: Path) -> None:
    with run_server(tmp_path, {"EXECUTOR_RATE_LIMIT_EXECUTE_PER_TOKEN": "2/minute"}) as server:
        assert server.execute("print(1)").status_code == 200
        assert call(server, "run_python", {"code": "print(2)"}).is_error is False
        refused = call(server, "run_python", {"code": "print(3)"})
        assert refused.is_error is True and "Rate limit exceeded" in refused.content[0].text
        assert server.execute("print(4)").status_code == 429


# --------------------------------------------------------------------------- stdio


def test_stdio_entry_point_through_the_sdk_stdio_client() -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "src.mcp_stdio"],
        cwd=str(PROJECT_ROOT),
        env={"EXECUTOR_PREFORK_WORKERS": "1", "EXECUTOR_LOG_FORMAT": "json"},
    )

    async def scenario() -> tuple[set[str], Any]:
        async with stdio_client(params) as streams, ClientSession(streams[0], streams[1]) as session:
            await session.initialize()
            tools = {tool.name for tool in (await session.list_tools()).tools}
            result = await session.call_tool("run_python", {"code": "import json\nprint(json.dumps({'a': 1}))\n6 * 7"})
            return tools, result

    tools, result = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert tools == {"run_python", "sandbox_info"}
    assert (result.structured_content["stdout"], result.structured_content["result"]) == ('{"a": 1}\n', 42)


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_only_post_is_served_so_no_stream_stays_open(live_server: LiveServer, method: str) -> None:
    response = httpx.request(
        method,
        live_server.url + "/mcp",
        headers={"Authorization": f"Bearer {TOKEN}", "Accept": "text/event-stream", "Last-Event-ID": "1"},
        timeout=5,
    )
    assert response.status_code == 405


def test_mcp_requests_have_their_own_route_label(live_server: LiveServer) -> None:
    call(live_server, "run_python", {"code": "1"})
    assert (
        sample(live_server, "executor_http_requests_total", {"route": "/mcp", "method": "POST", "status": "200"}) >= 1
    )
