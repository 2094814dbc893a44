"""The CONTRACT.md status table, row by row, against a real uvicorn server.

Sizes and bounds are computed from TEST_ENV, the settings the live server runs with, so
a test fails when the limit it names did not act (and not because of some other limit).
Servers with other settings (a one-slot queue, no token) are started per test.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.server import TEST_ENV, TOKEN, LiveServer, run_server

MAX_BODY_BYTES = int(TEST_ENV["EXECUTOR_MAX_BODY_BYTES"])
MAX_CODE_BYTES = int(TEST_ENV["EXECUTOR_MAX_CODE_BYTES"])
MAX_TIMEOUT_S = float(TEST_ENV["EXECUTOR_MAX_TIMEOUT_S"])

REPLY_KEYS = {
    "request_id", "success", "result", "stdout", "stderr", "truncated", "error", "limit", "files", "figures", "duration_ms"
}  # fmt: skip
GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")
JSON = {"Content-Type": "application/json"}


def assert_clean_error(response: httpx.Response) -> None:
    """An error body is ``{"detail": ...}`` and gives away no stack trace, path or token."""
    assert set(response.json()) == {"detail"}
    assert "Traceback" not in response.text
    assert "/work/" not in response.text
    assert TOKEN not in response.text


def sample(metrics_text: str, name: str, labels: dict[str, str] | None = None) -> float:
    """Value of one sample in a Prometheus text exposition; 0.0 when it is absent."""
    for family in text_string_to_metric_families(metrics_text):
        for s in family.samples:
            if s.name == name and s.labels == (labels or {}):
                return float(s.value)
    return 0.0


def metrics_text(server: LiveServer) -> str:
    response = httpx.get(server.url + "/metrics", timeout=10)
    assert response.status_code == 200
    return response.text


# --------------------------------------------------------------------------- 200


def test_200_reply_has_every_key(client: httpx.Client) -> None:
    response = client.post("/execute", json={"code": "print(6 * 7)\n40 + 2"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == REPLY_KEYS
    assert body["success"] is True
    assert body["result"] == 42
    assert body["stdout"] == "42\n"
    assert body["stderr"] == ""
    assert body["truncated"] == {"stdout": False, "stderr": False, "result": False}
    assert body["error"] is None
    assert body["limit"] is None
    assert isinstance(body["duration_ms"], float)
    assert body["duration_ms"] > 0
    assert body["request_id"] == response.headers["X-Request-ID"]


def test_200_when_the_code_raises(client: httpx.Client) -> None:
    response = client.post("/execute", json={"code": "a = 1\nb = 0\na / b\n"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == REPLY_KEYS
    assert body["success"] is False
    assert body["error"] == {"type": "ZeroDivisionError", "message": "division by zero", "line": 3}
    assert body["limit"] is None
    assert body["result"] is None
    assert "ZeroDivisionError: division by zero" in body["stderr"]


def test_library_error_shows_only_frames_of_the_program(client: httpx.Client) -> None:
    body = client.post("/execute", json={"code": "import json\njson.loads('{')"}).json()
    assert body["error"]["type"] == "JSONDecodeError"
    assert body["error"]["line"] == 2
    assert 'File "<code>", line 2' in body["stderr"]
    assert 'File "/' not in body["stderr"]


@pytest.mark.parametrize(
    ("code", "context", "expected"),
    [
        pytest.param("6 * 7", {}, 42, id="final-expression"),
        pytest.param("_ = {'a': [1, 2]}\nx = 3", {}, {"a": [1, 2]}, id="underscore-global"),
        pytest.param("x = 1", {}, None, id="no-result"),
        pytest.param("n * 2", {"n": 5}, 10, id="context-bound-as-global"),
        pytest.param("data['k'][1]", {"data": {"k": [1, None, 3]}}, None, id="context-nested-json"),
        pytest.param("(1, 'a', 2.5, True)", {}, [1, "a", 2.5, True], id="tuple-becomes-array"),
    ],
)
def test_result_value(client: httpx.Client, code: str, context: dict[str, Any], expected: Any) -> None:
    body = client.post("/execute", json={"code": code, "context": context}).json()
    assert body["success"] is True
    assert body["result"] == expected


def test_a_body_past_the_inline_parse_size_answers_as_a_small_one_does(client: httpx.Client) -> None:
    """Bodies over 64 KiB are parsed in a thread of their own (src/offload.py): the same
    answers, the same refusals."""
    numbers = list(range(20_000))  # about 110 KB of JSON
    body = client.post("/execute", json={"code": "sum(numbers)", "context": {"numbers": numbers}}).json()
    assert (body["success"], body["result"]) == (True, sum(numbers))
    refused = client.post("/execute", json={"code": "1", "context": {"numbers": numbers, "_x": 1}})
    assert refused.status_code == 422
    assert "starts with '_'" in refused.json()["detail"][0]["msg"]


# --------------------------------------------------------------------------- X-Request-ID


def test_request_id_is_echoed_when_given(client: httpx.Client) -> None:
    response = client.post("/execute", json={"code": "1"}, headers={"X-Request-ID": "e2e-call.42:a"})
    assert response.headers["X-Request-ID"] == "e2e-call.42:a"
    assert response.json()["request_id"] == "e2e-call.42:a"


def test_request_id_is_generated_when_absent(client: httpx.Client) -> None:
    first = client.post("/execute", json={"code": "1"})
    second = client.post("/execute", json={"code": "1"})
    assert GENERATED_ID.match(first.headers["X-Request-ID"])
    assert first.json()["request_id"] == first.headers["X-Request-ID"]
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]


@pytest.mark.parametrize(
    "given",
    [pytest.param("a" * 129, id="too-long"), pytest.param("two words", id="space"), pytest.param("", id="empty")],
)
def test_malformed_request_id_is_replaced(client: httpx.Client, given: str) -> None:
    response = client.post("/execute", json={"code": "1"}, headers={"X-Request-ID": given})
    assert GENERATED_ID.match(response.headers["X-Request-ID"])


def test_request_id_is_echoed_on_errors(live_server: LiveServer) -> None:
    response = httpx.post(live_server.url + "/execute", json={"code": "1"}, headers={"X-Request-ID": "err-1"})
    assert response.status_code == 401
    assert response.headers["X-Request-ID"] == "err-1"


# --------------------------------------------------------------------------- 400


def test_400_lists_every_violation_with_its_line(client: httpx.Client) -> None:
    code = "x = 1\nimport socket\ny = 2\nz = input('f')\n"
    response = client.post("/execute", json={"code": code})
    assert response.status_code == 400
    assert_clean_error(response)
    detail = response.json()["detail"]
    assert [v["line"] for v in detail] == [2, 4]
    assert [v["rule"] for v in detail] == ["import", "forbidden_name"]
    assert detail[0]["message"].startswith("Line 2: ")
    assert detail[1]["message"].startswith("Line 4: ")


@pytest.mark.parametrize(
    ("code", "rule", "line"),
    [
        pytest.param("x = 1\ndef f(:\n    pass\n", "syntax", 2, id="syntax-error"),
        pytest.param("x = 1\ny = ().__globals__\n", "restricted", 2, id="forbidden-construct"),
        pytest.param("import subprocess\n", "import", 1, id="import-outside-allow-list"),
        pytest.param("f = input('data.txt')\n", "forbidden_name", 1, id="forbidden-builtin"),
        pytest.param("x = [" + "1," * 60_000 + "]\n", "too_many_nodes", None, id="too-many-ast-nodes"),
    ],
)
def test_400_rejected_before_running(client: httpx.Client, code: str, rule: str, line: int | None) -> None:
    response = client.post("/execute", json={"code": code})
    assert response.status_code == 400
    assert_clean_error(response)
    detail = response.json()["detail"]
    assert [(v["rule"], v["line"]) for v in detail] == [(rule, line)]


def test_ordinary_constructs_still_run(client: httpx.Client) -> None:
    code = (
        "import json\nimport math\n"
        "class Point:\n    def __init__(self, x):\n        self.x = x\n"
        "squares = [p.x * p.x for p in [Point(1), Point(2)]]\n"
        "print(json.dumps(squares))\n"
        "math.floor(2.5)"
    )
    body = client.post("/execute", json={"code": code}).json()
    assert body["success"] is True
    assert body["stdout"] == "[1, 4]\n"
    assert body["result"] == 2


# --------------------------------------------------------------------------- 401


@pytest.mark.parametrize(
    ("headers", "query"),
    [
        pytest.param({}, "", id="missing"),
        pytest.param({"X-Executor-Token": "wrong-token"}, "", id="wrong"),
        pytest.param({"X-Executor-Token": TOKEN[:-1]}, "", id="prefix-of-the-token"),
        pytest.param({"X-Executor-Token": ""}, "", id="empty"),
        pytest.param({}, f"?X-Executor-Token={TOKEN}", id="query-string-header-name"),
        pytest.param({}, f"?token={TOKEN}", id="query-string-token"),
        pytest.param({"Authorization": "Bearer wrong-token"}, "", id="wrong-bearer"),
        pytest.param({"Authorization": f"Basic {TOKEN}"}, "", id="token-under-another-scheme"),
        pytest.param({"X-Executor-Token": TOKEN, "Authorization": "Bearer wrong"}, "", id="two-different-tokens"),
    ],
)
def test_401_without_the_right_token(live_server: LiveServer, headers: dict[str, str], query: str) -> None:
    response = httpx.post(live_server.url + "/execute" + query, json={"code": "print(1)"}, headers=headers)
    assert response.status_code == 401
    assert_clean_error(response)


def test_401_comes_before_the_body_is_looked_at(live_server: LiveServer) -> None:
    response = httpx.post(live_server.url + "/execute", content=b"{not json", headers=JSON)
    assert response.status_code == 401


def test_right_token_is_accepted(live_server: LiveServer) -> None:
    response = httpx.post(live_server.url + "/execute", json={"code": "print(1)"}, headers={"X-Executor-Token": TOKEN})
    assert response.status_code == 200


# --------------------------------------------------------------------------- 413


def test_413_body_over_the_limit(client: httpx.Client) -> None:
    code = "#" + "x" * MAX_BODY_BYTES
    response = client.post("/execute", json={"code": code})
    assert response.status_code == 413
    assert_clean_error(response)


def test_413_chunked_body_over_the_limit(client: httpx.Client) -> None:
    """No Content-Length to refuse early: the limit is enforced while streaming."""

    def chunks() -> Iterator[bytes]:
        yield b'{"code": "#'
        for _ in range(MAX_BODY_BYTES // 8192 + 2):
            yield b"x" * 8192
        yield b'"}'

    response = client.post("/execute", content=chunks(), headers=JSON)
    assert response.status_code == 413
    assert_clean_error(response)


def test_413_code_over_the_limit(client: httpx.Client) -> None:
    code = "#" + "x" * MAX_CODE_BYTES
    assert len(json.dumps({"code": code})) < MAX_BODY_BYTES  # only the code limit can refuse it
    response = client.post("/execute", json={"code": code})
    assert response.status_code == 413
    assert_clean_error(response)


def test_413_code_limit_counts_utf8_bytes(client: httpx.Client) -> None:
    code = "#" + "é" * (MAX_CODE_BYTES // 2 + 1)  # fewer characters than the limit, more bytes
    body = json.dumps({"code": code}, ensure_ascii=False).encode("utf-8")
    assert len(body) < MAX_BODY_BYTES
    response = client.post("/execute", content=body, headers=JSON)
    assert response.status_code == 413


def test_code_of_exactly_the_limit_runs(client: httpx.Client) -> None:
    code = "#" + "x" * (MAX_CODE_BYTES - 1)
    response = client.post("/execute", json={"code": code})
    assert response.status_code == 200
    assert response.json()["success"] is True


# --------------------------------------------------------------------------- 422


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        pytest.param(b'{"code": 12345678}', ["body", "code"], id="code-not-a-string"),
        pytest.param(b"{}", ["body", "code"], id="code-missing"),
        pytest.param(b'{"code": null}', ["body", "code"], id="code-null"),
        pytest.param(b'{"code": "1", "timeout_s": "2"}', ["body", "timeout_s"], id="timeout-as-string"),
        pytest.param(b'{"code": "1", "language": "python"}', ["body", "language"], id="unknown-field"),
        pytest.param(b'{"code": "1", "context": [1, 2]}', ["body", "context"], id="context-array"),
        pytest.param(b'{"code": "1", "context": "n=5"}', ["body", "context"], id="context-string"),
        pytest.param(b'{"code": "1", "context": {"_x": 1}}', ["body", "context"], id="context-key-underscore"),
        pytest.param(b'{"code": "1", "context": {"a-b": 1}}', ["body", "context"], id="context-key-not-identifier"),
        pytest.param(b'{"code": "1", "context": {"class": 1}}', ["body", "context"], id="context-key-keyword"),
        pytest.param(
            b'{"code": "1", "context": {"a": ' + b"[" * 40 + b"]" * 40 + b"}}",
            ["body", "context"],
            id="context-too-deep",
        ),
        pytest.param(b'{"code": "1", "timeout_s": -1}', ["body", "timeout_s"], id="timeout-negative"),
        pytest.param(b'{"code": "1", "timeout_s": 0}', ["body", "timeout_s"], id="timeout-zero"),
        pytest.param(
            b'{"code": "1", "timeout_s": %g}' % (MAX_TIMEOUT_S + 0.5), ["body", "timeout_s"], id="timeout-above-max"
        ),
        pytest.param(b'{"code": "1", "timeout_s": 1e400}', ["body", "timeout_s"], id="timeout-infinite"),
        pytest.param(b'{"code": "1"', ["body"], id="invalid-json"),
        pytest.param(b'["print(1)"]', ["body"], id="json-array"),
    ],
)
def test_422_body_does_not_match_the_schema(client: httpx.Client, body: bytes, loc: list[str]) -> None:
    response = client.post("/execute", content=body, headers=JSON)
    assert response.status_code == 422
    assert_clean_error(response)
    assert [error["loc"] for error in response.json()["detail"]] == [loc]


@pytest.mark.parametrize(
    "content_type",
    [
        pytest.param("text/plain", id="text-plain"),
        pytest.param("application/x-www-form-urlencoded", id="form"),
        pytest.param(None, id="missing"),
    ],
)
def test_422_wrong_content_type(client: httpx.Client, content_type: str | None) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = client.post("/execute", content=b'{"code": "print(1)"}', headers=headers)
    assert response.status_code == 422
    assert_clean_error(response)
    assert [error["loc"] for error in response.json()["detail"]] == [["header", "content-type"]]


def test_422_does_not_echo_the_input(client: httpx.Client) -> None:
    response = client.post("/execute", content=b'{"code": 987654321}', headers=JSON)
    assert response.status_code == 422
    assert "987654321" not in response.text


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"code": "1", "timeout_s": MAX_TIMEOUT_S}, id="timeout-at-max"),
        pytest.param({"code": "1", "timeout_s": 2}, id="timeout-integer"),
        pytest.param({"code": "1", "context": {"n": 5, "items": [1, {"a": None}]}}, id="context-object"),
        pytest.param({"code": "1", "context": {}}, id="context-empty"),
    ],
)
def test_valid_bodies_are_accepted(client: httpx.Client, body: dict[str, Any]) -> None:
    response = client.post("/execute", json=body)
    assert response.status_code == 200


def test_content_type_with_charset_is_accepted(client: httpx.Client) -> None:
    response = client.post(
        "/execute", content=b'{"code": "1"}', headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert response.status_code == 200


# --------------------------------------------------------------------------- 429


def test_429_when_the_queue_is_full(tmp_path: Path) -> None:
    overrides = {"EXECUTOR_MAX_CONCURRENT_EXECUTIONS": "1", "EXECUTOR_MAX_QUEUED_EXECUTIONS": "1"}
    with run_server(tmp_path, overrides) as server:
        responses: list[httpx.Response] = []
        lock = threading.Lock()
        barrier = threading.Barrier(4, timeout=10)

        def call() -> None:
            with server.client(timeout_s=15) as c:
                barrier.wait()
                response = c.post("/execute", json={"code": "import time\ntime.sleep(1)", "timeout_s": 5})
            with lock:
                responses.append(response)

        threads = [threading.Thread(target=call) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=20)
        assert len(responses) == 4  # every call came back: nothing hung
        rejected = [r for r in responses if r.status_code == 429]
        ran = [r for r in responses if r.status_code == 200]
        assert len(rejected) >= 1
        assert len(rejected) + len(ran) == 4
        assert all(r.json()["success"] for r in ran)
        for response in rejected:
            assert_clean_error(response)
            assert int(response.headers["Retry-After"]) >= 1
        assert sample(
            metrics_text(server), "executor_rejections_total", {"reason": "queue_full", "transport": "http"}
        ) == len(rejected)
        # The queue drains: the next call runs.
        after = server.execute("print(6 * 7)")
        assert after.status_code == 200
        assert after.json()["stdout"] == "42\n"


# --------------------------------------------------------------------------- 503 and /health


def test_503_and_unhealthy_without_a_token(tmp_path: Path) -> None:
    with run_server(tmp_path, token=None) as server:
        for headers in ({"X-Executor-Token": TOKEN}, {}):
            response = httpx.post(server.url + "/execute", json={"code": "print(1)"}, headers=headers)
            assert response.status_code == 503
            assert_clean_error(response)
            assert "Retry-After" in response.headers
        health = httpx.get(server.url + "/health", timeout=10)
        assert health.status_code == 503
        assert health.json()["status"] == "unhealthy"
        assert health.json()["checks"]["token_configured"] is False


def test_health_is_healthy_and_lists_layers(live_server: LiveServer) -> None:
    response = httpx.get(live_server.url + "/health", timeout=10)  # no token needed
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    assert body["checks"]["template_alive"] is True
    assert body["checks"]["self_test"]["ok"] is True
    layers = body["layers"]
    assert layers["restricted_python"] == "active"
    assert layers["process_per_execution"] == "active"
    assert layers["empty_environment"] == "active"
    assert layers["rlimits"] == "active"
    assert layers["seccomp"] == layers["landlock"] == "active"  # EXECUTOR_REQUIRED_LAYERS' default
    assert set(layers.values()) <= {"active", "unavailable"}
    assert body["checks"]["missing_layers"] == []


def test_get_execute_is_405(client: httpx.Client) -> None:
    response = client.get("/execute")
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert_clean_error(response)


# --------------------------------------------------------------------------- /metrics


def test_metrics_exposition(live_server: LiveServer) -> None:
    response = httpx.get(live_server.url + "/metrics", timeout=10)  # no token needed
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    assert "# TYPE executor_executions_total counter" in response.text
    assert "# TYPE executor_execution_duration_seconds histogram" in response.text
    assert "# TYPE executor_queue_wait_seconds histogram" in response.text
    assert "executor_executions_in_flight" in response.text
    assert "executor_executions_queued" in response.text


def test_metrics_count_executions_by_outcome(live_server: LiveServer) -> None:
    before = metrics_text(live_server)
    assert live_server.execute("print(1)").json()["success"] is True
    assert live_server.execute("1 / 0").json()["success"] is False
    after = metrics_text(live_server)
    for outcome in ("success", "error"):
        labels = {"outcome": outcome, "transport": "http"}
        delta = sample(after, "executor_executions_total", labels) - sample(before, "executor_executions_total", labels)
        assert delta == 1, outcome
    count = "executor_execution_duration_seconds_count"
    assert sample(after, count) - sample(before, count) == 2


def test_metrics_count_rejections_by_reason(live_server: LiveServer) -> None:
    before = metrics_text(live_server)
    httpx.post(live_server.url + "/execute", json={"code": "1"})
    with live_server.client() as c:
        c.post("/execute", json={"code": "import socket"})
    after = metrics_text(live_server)
    for reason in ("auth", "validation"):
        labels = {"reason": reason, "transport": "http"}
        delta = sample(after, "executor_rejections_total", labels) - sample(before, "executor_rejections_total", labels)
        assert delta == 1, reason


def test_error_bodies_reveal_no_internals(live_server: LiveServer) -> None:
    """One request per error status the live server can produce, all checked together."""
    with live_server.client() as c:
        responses = [
            c.post("/execute", json={"code": "import socket"}),
            httpx.post(live_server.url + "/execute", json={"code": "1"}),
            c.post("/execute", json={"code": "#" + "x" * MAX_CODE_BYTES}),
            c.post("/execute", content=b"{", headers=JSON),
            c.get("/execute"),
            c.get("/no-such-path"),
        ]
    assert [r.status_code for r in responses] == [400, 401, 413, 422, 405, 404]
    for response in responses:
        assert_clean_error(response)


def test_service_still_answers_after_the_table(live_server: LiveServer) -> None:
    started = time.monotonic()
    body = live_server.execute("print(6 * 7)").json()
    assert body["stdout"] == "42\n"
    assert time.monotonic() - started < 5


def test_a_body_declared_too_large_is_refused_before_it_is_sent(live_server: LiveServer) -> None:
    """413 from Content-Length alone: the server neither reads nor waits for the body
    (none is sent here; a server that waited would never answer)."""
    host, _, port = live_server.url.removeprefix("http://").rpartition(":")
    head = (
        f"POST /execute HTTP/1.1\r\nHost: {host}\r\nX-Executor-Token: {TOKEN}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {MAX_BODY_BYTES + 1}\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(head.encode())
        answer = connection.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413 ")


def test_a_chunked_body_over_the_limit_is_refused(client: httpx.Client) -> None:
    """No Content-Length to judge by: the body is counted as it streams in."""

    def chunks() -> Iterator[bytes]:
        # Short code, padded context: only the body limit applies, not the code limit.
        yield b'{"code": "1", "context": {"pad": "'
        yield b"x" * MAX_BODY_BYTES
        yield b'"}}'

    response = client.post("/execute", content=chunks(), headers=JSON)
    assert "content-length" not in response.request.headers  # sent chunked
    assert response.status_code == 413
    assert_clean_error(response)
