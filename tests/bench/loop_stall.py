"""How long /livez waits while clients send the largest inputs the service parses.

    .venv/bin/python -m tests.bench.loop_stall                    # own server, both loads
    .venv/bin/python -m tests.bench.loop_stall --clients 24 --duration-s 10

Starts the service (tests.support.server.run_server, default limits: bodies and results
up to 1 MiB), then for each load: ``--clients`` threads send, back to back on keep-alive
connections, for ``--duration-s`` seconds or ``--max-requests`` requests in all:

* ``context``: a 1 MiB body whose context is 349 000 empty lists, refused (422) after the
  whole context is parsed and checked (a key starting with '_'): no worker is used;
* ``result``: ``[[]] * 349000``, whose 1 MiB result the API decodes and checks.

Meanwhile one more connection polls GET /livez every 10 ms. Printed: /livez's p50, p99
and max with no load and under each load (the floor is measured in the same run), and how
many large requests were answered. The shapes are the worst per byte: one container per
three bytes of JSON.
"""

from __future__ import annotations

import argparse
import json
import socket
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from tests.support.server import LiveServer, run_server

LARGE_SETTINGS = {
    "EXECUTOR_MAX_BODY_BYTES": str(2 * 1024 * 1024),
    "EXECUTOR_MAX_RESULT_BYTES": str(1024 * 1024),
    "EXECUTOR_MAX_CONCURRENT_EXECUTIONS": "2",
    "EXECUTOR_MAX_QUEUED_EXECUTIONS": "64",
}
LISTS = 349_000


def _request(server: LiveServer, body: bytes) -> bytes:
    return (
        f"POST /execute HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Executor-Token: {server.token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def _bodies() -> dict[str, bytes]:
    context = {"lists": [[]] * LISTS, "_refused": 1}
    return {
        "context": json.dumps({"code": "1", "context": context}, separators=(",", ":")).encode(),
        "result": json.dumps({"code": f"[[]] * {LISTS}", "timeout_s": 10}).encode(),
    }


def _connect(server: LiveServer) -> socket.socket:
    host, _, port = server.url.removeprefix("http://").rpartition(":")
    sock = socket.create_connection((host, int(port)), timeout=60)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _exchange(sock: socket.socket, request: bytes) -> int:
    """Send one request, read its whole answer; the status code."""
    sock.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    while len(rest) < length:
        rest += sock.recv(65536)
    return int(head.split(b" ")[1])


def _livez(server: LiveServer, duration_s: float) -> list[float]:
    request = b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    latencies = []
    with _connect(server) as sock:
        end = time.monotonic() + duration_s
        while time.monotonic() < end:
            started = time.perf_counter()
            _exchange(sock, request)
            latencies.append(time.perf_counter() - started)
            time.sleep(0.01)
    return latencies


def _load(
    server: LiveServer, request: bytes, clients: int, duration_s: float, max_requests: int
) -> tuple[list[float], dict[int, int]]:
    stop = threading.Event()
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def client() -> None:
        with _connect(server) as sock:
            while not stop.is_set():
                status = _exchange(sock, request)
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1
                    if sum(statuses.values()) >= max_requests:
                        stop.set()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    try:
        latencies = _livez(server, duration_s)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    return latencies, statuses


def _ms(ordered: Sequence[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _summary(latencies: Sequence[float]) -> str:
    ordered = sorted(latencies)
    return (
        f"n={len(ordered):4d}  p50 {_ms(ordered, 0.5):7.1f} ms  p99 {_ms(ordered, 0.99):7.1f} ms  "
        f"max {ordered[-1] * 1000:7.1f} ms"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration-s", type=float, default=8.0)
    parser.add_argument("--max-requests", type=int, default=2000)
    args = parser.parse_args(argv)
    bodies = _bodies()
    with tempfile.TemporaryDirectory() as tmp, run_server(Path(tmp), LARGE_SETTINGS) as server:
        print(f"livez, no load:        {_summary(_livez(server, 2.0))}")
        for name, body in bodies.items():
            latencies, statuses = _load(
                server, _request(server, body), args.clients, args.duration_s, args.max_requests
            )
            print(f"livez, {args.clients} x {name:7s}:  {_summary(latencies)}   answers {statuses}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
