"""Clients that are slow or leave, against a real server started as the console script
starts it: a stalled body is a 408 on a closed connection within EXECUTOR_BODY_TIMEOUT_S,
slow headers, a body that keeps coming after an early answer and an answer nobody reads
are cut off (src/api/connections.py), a departure is an ordinary ``abandoned``
execution, on /execute and /mcp alike. None of it is a 5xx, a traceback or a connection
held forever."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from src.api.connections import MAX_HEAD_FIELDS
from src.main import MAX_CONNECTIONS
from tests.support.server import TOKEN, LiveServer, run_server
from tests.support.waiting import wait_until

BODY_TIMEOUT_S = 1
HEADER_TIMEOUT_S = 2
SEND_TIMEOUT_S = 1
#: Far more than the kernel's socket buffers hold (tcp_wmem's 4 MiB ceiling on the
#: server's side, a 4 KiB receive buffer on the client's), so most of the answer waits
#: in the server's own buffer while the client does not read.
BIG_OUTPUT_BYTES = 12_000_000
#: How long a test waits for the server to close a connection: only a failing test waits
#: this long (the deadlines above are seconds).
CLOSE_WAIT_S = 30


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = {
        "EXECUTOR_BODY_TIMEOUT_S": str(BODY_TIMEOUT_S),
        "EXECUTOR_HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S),
        "EXECUTOR_SEND_TIMEOUT_S": str(SEND_TIMEOUT_S),
        "EXECUTOR_MAX_STDOUT_BYTES": str(BIG_OUTPUT_BYTES + 1024),
        "EXECUTOR_MAX_TIMEOUT_S": "30",
    }
    with run_server(tmp_path_factory.mktemp("slow"), settings) as live:
        yield live


def connect(server: LiveServer, receive_buffer: int | None = None) -> socket.socket:
    host, _, port = server.url.removeprefix("http://").rpartition(":")
    sock = socket.socket()
    if receive_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)  # before connect: no autotuning
    sock.settimeout(CLOSE_WAIT_S)
    sock.connect((host, int(port)))
    return sock


def request_head(path: str, request_id: str, length: int, token: str = TOKEN, extra: str = "") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Executor-Token: {token}\r\nX-Request-ID: {request_id}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n{extra}\r\n"
    ).encode()


def execute_request(request_id: str, code: str, **fields: object) -> bytes:
    body = json.dumps({"code": code, **fields}).encode()
    return request_head("/execute", request_id, len(body)) + body


def partial_request(
    server: LiveServer, request_id: str, declared: int = 100, sent: bytes = b'{"code": "pri', path: str = "/execute"
) -> socket.socket:
    """A POST whose body stops after ``sent`` of ``declared`` bytes."""
    sock = connect(server)
    sock.sendall(request_head(path, request_id, declared, extra=MCP_HEADERS if path == "/mcp" else "") + sent)
    return sock


MCP_HEADERS = "Accept: application/json, text/event-stream\r\n"


def mcp_call(request_id: str, code: str, **arguments: object) -> bytes:
    call = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "run_python", "arguments": {"code": code, **arguments}},
    }
    body = json.dumps(call).encode()
    return request_head("/mcp", request_id, len(body), extra=MCP_HEADERS) + body


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a reset included)."""
    answer = b""
    try:
        while chunk := sock.recv(65536):
            answer += chunk
    except ConnectionResetError:
        pass
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


def closed_count(server: LiveServer, reason: str) -> float:
    return server.metric("executor_connections_closed_total", reason=reason)


def test_a_connection_that_sends_nothing_is_closed(server: LiveServer) -> None:
    with connect(server) as sock:
        assert read_until_closed(sock) == b""
    assert closed_count(server, "header_timeout") >= 1


def test_headers_that_stop_coming_are_cut_off(server: LiveServer) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        assert read_until_closed(sock) == b""


def test_a_byte_after_an_early_answer_does_not_hold_the_connection(server: LiveServer) -> None:
    """The 401 comes before the body is read; uvicorn's keep-alive timer, armed after it,
    is cancelled by any byte: the rest of the body is still bounded by its deadline."""
    with connect(server) as sock:
        sock.sendall(request_head("/execute", "early-answer", 100, token="wrong") + b'{"co')
        answer = b""
        while b"}" not in answer:  # the 401's JSON body
            answer += sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 401 ")
        sock.sendall(b"d")
        assert read_until_closed(sock) == b""
    assert closed_count(server, "body_timeout") >= 1


def test_headers_past_the_size_limit_get_a_431(server: LiveServer) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"a" * 70_000)
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert closed_count(server, "headers_too_large") >= 1


@pytest.mark.parametrize(
    ("fields", "status"), [(MAX_HEAD_FIELDS - 2, b"200"), (MAX_HEAD_FIELDS - 1, b"431"), (13_000, b"431")]
)
def test_a_head_of_more_fields_than_the_limit_gets_a_431(server: LiveServer, fields: int, status: bytes) -> None:
    """Counted, not only measured: 13 000 empty fields fit in 64 KiB and were each a
    callback and a list entry for every middleware to scan, before any token."""
    padding = b"a:\r\n" * fields  # besides Host and Connection
    with connect(server) as sock:
        sock.sendall(b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + padding + b"\r\n")
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 " + status + b" ")


def test_a_client_that_stops_reading_its_answer_is_dropped(server: LiveServer) -> None:
    before = closed_count(server, "send_timeout")
    with connect(server, receive_buffer=4096) as sock:
        sock.sendall(execute_request("never-reads", f"print('x' * {BIG_OUTPUT_BYTES})", timeout_s=20))
        wait_until(lambda: closed_count(server, "send_timeout") > before, "the unread answer to be dropped", 60)
    assert server.reply("print(6 * 7)")["stdout"] == "42\n"


def test_an_unread_answer_on_a_connection_the_server_closes_is_dropped(server: LiveServer) -> None:
    """``Connection: close`` makes the server close the transport once the answer is
    written; an answer still buffered then has the send deadline, not forever."""
    before = closed_count(server, "send_timeout")
    code = f"print('x' * {BIG_OUTPUT_BYTES})"
    with connect(server, receive_buffer=4096) as sock:
        body = json.dumps({"code": code, "timeout_s": 20}).encode()
        sock.sendall(request_head("/execute", "closing-unread", len(body), extra="Connection: close\r\n") + body)
        wait_until(lambda: closed_count(server, "send_timeout") > before, "the unread answer to be dropped", 60)
        assert len(read_until_closed(sock)) < BIG_OUTPUT_BYTES  # aborted, not delivered late


HEAD_FLOODS = {
    "request line": b"GET /" + b"a" * 100_000,
    "one header line": b"GET / HTTP/1.1\r\nX-Padding: " + b"b" * 100_000,
    "many header lines": b"GET / HTTP/1.1\r\n" + (b"X-Padding: " + b"c" * 90 + b"\r\n") * 1000,
}


@pytest.mark.parametrize("flood", HEAD_FLOODS.values(), ids=HEAD_FLOODS.keys())
def test_a_next_request_past_the_head_limit_is_cut_while_the_current_one_runs(server: LiveServer, flood: bytes) -> None:
    """The limit counts the next request's head from its first byte, not only once the
    current answer is out: else it grows without bound for as long as the execution runs."""
    request_id = f"head-flood-{len(flood)}"
    before = closed_count(server, "headers_too_large")
    with connect(server) as sock:
        sock.sendall(execute_request(request_id, "while True: pass", timeout_s=20))
        wait_until(lambda: in_flight(server), "the execution to start")
        sock.sendall(flood)
        assert read_until_closed(sock) == b""  # aborted: no answer to either request
    assert closed_count(server, "headers_too_large") > before
    line = wait_until(lambda: audit_line(server, request_id), "the audit line of the cut request")
    assert (line["status"], line["outcome"]) == (499, "abandoned")


def test_a_head_past_the_limit_in_one_read_is_not_served(server: LiveServer) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"a" * 66_000 + b"\r\n\r\n")
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert answer.count(b"HTTP/1.1 ") == 1


def test_a_pipelined_request_is_not_served_and_the_answer_before_it_closes(server: LiveServer) -> None:
    with connect(server) as sock:
        sock.sendall(execute_request("pipelined-1", "print(6 * 7)") + b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = read_until_closed(sock)
    assert answer.count(b"HTTP/1.1 ") == 1
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ") and b"connection: close" in head.lower()
    assert json.loads(body)["stdout"] == "42\n"


def test_a_request_sent_while_the_previous_answer_is_still_buffered_is_pipelining(server: LiveServer) -> None:
    """The client has not read the previous answer (it waits in this server's buffer):
    the next request is dropped and the connection closes once the answer is out or the
    send deadline passes, never left with no deadline at all."""
    with connect(server, receive_buffer=4096) as sock:
        sock.sendall(execute_request("buffered-1", f"print('x' * {BIG_OUTPUT_BYTES})", timeout_s=20))
        wait_until(lambda: audit_line(server, "buffered-1"), "the first answer")
        sock.sendall(request_head("/execute", "buffered-2", 10, token="wrong"))  # its body held back
        answer = read_until_closed(sock)
    assert answer.count(b"HTTP/1.1 ") == 1
    assert audit_line(server, "buffered-2") is None


def test_trailer_fields_are_not_request_headers(server: LiveServer) -> None:
    """A chunked body's trailers come after the body; uvicorn would append them to the
    headers the application reads, so a token (or an X-Forwarded-For behind a proxy)
    could arrive there."""
    body = json.dumps({"code": "print(6 * 7)"}).encode()
    request = (
        b"POST /execute HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        + f"{len(body):x}\r\n".encode()
        + body
        + b"\r\n0\r\n"
        + f"X-Executor-Token: {TOKEN}\r\n\r\n".encode()
    )
    with connect(server) as sock:
        sock.sendall(request)
        assert read_until_closed(sock).startswith(b"HTTP/1.1 401 ")


def test_a_trailer_that_never_ends_is_cut_at_the_head_limit(server: LiveServer) -> None:
    """The parser holds an unfinished trailer line whole (and copies it on every read):
    without a count it grew for the whole body deadline, tens of MB per connection."""
    before = closed_count(server, "headers_too_large")
    with connect(server) as sock:
        sock.sendall(
            b"POST /livez HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"0\r\nX-Trailer: " + b"a" * 100_000
        )
        read_until_closed(sock)
    assert closed_count(server, "headers_too_large") > before


def test_a_body_of_many_small_chunks_in_one_read_is_served(server: LiveServer) -> None:
    """Chunk framing is not a long line: 40 000 one-byte chunks (240 KB of framing, sent
    at once) are an ordinary body, not a head past its limit."""
    body = json.dumps({"code": "len(s)", "context": {"s": "x" * 39_970}}).encode()
    chunked = b"".join(b"1\r\n" + body[i : i + 1] + b"\r\n" for i in range(len(body))) + b"0\r\n\r\n"
    head = request_head("/execute", "small-chunks", 0).replace(
        b"Content-Length: 0\r\n", b"Transfer-Encoding: chunked\r\n"
    )
    with connect(server) as sock:
        sock.sendall(head + chunked)
        answer = read_until_closed_or_answered(sock)
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
    assert b'"result":39970' in answer


def read_until_closed_or_answered(sock: socket.socket) -> bytes:
    """One answer with a Content-Length, on a connection that stays open."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return head + b"\r\n\r\n" + rest


def test_a_request_asking_for_an_upgrade_is_refused_and_its_body_never_served(server: LiveServer) -> None:
    """The parser skips the body of an upgrade request; what follows would be parsed as
    a request of its own, past whatever a proxy checked."""
    hidden = b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    head = (
        b"POST /execute HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
        b"Content-Type: application/json\r\nContent-Length: " + str(len(hidden)).encode() + b"\r\n\r\n"
    )
    with connect(server) as sock:
        sock.sendall(head)
        sock.sendall(hidden)
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 400 ") and answer.count(b"HTTP/1.1 ") == 1
    assert b"upgrades are not served" in answer


def test_bytes_that_do_not_parse_during_an_execution_do_not_replace_its_answer(server: LiveServer) -> None:
    with connect(server) as sock:
        sock.sendall(execute_request("garbage-after", "print('ran')\nwhile True: pass", timeout_s=2))
        wait_until(lambda: in_flight(server), "the execution to start")
        sock.sendall(b"\x00garbage\r\n\r\n")
        answer = read_until_closed(sock)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ") and answer.count(b"HTTP/1.1 ") == 1
    assert json.loads(body)["limit"] == "timeout" and json.loads(body)["stdout"] == "ran\n"


def in_flight(server: LiveServer) -> bool:
    return server.metric("executor_executions_in_flight") >= 1


@pytest.mark.parametrize("pipelined_when", ["with the request", "while it runs"])
def test_a_client_that_leaves_with_a_request_pipelined_is_abandoned(server: LiveServer, pipelined_when: str) -> None:
    """uvicorn would stop reading and watch only the pipelined request for the
    disconnect: the execution would run to its 20 s timeout and be audited as a 200."""
    request_id = f"pipelined-leaves-{pipelined_when.replace(' ', '-')}"
    pipelined = b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n"
    sock = connect(server)
    request = execute_request(request_id, "while True: pass", timeout_s=20)
    sock.sendall(request + pipelined if pipelined_when == "with the request" else request)
    wait_until(lambda: in_flight(server), "the execution to start")
    if pipelined_when == "while it runs":
        sock.sendall(pipelined)
    sock.close()
    line = wait_until(lambda: audit_line(server, request_id), "the audit line of the client that left")
    assert (line["status"], line["outcome"]) == (499, "abandoned")


def test_an_mcp_body_that_stalls_gets_a_408(server: LiveServer) -> None:
    with partial_request(server, "mcp-slow-body", sent=b'{"jsonrpc"', path="/mcp") as sock:
        answer = read_until_closed(sock)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 ") and b"connection: close" in head.lower()
    # On /mcp every refusal is a JSON-RPC error (the id is unknown: the body never came),
    # which the MCP SDKs show as the server's message.
    assert json.loads(body) == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {
            "code": -32030,
            "message": f"The request body did not arrive within {BODY_TIMEOUT_S} s.",
            "data": {"status": 408},
        },
    }
    assert server.metric("executor_rejections_total", reason="body_timeout", transport="mcp") >= 1


def test_an_mcp_client_that_leaves_mid_body_is_not_a_500(server: LiveServer) -> None:
    partial_request(server, "mcp-left-mid-body", sent=b'{"jsonrpc"', path="/mcp").close()
    wait_until(
        lambda: server.metric("executor_http_requests_total", route="/mcp", method="POST", status="499") >= 1,
        "the departed MCP request to be counted",
    )
    assert server.metric("executor_http_requests_total", route="/mcp", method="POST", status="500") == 0
    assert "Traceback" not in server.log()


def test_an_mcp_client_that_leaves_during_run_python_is_abandoned(server: LiveServer) -> None:
    before = server.metric("executor_executions_total", outcome="abandoned", transport="mcp")
    sock = connect(server)
    sock.sendall(mcp_call("mcp-leaves", "while True: pass", timeout_s=20))
    wait_until(lambda: in_flight(server), "the execution to start")
    sock.close()
    wait_until(
        lambda: server.metric("executor_executions_total", outcome="abandoned", transport="mcp") > before,
        "the MCP execution to be abandoned",
    )
    wait_until(lambda: not in_flight(server), "the slot to be freed", 5)
    assert any(
        line.get("outcome") == "abandoned" and line.get("transport") == "mcp" and line.get("status") == 499
        for line in audit_lines(server)
    )


def audit_lines(server: LiveServer) -> list[dict[str, object]]:
    return [
        line
        for raw in server.log().splitlines()
        if raw.startswith("{") and (line := json.loads(raw)).get("logger") == "executor.audit"
    ]


def test_the_server_serves_on_after_slow_and_departed_clients(server: LiveServer) -> None:
    assert server.reply("print(6 * 7)")["stdout"] == "42\n"
    assert server.metric("executor_http_requests_total", route="/execute", method="POST", status="500") == 0
    assert "Traceback" not in server.log()


@pytest.fixture(scope="module")
def patient_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Idle connections stay for a minute and requests may wait a minute for the one
    execution slot: filling the connection limit takes no race."""
    settings = {
        "EXECUTOR_HEADER_TIMEOUT_S": "60",
        "EXECUTOR_MAX_CONCURRENT_EXECUTIONS": "1",
        "EXECUTOR_MAX_QUEUED_EXECUTIONS": str(MAX_CONNECTIONS),
        "EXECUTOR_QUEUE_TIMEOUT_S": "60",
        "EXECUTOR_MAX_TIMEOUT_S": "60",
    }
    with run_server(tmp_path_factory.mktemp("patient"), settings) as live:
        yield live


def send_and_read(server: LiveServer, request: bytes) -> bytes:
    with connect(server) as sock:
        sock.sendall(request)
        return read_until_closed(sock)


def closed_by_server(sock: socket.socket) -> bool:
    """Whether the server has closed ``sock`` (reset, or an end of stream), without waiting."""
    sock.setblocking(False)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True
    finally:
        sock.settimeout(CLOSE_WAIT_S)


def test_past_the_connection_limit_a_request_takes_the_place_of_the_longest_idle_connection(
    patient_server: LiveServer,
) -> None:
    """Connections that send nothing cannot keep out a request: with every place taken by
    them, a whole request closes the one that has waited longest and is served."""
    evicted_before = patient_server.metric("executor_connections_closed_total", reason="evicted")
    oldest = connect(patient_server)
    # The scrape's own connection is open while it is answered: two means the oldest is in.
    wait_until(lambda: patient_server.metric("executor_connections_open") == 2, "the first connection to be accepted")
    idle = [oldest, *(connect(patient_server) for _ in range(MAX_CONNECTIONS - 1))]
    try:
        scrape = b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"

        def served_in_the_oldest_place() -> bool:
            # Served every time: within the limit until the server has accepted them all.
            served = send_and_read(patient_server, scrape)
            assert served.startswith(b"HTTP/1.1 200 "), served[:200]
            return closed_by_server(oldest)

        wait_until(served_in_the_oldest_place, "a request to take the place of the oldest connection")
        assert not any(closed_by_server(sock) for sock in idle[1:])
    finally:
        for sock in idle:
            sock.close()
    wait_until(lambda: patient_server.metric("executor_connections_open") == 1, "the idle connections to close")
    assert patient_server.metric("executor_connections_closed_total", reason="evicted") >= evicted_before + 1


def test_when_every_place_holds_a_request_being_served_requests_get_a_503_but_probes_are_answered(
    patient_server: LiveServer,
) -> None:
    """Clients holding every place with real work must not make /livez fail (an
    orchestrator would restart a healthy service); everything else gets a 503 with
    Retry-After, counted. One execution runs, the others wait for its slot."""
    refused_before = patient_server.metric("executor_connections_refused_total")
    busy = []
    try:
        for number in range(MAX_CONNECTIONS):
            sock = connect(patient_server)
            sock.sendall(execute_request(f"busy-{number}", "while True: pass", timeout_s=60))
            busy.append(sock)
        # Probes are always answered, and one answered after the last request was sent
        # means the server has read that request (it arrived first, in one read).
        assert b'"alive"' in send_and_read(patient_server, b"GET /livez HTTP/1.0\r\n\r\n")
        refused = send_and_read(patient_server, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        assert refused.startswith(b"HTTP/1.1 503 ") and b"retry-after: 1" in refused.lower()
        health = send_and_read(patient_server, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert health.startswith(b"HTTP/1.1 200 ")
        assert not any(closed_by_server(sock) for sock in busy)
    finally:
        for sock in busy:
            sock.close()
    # Until the server has seen them leave, a scrape is refused too.
    scrape = b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    wait_until(lambda: send_and_read(patient_server, scrape).startswith(b"HTTP/1.1 200 "), "places to free up")
    wait_until(lambda: patient_server.metric("executor_connections_open") == 1, "the busy connections to close")
    assert patient_server.metric("executor_connections_refused_total") >= refused_before + 1


@pytest.fixture(scope="module")
def hoarding_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Answers wait a minute for clients that do not read them: only the backlog bound
    drops one."""
    settings = {"EXECUTOR_SEND_TIMEOUT_S": "60", "EXECUTOR_MAX_STDOUT_BYTES": str(1024 * 1024)}
    with run_server(tmp_path_factory.mktemp("hoarding"), settings) as live:
        yield live


def test_answers_nobody_reads_are_bounded_in_all_not_only_in_time(hoarding_server: LiveServer) -> None:
    """Each answer of ~6 MB (a megabyte of control characters, escaped sixfold) waits for
    a client that never reads; past UNREAD_ANSWERS_HELD of the largest answers in all,
    the connection that stopped reading first is dropped, long before its deadline."""
    code = "print('\\x01' * 1_000_000)"
    hoarders: list[socket.socket] = []
    try:
        for number in range(40):
            sock = connect(hoarding_server, receive_buffer=4096)
            sock.sendall(execute_request(f"hoard-{number}", code))
            assert sock.recv(12).startswith(b"HTTP/1.1 200")  # written: what is left waits
            hoarders.append(sock)
            if closed_by_server(hoarders[0]):
                break
        first = read_until_closed(hoarders[0])
        assert len(first) < 6_000_000, "the first answer was delivered whole"
    finally:
        for sock in hoarders:
            sock.close()
    assert closed_count(hoarding_server, "send_backlog") >= 1
