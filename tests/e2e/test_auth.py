"""The token as callers send it, against a real server: X-Executor-Token or
Authorization: Bearer on /execute as on /mcp, one budget and one identity whichever
header carries it, and a start without a token (or with a mistyped setting) that says
what to fix."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from src.api.audit import token_fingerprint
from tests.support.server import TOKEN, LiveServer, run_server, tight_rate_limit

MCP_INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


def audit_lines(server: LiveServer) -> list[dict[str, Any]]:
    lines = (json.loads(raw) for raw in server.log().splitlines() if raw.startswith("{"))
    return [line for line in lines if line.get("logger") == "executor.audit"]


def execute(server: LiveServer, headers: dict[str, str], request_id: str) -> httpx.Response:
    return httpx.post(
        server.url + "/execute",
        json={"code": "print(6 * 7)"},
        headers={**headers, "X-Request-ID": request_id},
        timeout=30,
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Its own server: the audit lines and counters below are this module's alone."""
    with run_server(tmp_path_factory.mktemp("auth")) as live:
        yield live


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Authorization": f"Bearer {TOKEN}"}, id="bearer"),
        pytest.param({"X-Executor-Token": TOKEN}, id="x-executor-token"),
        pytest.param({"X-Executor-Token": TOKEN, "Authorization": f"Bearer {TOKEN}"}, id="both-the-same"),
    ],
)
def test_execute_accepts_the_token_in_either_header(server: LiveServer, headers: dict[str, str]) -> None:
    response = execute(server, headers, "auth-accepted")
    assert response.status_code == 200
    assert response.json()["stdout"] == "42\n"


def test_two_different_tokens_are_a_401_that_says_so(server: LiveServer) -> None:
    response = execute(server, {"X-Executor-Token": TOKEN, "Authorization": "Bearer other"}, "auth-two-tokens")
    assert response.status_code == 401
    assert response.json() == {"detail": "X-Executor-Token and Authorization: Bearer carry different tokens; send one"}


def test_two_different_tokens_are_refused_on_mcp_too(server: LiveServer) -> None:
    response = httpx.post(
        server.url + "/mcp",
        json=MCP_INITIALIZE,
        headers={**MCP_HEADERS, "X-Executor-Token": TOKEN, "Authorization": "Bearer other"},
    )
    # A JSON-RPC error to the request rather than a 401 (which starts OAuth in MCP
    # clients): docs/mcp.md, "Authentication failures".
    assert response.status_code == 200
    error = response.json()["error"]
    assert error["message"] == "X-Executor-Token and Authorization: Bearer carry different tokens; send one."
    assert error["data"] == {"status": 401}


def test_mcp_accepts_the_token_in_either_header(server: LiveServer) -> None:
    for headers in ({"Authorization": f"Bearer {TOKEN}"}, {"X-Executor-Token": TOKEN}):
        response = httpx.post(server.url + "/mcp", json=MCP_INITIALIZE, headers={**MCP_HEADERS, **headers})
        assert response.status_code == 200


def test_a_bearer_caller_is_audited_under_the_same_fingerprint(server: LiveServer) -> None:
    execute(server, {"Authorization": f"Bearer {TOKEN}"}, "auth-fingerprint-bearer")
    execute(server, {"X-Executor-Token": TOKEN}, "auth-fingerprint-header")
    by_id = {line["request_id"]: line for line in audit_lines(server)}
    assert by_id["auth-fingerprint-bearer"]["token_fingerprint"] == token_fingerprint(TOKEN)
    assert by_id["auth-fingerprint-header"]["token_fingerprint"] == token_fingerprint(TOKEN)


def test_a_program_cannot_write_a_context_value_into_the_audit_log(server: LiveServer) -> None:
    code = "class E(Exception):\n    pass\nE.__name__ = secret\nraise E(1)"
    response = httpx.post(
        server.url + "/execute",
        json={"code": code, "context": {"secret": "ctx-canary-4f1e"}},
        headers={"X-Executor-Token": TOKEN, "X-Request-ID": "auth-error-type"},
    )
    assert response.json()["error"]["type"] == "__main__.ctx-canary-4f1e"  # its own error, a name not an identifier
    line = next(line for line in audit_lines(server) if line["request_id"] == "auth-error-type")
    assert line["error_type"] == "<program exception>"
    assert "ctx-canary-4f1e" not in server.log()


def test_a_refusal_for_two_tokens_is_audited_as_auth(server: LiveServer) -> None:
    execute(server, {"X-Executor-Token": TOKEN, "Authorization": "Bearer other"}, "auth-refused-audit")
    line = next(line for line in audit_lines(server) if line["request_id"] == "auth-refused-audit")
    assert (line["status"], line["outcome"], line["reason"]) == (401, "rejected", "auth")


def test_either_header_spends_one_budget(tmp_path: Path) -> None:
    limits = {"EXECUTOR_RATE_LIMIT_EXECUTE_PER_TOKEN": tight_rate_limit(2)}
    with run_server(tmp_path, limits) as server:
        statuses = [
            execute(server, {"X-Executor-Token": TOKEN}, "budget-1").status_code,
            execute(server, {"Authorization": f"Bearer {TOKEN}"}, "budget-2").status_code,
            execute(server, {"Authorization": f"Bearer {TOKEN}"}, "budget-3").status_code,
        ]
    assert statuses == [200, 200, 429]


def test_a_start_without_a_token_says_which_setting_to_set(tmp_path: Path) -> None:
    with run_server(tmp_path, token=None) as server:
        response = execute(server, {"X-Executor-Token": "anything"}, "no-token")
        mcp = httpx.post(server.url + "/mcp", json=MCP_INITIALIZE, headers={**MCP_HEADERS, "X-Executor-Token": "x"})
        log = server.log()
    assert response.status_code == 503
    assert "EXECUTOR_API_TOKEN (or EXECUTOR_API_TOKEN_FILE)" in response.json()["detail"]
    assert mcp.status_code == 200  # a JSON-RPC error, shown by every MCP client (docs/mcp.md)
    assert "EXECUTOR_API_TOKEN (or EXECUTOR_API_TOKEN_FILE)" in mcp.json()["error"]["message"]
    assert mcp.json()["error"]["data"] == {"status": 503}
    warning = next(json.loads(raw) for raw in log.splitlines() if "no API token configured" in raw)
    assert warning["level"] == "WARNING"
    assert "EXECUTOR_API_TOKEN_FILE" in warning["message"]


def test_a_mistyped_setting_is_named_with_the_real_one(tmp_path: Path) -> None:
    with run_server(tmp_path, {"EXECUTOR_MAX_MEMORY": "512"}) as server:
        log = server.log()
    assert (
        "EXECUTOR_MAX_MEMORY is not a setting of this service and is ignored; did you mean EXECUTOR_MAX_MEMORY_MB?"
        in log
    )


def mcp_run(server: LiveServer, code: str, forwarded_for: str) -> dict[str, Any]:
    """One run_python call over /mcp (stateless: no session to open first)."""
    call = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "run_python", "arguments": {"code": code}},
    }
    headers = {**MCP_HEADERS, "X-Executor-Token": TOKEN, "X-Forwarded-For": forwarded_for}
    response = httpx.post(server.url + "/mcp", json=call, headers=headers, timeout=30)
    assert response.status_code == 200
    result: dict[str, Any] = response.json()["result"]
    return result


def test_a_caller_over_its_ip_limit_spends_nothing_of_the_shared_token_budget(tmp_path: Path) -> None:
    # X-Forwarded-For trusted from 127.0.0.1, as behind a proxy there: two client addresses.
    limits = {
        "EXECUTOR_RATE_LIMIT_EXECUTE_PER_TOKEN": tight_rate_limit(4),
        "EXECUTOR_RATE_LIMIT_EXECUTE_PER_IP": tight_rate_limit(2),
    }
    with run_server(tmp_path, limits, serve_options=["--forwarded-allow-ips", "127.0.0.1"]) as server:
        noisy = [mcp_run(server, "1", "198.51.100.1")["isError"] for _ in range(5)]
        other = [
            httpx.post(
                server.url + "/execute",
                json={"code": "1"},
                headers={"X-Executor-Token": TOKEN, "X-Forwarded-For": "198.51.100.2"},
            ).status_code
            for _ in range(2)
        ]
    assert noisy == [False, False, True, True, True]
    assert other == [200, 200]


def test_mcp_runs_while_the_rate_limit_store_is_unreachable(tmp_path: Path) -> None:
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    with run_server(tmp_path, {"EXECUTOR_RATE_LIMIT_STORAGE_URI": "redis://127.0.0.1:1/0"}) as server:
        result = mcp_run(server, "6 * 7", "198.51.100.3")
        log = server.log()
    assert result["isError"] is False
    assert result["structuredContent"]["result"] == 42
    assert "rate-limit storage unreachable" in log


def test_forwarded_addresses_are_not_trusted_by_default(tmp_path: Path) -> None:
    """As served (python -m src, the image's CMD): the peer address is the client, so a
    caller cannot pick a fresh address per request to escape its IP limit."""
    with run_server(tmp_path, {"EXECUTOR_RATE_LIMIT_EXECUTE_PER_IP": tight_rate_limit(1)}) as server:
        statuses = [
            httpx.post(
                server.url + "/execute",
                json={"code": "1"},
                headers={"X-Executor-Token": TOKEN, "X-Forwarded-For": f"198.51.100.{n}"},
            ).status_code
            for n in (10, 11)
        ]
    assert statuses == [200, 429]
