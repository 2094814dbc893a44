"""EXECUTOR_REQUIRED_LAYERS and EXECUTOR_API_TOKEN_FILE through a real server.

A host without Landlock is stood in for by tests/support/weakened_app.py, whose
template skips the layer: the service must then say so on /health and, when the layer
is required, refuse executions instead of running weaker.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.server import LiveServer, run_server

WEAKENED_APP = "tests.support.weakened_app:app"


@pytest.fixture(scope="module")
def landlock_required_but_missing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    env = {"EXECUTOR_REQUIRED_LAYERS": "seccomp,landlock"}
    with run_server(tmp_path_factory.mktemp("weakened"), env, app=WEAKENED_APP) as server:
        yield server


def test_health_is_unhealthy_and_names_the_missing_layer(landlock_required_but_missing: LiveServer) -> None:
    response = httpx.get(landlock_required_but_missing.url + "/health", timeout=10)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["checks"]["required_layers"] == ["landlock", "seccomp"]
    assert body["checks"]["missing_layers"] == ["landlock"]
    assert body["layers"]["landlock"] == "disabled"
    assert body["layers"]["seccomp"] == "active"


def test_execute_is_refused_rather_than_run_weaker(landlock_required_but_missing: LiveServer) -> None:
    response = landlock_required_but_missing.execute("print(1)")
    assert response.status_code == 503
    assert response.json() == {"detail": "required isolation layers are not active on this host: landlock"}
    assert response.headers["Retry-After"] == "30"


def test_start_up_log_says_what_is_missing(landlock_required_but_missing: LiveServer) -> None:
    assert "required isolation layers are not available on this host: landlock" in landlock_required_but_missing.log()


def test_landlock_is_required_by_default(tmp_path: Path) -> None:
    """A host without Landlock refuses executions until the operator says it may run
    without it: an escape from the language layer would read any file there."""
    with run_server(tmp_path, app=WEAKENED_APP) as server:
        health = httpx.get(server.url + "/health", timeout=10)
        assert (health.status_code, health.json()["checks"]["missing_layers"]) == (503, ["landlock"])
        assert server.execute("print(6 * 7)").status_code == 503


def test_missing_layer_that_is_not_required_is_reported_and_serves(tmp_path: Path) -> None:
    with run_server(tmp_path, {"EXECUTOR_REQUIRED_LAYERS": "seccomp"}, app=WEAKENED_APP) as server:
        health = httpx.get(server.url + "/health", timeout=10)
        assert (health.status_code, health.json()["layers"]["landlock"]) == (200, "disabled")
        assert server.execute("print(6 * 7)").json()["stdout"] == "42\n"


def test_token_from_a_secret_file(tmp_path: Path) -> None:
    secret = tmp_path / "executor-token"
    secret.write_text("file-token-0123456789abcdef\n")
    with run_server(tmp_path, {"EXECUTOR_API_TOKEN_FILE": str(secret)}, token=None) as server:
        with server.client(token="file-token-0123456789abcdef") as client:
            response = client.post("/execute", json={"code": "print(6 * 7)"})
            assert (response.status_code, response.json()["stdout"]) == (200, "42\n")
        with server.client(token="wrong") as client:
            assert client.post("/execute", json={"code": "print(1)"}).status_code == 401
        assert "file-token-0123456789abcdef" not in server.log()


def test_unreadable_token_file_stops_start_up(tmp_path: Path) -> None:
    env = {"EXECUTOR_API_TOKEN_FILE": str(tmp_path / "absent")}
    with (
        pytest.raises(RuntimeError, match="EXECUTOR_API_TOKEN_FILE cannot be read"),
        run_server(tmp_path, env, token=None),
    ):
        pass
