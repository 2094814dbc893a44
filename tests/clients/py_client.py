"""One session of the official Python SDK client against the sandbox, run by
tests/e2e/test_mcp_clients.py with SDK 2.x (the project's .venv) and with SDK 1.x (a venv
of its own, made by .ci/run): it prints one JSON line of what the client saw.

    python py_client.py --http URL TOKEN
    python py_client.py --stdio COMMAND [ARG...]

The SDKs differ in how a Streamable HTTP transport is opened (2.x takes an httpx2
client, 1.x headers) and in their models' attribute names (2.x snake_case, 1.x
camelCase); everything below goes through ``model_dump(by_alias=True)``, the wire names
both share. Only this file's stdlib and ``mcp`` imports are used, so it runs in either.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from importlib import import_module
from importlib.metadata import version
from typing import Any

SDK_VERSION = version("mcp")
SDK_MAJOR = int(SDK_VERSION.split(".")[0])


def wire(model: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = model.model_dump(by_alias=True, mode="json", exclude_none=True)
    return dumped


def text(result: dict[str, Any]) -> str:
    return "".join(block.get("text", "") for block in result.get("content", []))


@asynccontextmanager
async def session(argv: list[str], token: str | None) -> AsyncIterator[tuple[Any, dict[str, Any]]]:
    """An initialized ClientSession and the initialize result, over the transport ``argv`` names."""
    client_session = import_module("mcp").ClientSession
    async with AsyncExitStack() as stack:
        if argv[0] == "--http":
            url = argv[1]
            headers = {} if token is None else {"Authorization": f"Bearer {token}"}
            transport = import_module("mcp.client.streamable_http")
            if SDK_MAJOR >= 2:
                http = await stack.enter_async_context(import_module("httpx2").AsyncClient(headers=headers, timeout=60))
                streams = await stack.enter_async_context(transport.streamable_http_client(url, http_client=http))
            else:
                streams = await stack.enter_async_context(transport.streamablehttp_client(url, headers=headers))
        else:
            stdio = import_module("mcp.client.stdio")
            parameters = stdio.StdioServerParameters(command=argv[1], args=argv[2:])
            streams = await stack.enter_async_context(stdio.stdio_client(parameters))
        opened = await stack.enter_async_context(client_session(streams[0], streams[1]))
        initialized = wire(await opened.initialize())
        yield opened, initialized


def innermost(error: BaseException) -> BaseException:
    """The error the SDK raised, out of the task groups it comes wrapped in."""
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return error


async def main(argv: list[str]) -> dict[str, Any]:
    token = argv[2] if argv[0] == "--http" else None
    report: dict[str, Any] = {
        "client": f"Python SDK {SDK_MAJOR}.x",
        "version": SDK_VERSION,
        "transport": "streamable-http" if argv[0] == "--http" else "stdio",
    }
    async with session(argv, token) as (opened, initialized):
        report["protocol_version"] = initialized["protocolVersion"]
        report["server"] = initialized["serverInfo"]["name"]
        report["tools"] = sorted(tool["name"] for tool in wire(await opened.list_tools())["tools"])
        ran = wire(await opened.call_tool("run_python", {"code": "import json\nprint(json.dumps({'a': 1}))\n6 * 7"}))
        report["run"] = {
            "is_error": ran.get("isError", False),
            "structured": ran["structuredContent"],
            "text": text(ran),
        }
        stopped = wire(await opened.call_tool("run_python", {"code": "while True:\n    pass", "timeout_s": 1}))
        report["timeout"] = {
            "is_error": stopped.get("isError", False),
            "structured": stopped["structuredContent"],
            "text": text(stopped),
        }
        # A session, as an agent keeps state: start it, two calls, end it.
        started = wire(await opened.call_tool("start_session", {}))
        session_id = started["structuredContent"]["session_id"]
        await opened.call_tool("run_python", {"code": "rows = [1, 2]", "session_id": session_id})
        kept = wire(await opened.call_tool("run_python", {"code": "sum(rows)", "session_id": session_id}))
        ended = wire(await opened.call_tool("end_session", {"session_id": session_id}))
        report["session"] = {
            "kept": kept["structuredContent"]["result"],
            "ended_is_error": ended.get("isError", False),
        }
        info = wire(await opened.read_resource("sandbox://info"))
        report["info"] = json.loads(info["contents"][0]["text"])
    if argv[0] == "--http":
        try:
            async with session(argv, "wrong-token"):
                report["auth_error"] = ""
        except BaseException as error:  # noqa: BLE001 - what the client raised is the finding
            raised = innermost(error)
            report["auth_error"] = f"{type(raised).__name__}: {raised}"
    return report


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1:]))))
