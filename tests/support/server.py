"""Shared test helpers: the lowered test settings, and a real uvicorn server on 127.0.0.1.

End-to-end tests talk to a real uvicorn process with real workers; limits are lowered so
that limit tests stay fast.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from src.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TOKEN = "test-token-0123456789abcdef"

#: Settings every test server and in-process test starts from (lowered limits).
TEST_ENV: dict[str, str] = {
    "EXECUTOR_EXECUTION_TIMEOUT_S": "3",
    "EXECUTOR_MAX_TIMEOUT_S": "10",
    "EXECUTOR_MAX_MEMORY_MB": "256",
    "EXECUTOR_MAX_CPU_S": "10",
    "EXECUTOR_MAX_STDOUT_BYTES": "65536",
    "EXECUTOR_MAX_STDERR_BYTES": "16384",
    "EXECUTOR_MAX_RESULT_BYTES": "65536",
    "EXECUTOR_MAX_BODY_BYTES": "262144",
    "EXECUTOR_MAX_CODE_BYTES": "131072",
    "EXECUTOR_MAX_CONCURRENT_EXECUTIONS": "2",
    "EXECUTOR_MAX_QUEUED_EXECUTIONS": "16",
    "EXECUTOR_PREFORK_WORKERS": "2",
    # The data tier's template (a few seconds to start) only where it is the point
    # (tests/e2e/test_data.py): every other server starts as fast as before.
    "EXECUTOR_DATA_TIER_ENABLED": "false",
    # Rate limits have their own tests (tests/e2e/test_operations.py), with their own servers.
    "EXECUTOR_RATE_LIMIT_EXECUTE_PER_TOKEN": "1000000/minute",
    "EXECUTOR_RATE_LIMIT_EXECUTE_PER_IP": "1000000/minute",
}


#: The period of the tight rate limits tests set, and how long before its end a test
#: waits for the next one rather than start.
RATE_LIMIT_PERIOD = "day"
RATE_LIMIT_PERIOD_S = 86_400
RATE_LIMIT_EDGE_MARGIN_S = 120.0


def tight_rate_limit(count: int) -> str:
    """``"<count>/day"``, once the clock is at least RATE_LIMIT_EDGE_MARGIN_S from the end
    of the current window.

    The sliding-window-counter strategy's windows are aligned to the wall clock, and just
    after a boundary it counts the previous window's hits at a weight below one, rounded
    down: 2 hits a second before the boundary weigh 1 a second after it, and a third is let
    through. A test that counts hits to a refusal must see them all in one window; with a
    day-long window and a two-minute margin it always does, and it waits only when started
    in the last two minutes of a UTC day."""
    left = RATE_LIMIT_PERIOD_S - time.time() % RATE_LIMIT_PERIOD_S
    if left < RATE_LIMIT_EDGE_MARGIN_S:
        time.sleep(left + 1.0)
    return f"{count}/{RATE_LIMIT_PERIOD}"


def make_settings(**overrides: Any) -> Settings:
    """Settings from TEST_ENV plus overrides, never from the environment or a .env file."""
    values: dict[str, Any] = {k.removeprefix("EXECUTOR_").lower(): v for k, v in TEST_ENV.items()}
    values["api_token"] = SecretStr(TOKEN)
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class LiveServer:
    url: str
    token: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def client(self, token: str | None = None, timeout_s: float = 30.0) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"X-Executor-Token": self.token if token is None else token}, timeout=timeout_s
        )

    def execute(self, code: str, **body: Any) -> httpx.Response:
        with self.client() as client:
            return client.post("/execute", json={"code": code, **body})

    def reply(self, code: str, **body: Any) -> dict[str, Any]:
        """The body of /execute's answer, which must be a 200 (a failed run is one too)."""
        response = self.execute(code, **body)
        assert response.status_code == 200, response.text
        reply: dict[str, Any] = response.json()
        return reply

    def assert_still_serves(self) -> None:
        """After an attack: an ordinary program still runs and prints what it should."""
        reply = self.reply("print(6 * 7)")
        assert reply["success"] is True
        assert reply["stdout"] == "42\n"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def metric(self, name: str, **labels: str) -> float:
        """One sample of /metrics (parsed by prometheus-client's own parser); 0.0 when the
        sample is absent, as for a labelled counter that has not counted yet."""
        text = httpx.get(self.url + "/metrics", timeout=10).text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and sample.labels == labels:
                    return float(sample.value)
        return 0.0

    def listening(self) -> bool:
        """Whether the server's port still accepts connections (from /proc/net/tcp, so
        that asking does not itself make a connection)."""
        port = int(self.url.rpartition(":")[2])
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with contextlib.suppress(FileNotFoundError):
                for row in Path(table).read_text().splitlines()[1:]:
                    fields = row.split()
                    if int(fields[1].rpartition(":")[2], 16) == port and fields[3] == "0A":  # TCP_LISTEN
                        return True
        return False


def start_server(
    tmp_dir: Path,
    env_overrides: dict[str, str] | None = None,
    token: str | None = TOKEN,
    *,
    app: str = "src.main:app",
    command_prefix: Sequence[str] = (),
    serve_options: Sequence[str] = (),
    port: int | None = None,
) -> LiveServer:
    """Start serving ``app`` as run_server does, on ``port`` (a free one by default), and
    return at once: ``wait_until_serving`` waits for it, ``stop_server`` stops it."""
    port = free_port() if port is None else port
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXECUTOR_")}
    env.update(TEST_ENV)
    if token is not None:
        env["EXECUTOR_API_TOKEN"] = token
    env.update(env_overrides or {})
    log_path = tmp_dir / f"server-{port}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [*command_prefix, sys.executable, "-m", "tests.support.serve", app, "--port", str(port), *serve_options],
            cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    return LiveServer(f"http://127.0.0.1:{port}", token or "", process, log_path)


def wait_until_serving(server: LiveServer, timeout_s: float = 30.0) -> None:
    """Until the server answers /livez; RuntimeError, with its log, if it exits or is late."""
    deadline = time.monotonic() + timeout_s
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited during start-up:\n{server.log()}")
        try:
            httpx.get(server.url + "/livez", timeout=1)
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not answer in {timeout_s:g} s:\n{server.log()}") from None
            time.sleep(0.1)


def stop_server(server: LiveServer) -> None:
    """SIGTERM to the server's process group, SIGKILL if it lingers."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.process.pid, 15)
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(server.process.pid, 9)
        server.process.wait(timeout=10)


@contextlib.contextmanager
def run_server(
    tmp_dir: Path,
    env_overrides: dict[str, str] | None = None,
    token: str | None = TOKEN,
    *,
    app: str = "src.main:app",
    command_prefix: Sequence[str] = (),
    serve_options: Sequence[str] = (),
) -> Iterator[LiveServer]:
    """Serve ``app`` (MODULE:ATTR) as the console script does (tests/support/serve.py) on a
    free loopback port; stop it (and its children) after.
    ``command_prefix`` runs it under another command (``setpriv ...``), which must exec;
    ``serve_options`` are options of src.main.run (``--forwarded-allow-ips``)."""
    server = start_server(
        tmp_dir, env_overrides, token, app=app, command_prefix=command_prefix, serve_options=serve_options
    )
    try:
        wait_until_serving(server)
        yield server
    finally:
        stop_server(server)
