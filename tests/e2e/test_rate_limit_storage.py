"""A Redis outage, against a real server and a real redis-server killed and restarted on
the same port: visible on /health and /metrics, executions go on in memory (fail open)
or are refused with a 503 (fail closed), and the counters go back to Redis within
seconds of its return."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.support.redis_server import RedisServer
from tests.support.server import LiveServer, run_server
from tests.support.waiting import wait_until

#: Bounds a failing test only: the storage is probed every 2 s.
RECOVERY_WAIT_S = 15


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def storage_check(server: LiveServer) -> tuple[str, dict[str, Any]]:
    body = httpx.get(server.url + "/health", timeout=10).json()
    return body["status"], body["checks"]["rate_limit_storage"]


def storage_up(server: LiveServer) -> float:
    return server.metric("executor_rate_limit_storage_up")


def test_an_outage_fails_open_visibly_and_recovery_resumes_counting_in_redis(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    with run_server(tmp_path, {"EXECUTOR_RATE_LIMIT_STORAGE_URI": redis_server.url}) as server:
        assert server.execute("print(1)").status_code == 200
        assert storage_check(server) == ("healthy", {"kind": "redis", "reachable": True, "fail_mode": "open"})
        assert storage_up(server) == 1

        redis_server.stop()
        assert server.execute("print(1)").status_code == 200  # counted in memory meanwhile
        wait_until(lambda: not storage_check(server)[1]["reachable"], "the outage to show on /health")
        assert storage_check(server)[0] == "degraded"
        assert storage_up(server) == 0
        assert "rate-limit storage unreachable" in server.log()

        redis_server.start()  # empty: no persistence
        wait_until(lambda: storage_check(server)[1]["reachable"], "Redis to be seen again", RECOVERY_WAIT_S)
        assert storage_up(server) == 1
        assert server.execute("print(1)").status_code == 200
        assert redis.Redis.from_url(redis_server.url).keys("*")  # counted in Redis again
        assert server.metric("executor_http_requests_total", route="/execute", method="POST", status="500") == 0


def test_an_outage_fails_closed_when_asked(tmp_path: Path, redis_server: RedisServer) -> None:
    env = {"EXECUTOR_RATE_LIMIT_STORAGE_URI": redis_server.url, "EXECUTOR_RATE_LIMIT_FAIL_MODE": "closed"}
    with run_server(tmp_path, env) as server:
        assert server.execute("print(1)").status_code == 200
        redis_server.stop()
        refused = server.execute("print(1)")
        assert refused.status_code == 503
        assert int(refused.headers["Retry-After"]) >= 1
        assert "rate-limit storage is unreachable" in refused.json()["detail"]
        assert server.metric("executor_rejections_total", reason="limits_unavailable", transport="http") == 1
        assert storage_check(server)[1] == {"kind": "redis", "reachable": False, "fail_mode": "closed"}

        redis_server.start()
        wait_until(lambda: storage_check(server)[1]["reachable"], "Redis to be seen again", RECOVERY_WAIT_S)
        assert server.execute("print(1)").status_code == 200


def test_memory_storage_is_always_reachable(live_server: LiveServer) -> None:
    assert storage_check(live_server)[1] == {"kind": "memory", "reachable": True, "fail_mode": "open"}
    assert storage_up(live_server) == 1
