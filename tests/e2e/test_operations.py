"""What the people who run the service see: metrics, rate limits (in memory and shared
through a real redis-server), the audit log, HTTP hygiene. Each scenario runs its own
real server on 127.0.0.1 with the settings it is about.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from src.api.audit import token_fingerprint
from tests.support.redis_server import RedisServer
from tests.support.server import TOKEN, LiveServer, run_server, tight_rate_limit

# --------------------------------------------------------------------------- helpers


def log_lines(server: LiveServer) -> list[dict[str, Any]]:
    """The server's JSON log lines (uvicorn's and ours: one handler, one format)."""
    lines = []
    for raw in server.log().splitlines():
        if raw.startswith("{"):
            lines.append(json.loads(raw))
    return lines


def audit_lines(server: LiveServer) -> list[dict[str, Any]]:
    return [line for line in log_lines(server) if line.get("logger") == "executor.audit"]


def metric(server: LiveServer, name: str, **labels: str) -> float:
    """One sample of /metrics, parsed by prometheus-client's own parser."""
    text = httpx.get(server.url + "/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    raise AssertionError(f"{name}{labels} not found in /metrics")


# --------------------------------------------------------------------------- metrics


@pytest.fixture(scope="module")
def busy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server that has seen one of each outcome."""
    with run_server(tmp_path_factory.mktemp("busy")) as server:
        server.execute("print(6 * 7)")
        server.execute("1 / 0")
        server.execute("while True:\n    pass", timeout_s=0.5)
        server.execute("import socket")
        server.execute("print('x' * 70000)")
        with server.client(token="wrong") as client:
            client.post("/execute", json={"code": "print(1)"})
        yield server


FAMILIES = {
    "executor_executions": "counter",
    "executor_execution_duration_seconds": "histogram",
    "executor_queue_wait_seconds": "histogram",
    "executor_executions_in_flight": "gauge",
    "executor_executions_queued": "gauge",
    "executor_programs_checking": "gauge",
    "executor_rejections": "counter",
    "executor_limits_hit": "counter",
    "executor_ready_workers": "gauge",
    "executor_template_restarts": "counter",
    "executor_output_truncations": "counter",
    "executor_http_requests": "counter",
    "executor_http_request_duration_seconds": "histogram",
    "executor_template_hangs": "counter",
    "executor_template_responsive": "gauge",
    "executor_template_ping_seconds": "gauge",
    "executor_rate_limit_storage_up": "gauge",
    "executor_connections_closed": "counter",
    "executor_connections_open": "gauge",
    "executor_connections_refused": "counter",
}


@pytest.mark.parametrize(("family", "kind"), FAMILIES.items())
def test_metrics_exposes_every_family_with_its_type(busy_server: LiveServer, family: str, kind: str) -> None:
    text = httpx.get(busy_server.url + "/metrics", timeout=10).text
    exposed = f"{family}_total" if kind == "counter" else family  # the text format's counter name
    assert f"# TYPE {exposed} {kind}\n" in text


@pytest.mark.parametrize(
    ("name", "labels", "expected"),
    [
        (
            "executor_executions_total",
            {"outcome": "success", "transport": "http"},
            2,
        ),  # print(6*7), and the truncated print
        ("executor_executions_total", {"outcome": "error", "transport": "http"}, 1),
        ("executor_executions_total", {"outcome": "limit", "transport": "http"}, 1),
        ("executor_executions_total", {"outcome": "rejected", "transport": "http"}, 2),
        ("executor_rejections_total", {"reason": "validation", "transport": "http"}, 1),
        ("executor_rejections_total", {"reason": "auth", "transport": "http"}, 1),
        ("executor_limits_hit_total", {"kind": "timeout"}, 1),
        ("executor_output_truncations_total", {"stream": "stdout"}, 1),
        ("executor_http_requests_total", {"route": "/execute", "method": "POST", "status": "200"}, 4),
        ("executor_http_requests_total", {"route": "/execute", "method": "POST", "status": "400"}, 1),
        ("executor_http_requests_total", {"route": "/execute", "method": "POST", "status": "401"}, 1),
    ],
)
def test_metrics_count_what_happened(busy_server: LiveServer, name: str, labels: dict[str, str], expected: int) -> None:
    assert metric(busy_server, name, **labels) == expected


def test_execution_durations_resolve_milliseconds(busy_server: LiveServer) -> None:
    # Buckets of 1, 2 and 4 ms exist (metric() raises for a missing one); the trivial
    # executions of this server land below 16 ms.
    for bound in ("0.001", "0.002", "0.004", "0.008"):
        metric(busy_server, "executor_execution_duration_seconds_bucket", le=bound)
    assert metric(busy_server, "executor_execution_duration_seconds_bucket", le="0.016") >= 1


def test_unknown_paths_do_not_grow_the_label_set(busy_server: LiveServer) -> None:
    for i in range(5):
        httpx.get(f"{busy_server.url}/no-such-page-{i}", timeout=10)
    text = httpx.get(busy_server.url + "/metrics", timeout=10).text
    assert "no-such-page" not in text
    assert metric(busy_server, "executor_http_requests_total", route="unmatched", method="GET", status="404") == 5


# --------------------------------------------------------------------------- access log


def test_a_token_sent_in_a_query_string_never_reaches_the_log(live_server: LiveServer) -> None:
    response = httpx.get(live_server.url + "/health?token=secret123-in-a-query", timeout=10)
    assert response.status_code == 200
    # uvicorn writes its access line before it sends the response: the line is there now.
    access = [line["message"] for line in log_lines(live_server) if line["logger"] == "uvicorn.access"]
    assert any(message.endswith('"GET /health?[redacted] HTTP/1.1" 200') for message in access), access
    assert "secret123-in-a-query" not in live_server.log()


# --------------------------------------------------------------------------- audit log


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, httpx.Response]]]:
    with run_server(tmp_path_factory.mktemp("audit")) as server, server.client() as client:
        responses = {
            "ran": client.post(
                "/execute",
                json={"code": "print('audit-canary-code')", "context": {"secret_value": "context-canary-value"}},
                headers={"X-Request-ID": "audit-test-0001"},
            ),
            "rejected": client.post(
                "/execute", json={"code": "import socket"}, headers={"X-Request-ID": "audit-test-0002"}
            ),
        }
        with server.client(token="not-the-token") as intruder:
            responses["unauthorized"] = intruder.post("/execute", json={"code": "print(1)"})
        # No wait: the audit line is logged (and flushed) before the response is sent.
        yield server, responses


def test_one_audit_line_per_execution_request(audited: tuple[LiveServer, dict[str, httpx.Response]]) -> None:
    server, _ = audited
    assert len(audit_lines(server)) == 3


def test_audit_line_describes_the_execution(audited: tuple[LiveServer, dict[str, httpx.Response]]) -> None:
    server, _ = audited
    line = next(a for a in audit_lines(server) if a["request_id"] == "audit-test-0001")
    code = b"print('audit-canary-code')"
    assert line["client_ip"] == "127.0.0.1"
    assert line["token_fingerprint"] == token_fingerprint(TOKEN)
    assert line["code_bytes"] == len(code)
    assert len(line["code_sha256"]) == 64
    assert line["context_keys"] == ["secret_value"]
    assert line["input_files"] == 0
    assert (line["status"], line["outcome"], line["limit"]) == (200, "success", None)
    assert line["stdout_bytes"] == len("audit-canary-code\n")
    assert line["duration_ms"] > 0
    assert line["timestamp"]


def test_refusals_are_audited_with_their_reason(audited: tuple[LiveServer, dict[str, httpx.Response]]) -> None:
    server, _ = audited
    by_status = {a["status"]: a for a in audit_lines(server)}
    assert (by_status[400]["outcome"], by_status[400]["reason"]) == ("rejected", "validation")
    assert (by_status[401]["outcome"], by_status[401]["reason"]) == ("rejected", "auth")
    assert by_status[401]["token_fingerprint"] == token_fingerprint("not-the-token")


@pytest.mark.parametrize("secret", ["audit-canary-code", "context-canary-value", TOKEN, "not-the-token"])
def test_logs_never_hold_code_context_values_or_tokens(
    audited: tuple[LiveServer, dict[str, httpx.Response]], secret: str
) -> None:
    server, _ = audited
    assert secret not in server.log()


def test_request_id_is_returned_and_in_every_line_of_its_request(
    audited: tuple[LiveServer, dict[str, httpx.Response]],
) -> None:
    server, responses = audited
    assert responses["ran"].headers["X-Request-ID"] == "audit-test-0001"
    assert responses["ran"].json()["request_id"] == "audit-test-0001"
    mine = [line for line in log_lines(server) if line.get("request_id") == "audit-test-0001"]
    assert {line["logger"] for line in mine} >= {"executor.audit", "uvicorn.access"}


def test_a_request_id_is_made_when_absent(audited: tuple[LiveServer, dict[str, httpx.Response]]) -> None:
    _, responses = audited
    made = responses["unauthorized"].headers["X-Request-ID"]
    assert len(made) == 32 and int(made, 16) >= 0


def test_every_log_line_is_json(audited: tuple[LiveServer, dict[str, httpx.Response]]) -> None:
    server, _ = audited
    lines = [raw for raw in server.log().splitlines() if raw.strip()]
    assert lines and all(raw.startswith("{") for raw in lines), [raw for raw in lines if not raw.startswith("{")]


# --------------------------------------------------------------------------- rate limits


def assert_rate_limited(response: httpx.Response) -> None:
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    for header in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
        assert header in response.headers, header
    assert "rate limit exceeded" in response.json()["detail"]


def test_rate_limit_per_token(tmp_path: Path) -> None:
    env = {"EXECUTOR_RATE_LIMIT_EXECUTE_PER_TOKEN": tight_rate_limit(3)}
    with run_server(tmp_path, env) as server:
        within = [server.execute("print(1)") for _ in range(3)]
        assert [r.status_code for r in within] == [200, 200, 200]
        # The headers describe the binding limit (per token here), not the roomier per-IP one.
        assert [r.headers["X-RateLimit-Remaining"] for r in within] == ["2", "1", "0"]
        assert {r.headers["X-RateLimit-Limit"] for r in within} == {"3"}
        refused = server.execute("print(1)")
        assert_rate_limited(refused)
        assert (refused.headers["X-RateLimit-Limit"], refused.headers["X-RateLimit-Remaining"]) == ("3", "0")
        assert metric(server, "executor_rejections_total", reason="rate_limited", transport="http") == 1
        # The limit is on execution, never on the probes orchestrators depend on.
        assert httpx.get(server.url + "/health", timeout=10).status_code == 200
        assert httpx.get(server.url + "/livez", timeout=10).status_code == 200


def test_rate_limit_per_ip(tmp_path: Path) -> None:
    env = {"EXECUTOR_RATE_LIMIT_EXECUTE_PER_IP": tight_rate_limit(2)}
    with run_server(tmp_path, env) as server:
        assert [server.execute("print(1)").status_code for _ in range(2)] == [200, 200]
        assert_rate_limited(server.execute("print(1)"))


def test_rate_limits_can_be_switched_off(tmp_path: Path) -> None:
    env = {"EXECUTOR_RATE_LIMIT_EXECUTE_PER_TOKEN": tight_rate_limit(1), "EXECUTOR_RATE_LIMITS_ENABLED": "false"}
    with run_server(tmp_path, env) as server:
        assert [server.execute("print(1)").status_code for _ in range(3)] == [200, 200, 200]


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    redis = RedisServer(tmp_path_factory.mktemp("redis"))
    redis.start()
    try:
        yield redis.url
    finally:
        redis.stop()


def test_replicas_share_one_budget_through_redis(tmp_path: Path, redis_url: str) -> None:
    env = {"EXECUTOR_RATE_LIMIT_STORAGE_URI": redis_url, "EXECUTOR_RATE_LIMIT_EXECUTE_PER_TOKEN": tight_rate_limit(4)}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with run_server(tmp_path / "a", env) as first, run_server(tmp_path / "b", env) as second:
        statuses = [server.execute("print(1)").status_code for server in (first, second, first, second)]
        assert statuses == [200, 200, 200, 200]
        assert_rate_limited(first.execute("print(1)"))
        assert_rate_limited(second.execute("print(1)"))


# --------------------------------------------------------------------------- HTTP hygiene


@pytest.mark.parametrize("path", ["/execute", "/health", "/livez", "/metrics"])
def test_security_headers_on_every_answer(live_server: LiveServer, path: str) -> None:
    with live_server.client() as client:
        response = client.post(path, json={"code": "1"}) if path == "/execute" else client.get(path)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


def test_cors_is_off_by_default(live_server: LiveServer) -> None:
    preflight = httpx.options(
        live_server.url + "/execute",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_cors_allows_only_the_listed_origins(tmp_path: Path) -> None:
    env = {"EXECUTOR_CORS_ALLOW_ORIGINS": "https://app.example"}
    with run_server(tmp_path, env) as server:

        def preflight(origin: str) -> httpx.Response:
            return httpx.options(
                server.url + "/execute",
                headers={
                    "Origin": origin,
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "content-type,x-executor-token",
                },
                timeout=10,
            )

        allowed = preflight("https://app.example")
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
        assert "POST" in allowed.headers["access-control-allow-methods"]
        assert "access-control-allow-origin" not in preflight("https://evil.example").headers


def test_docs_and_schema_can_be_turned_off(tmp_path: Path) -> None:
    with run_server(tmp_path, {"EXECUTOR_DOCS_ENABLED": "false"}) as server:
        assert httpx.get(server.url + "/docs", timeout=10).status_code == 404
        assert httpx.get(server.url + "/openapi.json", timeout=10).status_code == 404
        assert server.execute("print(1)").status_code == 200


def test_docs_are_served_by_default(live_server: LiveServer) -> None:
    assert httpx.get(live_server.url + "/openapi.json", timeout=10).status_code == 200
