"""Sessions across two replicas: two real servers on loopback sharing one real redis-server,
each knowing its own address (EXECUTOR_REPLICA_URL). A session lives in the worker of the
replica that made it; the other one finds that replica in Redis (an entry signed with the
replica secret) and passes the request on, once.

A session made on A is used through B as through A (its state carried from call to call,
whichever replica the call reaches), answers another token 404 through either, and ends
(410 ``deleted``) through either; an id neither knows is 404 on both. When A stops, B
answers A's sessions 410 (``killed``: the replica is gone), never a 5xx. An entry that the
service did not sign (written straight into Redis: a wrong signature, a client's token as
the key, an expired one, garbage) is ignored, never followed: B answers 404 and nothing
reaches the address it names; the same entry correctly signed is followed (the control).

A replica must know its own address before it starts: ``start_replica`` starts each on a
port the test chose (tests/support/server.start_server), both before waiting for either.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
import select
import signal
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from src.sessions.peers import FORWARDED_HEADER, KEY_PREFIX
from tests.support.redis_server import RedisServer
from tests.support.server import TOKEN, LiveServer, free_port, start_server, stop_server, wait_until_serving
from tests.support.waiting import wait_until

#: The second client's token (EXECUTOR_EXTRA_API_TOKENS on both replicas).
OTHER_TOKEN = "other-client-token-0123456789abcdef"
#: What the replicas share and no client holds: it signs their entries and forwarding headers.
REPLICA_SECRET = "replica-secret-0123456789abcdef-0123456789"
#: Bounds a failing start or stop only.
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0
#: How long a test waits for B's answer about a forged entry: B answers at once unless it
#: follows the entry to a listener that never answers (then this turns the hang into a failure).
FORGED_ANSWER_TIMEOUT_S = 5.0


# ------------------------------------------------------------------------------ replicas


def start_replica(tmp_dir: Path, port: int, redis_url: str) -> LiveServer:
    """A real server on ``port`` (TEST_ENV and all) whose EXECUTOR_REPLICA_URL is its own
    address and whose Redis is ``redis_url``; not yet answering (``wait_ready``)."""
    overrides = {
        "EXECUTOR_EXTRA_API_TOKENS": OTHER_TOKEN,
        "EXECUTOR_REPLICA_SECRET": REPLICA_SECRET,
        "EXECUTOR_REPLICA_URL": f"http://127.0.0.1:{port}",
        "EXECUTOR_RATE_LIMIT_STORAGE_URI": redis_url,
    }
    return start_server(tmp_dir, overrides, TOKEN, port=port)


def wait_ready(server: LiveServer) -> None:
    wait_until_serving(server, START_TIMEOUT_S)


def stop_replica(server: LiveServer) -> None:
    stop_server(server)


def two_ports() -> tuple[int, int]:
    first = free_port()
    for _ in range(20):
        second = free_port()
        if second != first:
            return first, second
    raise RuntimeError("no second free port")


@dataclass
class Replicas:
    a: LiveServer
    b: LiveServer
    redis_url: str

    def entry(self, session_id: str) -> str | None:
        raw = redis.Redis.from_url(self.redis_url).get(KEY_PREFIX + session_id)
        assert raw is None or isinstance(raw, bytes)
        return None if raw is None else raw.decode()

    def write_entry(self, session_id: str, value: str) -> None:
        """Straight into Redis, as anyone who can reach Redis can (no expiry of its own:
        only the expiry inside the value bounds it)."""
        redis.Redis.from_url(self.redis_url).set(KEY_PREFIX + session_id, value)


@contextlib.contextmanager
def replica_pair(tmp_dir: Path, redis_url: str) -> Iterator[Replicas]:
    """Replicas A and B, started side by side."""
    started: list[LiveServer] = []
    try:
        for port in two_ports():
            started.append(start_replica(tmp_dir, port, redis_url))
        for server in started:
            wait_ready(server)
        yield Replicas(started[0], started[1], redis_url)
    finally:
        for server in started:
            stop_replica(server)


@pytest.fixture(scope="module")
def shared_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory, shared_redis: RedisServer) -> Iterator[Replicas]:
    """Two replicas for the tests that leave both running."""
    with replica_pair(tmp_path_factory.mktemp("replicas"), shared_redis.url) as pair:
        yield pair


# ------------------------------------------------------------------------------- helpers


def open_session(client: httpx.Client) -> str:
    created = client.post("/sessions", json={})
    assert created.status_code == 201, created.text
    session_id: str = created.json()["session_id"]
    return session_id


def open_published(replicas: Replicas, client: httpx.Client) -> str:
    """A new session, once its entry is in Redis: the replica answers 201 before it has
    written the entry (in the background), and until then the other replica cannot find
    the session (404)."""
    session_id = open_session(client)
    wait_until(lambda: replicas.entry(session_id), "the session's entry in Redis")
    return session_id


def run(client: httpx.Client, session_id: str, code: str) -> str:
    """A call that must succeed; its stdout."""
    answer = client.post(f"/sessions/{session_id}/execute", json={"code": code})
    assert answer.status_code == 200 and answer.json()["success"] is True, answer.text
    stdout: str = answer.json()["stdout"]
    return stdout


def every_request(client: httpx.Client, session_id: str) -> dict[str, httpx.Response]:
    """GET, a call, then DELETE of the session (in that order: DELETE last)."""
    return {
        "GET": client.get(f"/sessions/{session_id}"),
        "execute": client.post(f"/sessions/{session_id}/execute", json={"code": "print(1)"}),
        "DELETE": client.delete(f"/sessions/{session_id}"),
    }


def assert_all(answers: dict[str, httpx.Response], status: int, detail: str) -> None:
    for name, answer in answers.items():
        assert answer.status_code == status, f"{name}: {answer.status_code} {answer.text}"
        assert detail in answer.json()["detail"], f"{name}: {answer.text}"


def requests_counted(server: LiveServer) -> dict[tuple[str, str, str], float]:
    """executor_http_requests_total by (method, route, status), from /metrics."""
    text = httpx.get(server.url + "/metrics", timeout=10).text
    return {
        (sample.labels["method"], sample.labels["route"], sample.labels["status"]): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "executor_http_requests_total"
    }


def server_errors(server: LiveServer) -> dict[tuple[str, str, str], float]:
    return {key: value for key, value in requests_counted(server).items() if key[2].startswith("5")}


def session_requests(server: LiveServer) -> float:
    """How many requests for one session (GET, DELETE, calls) the server has answered."""
    return sum(value for (_, route, _), value in requests_counted(server).items() if route.startswith("/sessions/"))


UNKNOWN = "no such session"


# --------------------------------------------------------------------------------- tests


def test_a_session_made_on_one_replica_is_used_and_ended_through_the_other(replicas: Replicas) -> None:
    a, b = replicas.a, replicas.b
    started_on_b = b.metric("executor_sessions_started_total")
    with a.client() as on_a, b.client() as on_b:
        session_id = open_published(replicas, on_a)
        entry = replicas.entry(session_id)
        assert entry is not None and entry.startswith(a.url + "|"), entry

        assert run(on_a, session_id, "n = 1\nprint(n)") == "1\n"
        assert run(on_b, session_id, "n += 1\nprint(n)") == "2\n"
        assert run(on_a, session_id, "n += 1\nprint(n)") == "3\n"

        state = on_b.get(f"/sessions/{session_id}")
        assert state.status_code == 200, state.text
        assert state.json()["session_id"] == session_id
        assert state.json()["executions"] == 3
        # B passed the calls on: it opened no session of its own.
        assert b.metric("executor_sessions_started_total") == started_on_b

        assert on_b.delete(f"/sessions/{session_id}").status_code == 204
        for client in (on_a, on_b):
            assert_all(every_request(client, session_id), 410, "(deleted)")
    assert server_errors(a) == {} and server_errors(b) == {}


def forwarding_header(path: str, client_ip: str = "127.0.0.1", secret: str = REPLICA_SECRET) -> str:
    """The header a replica sets on a request it passes on (sessions/peers.py): the client's
    address, the time, and an HMAC-SHA256 with the replica secret over them and the path."""
    at = int(time.time())
    mac = hmac.new(secret.encode(), f"forwarded|{client_ip}|{at}|{path}".encode(), hashlib.sha256).hexdigest()
    return f"{client_ip}|{at}|{mac}"


def test_a_request_already_passed_on_is_not_passed_on_again(replicas: Replicas) -> None:
    """The signed header that marks a passed-on request: B answers it as its own (404: it
    does not hold the session) instead of passing it on a second time. The same header sent
    by a client, unsigned or signed with a client's token, is not that mark: B passes the
    request on as any other (and a client cannot use it to skip the rate limits)."""
    with replicas.a.client() as on_a, replicas.b.client() as on_b:
        session_id = open_published(replicas, on_a)
        try:
            path = f"/sessions/{session_id}"
            before = session_requests(replicas.a)
            marked = on_b.get(path, headers={FORWARDED_HEADER: forwarding_header(path)})
            assert marked.status_code == 404, marked.text
            assert session_requests(replicas.a) == before
            # Unsigned, or signed with a token a client holds (the main one included).
            for forged in (
                replicas.a.url,
                forwarding_header(path, secret=OTHER_TOKEN),
                forwarding_header(path, secret=TOKEN),
            ):
                passed_on = on_b.get(path, headers={FORWARDED_HEADER: forged})
                assert passed_on.status_code == 200, passed_on.text
            assert session_requests(replicas.a) == before + 3
        finally:
            assert on_a.delete(f"/sessions/{session_id}").status_code == 204


def test_another_token_gets_404_through_either_replica(replicas: Replicas) -> None:
    a, b = replicas.a, replicas.b
    with (
        a.client() as on_a,
        b.client() as on_b,
        a.client(OTHER_TOKEN) as other_on_a,
        b.client(OTHER_TOKEN) as other_on_b,
    ):
        mine = open_published(replicas, on_a)  # the main token's, on A
        theirs = open_published(replicas, other_on_b)  # the other token's, on B
        try:
            run(on_a, mine, "secret = 1")
            for client, session_id in ((other_on_b, mine), (other_on_a, mine), (on_a, theirs), (on_b, theirs)):
                assert_all(every_request(client, session_id), 404, UNKNOWN)
            # None of those reached the sessions: both still answer their own token.
            assert run(on_b, mine, "print(secret)") == "1\n"
            assert run(other_on_a, theirs, "print(2)") == "2\n"
        finally:
            assert on_b.delete(f"/sessions/{mine}").status_code == 204
            assert other_on_a.delete(f"/sessions/{theirs}").status_code == 204
    assert server_errors(a) == {} and server_errors(b) == {}


@pytest.mark.parametrize(
    "session_id",
    [secrets.token_urlsafe(24), "not-a-session", "A" * 64],
    ids=["well-formed", "malformed", "longest-well-formed"],
)
def test_an_id_neither_replica_knows_is_404_on_both(replicas: Replicas, session_id: str) -> None:
    for server in (replicas.a, replicas.b):
        with server.client() as client:
            assert_all(every_request(client, session_id), 404, UNKNOWN)
        assert server_errors(server) == {}


# ---------------------------------------------------------------------------- forged entries


class SilentListener:
    """A loopback TCP port that accepts nothing: a connection to it waits in the backlog
    (read with select, no thread), and whoever connected waits for an answer that never
    comes."""

    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(16)
        self.socket.setblocking(False)
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"

    def reached(self) -> bool:
        readable, _, _ = select.select([self.socket], [], [], 0)
        return bool(readable)

    def close(self) -> None:
        self.socket.close()


def signed(session_id: str, url: str, expiry: int, secret: str = REPLICA_SECRET, owner_token: str = TOKEN) -> str:
    """An entry as a replica writes it (sessions/peers.py): url|expiry|owner tag|mac, the
    owner tag an HMAC-SHA256 with the replica secret over "owner|" and the owner (the
    SHA-256 of its token), the mac one over id|url|expiry|tag."""
    owner = hashlib.sha256(owner_token.encode()).hexdigest()
    tag = hmac.new(secret.encode(), b"owner|" + owner.encode(), hashlib.sha256).hexdigest()
    mac = hmac.new(secret.encode(), f"{session_id}|{url}|{expiry}|{tag}".encode(), hashlib.sha256).hexdigest()
    return f"{url}|{expiry}|{tag}|{mac}"


def forged(kind: str, session_id: str, target: str) -> str:
    later = int(time.time()) + 3600
    if kind == "wrong-signature":
        return f"{target}|{later}|{'0' * 64}|{'0' * 64}"
    if kind == "signed-with-a-clients-token":  # a client that can write to Redis
        return signed(session_id, target, later, secret=OTHER_TOKEN)
    if kind == "signed-with-the-main-token":  # every client of a one-token service holds it
        return signed(session_id, target, later, secret=TOKEN)
    if kind == "signed-for-another-id":  # a genuine entry copied to another key
        return signed(secrets.token_urlsafe(24), target, later)
    if kind == "expired":
        return signed(session_id, target, int(time.time()) - 60)
    if kind == "garbage":
        return f"{target}|not-a-number|"
    raise AssertionError(kind)


FORGERIES = [
    "wrong-signature",
    "signed-with-a-clients-token",
    "signed-with-the-main-token",
    "signed-for-another-id",
    "expired",
    "garbage",
]


@pytest.fixture
def listener() -> Iterator[SilentListener]:
    silent = SilentListener()
    try:
        yield silent
    finally:
        silent.close()


def asked_of_b(replicas: Replicas, session_id: str) -> dict[str, httpx.Response]:
    """Every request for the session through B, a timeout being B following the entry to
    an address that never answers."""
    with replicas.b.client(timeout_s=FORGED_ANSWER_TIMEOUT_S) as on_b:
        try:
            return every_request(on_b, session_id)
        except httpx.TimeoutException:
            raise AssertionError("B followed the entry (no answer in time)") from None


@pytest.mark.parametrize("target", ["listener", "replica-b", "replica-a"])
@pytest.mark.parametrize("kind", FORGERIES)
def test_an_entry_the_service_did_not_sign_is_ignored_never_followed(
    replicas: Replicas, listener: SilentListener, kind: str, target: str
) -> None:
    urls = {"listener": listener.url, "replica-b": replicas.b.url, "replica-a": replicas.a.url}
    session_id = secrets.token_urlsafe(24)
    replicas.write_entry(session_id, forged(kind, session_id, urls[target]))
    on_a_before = session_requests(replicas.a)
    assert_all(asked_of_b(replicas, session_id), 404, UNKNOWN)
    assert not listener.reached(), "B connected to the address a forged entry names"
    assert session_requests(replicas.a) == on_a_before, "B passed a request on to A on a forged entry"
    assert server_errors(replicas.b) == {}


def test_a_forged_entry_over_a_real_sessions_own_sends_nothing_to_its_address(
    replicas: Replicas, listener: SilentListener
) -> None:
    """Someone who can write to Redis replaces A's entry for a live session with one that
    points at their listener: B follows neither (404), and A still serves the session."""
    with replicas.a.client() as on_a:
        session_id = open_published(replicas, on_a)
        try:
            run(on_a, session_id, "kept = 'yes'")
            replicas.write_entry(session_id, forged("wrong-signature", session_id, listener.url))
            with replicas.b.client(timeout_s=FORGED_ANSWER_TIMEOUT_S) as on_b:
                try:
                    answer = on_b.post(f"/sessions/{session_id}/execute", json={"code": "print(kept)"})
                except httpx.TimeoutException:
                    raise AssertionError("B followed the forged entry") from None
            assert answer.status_code == 404, answer.text
            assert not listener.reached(), "the client's token was sent to the forged address"
            assert run(on_a, session_id, "print(kept)") == "yes\n"
        finally:
            assert on_a.delete(f"/sessions/{session_id}").status_code == 204


def test_the_same_entry_signed_by_the_service_is_followed(replicas: Replicas) -> None:
    """The control of the two tests above: an entry in their format, but signed with the
    replica secret, is followed (B passes the request on to the address it names)."""
    session_id = secrets.token_urlsafe(24)
    replicas.write_entry(session_id, signed(session_id, replicas.a.url, int(time.time()) + 3600))
    before = session_requests(replicas.a)
    with replicas.b.client() as on_b:
        answer = on_b.get(f"/sessions/{session_id}")
    assert answer.status_code == 404, answer.text  # A does not hold it either
    assert session_requests(replicas.a) == before + 1, "B did not pass the request on to A"


def test_an_entry_naming_the_replica_itself_is_not_followed_even_signed(replicas: Replicas) -> None:
    """B never passes a request on to itself: a loop, were the entry followed."""
    session_id = secrets.token_urlsafe(24)
    replicas.write_entry(session_id, signed(session_id, replicas.b.url, int(time.time()) + 3600))
    before = session_requests(replicas.b)
    with replicas.b.client(timeout_s=FORGED_ANSWER_TIMEOUT_S) as on_b:
        answer = on_b.get(f"/sessions/{session_id}")
    assert answer.status_code == 404, answer.text
    assert session_requests(replicas.b) == before + 1


def test_a_passed_on_answer_has_one_request_id(replicas: Replicas) -> None:
    with replicas.a.client() as on_a, replicas.b.client() as on_b:
        session_id = open_published(replicas, on_a)
        try:
            answer = on_b.post(f"/sessions/{session_id}/execute", json={"code": "print(1)"})
            assert answer.status_code == 200, answer.text
            assert answer.headers.get_list("x-request-id") == [answer.json()["request_id"]]
        finally:
            assert on_a.delete(f"/sessions/{session_id}").status_code == 204


# -------------------------------------------------------------------------- a replica stops


@dataclass
class Stopped:
    """A pair whose replica A was stopped (SIGTERM) while it held sessions."""

    replicas: Replicas
    #: A's sessions: one with state, one another token's.
    mine: str
    theirs: str
    #: B's own session, opened before A stopped.
    on_b: str


@pytest.fixture(scope="module")
def stopped(tmp_path_factory: pytest.TempPathFactory, shared_redis: RedisServer) -> Iterator[Stopped]:
    """Its own pair (the tests only ask B about A's sessions, so they share it)."""
    with replica_pair(tmp_path_factory.mktemp("stopped"), shared_redis.url) as pair:
        a, b = pair.a, pair.b
        with a.client() as on_a, a.client(OTHER_TOKEN) as other_on_a, b.client() as on_b:
            mine = open_published(pair, on_a)
            run(on_a, mine, "n = 1")
            theirs = open_published(pair, other_on_a)
            own = open_session(on_b)
            run(on_b, own, "m = 10")
        a.process.send_signal(signal.SIGTERM)  # the server's process only, as an orchestrator does
        a.process.wait(timeout=STOP_TIMEOUT_S)
        assert not a.listening()
        yield Stopped(pair, mine, theirs, own)


@pytest.mark.slow
def test_when_the_replica_holding_a_session_stops_the_other_answers_410_killed(stopped: Stopped) -> None:
    b = stopped.replicas.b
    with b.client() as on_b, b.client(OTHER_TOKEN) as other_on_b:
        assert_all(every_request(on_b, stopped.mine), 410, "(killed)")
        assert_all(every_request(other_on_b, stopped.theirs), 410, "(killed)")
        # B itself is fine: its own session, a new one, one-shot executions.
        assert run(on_b, stopped.on_b, "m += 1\nprint(m)") == "11\n"
        fresh = open_session(on_b)
        assert run(on_b, fresh, "print('new')") == "new\n"
        assert on_b.delete(f"/sessions/{fresh}").status_code == 204
        b.assert_still_serves()
    assert httpx.get(b.url + "/health", timeout=10).status_code == 200
    assert server_errors(b) == {}


@pytest.mark.slow
def test_once_the_holder_is_gone_another_token_still_gets_404(stopped: Stopped) -> None:
    with stopped.replicas.b.client(OTHER_TOKEN) as other_on_b:
        assert_all(every_request(other_on_b, stopped.mine), 404, UNKNOWN)
