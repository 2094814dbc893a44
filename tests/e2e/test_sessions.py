"""Sessions end to end (docs: /work/shared/CONTRACT.md "Sessions"): state that lives
across calls in a worker process of its own, against real servers on 127.0.0.1.

Four servers, started at once (in parallel) for the module, each with the settings its
tests are about:

* ``main``: the defaults, a second token, 8 files per working directory;
* ``short``: a 2 s idle timeout, a 4 s lifetime, 2 calls per session;
* ``limits``: 8 sessions in all, 2 per token, five tokens, one queued call per session,
  1 s of CPU per call;
* ``doomed``: SIGTERMed by the shutdown test (its only user).

Every test ends the sessions it made (``SessionClient.close``), so counts on a shared
server (metrics, /health, processes) are deltas of the test's own doing. Whatever waits
on another process waits for a condition it can see (GET /sessions/{id} says running, a
call is queued, a marker file exists, a process is gone), bounded; a call that must run
while the test acts waits for a file the test writes into the session's directory.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.procfs import alive, descendants
from tests.support.server import TEST_ENV, TOKEN, LiveServer, run_server, tight_rate_limit
from tests.support.sessions import (
    PausedRequest,
    SessionClient,
    audit_lines,
    ended_reason,
    rss_bytes,
    session_directory,
    session_worker_pid,
    worker_pids,
)
from tests.support.waiting import wait_until

OTHER_TOKEN = "other-token-0123456789abcdef"
#: The limits server's tokens besides TOKEN.
MORE_TOKENS = tuple(f"token-{n}-0123456789abcdef" for n in range(2, 6))
MAIN_MAX_FILES = 8
SHORT_IDLE_S = 2
SHORT_LIFETIME_S = 4
SHORT_MAX_EXECUTIONS = 2
LIMITS_MAX_SESSIONS = 8
LIMITS_PER_TOKEN = 2
MAX_STDOUT_BYTES = int(TEST_ENV["EXECUTOR_MAX_STDOUT_BYTES"])
MAX_TIMEOUT_S = float(TEST_ENV["EXECUTOR_MAX_TIMEOUT_S"])
MIB = 1024 * 1024
ENDED = "executor_sessions_ended_total"

SERVER_ENVS: dict[str, dict[str, str]] = {
    "main": {"EXECUTOR_EXTRA_API_TOKENS": OTHER_TOKEN, "EXECUTOR_MAX_FILES": str(MAIN_MAX_FILES)},
    "short": {
        "EXECUTOR_SESSION_IDLE_TIMEOUT_S": str(SHORT_IDLE_S),
        "EXECUTOR_SESSION_LIFETIME_S": str(SHORT_LIFETIME_S),
        "EXECUTOR_SESSION_MAX_EXECUTIONS": str(SHORT_MAX_EXECUTIONS),
    },
    "limits": {
        "EXECUTOR_MAX_SESSIONS": str(LIMITS_MAX_SESSIONS),
        "EXECUTOR_MAX_SESSIONS_PER_TOKEN": str(LIMITS_PER_TOKEN),
        "EXECUTOR_EXTRA_API_TOKENS": ",".join(MORE_TOKENS),
        "EXECUTOR_SESSION_MAX_QUEUED_CALLS": "1",
        "EXECUTOR_MAX_CPU_S": "1",
    },
    "doomed": {},
}


# --------------------------------------------------------------------------- servers


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, LiveServer]]:
    """Every server of the module, started in parallel (each takes seconds to start)."""
    directories = {name: tmp_path_factory.mktemp(f"sessions-{name}") for name in SERVER_ENVS}
    env = {name: dict(overrides) for name, overrides in SERVER_ENVS.items()}
    env["main"]["EXECUTOR_FILES_ROOT"] = str(tmp_path_factory.mktemp("sessions-main-files"))

    def start(name: str) -> tuple[contextlib.AbstractContextManager[LiveServer], LiveServer]:
        manager = run_server(directories[name], env[name])
        return manager, manager.__enter__()

    with contextlib.ExitStack() as stack:
        with ThreadPoolExecutor(max_workers=len(SERVER_ENVS)) as pool:
            starting = {name: pool.submit(start, name) for name in SERVER_ENVS}
        started: dict[str, LiveServer] = {}
        failures: list[BaseException] = []
        for name, future in starting.items():
            try:
                manager, server = future.result()
            except Exception as exc:  # noqa: BLE001 - the others are stopped, then it is raised
                failures.append(exc)
                continue
            stack.push(manager.__exit__)
            started[name] = server
        if failures:
            raise failures[0]
        yield started


@pytest.fixture(scope="module")
def main(servers: dict[str, LiveServer]) -> LiveServer:
    return servers["main"]


@pytest.fixture(scope="module")
def short(servers: dict[str, LiveServer]) -> LiveServer:
    return servers["short"]


@pytest.fixture(scope="module")
def limits(servers: dict[str, LiveServer]) -> LiveServer:
    return servers["limits"]


@pytest.fixture
def client(main: LiveServer) -> Iterator[SessionClient]:
    with SessionClient(main) as sessions:
        yield sessions


@pytest.fixture
def short_client(short: LiveServer) -> Iterator[SessionClient]:
    with SessionClient(short) as sessions:
        yield sessions


@pytest.fixture
def limits_client(limits: LiveServer) -> Iterator[SessionClient]:
    with SessionClient(limits) as sessions:
        yield sessions


# --------------------------------------------------------------------------- programs


def waiting_program(marker: str, before: str = "", wait_s: float = 8.0) -> str:
    """A program that writes ``marker`` (so its worker can be found), then waits for the
    test to write ``go`` into its directory (``release``), at most ``wait_s``; its result
    says whether ``go`` came."""
    return (
        f"{before}\nimport os, time\nopen({marker!r}, 'w').close()\n"
        f"deadline = time.monotonic() + {wait_s}\n"
        "while not os.path.exists('go') and time.monotonic() < deadline:\n    time.sleep(0.01)\n"
        "os.path.exists('go')"
    )


def find_worker(server: LiveServer, marker: str) -> int:
    """The pid of the worker whose session wrote ``marker`` (bounded wait for the file)."""
    return wait_until(
        lambda: _worker_or_none(server, marker), f"a worker with {marker!r} in its directory", timeout_s=10
    )


def _worker_or_none(server: LiveServer, marker: str) -> int | None:
    try:
        return session_worker_pid(server, marker)
    except AssertionError:
        return None


def release(server: LiveServer, marker: str) -> None:
    """Let the waiting program that wrote ``marker`` finish."""
    pid = find_worker(server, marker)
    (session_directory(pid) / "go").write_text("")


def burn_cpu(seconds: float) -> str:
    return (
        f"import time\nstart = time.process_time()\nwhile time.process_time() - start < {seconds}:\n    pass\n'burnt'"
    )


def call_alone(server: LiveServer, session_id: str, code: str, **body: Any) -> httpx.Response:
    """One call on a connection of its own (for calls made from other threads)."""
    with server.client() as http:
        return http.post(f"/sessions/{session_id}/execute", json={"code": code, **body})


def queued_is(sessions: SessionClient, session_id: str, count: int) -> bool:
    return sessions.queued_calls(session_id) == count


def parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.tzinfo is not None, value
    return parsed


# --------------------------------------------------------------------------- state across calls


def test_variables_and_functions_carry_over(client: SessionClient) -> None:
    sid = client.create()
    assert client.result(sid, "x = 40\ndef add(a, b=2):\n    return a + b\nscale = lambda v: v * 10") is None
    assert client.result(sid, "add(x)") == 42
    assert client.result(sid, "x += 1\nscale(x)") == 410
    assert client.result(sid, "x") == 41


def test_a_class_and_its_instances_carry_over(client: SessionClient) -> None:
    sid = client.create()
    client.result(
        sid,
        "class Counter:\n    def __init__(self):\n        self.n = 0\n"
        "    def bump(self):\n        self.n += 1\n        return self.n\n"
        "c = Counter()\nc.bump()",
    )
    # Attribute writes on an instance made by an earlier call, and a new instance.
    assert client.result(sid, "c.n = 10\nc.label = 'ten'\nc.bump()") == 11
    assert client.result(sid, "d = Counter()\n[c.n, c.label, d.bump(), isinstance(c, Counter)]") == [
        11,
        "ten",
        1,
        True,
    ]


def test_an_imported_module_carries_over(client: SessionClient) -> None:
    sid = client.create()
    assert client.result(sid, "import json") is None
    assert client.result(sid, "json.dumps({'a': [1, 2]})") == '{"a": [1, 2]}'


def test_the_working_directory_carries_over_and_files_list_only_the_calls_own(client: SessionClient) -> None:
    sid = client.create()
    first = client.run(sid, "open('a.txt', 'w').write('one')\nopen('keep.txt', 'w').write('k')")
    assert [(f["path"], f["content"]) for f in first["files"]] == [("a.txt", "one"), ("keep.txt", "k")]

    second = client.run(
        sid,
        "import os\nbefore = open('a.txt').read()\nopen('a.txt', 'a').write('+two')\n"
        "open('c.txt', 'w').write('new')\n[before, open('b.txt').read(), sorted(os.listdir('.'))]",
        files=[{"path": "b.txt", "content": "sent"}],
    )
    assert second["success"] is True, second
    assert second["result"] == ["one", "sent", ["a.txt", "b.txt", "c.txt", "keep.txt"]]
    # Only what this call created or changed: not the input file, not what it left alone.
    assert [(f["path"], f["content"]) for f in second["files"]] == [("a.txt", "one+two"), ("c.txt", "new")]

    third = client.run(sid, "open('c.txt').read()")
    assert (third["result"], third["files"]) == ("new", [])


def test_a_previous_calls_result_is_not_the_answer_of_a_call_without_one(client: SessionClient) -> None:
    sid = client.create()
    assert client.result(sid, "6 * 7") == 42
    assert client.result(sid, "y = 1") is None
    assert client.result(sid, "_ = 'mine'") == "mine"
    assert client.result(sid, "z = 2") is None
    assert client.result(sid, "_") == "mine"  # still there, as a name


def test_context_values_are_bound_for_their_call(client: SessionClient) -> None:
    sid = client.create()
    client.result(sid, "base = 2")
    assert client.result(sid, "base * factor", context={"factor": 21}) == 42
    assert client.result(sid, "base * factor", context={"factor": 5}) == 10


# --------------------------------------------------------------------------- isolation


def test_two_sessions_of_one_token_do_not_share_globals_or_files(client: SessionClient) -> None:
    one, two = client.create(), client.create()
    client.result(one, "secret = 'one'\nopen('mine.txt', 'w').write('1')")
    probe = (
        "import os\ntry:\n    secret\n    seen = True\nexcept NameError:\n    seen = False\n"
        "[seen, sorted(os.listdir('.'))]"
    )
    assert client.result(two, probe) == [False, []]
    assert client.result(one, probe) == [True, ["mine.txt"]]


def test_another_tokens_session_is_not_found(main: LiveServer, client: SessionClient) -> None:
    sid = client.create()
    client.result(sid, "secret = 'kept'")
    with main.client(token=OTHER_TOKEN) as other:
        answers = [
            other.get(f"/sessions/{sid}"),
            other.post(f"/sessions/{sid}/execute", json={"code": "secret = 'stolen'"}),
            other.delete(f"/sessions/{sid}"),
        ]
    assert [a.status_code for a in answers] == [404, 404, 404]
    assert all("no such session" in a.json()["detail"] for a in answers)
    # Untouched for its owner.
    assert client.result(sid, "secret") == "kept"
    assert client.state_json(sid)["executions"] == 2


def test_an_unknown_session_is_not_found(client: SessionClient) -> None:
    sid = "A" * 32
    answers = [client.state(sid), client.call(sid, "1"), client.delete(sid)]
    assert [a.status_code for a in answers] == [404, 404, 404]


def test_one_shot_execute_does_not_see_session_state(main: LiveServer, client: SessionClient) -> None:
    sid = client.create()
    client.result(sid, "secret = 'session'\nopen('mine.txt', 'w').write('1')")
    probe = (
        "import os\ntry:\n    secret\n    seen = True\nexcept NameError:\n    seen = False\n"
        "[seen, os.path.exists('mine.txt')]"
    )
    reply = main.reply(probe)
    assert (reply["success"], reply["result"]) == (True, [False, False]), reply


# --------------------------------------------------------------------------- limits end the session


def test_timeout_ends_the_session(main: LiveServer, client: SessionClient) -> None:
    sid = client.create()
    client.result(sid, "open('m-timeout', 'w').close()")
    pid = find_worker(main, "m-timeout")
    before = main.metric(ENDED, reason="timeout")
    reply = client.run(sid, "while True:\n    pass", timeout_s=1)
    assert (reply["limit"], reply["success"]) == ("timeout", False)
    assert ended_reason(client.call(sid, "1")) == "timeout"
    assert ended_reason(client.state(sid)) == "timeout"
    wait_until(lambda: not alive(pid), "the session's worker to be gone")
    assert main.metric(ENDED, reason="timeout") == before + 1


def test_cpu_allowance_is_per_call_and_its_limit_ends_the_session(
    limits: LiveServer, limits_client: SessionClient
) -> None:
    sid = limits_client.create()
    before = limits.metric(ENDED, reason="cpu")
    # 4 x 0.6 s: more than the 1 s a one-shot execution may use, in all.
    for _ in range(4):
        reply = limits_client.run(sid, burn_cpu(0.6), timeout_s=5)
        assert (reply["success"], reply["limit"], reply["result"]) == (True, None, "burnt"), reply
    reply = limits_client.run(sid, "while True:\n    pass", timeout_s=5)
    assert (reply["limit"], reply["success"]) == ("cpu", False)
    assert ended_reason(limits_client.call(sid, "1")) == "cpu"
    assert limits.metric(ENDED, reason="cpu") == before + 1


def test_the_sessions_memory_limit_ends_it(main: LiveServer, client: SessionClient) -> None:
    created = client.post_session()
    assert created.status_code == 201
    sid, memory_mb = created.json()["session_id"], created.json()["limits"]["memory_mb"]
    share = int(memory_mb * 0.6)
    before = main.metric(ENDED, reason="memory")
    # More than a one-shot execution may hold, within the session's memory.
    assert int(TEST_ENV["EXECUTOR_MAX_MEMORY_MB"]) < share < memory_mb
    assert client.result(sid, f"a = bytearray({share} * {MIB})\nlen(a)") == share * MIB
    # What the first call holds counts: twice the share is past the session's memory.
    reply = client.run(sid, f"b = bytearray({share} * {MIB})\nlen(b)")
    assert (reply["limit"], reply["success"], reply["error"]["type"]) == ("memory", False, "MemoryError")
    assert ended_reason(client.call(sid, "len(a)")) == "memory"
    assert main.metric(ENDED, reason="memory") == before + 1


def test_an_output_flood_ends_the_session(main: LiveServer, client: SessionClient) -> None:
    sid = client.create()
    before = main.metric(ENDED, reason="output")
    reply = client.run(sid, f"print('x' * {100 * MAX_STDOUT_BYTES})")
    assert (reply["limit"], reply["success"], reply["truncated"]["stdout"]) == ("output", False, True)
    assert ended_reason(client.call(sid, "1")) == "output"
    assert main.metric(ENDED, reason="output") == before + 1


def test_files_past_the_limit_across_calls_end_the_session(main: LiveServer, client: SessionClient) -> None:
    sid = client.create()
    before = main.metric(ENDED, reason="files")
    write = "for i in range(5):\n    open(f'{prefix}{i}.txt', 'w').write('x')"
    assert client.run(sid, write.replace("{prefix}", "a"))["limit"] is None
    # 5 more: the directory would hold 10, past its 8.
    reply = client.run(sid, write.replace("{prefix}", "b"))
    assert (reply["limit"], reply["success"]) == ("files", False)
    assert len(reply["files"]) == MAIN_MAX_FILES - 5  # what it made before the limit
    assert ended_reason(client.call(sid, "1")) == "files"
    assert main.metric(ENDED, reason="files") == before + 1


# --------------------------------------------------------------------------- other ends


def test_an_idle_session_ends(short: LiveServer, short_client: SessionClient) -> None:
    before = short.metric(ENDED, reason="idle")
    sid = short_client.create()
    assert short_client.wait_ended(sid, timeout_s=SHORT_IDLE_S + 10) == "idle"
    assert ended_reason(short_client.call(sid, "1")) == "idle"
    assert short.metric(ENDED, reason="idle") == before + 1


def test_a_session_ends_at_its_lifetime(short: LiveServer, short_client: SessionClient) -> None:
    created = short_client.post_session()
    assert created.status_code == 201
    sid = created.json()["session_id"]
    assert created.json()["limits"]["lifetime_s"] == SHORT_LIFETIME_S
    before = short.metric(ENDED, reason="lifetime")
    # Running, it is not idle; its call is answered, and it outlived the lifetime.
    reply = short_client.run(sid, f"import time\ntime.sleep({SHORT_LIFETIME_S + 0.3})\n'done'", timeout_s=8)
    assert (reply["success"], reply["result"]) == (True, "done")
    assert ended_reason(short_client.state(sid)) == "lifetime"
    assert short.metric(ENDED, reason="lifetime") == before + 1


def test_a_session_ends_after_its_last_allowed_call(short: LiveServer, short_client: SessionClient) -> None:
    before = short.metric(ENDED, reason="executions")
    sid = short_client.create()
    assert short_client.result(sid, "n = 1") is None
    assert short_client.result(sid, "n + 1") == 2  # the last allowed call is answered
    assert ended_reason(short_client.call(sid, "n + 2")) == "executions"
    assert ended_reason(short_client.state(sid)) == "executions"
    assert short.metric(ENDED, reason="executions") == before + 1


def test_delete_ends_the_session_and_removes_its_worker_and_files(main: LiveServer, client: SessionClient) -> None:
    sid = client.create()
    client.result(sid, "open('m-delete', 'w').close()")
    pid = find_worker(main, "m-delete")
    directory = session_directory(pid)
    before = main.metric(ENDED, reason="deleted")
    assert client.delete(sid).status_code == 204
    assert ended_reason(client.state(sid)) == "deleted"
    assert ended_reason(client.call(sid, "1")) == "deleted"
    assert ended_reason(client.delete(sid)) == "deleted"
    wait_until(lambda: not alive(pid), "the session's worker to be gone")
    wait_until(lambda: not directory.exists(), "the session's directory to be removed")
    assert main.metric(ENDED, reason="deleted") == before + 1


def test_a_worker_killed_from_outside_ends_the_session(main: LiveServer, client: SessionClient) -> None:
    sid = client.create()
    client.result(sid, "open('m-kill', 'w').close()")
    pid = find_worker(main, "m-kill")
    before = main.metric(ENDED, reason="killed")
    os.kill(pid, signal.SIGKILL)
    assert client.wait_ended(sid) == "killed"
    assert ended_reason(client.call(sid, "1")) == "killed"
    assert not Path(f"/proc/{pid}").exists()
    assert main.metric(ENDED, reason="killed") == before + 1


def test_sigterm_ends_idle_sessions_and_lets_a_running_call_finish(servers: dict[str, LiveServer]) -> None:
    server = servers["doomed"]
    with SessionClient(server) as sessions, ThreadPoolExecutor(max_workers=1) as pool:
        idle, busy = sessions.create(), sessions.create()
        sessions.result(idle, "kept = 1")
        # Requests the server has begun (it asked for their bodies) before the signal.
        idle_call = PausedRequest(server, "POST", f"/sessions/{idle}/execute", {"code": "kept"})
        new_session = PausedRequest(server, "POST", "/sessions", {})
        running = pool.submit(call_alone, server, busy, waiting_program("m-busy"), timeout_s=MAX_TIMEOUT_S)
        wait_until(lambda: sessions.state_json(busy)["running"], "the busy session's call to run")
        worker = find_worker(server, "m-busy")
        sandbox = descendants(server.process.pid)
        sessions.made.clear()  # nothing to delete after: the server is gone

        os.kill(server.process.pid, signal.SIGTERM)
        wait_until(lambda: not server.listening(), "the server to stop listening")
        with idle_call, new_session:
            idle_status, _, idle_answer = idle_call.finish()
            new_status, new_headers, new_answer = new_session.finish()
        (session_directory(worker) / "go").write_text("")
        finished = running.result(timeout=30)
        exit_code = server.process.wait(timeout=30)
        with contextlib.suppress(AssertionError):
            wait_until(lambda: not any(alive(pid) for pid in sandbox), "the sandbox processes to exit", 5)
        survivors = sorted(pid for pid in sandbox if alive(pid))

    assert idle_status == 410 and "(shutdown)" in idle_answer["detail"], idle_answer
    # A session asked for while draining: go elsewhere.
    assert (new_status, "retry-after" in new_headers) == (503, True), new_answer
    assert "shutting down" in new_answer["detail"]
    # The running call was answered; its session ended after it.
    assert finished.status_code == 200 and finished.json()["result"] is True, finished.text
    assert exit_code == -signal.SIGTERM
    assert survivors == []
    ended = {line["session_id"]: line["reason"] for line in audit_lines(server, "session") if line["event"] == "ended"}
    assert ended == {idle: "shutdown", busy: "shutdown"}


# --------------------------------------------------------------------------- how many sessions


def test_sessions_per_token_and_in_all_are_limited(limits: LiveServer) -> None:
    tokens = (TOKEN, *MORE_TOKENS)
    with contextlib.ExitStack() as stack:
        clients = [stack.enter_context(SessionClient(limits, token)) for token in tokens]
        first, *others, last = clients
        mine = [first.create() for _ in range(LIMITS_PER_TOKEN)]
        refused = first.post_session()
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) >= 1
        assert "this token" in refused.json()["detail"]
        # Another token is not held back by the first one's sessions.
        for other in others:
            for _ in range(LIMITS_PER_TOKEN):
                other.create()
        # 4 tokens x 2 = 8 sessions: the service's limit, whoever asks.
        full = last.post_session()
        assert full.status_code == 429
        assert int(full.headers["Retry-After"]) >= 1
        assert f"{LIMITS_MAX_SESSIONS} sessions are open" in full.json()["detail"]
        assert limits.metric("executor_sessions_active") == LIMITS_MAX_SESSIONS
        # Once one ends, there is room again.
        assert first.delete(mine[0]).status_code == 204
        assert first.post_session().status_code == 201
        assert others[0].delete(others[0].made[0]).status_code == 204
        assert last.post_session().status_code == 201


def test_a_sessions_calls_queue_in_order_and_a_full_queue_is_429(
    limits: LiveServer, limits_client: SessionClient
) -> None:
    sid = limits_client.create()
    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(
            call_alone, limits, sid, waiting_program("m-queue", "order = ['first']"), timeout_s=MAX_TIMEOUT_S
        )
        wait_until(lambda: limits_client.state_json(sid)["running"], "the first call to run")
        second = pool.submit(call_alone, limits, sid, "order.append('second')\nlist(order)")
        wait_until(partial(queued_is, limits_client, sid, 1), "the second call to wait")
        third = limits_client.call(sid, "order.append('third')")
        release(limits, "m-queue")
        answers = [first.result(timeout=30), second.result(timeout=30)]
    assert third.status_code == 429
    assert int(third.headers["Retry-After"]) >= 1
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].json()["result"] is True
    assert answers[1].json()["result"] == ["first", "second"]
    assert limits_client.result(sid, "order") == ["first", "second"]


def test_queued_calls_run_in_arrival_order(main: LiveServer, client: SessionClient) -> None:
    sid = client.create()
    waiting = 3
    with ThreadPoolExecutor(max_workers=waiting + 1) as pool:
        first = pool.submit(call_alone, main, sid, waiting_program("m-order", "order = []"), timeout_s=MAX_TIMEOUT_S)
        wait_until(lambda: client.state_json(sid)["running"], "the first call to run")
        later: list[Future[httpx.Response]] = []
        for k in range(waiting):
            later.append(pool.submit(call_alone, main, sid, f"order.append({k})\nlist(order)"))
            wait_until(partial(queued_is, client, sid, k + 1), f"call {k} to wait")
        release(main, "m-order")
        assert first.result(timeout=30).json()["result"] is True
        results = [future.result(timeout=30).json()["result"] for future in later]
    assert results == [[0], [0, 1], [0, 1, 2]]


def test_a_flood_of_session_creations_stays_bounded(limits: LiveServer) -> None:
    tokens = (TOKEN, *MORE_TOKENS)
    per_thread = 12  # 5 threads: 60 POSTs
    baseline = len(worker_pids(limits))
    rss_before = rss_bytes(limits.process.pid)
    bound = baseline + LIMITS_MAX_SESSIONS + 2
    with contextlib.ExitStack() as stack:
        clients = [stack.enter_context(SessionClient(limits, token)) for token in tokens]

        def flood(sessions: SessionClient) -> list[int]:
            return [sessions.post_session().status_code for _ in range(per_thread)]

        most = 0
        with ThreadPoolExecutor(max_workers=len(clients)) as pool:
            futures = [pool.submit(flood, sessions) for sessions in clients]
            for _ in range(10_000):  # bounded; ends when the flood does
                most = max(most, len(worker_pids(limits)))
                if all(future.done() for future in futures):
                    break
            statuses = Counter(status for future in futures for status in future.result(timeout=60))
        made = sum(len(sessions.made) for sessions in clients)
        # 8 sessions' workers, and the pool's pre-forked ones made up again.
        wait_until(lambda: len(worker_pids(limits)) == baseline + made, "the pool to settle", timeout_s=10)
    wait_until(lambda: len(worker_pids(limits)) == baseline, "the sessions' workers to be gone", timeout_s=10)
    rss_after = rss_bytes(limits.process.pid)

    assert set(statuses) <= {201, 429}, statuses
    # Never more than the limits: 2 per token, 8 in all, however the requests interleave.
    assert statuses[201] == LIMITS_MAX_SESSIONS == made
    assert statuses[429] == len(tokens) * per_thread - LIMITS_MAX_SESSIONS
    assert most <= bound, (most, bound)
    assert rss_after - rss_before < 32 * MIB, (rss_before, rss_after)
    assert limits.metric("executor_sessions_active") == 0


# --------------------------------------------------------------------------- GET, audit, health


def test_get_describes_the_session(main: LiveServer, client: SessionClient) -> None:
    started = main.metric("executor_sessions_started_total")
    active = main.metric("executor_sessions_active")
    created = client.post_session()
    assert created.status_code == 201
    body = created.json()
    sid = body["session_id"]
    assert main.metric("executor_sessions_started_total") == started + 1
    assert main.metric("executor_sessions_active") == active + 1

    fresh = client.state_json(sid)
    assert fresh["session_id"] == sid
    assert fresh["executions"] == 0
    assert (fresh["running"], fresh["queued_calls"]) == (False, 0)
    created_at, expires_at = parse_time(fresh["created_at"]), parse_time(fresh["expires_at"])
    assert fresh["expires_at"] == body["expires_at"]
    assert expires_at - created_at == timedelta(seconds=body["limits"]["lifetime_s"])
    assert parse_time(fresh["last_used_at"]) >= created_at
    assert isinstance(fresh["memory_bytes"], int) and fresh["memory_bytes"] > 0

    client.result(sid, "x = 1")
    client.result(sid, "x + 1")
    used = client.state_json(sid)
    assert used["executions"] == 2
    assert parse_time(used["last_used_at"]) >= parse_time(fresh["last_used_at"])
    assert used["created_at"] == fresh["created_at"]
    assert isinstance(used["memory_bytes"], int) and used["memory_bytes"] > 0


def test_audit_lines_name_the_session(main: LiveServer, client: SessionClient) -> None:
    sid = client.create()
    request_id = "session-audit-0001"
    response = client.http.post(
        f"/sessions/{sid}/execute", json={"code": "print('hi')"}, headers={"X-Request-ID": request_id}
    )
    assert response.status_code == 200
    assert client.delete(sid).status_code == 204

    execution = [line for line in audit_lines(main, "execution") if line.get("request_id") == request_id]
    assert len(execution) == 1
    assert (execution[0]["session_id"], execution[0]["status"], execution[0]["outcome"]) == (sid, 200, "success")
    events = [(line["event"], line.get("reason")) for line in audit_lines(main, "session") if line["session_id"] == sid]
    assert events == [("created", None), ("ended", "deleted")]
    assert TOKEN not in main.log()


def test_health_counts_open_sessions(main: LiveServer, client: SessionClient) -> None:
    def sessions() -> Any:
        return httpx.get(main.url + "/health", timeout=10).json()["checks"]["sessions"]

    before = sessions()
    assert before["max"] == 32
    sid = client.create()
    assert sessions() == {"open": before["open"] + 1, "max": 32}
    client.delete(sid)
    assert sessions() == before


# --------------------------------------------------------------------------- known bugs


def test_a_sessions_memory_error_names_the_sessions_limit(client: SessionClient) -> None:
    created = client.post_session()
    sid, memory_mb = created.json()["session_id"], created.json()["limits"]["memory_mb"]
    reply = client.run(sid, f"x = bytearray({2 * memory_mb} * {MIB})")
    assert reply["limit"] == "memory"
    assert f"{memory_mb} MB" in reply["error"]["message"], reply["error"]["message"]


def test_underscore_assigned_again_is_the_answer(client: SessionClient) -> None:
    sid = client.create()
    assert client.result(sid, "_ = 3") == 3
    assert client.result(sid, "_ = 3") == 3  # as a one-shot execution answers


def test_a_worker_killed_during_a_call_is_killed_not_a_limit(limits: LiveServer, limits_client: SessionClient) -> None:
    sid = limits_client.create()
    for _ in range(2):  # 1.2 s of CPU in all, each call well within its 1 s
        assert limits_client.result(sid, burn_cpu(0.6), timeout_s=5) == "burnt"
    with ThreadPoolExecutor(max_workers=1) as pool:
        running = pool.submit(call_alone, limits, sid, waiting_program("m-midcall"), timeout_s=MAX_TIMEOUT_S)
        os.kill(find_worker(limits, "m-midcall"), signal.SIGKILL)
        reply = running.result(timeout=30)
    assert reply.status_code == 200
    assert reply.json()["limit"] is None, reply.json()
    assert ended_reason(limits_client.state(sid)) == "killed"


def test_delete_during_a_call_answers_the_call(main: LiveServer, client: SessionClient) -> None:
    sid = client.create()
    timeout_s = 3
    with ThreadPoolExecutor(max_workers=1) as pool:
        running = pool.submit(call_alone, main, sid, waiting_program("m-deleted-mid"), timeout_s=timeout_s)
        find_worker(main, "m-deleted-mid")
        assert client.delete(sid).status_code == 204
        started = time.monotonic()
        reply = running.result(timeout=30)
    # Answered as soon as the worker is stopped, not at the call's deadline, and with why.
    assert reply.status_code == 410, reply.text
    assert "(deleted)" in reply.json()["detail"]
    assert time.monotonic() - started < timeout_s


def test_sessions_spend_the_budget_that_execute_and_mcp_share(tmp_path: Path) -> None:
    """Opening a session and each of its calls is one execution request of the token's
    budget, the same as /execute's (not a budget of their own, nor one per session id)."""
    limit = {"EXECUTOR_RATE_LIMIT_EXECUTE_PER_TOKEN": tight_rate_limit(4)}
    with run_server(tmp_path, limit) as server, server.client() as http:
        assert http.post("/execute", json={"code": "1"}).status_code == 200
        created = http.post("/sessions")
        assert created.status_code == 201
        session_id = created.json()["session_id"]
        calls = [http.post(f"/sessions/{session_id}/execute", json={"code": "1"}) for _ in range(3)]
        assert [call.status_code for call in calls] == [200, 200, 429]
        assert int(calls[-1].headers["Retry-After"]) >= 1
        assert http.post("/execute", json={"code": "1"}).status_code == 429
        assert http.post("/sessions").status_code == 429
