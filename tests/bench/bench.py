"""Latency and throughput of the execution service, against its own HTTP floor.

    .venv/bin/python -m tests.bench.bench                      # starts its own uvicorn
    .venv/bin/python -m tests.bench.bench --json out.json      # also write the results
    .venv/bin/python -m tests.bench.bench --url http://127.0.0.1:8030 --token "$TOKEN"

Without ``--url`` it starts ``python -m uvicorn src.main:app`` on a free loopback port
(random token, ``EXECUTOR_MAX_CONCURRENT_EXECUTIONS`` = CPU count unless told otherwise,
a queue large enough for the concurrency used, every other setting at its default: the
server runs in an empty directory so a developer's ``.env`` does not apply), waits for
/livez, measures, then stops the server's whole process group.

Workloads, each at every ``--concurrency`` level (default 1 and 8):

* ``floor``    GET /livez: the HTTP floor (same server, same run, same client);
* ``trivial``  ``print(6*7)``: the fixed cost of one sandboxed execution;
* ``compute``  a sum of squares over 200k integers (CPU-bound);
* ``output``   a program printing 50 KB;
* ``rejected`` ``import os``, refused by the validator with 400 before anything runs;
* ``input_1mb``, ``file_out``: a 1 MB input file; a file written and read back;
* ``pandas``   a small pandas groupby (the data tier, docs/data.md);
* ``chart``    one matplotlib bar chart, returned as a figure;
* ``session``  ``print(6*7)`` in a warm session (docs/sessions.md): one session per
  concurrent client, opened before the warm-up, deleted after.

``--idle-sessions N`` also opens N sessions (each has run one small call) and reports the
memory they cost: the proportional set size (PSS, from ``/proc/<pid>/smaps_rollup``; needs
root or the same user) of the server's whole process tree before and after, per session,
and how many idle sessions fit in ``--container-mb`` (the compose file's limit by default).

The data tier's workloads are also run as plain CPython does them (``--cpython``, on by
default when they are selected): a fresh ``python -c`` per program, importing the libraries
and running the same code, one at a time and 8 at once, for the same bounded time.

The client is deliberately cheap, since it shares the machine's cores with the server:
one raw keep-alive HTTP/1.1 socket per concurrent client (a thread each), prebuilt
request bytes, and a parser that reads only the status line and Content-Length. Each
measurement is preceded by a warm-up on the same connections and stops at
``--requests`` or ``--duration-s``, whichever comes first.

Exit status: 0 when every answer had the expected status and body, 1 when some did
not, 2 when the service could not be started or reached. Targets missed are reported,
never fatal.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import ipaddress
import itertools
import json
import math
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent

#: Headline targets: trivial p50 at c=1 over floor p50 at c=1, and trivial exec/s at c=8.
TARGET_TRIVIAL_OVER_FLOOR = 12.0
TARGET_TRIVIAL_RATE_C8 = 500.0
TARGET_INPUT_FILE_OVER_TRIVIAL = 2.0

MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 16 * 1024 * 1024
RECV_BYTES = 256 * 1024
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


# --------------------------------------------------------------------------- workloads

COMPUTE_CODE = "total = 0\nfor i in range(200_000):\n    total += i * i\ntotal\n"
COMPUTE_RESULT = sum(i * i for i in range(200_000))
OUTPUT_LINES = 1000
OUTPUT_CODE = f'line = "x" * 49\nfor i in range({OUTPUT_LINES}):\n    print(line)\n'
OUTPUT_BYTES = OUTPUT_LINES * 50
INPUT_FILE_BYTES = 1_000_000
PANDAS_CODE = """import pandas as pd
sales = pd.DataFrame({"team": ["a", "b", "a", "c", "b", "a"], "amount": [3.0, 1.5, 2.0, 4.0, 2.5, 1.0]})
totals = sales.groupby("team")["amount"].agg(["sum", "mean"]).round(2)
print(totals.to_string())
totals["sum"].to_dict()
"""
CHART_CODE = """import matplotlib.pyplot as plt
fig, ax = plt.subplots(figsize=(4, 3), dpi=80)
ax.bar(["a", "b", "c"], [3, 1, 2])
ax.set_title("teams")
"""
#: The data tier's workloads, which --cpython also runs in plain CPython processes.
DATA_WORKLOADS = ("pandas", "chart")
#: A workload path with this in it runs in a session of its own per client.
SESSION_PLACEHOLDER = "{session}"
#: docker-compose.yml's mem_limit: the default container.
DEFAULT_CONTAINER_MB = 2048


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    method: str
    path: str
    code: str | None
    expect_status: int
    #: Every one of these byte strings must occur in an expected answer's body.
    markers: tuple[bytes, ...]
    min_body_bytes: int = 0
    #: The request's input files.
    files: tuple[dict[str, str], ...] = ()

    def accepts(self, status: int, body: bytes) -> bool:
        return (
            status == self.expect_status
            and len(body) >= self.min_body_bytes
            and all(marker in body for marker in self.markers)
        )


WORKLOADS: tuple[Workload, ...] = (
    Workload("floor", "GET /livez", "GET", "/livez", None, 200, (b'"alive"',)),
    Workload("trivial", "print(6*7)", "POST", "/execute", "print(6*7)", 200, (b'"success":true', b'"stdout":"42\\n"')),
    Workload(
        "session",
        "print(6*7) in a warm session",
        "POST",
        f"/sessions/{SESSION_PLACEHOLDER}/execute",
        "print(6*7)",
        200,
        (b'"success":true', b'"stdout":"42\\n"'),
    ),
    Workload(
        "compute",
        "sum of i*i for i < 200k",
        "POST",
        "/execute",
        COMPUTE_CODE,
        200,
        (f'"success":true,"result":{COMPUTE_RESULT},'.encode(),),
    ),
    Workload(
        "output",
        f"print {OUTPUT_BYTES // 1000} KB",
        "POST",
        "/execute",
        OUTPUT_CODE,
        200,
        (b'"success":true', b'"truncated":{"stdout":false'),
        min_body_bytes=OUTPUT_BYTES,
    ),
    Workload("rejected", "import socket -> 400", "POST", "/execute", "import socket\n", 400, (b'"detail"',)),
    Workload(
        "input_1mb",
        "print(6*7) with a 1 MB input file",
        "POST",
        "/execute",
        "print(6*7)",
        200,
        (b'"success":true', b'"stdout":"42\\n"', b'"files":[]'),
        files=({"path": "data.txt", "content": "x" * INPUT_FILE_BYTES},),
    ),
    Workload(
        "file_out",
        "write a 1 KB file and read it back",
        "POST",
        "/execute",
        "open('out.txt', 'w').write('x' * 1024)\nlen(open('out.txt').read())",
        200,
        (b'"success":true,"result":1024', b'"path":"out.txt"'),
    ),
    Workload(
        "pandas",
        "a pandas groupby (data tier)",
        "POST",
        "/execute",
        PANDAS_CODE,
        200,
        (b'"success":true,"result":{"a":6.0,"b":4.0,"c":4.0}',),
    ),
    Workload(
        "chart",
        "one matplotlib chart, returned as a figure (data tier)",
        "POST",
        "/execute",
        CHART_CODE,
        200,
        (b'"success":true', b'"media_type":"image/png","width":320,"height":240'),
    ),
)


@dataclass
class CPythonResult:
    """A data workload's program run as plain CPython runs it: one process per run."""

    workload: str
    concurrency: int
    runs: int
    p50_ms: float
    per_s: float


def measure_cpython(workload: Workload, concurrency: int, duration_s: float, max_runs: int) -> CPythonResult:
    """Fresh ``python -c`` processes (importing the libraries each time), ``concurrency``
    at once, until ``max_runs`` or ``duration_s``: the cost the data template saves."""
    code = workload.code
    assert code is not None
    env = {**os.environ, "MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1"}
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + duration_s
    started = time.perf_counter()

    def client() -> None:
        while time.perf_counter() < deadline:
            with lock:
                if len(latencies) >= max_runs:
                    return
            begun = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, check=True, timeout=60)
            with lock:
                latencies.append(time.perf_counter() - begun)

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return CPythonResult(
        workload.name,
        concurrency,
        len(ordered),
        round(percentile(ordered, 50) * 1000.0, 3),
        round(len(ordered) / elapsed, 2) if elapsed > 0 else 0.0,
    )


def build_request(workload: Workload, host_header: str, token: str, session_id: str = "") -> bytes:
    """The complete request bytes, built once per measurement and sent as they are."""
    path = workload.path.replace(SESSION_PLACEHOLDER, session_id)
    lines = [f"{workload.method} {path} HTTP/1.1", f"Host: {host_header}"]
    body = b""
    if workload.code is not None:
        request: dict[str, Any] = {"code": workload.code}
        if workload.files:
            request["files"] = list(workload.files)
        body = json.dumps(request, separators=(",", ":")).encode()
        lines += [f"X-Executor-Token: {token}", "Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


# --------------------------------------------------------------------------- client


class ProtocolError(Exception):
    """The answer was not the HTTP/1.1 this client understands, or came too late."""


class Connection:
    """One keep-alive HTTP/1.1 connection: send prebuilt bytes, read status + Content-Length body."""

    def __init__(self, host: str, port: int, timeout_s: float) -> None:
        self.host = host
        self.port = port
        self.timeout_s = timeout_s
        self._sock: socket.socket | None = None
        self._buf = bytearray()

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None
        self._buf.clear()

    def _connect(self) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout_s)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock
        return sock

    def _fill(self, sock: socket.socket, deadline: float) -> None:
        if time.monotonic() > deadline:
            raise ProtocolError(f"no complete answer within {self.timeout_s} s")
        chunk = sock.recv(RECV_BYTES)
        if not chunk:
            raise ProtocolError("connection closed by the server mid-answer")
        self._buf += chunk

    def exchange(self, request: bytes) -> tuple[int, bytes]:
        """Send one request and return (status, body). Raises OSError or ProtocolError."""
        sock = self._sock or self._connect()
        deadline = time.monotonic() + self.timeout_s
        sock.sendall(request)
        buf = self._buf
        while (head_end := buf.find(b"\r\n\r\n")) < 0:
            if len(buf) > MAX_HEAD_BYTES:
                raise ProtocolError("response head too large")
            self._fill(sock, deadline)
        head = bytes(buf[:head_end])
        del buf[: head_end + 4]
        status_line, _, header_block = head.partition(b"\r\n")
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
            raise ProtocolError(f"bad status line {status_line[:80]!r}")
        status = int(parts[1])
        length: int | None = None
        close = parts[0] == b"HTTP/1.0"
        for line in header_block.split(b"\r\n"):
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value.strip())
            elif name == b"connection":
                close = b"close" in value.lower()
            elif name == b"transfer-encoding":
                raise ProtocolError("Transfer-Encoding is not supported by this client; expected Content-Length")
        if length is None:
            if status in (204, 304) or 100 <= status < 200:
                length = 0
            else:
                raise ProtocolError(f"status {status} without Content-Length")
        if length > MAX_BODY_BYTES:
            raise ProtocolError(f"body of {length} bytes is larger than this client accepts")
        while len(buf) < length:
            self._fill(sock, deadline)
        body = bytes(buf[:length])
        del buf[:length]
        if close:
            self.close()
        return status, body


def fetch(
    host: str, port: int, method: str, path: str, timeout_s: float = 5.0, *, token: str | None = None, body: bytes = b""
) -> tuple[int, bytes]:
    """One request on a fresh connection (start-up probes, /health, sessions)."""
    conn = Connection(host, port, timeout_s)
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n"
    if token is not None:
        head += f"X-Executor-Token: {token}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    try:
        return conn.exchange((head + "\r\n").encode() + body)
    finally:
        conn.close()


def open_session(server: Server) -> str:
    status, body = fetch(server.host, server.port, "POST", "/sessions", 30.0, token=server.token)
    if status != 201:
        raise StartError(f"POST /sessions answered {status}: {body[:200]!r}")
    session_id: str = json.loads(body)["session_id"]
    return session_id


def close_session(server: Server, session_id: str) -> None:
    fetch(server.host, server.port, "DELETE", f"/sessions/{session_id}", 30.0, token=server.token)


# --------------------------------------------------------------------------- measurement


def percentile(ordered: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default) on sorted data."""
    if not ordered:
        return float("nan")
    pos = (len(ordered) - 1) * q / 100.0
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


@dataclass
class Phase:
    """What the clients saw during one bounded run (warm-up or measurement)."""

    latencies_s: list[float] = field(default_factory=list)
    unexpected: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    client_cpu_s: float = 0.0
    stopped_by: str = "count"
    stuck_clients: int = 0


@dataclass
class Result:
    workload: str
    description: str
    concurrency: int
    requests: int
    ok: int
    unexpected: dict[str, int]
    unexpected_samples: list[str]
    warmup_requests: int
    warmup_unexpected: dict[str, int]
    elapsed_s: float
    stopped_by: str
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    per_s: float
    client_cpu_pct: float
    p50_over_floor: float | None = None

    @property
    def bad(self) -> int:
        return sum(self.unexpected.values()) + sum(self.warmup_unexpected.values())


@dataclass
class Schedule:
    """Shared by the clients of one phase: what to send, who may start a request, and until when."""

    #: One per connection (a session's calls go to that client's own session).
    requests: Sequence[bytes]
    workload: Workload
    limit: int
    go: threading.Event = field(default_factory=threading.Event)
    deadline: float = 0.0
    #: next() on itertools.count is atomic under the GIL: the shared ticket dispenser.
    tickets: Iterator[int] = field(default_factory=itertools.count)


@dataclass
class Tally:
    """One client's own record (no locking needed); merged after the phase."""

    latencies_s: list[float] = field(default_factory=list)
    unexpected: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)
    finished_at: float | None = None


def _client(conn: Connection, schedule: Schedule, tally: Tally, index: int) -> None:
    schedule.go.wait()
    clock = time.perf_counter
    request, accepts = schedule.requests[index], schedule.workload.accepts
    deadline, limit, tickets = schedule.deadline, schedule.limit, schedule.tickets
    latencies, unexpected, samples = tally.latencies_s, tally.unexpected, tally.samples
    while next(tickets) < limit and clock() < deadline:
        started = clock()
        try:
            status, body = conn.exchange(request)
        except (OSError, ProtocolError, ValueError) as exc:
            conn.close()
            unexpected[f"error:{type(exc).__name__}"] += 1
            if len(samples) < 3:
                samples.append(f"{type(exc).__name__}: {exc}"[:300])
            continue
        elapsed = clock() - started
        if accepts(status, body):
            latencies.append(elapsed)
        else:
            unexpected[str(status)] += 1
            if len(samples) < 3:
                samples.append(f"{status}: {body[:300]!r}")
    tally.finished_at = clock()


def run_phase(conns: Sequence[Connection], schedule: Schedule, duration_s: float, timeout_s: float) -> Phase:
    """``schedule.limit`` requests over ``len(conns)`` concurrent clients; none starts after ``duration_s``."""
    tallies = [Tally() for _ in conns]
    threads = [
        threading.Thread(target=_client, args=(conn, schedule, tally, i), name=f"bench-client-{i}", daemon=True)
        for i, (conn, tally) in enumerate(zip(conns, tallies, strict=True))
    ]
    for thread in threads:
        thread.start()
    cpu_before = time.process_time()
    started = time.perf_counter()
    schedule.deadline = started + duration_s
    schedule.go.set()
    # A request in flight at the deadline may finish (bounded by the per-answer timeout).
    join_by = schedule.deadline + timeout_s + 5.0
    for thread in threads:
        thread.join(timeout=max(0.0, join_by - time.perf_counter()))
    phase = Phase()
    phase.client_cpu_s = time.process_time() - cpu_before
    phase.stuck_clients = sum(thread.is_alive() for thread in threads)
    finished = [t.finished_at for t in tallies if t.finished_at is not None]
    phase.elapsed_s = (max(finished) if finished else time.perf_counter()) - started
    for tally in tallies:
        phase.latencies_s.extend(tally.latencies_s)
        phase.unexpected.update(tally.unexpected)
        phase.samples.extend(tally.samples)
    if phase.stuck_clients:
        phase.unexpected["error:stuck"] += phase.stuck_clients
        for conn in conns:
            conn.close()
    done = len(phase.latencies_s) + sum(phase.unexpected.values())
    phase.stopped_by = "count" if done >= schedule.limit else "duration"
    return phase


def measure(server: Server, workload: Workload, concurrency: int, args: argparse.Namespace) -> Result:
    """Warm up, then measure, on the same ``concurrency`` keep-alive connections."""
    sessions = [open_session(server) for _ in range(concurrency)] if SESSION_PLACEHOLDER in workload.path else []
    host = f"{server.host}:{server.port}"
    requests = [
        build_request(workload, host, server.token, sessions[i] if sessions else "") for i in range(concurrency)
    ]
    conns = [Connection(server.host, server.port, args.request_timeout_s) for _ in range(concurrency)]
    try:
        warm_n = max(3 * concurrency, min(args.requests // 10, 200))
        warm_s = min(args.duration_s, 5.0)
        warm = run_phase(conns, Schedule(requests, workload, warm_n), warm_s, args.request_timeout_s)
        phase = run_phase(conns, Schedule(requests, workload, args.requests), args.duration_s, args.request_timeout_s)
    finally:
        for conn in conns:
            conn.close()
        for session_id in sessions:
            close_session(server, session_id)
    ordered = sorted(phase.latencies_s)
    ok = len(ordered)

    def ms(value: float) -> float:
        return round(value * 1000.0, 3)

    return Result(
        workload=workload.name,
        description=workload.description,
        concurrency=concurrency,
        requests=ok + sum(phase.unexpected.values()),
        ok=ok,
        unexpected=dict(phase.unexpected),
        unexpected_samples=(warm.samples + phase.samples)[:5],
        warmup_requests=len(warm.latencies_s) + sum(warm.unexpected.values()),
        warmup_unexpected=dict(warm.unexpected),
        elapsed_s=round(phase.elapsed_s, 3),
        stopped_by=phase.stopped_by,
        p50_ms=ms(percentile(ordered, 50)),
        p90_ms=ms(percentile(ordered, 90)),
        p99_ms=ms(percentile(ordered, 99)),
        max_ms=ms(ordered[-1]) if ordered else float("nan"),
        mean_ms=ms(sum(ordered) / ok) if ok else float("nan"),
        per_s=round(ok / phase.elapsed_s, 1) if phase.elapsed_s > 0 else 0.0,
        client_cpu_pct=round(100.0 * phase.client_cpu_s / phase.elapsed_s, 1) if phase.elapsed_s > 0 else 0.0,
    )


# --------------------------------------------------------------------------- server


class StartError(Exception):
    """The service could not be started or reached."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for_livez(host: str, port: int, process: subprocess.Popen[bytes] | None, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise StartError(f"the server exited during start-up with status {process.returncode}")
        try:
            status, _ = fetch(host, port, "GET", "/livez", timeout_s=1.0)
            if status == 200:
                return
            last = f"status {status}"
        except (OSError, ProtocolError) as exc:
            last = f"{type(exc).__name__}: {exc}"
        time.sleep(0.1)
    raise StartError(f"/livez did not answer 200 within {timeout_s:.0f} s ({last})")


def read_health(host: str, port: int, timeout_s: float) -> dict[str, Any]:
    """/health once the self-test has had a chance to run (bounded); informational only."""
    deadline = time.monotonic() + timeout_s
    report: dict[str, Any] = {"status": "unreachable"}
    while time.monotonic() < deadline:
        try:
            status, body = fetch(host, port, "GET", "/health")
            report = json.loads(body)
            if status == 200:
                break
        except (OSError, ProtocolError, ValueError) as exc:
            report = {"status": "unreachable", "error": f"{type(exc).__name__}: {exc}"}
        time.sleep(0.2)
    return report


@dataclass
class Server:
    host: str
    port: int
    token: str
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    def log_tail(self, lines: int = 40) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@contextlib.contextmanager
def own_server(max_concurrent: int, max_queued: int, max_sessions: int = 32) -> Iterator[Server]:
    """A real uvicorn on a free loopback port; its process group is stopped on the way out."""
    port = free_port()
    settings = {
        "EXECUTOR_API_TOKEN": secrets.token_urlsafe(32),
        "EXECUTOR_MAX_CONCURRENT_EXECUTIONS": str(max_concurrent),
        "EXECUTOR_MAX_QUEUED_EXECUTIONS": str(max_queued),
        # The limiter runs (its cost is measured) but never throttles the load.
        "EXECUTOR_RATE_LIMIT_EXECUTE_PER_TOKEN": "100000000/minute",
        "EXECUTOR_RATE_LIMIT_EXECUTE_PER_IP": "100000000/minute",
        # One token opens every session of the measurements (one per client, --idle-sessions).
        "EXECUTOR_MAX_SESSIONS": str(max_sessions),
        "EXECUTOR_MAX_SESSIONS_PER_TOKEN": str(max_sessions),
        # A measurement's calls in one session (warm-up and --requests) stay below its limit.
        "EXECUTOR_SESSION_MAX_EXECUTIONS": "1000000",
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXECUTOR_")}
    env.update(settings)
    # An empty working directory: no .env is read, so every other setting is the default.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    with tempfile.TemporaryDirectory(prefix="executor-bench-") as workdir:
        log_path = Path(workdir) / "server.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "src.main:app", "--host", "127.0.0.1", "--port", str(port),
                 "--no-access-log"],
                cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
        shown = {k: ("<random>" if k == "EXECUTOR_API_TOKEN" else v) for k, v in settings.items()}
        server = Server("127.0.0.1", port, settings["EXECUTOR_API_TOKEN"], shown, process, log_path)
        try:
            yield server
        finally:
            stop_process_group(process)


def stop_process_group(process: subprocess.Popen[bytes]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            continue
        # The leader is gone; make sure nothing it left in its group outlives the run.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        return


class UsageError(Exception):
    """A bad --url or --token; reported with exit status 2, like argparse's own errors."""


def parse_target(url: str) -> tuple[str, int]:
    """Host and port of a loopback http:// URL; anything else is refused (loopback only)."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise UsageError(f"--url must be http://<loopback host>:<port>, not {url!r}")
    port = parts.port or 80
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)}
    except OSError as exc:
        raise UsageError(f"--url host {parts.hostname!r} does not resolve: {exc}") from None
    if not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise UsageError(f"--url must point at a loopback address; {parts.hostname} is {sorted(addresses)}")
    return parts.hostname, port


# --------------------------------------------------------------------------- report


def fmt(value: float | None, digits: int = 2) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value:.{digits}f}"


def print_table(results: Sequence[Result]) -> None:
    header = (
        f"{'workload':<9} {'c':>2} {'n':>6} {'p50 ms':>9} {'p99 ms':>9} {'x floor':>8} "
        f"{'per s':>8} {'bad':>4} {'client cpu':>10} {'stop':>8}  what"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.workload:<9} {r.concurrency:>2} {r.ok:>6} {fmt(r.p50_ms, 3):>9} {fmt(r.p99_ms, 3):>9} "
            f"{fmt(r.p50_over_floor, 1):>8} {fmt(r.per_s, 1):>8} {r.bad:>4} {fmt(r.client_cpu_pct, 0) + '%':>10} "
            f"{r.stopped_by:>8}  {r.description}"
        )
    print("x floor = p50 / floor p50 at the same concurrency; bad = unexpected statuses or bodies (incl. warm-up)")


def find(results: Sequence[Result], workload: str, concurrency: int) -> Result | None:
    return next((r for r in results if r.workload == workload and r.concurrency == concurrency), None)


def headlines(results: Sequence[Result]) -> dict[str, Any]:
    lines: dict[str, Any] = {}
    floor1, trivial1, trivial8, floor8 = (
        find(results, "floor", 1),
        find(results, "trivial", 1),
        find(results, "trivial", 8),
        find(results, "floor", 8),
    )
    if floor1 and trivial1 and floor1.p50_ms > 0 and trivial1.ok:
        ratio = trivial1.p50_ms / floor1.p50_ms
        lines["trivial_p50_over_floor_p50_c1"] = {
            "value": round(ratio, 2),
            "trivial_p50_ms": trivial1.p50_ms,
            "floor_p50_ms": floor1.p50_ms,
            "target_max": TARGET_TRIVIAL_OVER_FLOOR,
            "met": ratio <= TARGET_TRIVIAL_OVER_FLOOR,
        }
    input1 = find(results, "input_1mb", 1)
    if trivial1 and input1 and trivial1.p50_ms > 0 and input1.ok:
        ratio = input1.p50_ms / trivial1.p50_ms
        lines["input_1mb_p50_over_trivial_p50_c1"] = {
            "value": round(ratio, 2),
            "input_1mb_p50_ms": input1.p50_ms,
            "trivial_p50_ms": trivial1.p50_ms,
            "target_max": TARGET_INPUT_FILE_OVER_TRIVIAL,
            "met": ratio <= TARGET_INPUT_FILE_OVER_TRIVIAL,
        }
    if trivial8 and trivial8.ok:
        lines["trivial_per_s_c8"] = {
            "value": trivial8.per_s,
            "fraction_of_target": round(trivial8.per_s / TARGET_TRIVIAL_RATE_C8, 2),
            "fraction_of_floor_rate": round(trivial8.per_s / floor8.per_s, 3) if floor8 and floor8.per_s else None,
            "target_min": TARGET_TRIVIAL_RATE_C8,
            "met": trivial8.per_s >= TARGET_TRIVIAL_RATE_C8,
        }
    return lines


def print_headlines(lines: dict[str, Any]) -> None:
    print()
    print("Headlines")
    ratio = lines.get("trivial_p50_over_floor_p50_c1")
    if ratio:
        print(
            f"  trivial p50 / floor p50 at c=1: {ratio['value']:.1f}x  "
            f"({ratio['trivial_p50_ms']:.3f} ms / {ratio['floor_p50_ms']:.3f} ms; "
            f"target <= {TARGET_TRIVIAL_OVER_FLOOR:g}x)"
            f"  {'MET' if ratio['met'] else 'MISSED'}"
        )
    else:
        print("  trivial p50 / floor p50 at c=1: not measured (needs concurrency 1 and both workloads)")
    files = lines.get("input_1mb_p50_over_trivial_p50_c1")
    if files:
        print(
            f"  1 MB input file p50 / trivial p50 at c=1: {files['value']:.2f}x  "
            f"({files['input_1mb_p50_ms']:.3f} ms / {files['trivial_p50_ms']:.3f} ms; "
            f"target <= {TARGET_INPUT_FILE_OVER_TRIVIAL:g}x)  {'MET' if files['met'] else 'MISSED'}"
        )
    rate = lines.get("trivial_per_s_c8")
    if rate:
        floor_part = ""
        if rate["fraction_of_floor_rate"] is not None:
            floor_part = f", {100 * rate['fraction_of_floor_rate']:.1f}% of the floor's rate at c=8"
        print(
            f"  trivial exec/s at c=8: {rate['value']:.0f}/s  ({rate['fraction_of_target']:.2f}x the "
            f"{TARGET_TRIVIAL_RATE_C8:g}/s target{floor_part})  {'MET' if rate['met'] else 'MISSED'}"
        )
    else:
        print("  trivial exec/s at c=8: not measured (needs concurrency 8)")


# --------------------------------------------------------------------------- main


def print_cpython(plain: Sequence[CPythonResult], results: Sequence[Result]) -> None:
    if not plain:
        return
    print("\ndata tier against plain CPython (a fresh process importing the libraries per program):")
    print(f"{'workload':<9} {'c':>2} {'service p50':>12} {'CPython p50':>12} {'service/s':>10} {'CPython/s':>10}")
    for row in plain:
        served = find(results, row.workload, row.concurrency)
        p50 = fmt(served.p50_ms, 1) if served else "-"
        rate = fmt(served.per_s, 1) if served else "-"
        print(
            f"{row.workload:<9} {row.concurrency:>2} {p50:>9} ms {fmt(row.p50_ms, 1):>9} ms {rate:>10} "
            f"{fmt(row.per_s, 1):>10}"
        )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", help="benchmark a running service (loopback only) instead of starting one")
    parser.add_argument("--token", help="X-Executor-Token for --url (default: $EXECUTOR_API_TOKEN)")
    parser.add_argument("--requests", type=int, default=1000, help="requests per measurement (default 1000)")
    parser.add_argument(
        "--duration-s", type=float, default=10.0, help="stop a measurement after this long even if requests remain"
    )
    parser.add_argument("--concurrency", default="1,8", help="comma-separated client counts (default 1,8)")
    installed = importlib.util.find_spec("pandas") is not None and importlib.util.find_spec("matplotlib") is not None
    default = [w.name for w in WORKLOADS if installed or w.name not in DATA_WORKLOADS]
    parser.add_argument(
        "--workloads", default=",".join(default), help="comma-separated subset (the data tier's when installed)"
    )
    parser.add_argument(
        "--no-cpython", dest="cpython", action="store_false", help="do not run the data workloads in plain CPython"
    )
    parser.add_argument("--json", metavar="OUT", type=Path, help="also write the results as JSON to OUT")
    parser.add_argument(
        "--max-concurrent-executions",
        type=int,
        default=os.cpu_count() or 1,
        help="EXECUTOR_MAX_CONCURRENT_EXECUTIONS of the server this script starts (default: CPU count)",
    )
    parser.add_argument("--request-timeout-s", type=float, default=30.0, help="give up on one answer after this")
    parser.add_argument(
        "--idle-sessions", type=int, default=0, help="also measure the memory of this many idle sessions (own server)"
    )
    parser.add_argument(
        "--container-mb", type=int, default=DEFAULT_CONTAINER_MB, help="the container memory the fit is computed for"
    )
    args = parser.parse_args(argv)
    try:
        args.concurrency_levels = sorted({int(c) for c in args.concurrency.split(",") if c.strip()})
    except ValueError:
        parser.error(f"--concurrency must be comma-separated integers, not {args.concurrency!r}")
    if not args.concurrency_levels or not all(1 <= c <= 256 for c in args.concurrency_levels):
        parser.error("--concurrency levels must be between 1 and 256")
    names = [n.strip() for n in args.workloads.split(",") if n.strip()]
    known = {w.name: w for w in WORKLOADS}
    if not names or any(n not in known for n in names):
        parser.error(f"--workloads must be a subset of {','.join(known)}")
    args.selected = [known[n] for n in names]
    if args.requests < 1 or args.duration_s <= 0 or args.request_timeout_s <= 0 or args.max_concurrent_executions < 1:
        parser.error("--requests, --duration-s, --request-timeout-s and --max-concurrent-executions must be positive")
    if args.url is None and args.token is not None:
        parser.error("--token only applies with --url (the script makes up a token for its own server)")
    if args.idle_sessions and (args.url is not None or not 0 < args.idle_sessions <= 1000):
        parser.error("--idle-sessions takes 1 to 1000 and needs the server this script starts (no --url)")
    return args


# --------------------------------------------------------------------------- idle sessions


def _tree_pss_kb(root_pid: int) -> tuple[int, int]:
    """(PSS in KiB, processes) of every process in ``root_pid``'s session (the server, its
    templates, checker and workers: none of them calls setsid)."""
    total = count = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_bytes()
            fields = stat[stat.rfind(b")") + 2 :].split()
            if int(fields[3]) != root_pid:  # field 6: the session id
                continue
            rollup = Path(f"/proc/{entry}/smaps_rollup").read_text()
        except (OSError, ValueError, IndexError):
            continue
        for line in rollup.splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1])
                count += 1
    return total, count


def measure_idle_sessions(server: Server, count: int, container_mb: int) -> dict[str, Any]:
    """Open ``count`` sessions, each after one small call, and weigh them (PSS)."""
    assert server.process is not None
    time.sleep(2.0)  # the pre-forked workers' rehearsals settle
    before_kb, before_n = _tree_pss_kb(server.process.pid)
    opened = [open_session(server) for _ in range(count)]
    call = json.dumps({"code": "rows = [n * n for n in range(100)]\ntotal = sum(rows)\ntotal"}).encode()
    for session_id in opened:
        status, _ = fetch(
            server.host, server.port, "POST", f"/sessions/{session_id}/execute", 30.0, token=server.token, body=call
        )
        if status != 200:
            raise StartError(f"a session call answered {status}")
    after_kb, after_n = _tree_pss_kb(server.process.pid)
    for session_id in opened:
        close_session(server, session_id)
    per_session_kb = (after_kb - before_kb) / count
    fit = int((container_mb * 1024 - before_kb) / per_session_kb) if per_session_kb > 0 else None
    report = {
        "sessions": count,
        "service_pss_mb_before": round(before_kb / 1024, 1),
        "processes_before": before_n,
        "service_pss_mb_after": round(after_kb / 1024, 1),
        "processes_after": after_n,
        "pss_mb_per_idle_session": round(per_session_kb / 1024, 2),
        "container_mb": container_mb,
        "idle_sessions_that_fit": fit,
    }
    print(
        f"\nidle sessions: {count} opened; the service's PSS {report['service_pss_mb_before']} MB "
        f"({before_n} processes) -> {report['service_pss_mb_after']} MB ({after_n}): "
        f"{report['pss_mb_per_idle_session']} MB per idle session; about {fit} fit in {container_mb} MB "
        "beside the service (PSS; each session may grow to its memory limit)"
    )
    return report


def benchmark(server: Server, args: argparse.Namespace, target: str) -> int:
    """Run every measurement against a server that answers /livez; print and save the results."""
    health = read_health(server.host, server.port, timeout_s=15.0)
    print(f"executor benchmark: {target}")
    print(
        f"  python {platform.python_version()} on {platform.machine()}, "
        f"{os.cpu_count()} CPUs shared by client and server; "
        f"{args.requests} requests or {args.duration_s:g} s per measurement, concurrency {args.concurrency}"
    )
    if server.env:
        print("  server settings: " + ", ".join(f"{k}={v}" for k, v in server.env.items()) + ", others default")
    layers = health.get("layers") or {}
    print(f"  /health: {health.get('status')}" + (f"; layers {layers}" if layers else ""))
    load_before = os.getloadavg()
    print(
        f"  load average before: {' '.join(f'{x:.2f}' for x in load_before)} (other work on the host skews the numbers)"
    )
    print()

    results: list[Result] = []
    for concurrency in args.concurrency_levels:
        for workload in args.selected:
            result = measure(server, workload, concurrency, args)
            results.append(result)
            print(
                f"  measured {workload.name:<8} c={concurrency:<3} n={result.ok:<6} p50 {fmt(result.p50_ms, 3)} ms"
                f"  {fmt(result.per_s, 1)}/s" + (f"  UNEXPECTED {result.unexpected}" if result.bad else ""),
                flush=True,
            )
    for r in results:
        floor = find(results, "floor", r.concurrency)
        if floor and floor.p50_ms > 0 and r.ok:
            r.p50_over_floor = round(r.p50_ms / floor.p50_ms, 2)
    load_after = os.getloadavg()
    print()
    print_table(results)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in load_after)}")
    lines = headlines(results)
    print_headlines(lines)
    plain = [
        measure_cpython(workload, concurrency, args.duration_s, args.requests)
        for workload in args.selected
        if args.cpython and workload.name in DATA_WORKLOADS
        for concurrency in args.concurrency_levels
    ]
    print_cpython(plain, results)

    bad = [r for r in results if r.bad]
    for r in bad:
        print(f"\nUNEXPECTED answers in {r.workload} c={r.concurrency}: {r.unexpected} (warm-up {r.warmup_unexpected})")
        for sample in r.unexpected_samples:
            print(f"    {sample}")
    if bad and server.process is not None:
        print("\nserver log (tail):\n" + server.log_tail())

    if args.json is not None:
        report = {
            "target": target,
            "started_own_server": server.process is not None,
            "server_settings": server.env,
            "health": health,
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_before": load_before,
            "load_average_after": load_after,
            "requests": args.requests,
            "duration_s": args.duration_s,
            "concurrency": args.concurrency_levels,
            "results": [asdict(r) for r in results],
            "headlines": lines,
            "plain_cpython": [asdict(r) for r in plain],
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"\nresults written to {args.json}")
    return 1 if bad else 0


def _terminate(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally blocks that stop the server


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        if args.url is not None:
            host, port = parse_target(args.url)
            token = args.token or os.environ.get("EXECUTOR_API_TOKEN", "")
            if not token:
                raise UsageError("--url needs --token (or EXECUTOR_API_TOKEN in the environment)")
            server = Server(host, port, token, {})
            wait_for_livez(host, port, None, START_TIMEOUT_S)
            return benchmark(server, args, args.url)
        max_queued = min(10_000, max(64, 4 * max(args.concurrency_levels)))
        max_sessions = max(32, *args.concurrency_levels, args.idle_sessions)
        with own_server(args.max_concurrent_executions, max_queued, max_sessions) as server:
            try:
                wait_for_livez(server.host, server.port, server.process, START_TIMEOUT_S)
            except StartError:
                print("server log (tail):\n" + server.log_tail(), file=sys.stderr)
                raise
            status = benchmark(server, args, f"own uvicorn at http://{server.host}:{server.port}")
            if args.idle_sessions:
                measure_idle_sessions(server, args.idle_sessions, args.container_mb)
            return status
    except UsageError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted; the server was stopped", file=sys.stderr)
        return 130
    except StartError as exc:
        print(f"the service is not available: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
