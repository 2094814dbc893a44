"""FailoverStorage against a Redis that is there but unusable: a server on 127.0.0.1 that
answers every command one byte at a time (each read then beats the client's socket
timeout, so only the storage's own deadline stops the call: without it the event loop
would wait for as long as the bytes keep coming), or slowly but within that deadline;
and a real redis-server that answers PING but is full."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
import redis

from src.api.limit_storage import SLOW_CALLS_TO_FAIL, FailoverStorage
from src.errors import LimitsUnavailable
from tests.support.redis_server import RedisServer

T = TypeVar("T")

#: Far below the client's read timeout (0.25 s), so that every read succeeds.
BYTE_INTERVAL_S = 0.05
#: Bounds a failing test only: a call that ignores its deadline never returns.
RETURN_WAIT_S = 10


class _Trickle(socketserver.BaseRequestHandler):
    """Answers each command it reads with ``reply``, sent a byte at a time; a reply
    without its final CRLF never ends."""

    stopped: threading.Event
    reply: bytes

    def handle(self) -> None:
        sock: socket.socket = self.request
        while sock.recv(65536):
            for index in range(len(self.reply)):
                if self.stopped.wait(BYTE_INTERVAL_S):
                    return
                try:
                    sock.sendall(self.reply[index : index + 1])
                except OSError:
                    return
            if not self.reply.endswith(b"\r\n"):
                self.stopped.wait()
                return


@pytest.fixture
def trickling_redis() -> Iterator[Callable[[bytes], str]]:
    """Starts a server that trickles the given RESP reply; gives its Redis URI."""
    servers: list[socketserver.ThreadingTCPServer] = []
    stopped = threading.Event()

    def start(reply: bytes) -> str:
        handler = type("Handler", (_Trickle,), {"stopped": stopped, "reply": reply})
        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"redis://127.0.0.1:{server.server_address[1]}/0"

    yield start
    stopped.set()
    for server in servers:
        server.shutdown()
        server.server_close()


def returns_within(call: Callable[[], T], seconds: float = RETURN_WAIT_S) -> T:
    outcome: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as error:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"the storage call did not return within {seconds} s"
    if errors:
        raise errors[0]
    return outcome[0]


#: A bulk string far longer than what is sent of it: the reply is never complete.
ENDLESS_REPLY = b"$999999999\r\n" + b"a" * 10_000


def test_a_redis_that_answers_a_byte_at_a_time_fails_over_to_memory(
    trickling_redis: Callable[[bytes], str],
) -> None:
    storage = FailoverStorage("executor+" + trickling_redis(ENDLESS_REPLY), fail_mode="open")
    assert returns_within(lambda: storage.incr("executor/k", 60)) == 1  # counted in memory
    assert storage.reachable is False
    assert returns_within(lambda: storage.incr("executor/k", 60)) == 2  # no second wait on Redis


def test_a_redis_that_answers_a_byte_at_a_time_is_refused_when_failing_closed(
    trickling_redis: Callable[[bytes], str],
) -> None:
    storage = FailoverStorage("executor+" + trickling_redis(ENDLESS_REPLY), fail_mode="closed")
    with pytest.raises(LimitsUnavailable):
        returns_within(lambda: storage.incr("executor/k", 60))


def test_a_probe_answered_slower_than_the_deadline_finds_redis_unreachable(
    trickling_redis: Callable[[bytes], str],
) -> None:
    """Every reply is a complete ``+PONG`` (the client also sends commands of its own
    when it connects), each taking 0.35 s: a Redis this slow would cost every request
    that much, so it counts as down."""
    storage = FailoverStorage("executor+" + trickling_redis(b"+PONG\r\n"), fail_mode="open")
    assert returns_within(storage.probe) is False


class _Slow(socketserver.BaseRequestHandler):
    """Answers each command it reads with ``:1``, SLOW_REPLY_S after it."""

    stopped: threading.Event

    def handle(self) -> None:
        sock: socket.socket = self.request
        while sock.recv(65536):
            if self.stopped.wait(SLOW_REPLY_S):
                return
            try:
                sock.sendall(b":1\r\n")
            except OSError:
                return


#: Over the slow mark (0.05 s), well within the call deadline (0.25 s).
SLOW_REPLY_S = 0.07


@pytest.fixture
def slow_redis() -> Iterator[str]:
    stopped = threading.Event()
    handler = type("Handler", (_Slow,), {"stopped": stopped})
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"redis://127.0.0.1:{server.server_address[1]}/0"
    stopped.set()
    server.shutdown()
    server.server_close()


def test_a_redis_that_answers_slowly_within_the_deadline_is_marked_unreachable(slow_redis: str) -> None:
    """Each call blocks the event loop: a Redis this slow would cost every client that
    much per call. A few slow calls in a row make it an outage, shown as one."""
    storage = FailoverStorage("executor+" + slow_redis, fail_mode="open")
    for _ in range(SLOW_CALLS_TO_FAIL):
        returns_within(lambda: storage.incr("executor/k", 60))
    assert storage.reachable is False
    assert returns_within(storage.probe) is False  # and the probe does not bring it back


def test_a_redis_that_answers_ping_but_is_full_is_unreachable(tmp_path: Path) -> None:
    server = RedisServer(tmp_path)
    server.start()
    try:
        storage = FailoverStorage("executor+" + server.url, fail_mode="closed")
        assert storage.probe() is True
        client = redis.Redis(port=server.port)
        client.config_set("maxmemory-policy", "noeviction")
        client.config_set("maxmemory", 1)
        assert client.ping() is True
        assert storage.probe() is False
        client.config_set("maxmemory", 0)
        assert storage.probe() is True
    finally:
        server.stop()
