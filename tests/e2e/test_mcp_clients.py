"""The MCP server through the clients agents actually run, over both transports.

Each client is a real program of its own (tests/clients): the Python SDK 2.x (the
project's .venv), the Python SDK 1.x (its own venv), the official TypeScript SDK 1.x and
2.x, and mcp-remote (the stdio-to-HTTP proxy desktop clients use), installed by
``scripts/mcp-clients``. Over Streamable HTTP they talk to a real uvicorn on 127.0.0.1;
over stdio they start the ``sandboxed-executor-mcp`` console script of the installed
wheel, from a directory outside the checkout. Each prints one JSON line of what it saw,
which is checked here.

Where the clients are not installed the tests are skipped, unless MCP_CLIENTS_REQUIRED=1
(set by .ci/run), where that is a failure. With MCP_COMPAT_REPORT=PATH each run appends
its row of docs/mcp.md's compatibility table to PATH (JSON lines).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_docs_snippets import for_server, marked, partner
from tests.support.server import PROJECT_ROOT, LiveServer
from tests.support.wheel import Installed, build_and_install

pytestmark = pytest.mark.slow

CLIENTS = PROJECT_ROOT / "tests" / "clients"
TSX = CLIENTS / "node_modules" / ".bin" / "tsx"
MCP_REMOTE = CLIENTS / "node_modules" / "mcp-remote" / "dist" / "proxy.js"
SDK1_PYTHON = CLIENTS / ".venv-sdk1" / "bin" / "python"
REFUSAL = "Missing or invalid token: send X-Executor-Token or Authorization: Bearer."
RUN_TIMEOUT_S = 120


def required(path: Path) -> Path:
    if not path.exists():
        message = f"{path.relative_to(PROJECT_ROOT)} is missing: run scripts/mcp-clients"
        if os.environ.get("MCP_CLIENTS_REQUIRED") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


def client_command(client: str) -> list[str]:
    if client == "python-sdk-2":
        return [sys.executable, str(CLIENTS / "py_client.py")]
    if client == "python-sdk-1":
        return [str(required(SDK1_PYTHON)), str(CLIENTS / "py_client.py")]
    major = client.rpartition("-")[2]
    return [str(required(TSX)), str(CLIENTS / "ts_client.ts"), "--sdk", major]


def run_client(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False
    )  # fmt: skip
    assert done.returncode == 0, f"{command[:3]} failed:\n{done.stdout}\n{done.stderr[-4000:]}"
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def record(report: dict[str, Any], result: str, note: str = "") -> None:
    path = os.environ.get("MCP_COMPAT_REPORT")
    if path:
        row = {k: report.get(k, "") for k in ("client", "version", "transport", "protocol_version")}
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps({**row, "result": result, "note": note}) + "\n")


def check_session(report: dict[str, Any]) -> None:
    """What every client must have seen: the tools, a run, a timeout, the resource."""
    assert report["server"] == "python-sandbox"
    assert report["tools"] == ["end_session", "run_python", "sandbox_info", "start_session"]
    # State kept across two calls of a session, with nothing but its id.
    assert report["session"] == {"kept": 3, "ended_is_error": False}
    run = report["run"]
    assert run["is_error"] is False
    assert (run["structured"]["stdout"], run["structured"]["result"]) == ('{"a": 1}\n', 42)
    assert run["text"] == 'stdout:\n```\n{"a": 1}\n```\nresult (JSON):\n42'
    # The sandbox's own timeout reaches the client as such (not as the client's timeout).
    stopped = report["timeout"]
    assert stopped["is_error"] is True
    assert stopped["structured"]["limit"] == "timeout"
    assert "Stopped by the timeout limit: it ran longer than its 1 s timeout." in stopped["text"]
    assert "json" in report["info"]["allowed_modules"]
    assert report["protocol_version"]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    return build_and_install(tmp_path_factory)


@pytest.fixture(scope="module")
def outside(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A working directory outside the checkout: no client may depend on the checkout's."""
    yield tmp_path_factory.mktemp("client-cwd")


CLIENT_IDS = ["python-sdk-2", "python-sdk-1", "typescript-sdk-1", "typescript-sdk-2"]


@pytest.mark.parametrize("client", CLIENT_IDS)
def test_streamable_http(client: str, live_server: LiveServer, outside: Path) -> None:
    report = run_client([*client_command(client), "--http", live_server.url + "/mcp", live_server.token], outside)
    try:
        check_session(report)
        # A wrong token: the server's sentence, as the client's own error.
        assert report["auth_error"].endswith(REFUSAL), report["auth_error"]
    except AssertionError:
        record(report, "fail")
        raise
    record(report, "pass", "wrong token: the server's message")


@pytest.mark.parametrize("client", CLIENT_IDS)
def test_stdio_console_script_from_another_directory(client: str, installed: Installed, outside: Path) -> None:
    script = str(installed.script("sandboxed-executor-mcp"))
    report = run_client([*client_command(client), "--stdio", script], outside)
    try:
        check_session(report)
    except AssertionError:
        record(report, "fail")
        raise
    record(report, "pass")


def mcp_remote(server: LiveServer, token: str, cwd: Path) -> dict[str, Any]:
    """The TypeScript SDK 1.x client over stdio to mcp-remote, which speaks HTTP to the server."""
    proxy = [
        "node", str(required(MCP_REMOTE)), server.url + "/mcp",
        "--transport", "http-only", "--header", f"Authorization: Bearer {token}",
    ]  # fmt: skip
    # Its OAuth state (none is expected) in a directory of this test's, not the home's.
    env = {**os.environ, "MCP_REMOTE_CONFIG_DIR": str(cwd / "mcp-auth")}
    return run_client([*client_command("typescript-sdk-1"), "--stdio", *proxy], cwd, env)


def test_mcp_remote_runs_code(live_server: LiveServer, outside: Path) -> None:
    report = mcp_remote(live_server, live_server.token, outside)
    report["client"], report["transport"] = "mcp-remote (TypeScript SDK 1.x over stdio)", "streamable-http"
    report["version"] = json.loads((CLIENTS / "node_modules" / "mcp-remote" / "package.json").read_text())["version"]
    try:
        check_session(report)
    except AssertionError:
        record(report, "fail")
        raise
    record(report, "pass", "wrong token: the server's message, no OAuth registration")


def test_mcp_remote_shows_a_wrong_token_without_trying_oauth(live_server: LiveServer, outside: Path) -> None:
    report = mcp_remote(live_server, "wrong-token", outside)
    assert "connect_error" in report
    assert f"Fatal error: ProtocolError2: {REFUSAL}" in report["server_stderr"]
    # mcp-remote looks for OAuth metadata on every start (and finds none); what a 401 made
    # it do next, and what this test rules out, is registering a client and authorizing.
    assert "POST /register" not in live_server.log()
    assert "/authorize" not in live_server.log()
    assert "Authorization URL" not in report["server_stderr"]


@pytest.mark.parametrize("block", marked("mcp-python"), ids=str)
def test_the_documented_program_runs_with_the_sdk_1x_too(block: Any, live_server: LiveServer, outside: Path) -> None:
    program = outside / "client.py"
    program.write_text(for_server(block.content, live_server), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXECUTOR_")}
    env["EXECUTOR_API_TOKEN"] = live_server.token
    done = subprocess.run(
        [str(required(SDK1_PYTHON)), str(program)],
        cwd=outside, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == partner("stdout", block.name).content
