"""The runnable snippets of README.md and docs/*.md, run against a real server.

A fenced block marked ``<!-- doc-test: KIND [NAME] -->`` is run here:

* ``curl NAME``: the shell command, with the documented 127.0.0.1:8030 and ``change-me``
  replaced by the live server's address and token; its JSON answer must match the block
  marked ``answer NAME`` (see ``matches``);
* ``mcp-python NAME``: the program, run by this interpreter with the token in
  ``EXECUTOR_API_TOKEN``; it must print exactly the block marked ``stdout NAME``;
* ``mcp-http-config``: an MCP client configuration; a session opened with its URL and
  headers must list the tools;
* ``mcp-stdio-config``: its command is a console script of this project in the
  checkout's .venv, and the script's entry point exists.

Unmarked blocks are checked for what they are: every ``json`` block parses, every
``python`` block compiles.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tomllib
from importlib import import_module
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

from tests.support.server import LiveServer
from tests.unit.test_docs import ROOT, Block, all_blocks

DOCUMENTED_URL = "http://127.0.0.1:8030"
DOCUMENTED_TOKEN = "change-me"  # the documents' example token
#: Stands for "any text that starts like this" in a documented answer, and as a key
#: ``"…": "…"``, for "and other keys".
ELLIPSIS = "…"
#: Differ on every request: only their type is compared.
VOLATILE_KEYS = frozenset({"request_id", "duration_ms"})
#: A shared session server may have restarted its template in the last minute (other
#: tests kill workers): /health then says degraded, which is as good for these examples.
EQUIVALENT = {"healthy": frozenset({"healthy", "degraded"})}

BLOCKS = all_blocks()


def marked(kind: str) -> list[Block]:
    return [block for block in BLOCKS if block.kind == kind]


def partner(kind: str, name: str | None) -> Block:
    (block,) = [b for b in BLOCKS if b.kind == kind and b.name == name]
    return block


def for_server(text: str, server: LiveServer) -> str:
    return text.replace(DOCUMENTED_URL, server.url).replace(DOCUMENTED_TOKEN, server.token)


def matches(documented: Any, actual: Any, key: str | None = None) -> bool:
    """``actual`` has the documented shape and values: the same keys (unless the document
    says ``"…": "…"``), the same values, a string ending in ``…`` as a prefix."""
    if key in VOLATILE_KEYS:
        if isinstance(documented, int | float):
            return isinstance(actual, int | float) and not isinstance(actual, bool)
        return isinstance(actual, type(documented))
    if isinstance(documented, dict):
        if not isinstance(actual, dict):
            return False
        explicit = {k: v for k, v in documented.items() if k != ELLIPSIS}
        if ELLIPSIS not in documented and set(actual) != set(explicit):
            return False
        return all(k in actual and matches(v, actual[k], k) for k, v in explicit.items())
    if isinstance(documented, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(documented)
            and all(matches(d, a) for d, a in zip(documented, actual, strict=True))
        )
    if isinstance(documented, str) and documented.endswith(ELLIPSIS):
        return isinstance(actual, str) and actual.startswith(documented.removesuffix(ELLIPSIS))
    if isinstance(documented, str) and documented in EQUIVALENT:
        return actual in EQUIVALENT[documented]
    return type(documented) is type(actual) and bool(documented == actual)


# --------------------------------------------------------------------------- what is found


def test_the_snippets_are_found() -> None:
    """The README's request, its answer and the MCP program are all marked, so a marker
    lost in an edit does not silently stop their test."""
    assert {(block.path.name, block.kind) for block in BLOCKS if block.kind} >= {
        ("README.md", "curl"),
        ("README.md", "answer"),
        ("mcp.md", "mcp-python"),
        ("mcp.md", "stdout"),
        ("mcp.md", "mcp-http-config"),
    }


def test_matching_is_strict_where_it_should_be() -> None:
    assert matches({"a": 1, "b": "xy…"}, {"a": 1, "b": "xyz"})
    assert not matches({"a": 1}, {"a": 1, "b": 2})
    assert matches({"a": 1, ELLIPSIS: ELLIPSIS}, {"a": 1, "b": 2})
    assert not matches({"a": True}, {"a": 1})
    assert not matches({"result": 45}, {"result": 46})
    assert matches({"duration_ms": 1.9}, {"duration_ms": 7})


# --------------------------------------------------------------------------- every block


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.info == "json"], ids=str)
def test_json_blocks_parse(block: Block) -> None:
    json.loads(block.content)


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.info == "python"], ids=str)
def test_python_blocks_compile(block: Block) -> None:
    compile(block.content, str(block), "exec")


# --------------------------------------------------------------------------- run


@pytest.mark.parametrize("block", marked("curl"), ids=str)
def test_curl_request_gets_the_documented_answer(block: Block, live_server: LiveServer) -> None:
    command = for_server(block.content, live_server)
    assert live_server.url in command, "the request does not use the documented address"
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    documented = json.loads(partner("answer", block.name).content)
    actual = json.loads(result.stdout)
    assert matches(documented, actual), f"documented:\n{documented}\nactual:\n{actual}"


@pytest.mark.parametrize("block", marked("mcp-python"), ids=str)
def test_mcp_python_program_prints_what_the_document_says(
    block: Block, live_server: LiveServer, tmp_path: Path
) -> None:
    program = tmp_path / "client.py"
    program.write_text(for_server(block.content, live_server), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXECUTOR_")}
    env["EXECUTOR_API_TOKEN"] = live_server.token
    result = subprocess.run(
        [sys.executable, str(program)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == partner("stdout", block.name).content


@pytest.mark.parametrize("block", marked("mcp-http-config"), ids=str)
def test_mcp_http_config_connects(block: Block, live_server: LiveServer) -> None:
    (server,) = json.loads(for_server(block.content, live_server))["mcpServers"].values()
    assert server["type"] == "http"

    async def tool_names() -> set[str]:
        async with (
            httpx2.AsyncClient(headers=server["headers"], timeout=30) as http,
            streamable_http_client(server["url"], http_client=http) as streams,
            ClientSession(streams[0], streams[1]) as session,
        ):
            await session.initialize()
            return {tool.name for tool in (await session.list_tools()).tools}

    assert asyncio.run(tool_names()) == {"run_python", "sandbox_info", "start_session", "end_session"}


@pytest.mark.parametrize("block", marked("mcp-stdio-config"), ids=str)
def test_mcp_stdio_config_names_a_console_script_of_this_project(block: Block) -> None:
    (server,) = json.loads(block.content)["mcpServers"].values()
    command = Path(server["command"])
    assert command.parent == Path("/path/to/checkout/.venv/bin")
    assert "cwd" not in server and "args" not in server
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    module, _, function = scripts[command.name].partition(":")
    assert callable(getattr(import_module(module), function))
