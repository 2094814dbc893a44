"""Clients that stall or leave while sending a body, against a real server: a stall is a
408 on a closed connection within EXECUTOR_BODY_TIMEOUT_S, a departure an ordinary
``abandoned`` execution; neither is a 5xx, a traceback or a connection held forever."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from tests.support.server import TOKEN, LiveServer, run_server
from tests.support.waiting import wait_until

BODY_TIMEOUT_S = 1


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with run_server(tmp_path_factory.mktemp("slow"), {"EXECUTOR_BODY_TIMEOUT_S": str(BODY_TIMEOUT_S)}) as live:
        yield live


def partial_request(
    server: LiveServer, request_id: str, declared: int = 100, sent: bytes = b'{"code": "pri'
) -> socket.socket:
    """A POST /execute whose body stops after ``sent`` of ``declared`` bytes."""
    host, _, port = server.url.removeprefix("http://").rpartition(":")
    head = (
        f"POST /execute HTTP/1.1\r\nHost: {host}\r\nX-Executor-Token: {TOKEN}\r\nX-Request-ID: {request_id}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {declared}\r\n\r\n"
    )
    sock = socket.create_connection((host, int(port)), timeout=30)
    sock.sendall(head.encode() + sent)
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
    return answer


def audit_line(server: LiveServer, request_id: str) -> dict[str, object] | None:
    for raw in server.log().splitlines():
        if raw.startswith("{") and request_id in raw:
            line: dict[str, object] = json.loads(raw)
            if line.get("logger") == "executor.audit":
                return line
    return None


def test_a_body_that_stalls_gets_a_408_and_a_closed_connection(server: LiveServer) -> None:
    with partial_request(server, "slow-body-1") as sock:
        answer = read_until_closed(sock)  # returns only because the server closes
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 ")
    assert b"connection: close" in head.lower()
    assert json.loads(body) == {"detail": f"the request body did not arrive within {BODY_TIMEOUT_S} s"}


def test_a_stalled_body_is_counted_and_audited_as_a_refusal(server: LiveServer) -> None:
    with partial_request(server, "slow-body-2") as sock:
        read_until_closed(sock)
    line = audit_line(server, "slow-body-2")
    assert line is not None
    assert (line["status"], line["outcome"], line["reason"]) == (408, "rejected", "body_timeout")
    assert server.metric("executor_rejections_total", reason="body_timeout", transport="http") >= 1


def test_a_client_that_leaves_mid_body_is_abandoned_not_a_500(server: LiveServer) -> None:
    partial_request(server, "left-mid-body").close()
    line = wait_until(lambda: audit_line(server, "left-mid-body"), "the audit line of the client that left")
    assert (line["status"], line["outcome"]) == (499, "abandoned")
    assert server.metric("executor_http_requests_total", route="/execute", method="POST", status="500") == 0
    assert "Traceback" not in server.log()
    assert "unhandled error" not in server.log()


def test_the_server_serves_on_after_slow_and_departed_clients(server: LiveServer) -> None:
    assert server.reply("print(6 * 7)")["stdout"] == "42\n"
