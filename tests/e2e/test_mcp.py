"""The MCP server, through the official SDK's own clients: Streamable HTTP against a real
uvicorn on 127.0.0.1, and stdio against ``python -m src.mcp_stdio``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from prometheus_client.parser import text_string_to_metric_families

from src.schemas import ExecuteResponse
from tests.support.server import PROJECT_ROOT, TEST_ENV, TOKEN, LiveServer, run_server, tight_rate_limit


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
    assert set(tools) == {"run_python", "sandbox_info", "start_session", "end_session"}
    description = tools["run_python"].description or ""
    for expected in ("last expression", "print()", "json", "datetime", "timeout_s", "Nothing persists"):
        assert expected in description, expected
    # Every limit with its number, from the settings (TEST_ENV) and the text budget's default.
    assert "3 s by default; `timeout_s` may ask for up to 10 s" in description
    assert "Memory: 256 MB" in description
    assert "stdout is kept up to 64 KiB, stderr up to 16 KiB, the result up to 64 KiB" in description
    assert "shows at most 16 KiB of them, and says how much it left out" in description
    assert "other than `_` itself" in description
    schema = tools["run_python"].input_schema
    assert set(schema["properties"]) == {"code", "context", "timeout_s", "files", "session_id"}
    assert schema["required"] == ["code"]
    assert all(prop["description"] for prop in schema["properties"].values())
    assert schema["properties"]["timeout_s"]["maximum"] == float(TEST_ENV["EXECUTOR_MAX_TIMEOUT_S"])
    assert schema["properties"]["code"]["maxLength"] == int(TEST_ENV["EXECUTOR_MAX_CODE_BYTES"])


def test_schemas_titles_and_annotations_are_the_documented_ones(live_server: LiveServer) -> None:
    async def scenario() -> tuple[Any, Any]:
        async with mcp_session(live_server) as session:
            return await session.initialize(), await session.list_tools()

    initialized, listed = asyncio.run(scenario())
    tools = {tool.name: tool for tool in listed.tools}
    assert tools["run_python"].input_schema["title"] == "run_python arguments"
    assert tools["sandbox_info"].input_schema["title"] == "sandbox_info arguments"
    assert tools["run_python"].output_schema["title"] == "ExecuteResponse"
    assert tools["sandbox_info"].output_schema["title"] == "SandboxInfo"
    run, info = tools["run_python"].annotations, tools["sandbox_info"].annotations
    assert (run.read_only_hint, run.destructive_hint, run.idempotent_hint, run.open_world_hint) == (
        False,
        False,
        False,
        False,
    )
    assert (info.read_only_hint, info.idempotent_hint, info.open_world_hint) == (True, True, False)
    # No capability without something behind it: no prompts, no subscriptions.
    capabilities = initialized.capabilities
    assert capabilities.prompts is None
    assert capabilities.tools is not None and capabilities.resources is not None
    assert "sandbox_info first" not in (initialized.instructions or "")


def test_sandbox_info_tool_and_resource_describe_modules_and_limits(live_server: LiveServer) -> None:
    async def scenario() -> tuple[Any, Any]:
        async with mcp_session(live_server) as session:
            tool = await session.call_tool("sandbox_info", {})
            resource = await session.read_resource("sandbox://info")
            return tool, resource

    tool, resource = asyncio.run(scenario())
    info = tool.structured_content
    assert "json" in info["allowed_modules"] and "socket" not in info["allowed_modules"]
    assert info["limits"]["memory_mb"] == int(TEST_ENV["EXECUTOR_MAX_MEMORY_MB"])
    assert json.loads(resource.contents[0].text) == info


# --------------------------------------------------------------------------- run_python


def test_value_comes_back_structured_like_execute(live_server: LiveServer) -> None:
    result = call(live_server, "run_python", {"code": "x = 6 * 7\n[x, {'k': 'v'}]"})
    assert result.is_error is False
    reply = ExecuteResponse.model_validate(result.structured_content)  # the /execute shape, exactly
    assert reply.result == [42, {"k": "v"}]
    assert result.content[0].text == 'result (JSON):\n[42, {"k": "v"}]'


#: A 1x1 PNG, made by the program from its parts (the sandbox has no image library).
_PNG_PROGRAM = """
import struct, zlib, pathlib
def chunk(kind, data):
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
png = (b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 1, 1, 8, 2, 0, 0, 0))
       + chunk(b'IDAT', zlib.compress(b'\\x00\\xff\\x00\\x00')) + chunk(b'IEND', b''))
pathlib.Path('dot.png').write_bytes(png)
rows = open('in.csv').read().splitlines()
pathlib.Path('report.txt').write_text(f'{len(rows)} rows')
"""


def test_files_go_in_and_come_back_images_as_images(live_server: LiveServer) -> None:
    result = call(
        live_server, "run_python", {"code": _PNG_PROGRAM, "files": [{"path": "in.csv", "content": "a\nb\nc\n"}]}
    )
    assert result.is_error is False, result.content
    kinds = [content.type for content in result.content]
    assert kinds == ["text", "image", "resource"]
    image, resource = result.content[1], result.content[2].resource
    assert image.mime_type == "image/png" and base64.b64decode(image.data).startswith(b"\x89PNG")
    assert (str(resource.uri), resource.mime_type, resource.text) == (
        "sandbox://files/report.txt",
        "text/plain",
        "3 rows",
    )
    assert "Files created or changed: dot.png (" in result.content[0].text
    assert [f["path"] for f in result.structured_content["files"]] == ["dot.png", "report.txt"]


def test_stdout_comes_back(live_server: LiveServer) -> None:
    result = call(live_server, "run_python", {"code": "for i in range(3):\n    print(i)"})
    assert result.structured_content["stdout"] == "0\n1\n2\n"
    assert result.content[0].text == "stdout:\n```\n0\n1\n2\n```"


def test_context_becomes_globals(live_server: LiveServer) -> None:
    result = call(live_server, "run_python", {"code": "n * 2", "context": {"n": 21}})
    assert result.structured_content["result"] == 42


def test_raised_error_is_a_tool_error_with_its_line(live_server: LiveServer) -> None:
    result = call(live_server, "run_python", {"code": "a = 1\nb = a / 0"})
    assert result.is_error is True
    error = result.structured_content["error"]
    assert (error["type"], error["line"]) == ("ZeroDivisionError", 2)
    assert result.content[0].text.startswith("Error: ZeroDivisionError (line 2): division by zero\n")


def test_validator_rejection_is_a_tool_error_listing_violations_and_hints(live_server: LiveServer) -> None:
    result = call(live_server, "run_python", {"code": "import socket\ninput('/etc/passwd')"})
    assert result.is_error is True
    text = result.content[0].text
    assert "refused before running" in text
    assert "Line 1: import of 'socket' is not allowed" in text and "Hint:" in text
    rules = {v["rule"] for v in result.structured_content["violations"]}
    assert len(result.structured_content["violations"]) >= 2, rules


def test_timeout_is_reported_as_the_timeout_limit(live_server: LiveServer) -> None:
    result = call(live_server, "run_python", {"code": "while True:\n    pass", "timeout_s": 0.5})
    assert result.is_error is True
    assert result.structured_content["limit"] == "timeout"
    assert "Stopped by the timeout limit: it ran longer than its 0.5 s timeout." in result.content[0].text


@pytest.mark.parametrize(
    ("arguments", "sentence"),
    [
        pytest.param({"code": "1", "timeout_s": 10_000}, "`timeout_s` must be more than 0 and at most 10 seconds.", id="timeout-too-long"),
        pytest.param({"code": "1", "timeout_s": "soon"}, "`timeout_s` must be a number of seconds.", id="timeout-not-a-number"),
        pytest.param({"code": 5}, "run_python needs `code`: a string of Python source to run.", id="code-not-a-string"),
        pytest.param({}, "run_python needs `code`: a string of Python source to run.", id="code-missing"),
        pytest.param({"code": "1", "context": [1]}, "`context` must be an object whose keys become global variables.", id="context-not-an-object"),
        pytest.param({"code": "1", "context": {"1a": 1}}, "The arguments were refused: `context`: context key '1a' is not a Python identifier.", id="context-key"),
    ],
)  # fmt: skip
def test_invalid_arguments_are_one_readable_sentence(
    live_server: LiveServer, arguments: dict[str, Any], sentence: str
) -> None:
    result = call(live_server, "run_python", arguments)
    assert result.is_error is True
    assert result.content[0].text == sentence


def test_valid_arguments_beside_those_refusals_run(live_server: LiveServer) -> None:
    result = call(live_server, "run_python", {"code": "n + 1", "context": {"n": 1}, "timeout_s": 10})
    assert result.structured_content["result"] == 2


def test_the_result_comes_back_as_json_not_a_python_repr(live_server: LiveServer) -> None:
    result = call(live_server, "run_python", {"code": "{'a': True, 'b': None, 'c': 'é'}"})
    assert result.content[0].text == 'result (JSON):\n{"a": true, "b": null, "c": "é"}'


def test_a_large_output_is_cut_within_the_text_budget_with_a_marker(live_server: LiveServer) -> None:
    budget = 16_384  # EXECUTOR_MCP_MAX_TEXT_BYTES's default; TEST_ENV does not set it
    result = call(live_server, "run_python", {"code": "print('x' * 40_000)\nlist(range(5000))"})
    text = result.content[0].text
    assert len(text.encode()) <= budget
    assert result.structured_content["stdout"] == "x" * 40_000 + "\n"  # structuredContent is whole
    assert "of the 40,001 bytes of stdout cut here" in text
    assert "bytes of result cut here" in text
    assert text.endswith("4998, 4999]")  # the tail is kept: how a run ended is often at the end


def test_output_within_the_budget_is_not_cut(live_server: LiveServer) -> None:
    result = call(live_server, "run_python", {"code": "print('y' * 10_000)"})
    assert result.content[0].text == "stdout:\n```\n" + "y" * 10_000 + "\n```"


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
def test_missing_or_wrong_token_is_a_jsonrpc_error_to_the_request(
    live_server: LiveServer, headers: dict[str, str]
) -> None:
    # A JSON-RPC error at 200, not a 401: docs/mcp.md has the clients' answers behind it.
    response = initialize_raw(live_server, headers)
    assert response.status_code == 200
    assert "WWW-Authenticate" not in response.headers  # nothing that starts an OAuth flow
    assert TOKEN not in response.text
    assert response.json() == {
        "jsonrpc": "2.0",
        "id": 1,
        "error": {
            "code": -32030,
            "message": "Missing or invalid token: send X-Executor-Token or Authorization: Bearer.",
            "data": {"status": 401},
        },
    }


def test_a_refused_notification_is_a_403_without_an_oauth_challenge(live_server: LiveServer) -> None:
    response = httpx.post(
        live_server.url + "/mcp",
        json={"jsonrpc": "2.0", "method": "notifications/initialized"},
        headers={"Accept": "application/json, text/event-stream", "Authorization": "Bearer wrong"},
        timeout=10,
    )
    assert response.status_code == 403
    assert "WWW-Authenticate" not in response.headers
    assert response.json()["id"] is None


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000,
        b'{"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"x": "' + b"y" * 200_000 + b'"}}',
    ],
    ids=["deeply-nested", "large"],
)
def test_an_unauthenticated_body_is_not_parsed_past_a_bound(live_server: LiveServer, body: bytes) -> None:
    """Nested past the parser's recursion, or larger than a request with a bad token
    deserves: a 403 without the id, never a 500, and the body is not parsed."""
    response = httpx.post(
        live_server.url + "/mcp",
        content=body,
        headers={"Accept": "application/json, text/event-stream", "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 403
    assert response.json()["id"] is None
    live_server.assert_still_serves()


@pytest.mark.parametrize("headers", [{"X-Executor-Token": TOKEN}, {"Authorization": f"Bearer {TOKEN}"}])
def test_either_header_is_accepted(live_server: LiveServer, headers: dict[str, str]) -> None:
    async def scenario() -> Any:
        async with mcp_session(live_server, headers) as session:
            return await session.call_tool("run_python", {"code": "print('ok')"})

    assert asyncio.run(scenario()).structured_content["stdout"] == "ok\n"


def test_the_sdk_client_shows_the_servers_message_without_a_token(live_server: LiveServer) -> None:
    async def scenario() -> None:
        async with mcp_session(live_server, {}) as session:
            await session.list_tools()

    with pytest.raises(BaseExceptionGroup) as raised:
        asyncio.run(scenario())
    (refusal,) = raised.value.subgroup(MCPError).exceptions  # type: ignore[union-attr]
    while isinstance(refusal, BaseExceptionGroup):
        (refusal,) = refusal.exceptions
    assert str(refusal) == "Missing or invalid token: send X-Executor-Token or Authorization: Bearer."


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
        call(server, "run_python", {"code": "import socket"})
        assert sample(server, "executor_executions_total", {"outcome": "success", "transport": "mcp"}) == 1
        assert sample(server, "executor_executions_total", {"outcome": "rejected", "transport": "mcp"}) == 1
        assert sample(server, "executor_rejections_total", {"reason": "validation", "transport": "mcp"}) == 1
        assert sample(server, "executor_executions_total", {"outcome": "success", "transport": "http"}) == 0
        audit = [json.loads(line) for line in server.log().splitlines() if '"executor.audit"' in line]
    assert [(a["transport"], a["outcome"]) for a in audit] == [("mcp", "success"), ("mcp", "rejected")]
    assert all(a["token_fingerprint"] and a["code_sha256"] for a in audit)
    assert "import socket" not in server.log()


def test_mcp_and_execute_share_one_rate_limit_budget(tmp_path: Path) -> None:
    with run_server(tmp_path, {"EXECUTOR_RATE_LIMIT_EXECUTE_PER_TOKEN": tight_rate_limit(2)}) as server:
        assert server.execute("print(1)").status_code == 200
        assert call(server, "run_python", {"code": "print(2)"}).is_error is False
        refused = call(server, "run_python", {"code": "print(3)"})
        assert refused.is_error is True
        assert refused.content[0].text.startswith("Rate limit exceeded. Retry in ")
        assert server.execute("print(4)").status_code == 429


# --------------------------------------------------------------------------- stdio


def test_stdio_entry_point_through_the_sdk_stdio_client() -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "src.mcp_stdio"],
        cwd=str(PROJECT_ROOT),
        env={"EXECUTOR_PREFORK_WORKERS": "1", "EXECUTOR_LOG_FORMAT": "json"},
    )

    async def scenario() -> tuple[set[str], Any, Any]:
        async with stdio_client(params) as streams, ClientSession(streams[0], streams[1]) as session:
            await session.initialize()
            tools = {tool.name for tool in (await session.list_tools()).tools}
            result = await session.call_tool("run_python", {"code": "import json\nprint(json.dumps({'a': 1}))\n6 * 7"})
            files = await session.call_tool(
                "run_python",
                {
                    "code": "open('out.txt', 'w').write(open('in.txt').read().upper())",
                    "files": [{"path": "in.txt", "content": "hi"}],
                },
            )
            return tools, result, files

    tools, result, files = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert tools == {"run_python", "sandbox_info", "start_session", "end_session"}
    assert (result.structured_content["stdout"], result.structured_content["result"]) == ('{"a": 1}\n', 42)
    # Files over stdio too (attack pass 93: that transport had no working directories).
    assert [(f["path"], f["content"]) for f in files.structured_content["files"]] == [("out.txt", "HI")]


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


# --------------------------------------------------------------------------- CORS (browser clients)

ORIGIN = "https://app.example"

#: The headers a browser MCP client sends on /mcp, by the protocol version that added them.
MCP_HEADERS_BY_VERSION = {
    "2025-03-26": "content-type,authorization,mcp-session-id,last-event-id",
    "2025-06-18": "content-type,authorization,mcp-protocol-version,mcp-session-id",
    "2026-07-28": "content-type,authorization,mcp-protocol-version,mcp-method,mcp-name",
    "executor": "content-type,x-executor-token,x-request-id",
}


@pytest.fixture(scope="module")
def cors_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with run_server(tmp_path_factory.mktemp("cors"), {"EXECUTOR_CORS_ALLOW_ORIGINS": ORIGIN}) as server:
        yield server


def preflight(server: LiveServer, method: str, headers: str, origin: str = ORIGIN) -> httpx.Response:
    return httpx.options(
        server.url + "/mcp",
        headers={"Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers},
        timeout=10,
    )


@pytest.mark.parametrize("version", sorted(MCP_HEADERS_BY_VERSION))
@pytest.mark.parametrize("method", ["POST", "GET", "DELETE"])
def test_a_preflight_with_the_mcp_headers_of_each_version_passes(
    cors_server: LiveServer, version: str, method: str
) -> None:
    response = preflight(cors_server, method, MCP_HEADERS_BY_VERSION[version])
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == ORIGIN
    allowed = {h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")}
    assert set(MCP_HEADERS_BY_VERSION[version].split(",")) <= allowed


def test_a_preflight_from_an_unlisted_origin_is_refused(cors_server: LiveServer) -> None:
    response = preflight(cors_server, "POST", MCP_HEADERS_BY_VERSION["2026-07-28"], origin="https://evil.example")
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


def test_a_browsers_get_probe_reads_its_405(cors_server: LiveServer) -> None:
    # The SDKs open an event stream with GET and take 405 for "none here"; without the
    # CORS header the browser would hide the 405 behind a network error.
    response = httpx.get(
        cors_server.url + "/mcp",
        headers={"Origin": ORIGIN, "Accept": "text/event-stream", "Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )
    assert response.status_code == 405
    assert response.headers["access-control-allow-origin"] == ORIGIN


def test_a_browsers_post_reads_its_answer(cors_server: LiveServer) -> None:
    response = initialize_raw(cors_server, {"Origin": ORIGIN, "Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.json()["result"]["serverInfo"]["name"] == "python-sandbox"


def test_a_lone_surrogate_in_the_context_is_a_readable_refusal_on_every_protocol_path(
    live_server: LiveServer,
) -> None:
    """The 2026-07-28 path parses with json.loads, which accepts "\\ud800": the arguments
    are refused as not Unicode, instead of a job the worker cannot read (which the pool
    once reported as a failed isolation layer)."""
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}
    params = json.dumps({"_meta": meta, "name": "run_python"})[:-1]
    body = '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":' + params
    body += ',"arguments":{"code":"len(a)","context":{"a":"\\ud800"}}}}'
    headers = {
        "Authorization": f"Bearer {TOKEN}",
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "Mcp-Protocol-Version": "2026-07-28",
        "Mcp-Method": "tools/call",
        "Mcp-Name": "run_python",
    }
    answer = httpx.post(live_server.url + "/mcp", content=body.encode(), headers=headers, timeout=30)
    result = answer.json()["result"]
    assert result["isError"] is True
    assert "valid Unicode" in result["content"][0]["text"]
    assert "could not confine itself" not in live_server.log()
