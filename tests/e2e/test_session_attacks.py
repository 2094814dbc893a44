"""The attack corpus (../shared/attacks) through sessions as well as one-shot /execute, on
one real server; and state that one session leaves, looked for from another session of the
same token and from one-shot executions.

A session keeps one worker process for many calls, and whatever a program leaves in it
stays for the session's next call: by design. So the corpus runs in ONE session, case after
case (each case meets what the earlier ones left), and every case is also sent to one-shot
/execute: both answers must be of one class (the same HTTP status; for a 200 the same
``success`` and ``limit``), so a session is no weaker than a one-shot execution. A call
stopped by a limit ends its session: the next call must be a 410 naming that limit, and the
case goes to a new session.

Cases are judged as ../shared/tools/probe_security.py judges them (see the corpus's
README.md): an escape is the token, the canary file's secret, the environment canary or the
run-time marker in an answer (body or headers); a file in the pwn directory; traffic on the
canary port; for protocol-forgery cases the forgery marker anywhere but stdout; ``success``
true for a case marked ``# expect: fail``. After each case the service must still be
healthy, and no answer may be a 5xx. The canary listener is read without threads: the
kernel queues a connection or a datagram as it is sent, so what a case sent is there to
read (select with no wait) once its answer is back.

Persistence pairs: the setup case runs in session A, its check in another session B of
the same token and in one-shot executions (three, to meet a reused worker): the check must
not find what the setup left, be it in the probe's shared directory or (a second run) in
the session's own working directory, where the setup may write.

The corpus lives outside the repository: ``EXECUTOR_TEST_ATTACK_CORPUS``, else
<project>/../shared/attacks; without it these tests are skipped (the repository stands
alone).
"""

from __future__ import annotations

import json
import os
import random
import re
import secrets
import select
import shutil
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.server import PROJECT_ROOT, TOKEN, LiveServer, run_server

CORPUS = Path(os.environ.get("EXECUTOR_TEST_ATTACK_CORPUS") or PROJECT_ROOT.parent / "shared" / "attacks")
if not CORPUS.is_dir():
    pytest.skip(f"no attack corpus at {CORPUS} (set EXECUTOR_TEST_ATTACK_CORPUS)", allow_module_level=True)

#: Built, never written out whole: a service that echoes source back is not mistaken for one
#: that was escaped (the corpus's cases build them the same way).
MARKER = "ESC" + "APED"
FORGE_MARKER = "FOR" + "GED"
#: The probe's default timeout_s for a case without ``# timeout:``.
DEFAULT_TIMEOUT_S = 3.0
#: One-shot runs of a persistence check (the probe's --persist-repeats).
PERSIST_REPEATS = 3
ENV_CANARY_NAME = "PROBE_SECRET_CANARY"
_HEADER = re.compile(r"^#\s*([a-z_-]+)\s*:\s?(.*)$")
_HEADER_KEYS = frozenset({"id", "category", "source", "context", "pair", "timeout", "expect", "verified"})


# ----------------------------------------------------------------------------- the corpus


@dataclass(frozen=True)
class AttackCase:
    id: str
    category: str
    code: str
    context: dict[str, Any] = field(default_factory=dict)
    pair: str | None = None
    timeout_s: float | None = None
    expect: str | None = None

    @property
    def is_check(self) -> bool:
        """A persistence check (run after the setup case its ``pair`` names), as the probe says."""
        return self.category == "persistence-check" or (self.category == "data-persistence" and bool(self.pair))

    @property
    def expects_failure(self) -> bool:
        return self.expect == "fail"

    @property
    def forgery(self) -> bool:
        return self.category == "protocol-forgery"


def parse_case(path: Path) -> AttackCase:
    """The probe's format: ``# key: value`` header lines, then the program (the header is not sent)."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    meta: dict[str, str] = {}
    start = 0
    for number, line in enumerate(lines):
        match = _HEADER.match(line.rstrip("\r\n"))
        if match is None or match.group(1) not in _HEADER_KEYS:
            break
        meta[match.group(1)] = match.group(2).strip()
        start = number + 1
    missing = {"id", "category", "source"} - meta.keys()
    assert not missing, f"{path}: header without {sorted(missing)}"
    context = json.loads(meta["context"]) if meta.get("context") else {}
    assert isinstance(context, dict), f"{path}: its context is not a JSON object"
    return AttackCase(
        id=meta["id"],
        category=meta["category"],
        code="".join(lines[start:]),
        context=context,
        pair=meta.get("pair") or None,
        timeout_s=float(meta["timeout"]) if meta.get("timeout") else None,
        expect=meta.get("expect") or None,
    )


CASES: list[AttackCase] = [parse_case(path) for path in sorted(CORPUS.glob("*.py"))]
CASES_BY_ID = {case.id: case for case in CASES}
assert len(CASES_BY_ID) == len(CASES), "two cases of the corpus have one id"
#: (setup, check) for each persistence check of the corpus.
PERSISTENCE_PAIRS: list[tuple[AttackCase, AttackCase]] = [
    (CASES_BY_ID[check.pair], check) for check in CASES if check.is_check and check.pair in CASES_BY_ID
]


# --------------------------------------------------------------------- what an escape leaves


class CanaryListener:
    """A TCP and a UDP socket on one loopback port, read without a thread: a connection
    waits in the listen backlog and a datagram in the receive buffer until ``traffic()``."""

    def __init__(self) -> None:
        for _ in range(50):
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            tcp.bind(("127.0.0.1", 0))
            port: int = tcp.getsockname()[1]
            try:
                udp.bind(("127.0.0.1", port))
            except OSError:
                tcp.close()
                udp.close()
                continue
            break
        else:
            raise RuntimeError("no loopback port free for both TCP and UDP")
        tcp.listen(64)
        tcp.setblocking(False)
        udp.setblocking(False)
        self.tcp, self.udp, self.port = tcp, udp, port

    def traffic(self) -> list[str]:
        """What reached the port since the last call (bounded: at most 256 events)."""
        events: list[str] = []
        while len(events) < 256:
            readable, _, _ = select.select([self.tcp, self.udp], [], [], 0)
            if not readable:
                break
            if self.tcp in readable:
                try:
                    connection, address = self.tcp.accept()
                except BlockingIOError:
                    pass
                else:
                    connection.close()
                    events.append(f"a TCP connection from {address}")
            if self.udp in readable:
                try:
                    data, address = self.udp.recvfrom(2048)
                except BlockingIOError:
                    pass
                else:
                    events.append(f"a UDP datagram from {address}: {data[:60]!r}")
        return events

    def close(self) -> None:
        self.tcp.close()
        self.udp.close()


class Traps:
    """The canary file, the pwn directory, the canary port and the environment canary,
    laid out as the probe lays them: a world-readable directory (a canary nobody may read
    would prove nothing), a sticky world-writable pwn directory."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="session-attacks-"))
        self.root.chmod(0o755)
        self.canary_secret = "canary-" + secrets.token_hex(16)
        self.env_canary = "envcanary-" + secrets.token_hex(16)
        self.canary_path = self.root / "canary.txt"
        self.canary_path.write_text(self.canary_secret + "\n")
        self.canary_path.chmod(0o644)
        self.pwn_dir = self.root / "pwn"
        self.pwn_dir.mkdir()
        self.pwn_dir.chmod(0o1777)
        self.listener = CanaryListener()

    def context(self, case: AttackCase, nonce: str, persist_path: str | None = None) -> dict[str, Any]:
        """The probe's context globals, then the case's own."""
        context: dict[str, Any] = {
            "canary_path": str(self.canary_path),
            "pwn_path": str(self.pwn_dir / case.id),
            "canary_port": self.listener.port,
            "persist_nonce": nonce,
            "persist_path": persist_path or str(self.pwn_dir / f"{case.pair or case.id}.persist"),
        }
        context.update(case.context)
        return context

    def take_pwn_entries(self) -> list[str]:
        """What appeared in the pwn directory, removed (so that it is told once, of the run
        that made it)."""
        entries = sorted(os.listdir(self.pwn_dir))
        for name in entries:
            path = self.pwn_dir / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        return entries

    def close(self) -> None:
        self.listener.close()
        shutil.rmtree(self.root, ignore_errors=True)


def request_body(case: AttackCase, context: dict[str, Any]) -> dict[str, Any]:
    return {"code": case.code, "context": context, "timeout_s": case.timeout_s or DEFAULT_TIMEOUT_S}


Outcome = tuple[int, bool | None, str | None]


def outcome(response: httpx.Response) -> Outcome:
    """The class of an answer: its status; for a 200, success and limit too."""
    if response.status_code != 200:
        return (response.status_code, None, None)
    body = response.json()
    return (200, body["success"], body["limit"])


def escapes(traps: Traps, case: AttackCase, response: httpx.Response, how: str) -> list[str]:
    """Every sign, in this answer or on the host, that the case got out (the probe's
    ESCAPE), and a 5xx (its ERROR5XX): empty when the case was held."""
    found: list[str] = []
    text = response.text + "\n" + "\n".join(f"{name}: {value}" for name, value in response.headers.items())
    secrets_ = {"the token": TOKEN, "the canary file's secret": traps.canary_secret}
    secrets_ |= {"the environment canary": traps.env_canary, "the run-time marker": MARKER}
    found += [f"{how}: the answer holds {name}" for name, secret in secrets_.items() if secret in text]
    found += [f"{how}: {entry} appeared in the pwn directory" for entry in traps.take_pwn_entries()]
    found += [f"{how}: the canary port saw {event}" for event in traps.listener.traffic()]
    if response.status_code >= 500:
        found.append(f"{how}: HTTP {response.status_code}: {response.text[:300]}")
    if response.status_code == 200:
        body: dict[str, Any] = response.json()
        if case.forgery:
            elsewhere = {key: value for key, value in body.items() if key != "stdout"}
            if FORGE_MARKER in json.dumps(elsewhere, default=str):
                found.append(f"{how}: a forged frame was taken for the worker's own")
        if case.expects_failure and body["success"] is True:
            found.append(f"{how}: success is true for a case that must fail (a forged result?)")
    return found


# ------------------------------------------------------------------------------- the server


def http_5xx(server: LiveServer) -> dict[str, float]:
    """Every 5xx the server has answered, by route and method (from /metrics)."""
    text = httpx.get(server.url + "/metrics", timeout=10).text
    return {
        f"{sample.labels['method']} {sample.labels['route']} {sample.labels['status']}": sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "executor_http_requests_total" and sample.labels.get("status", "").startswith("5")
    }


def assert_healthy(server: LiveServer, after: str) -> None:
    """The probe's DOS check (/health 200, a benign program answers 42), and no 5xx so far."""
    health = httpx.get(server.url + "/health", timeout=10)
    assert health.status_code == 200, f"after {after}: /health {health.status_code} {health.text[:300]}"
    with server.client(timeout_s=10) as client:
        benign = client.post("/execute", json={"code": "print(6*7)"})
    assert benign.status_code == 200 and benign.json()["stdout"] == "42\n", f"after {after}: {benign.text[:300]}"
    assert http_5xx(server) == {}, f"after {after}: 5xx answers: {http_5xx(server)}"


@dataclass
class Harness:
    server: LiveServer
    traps: Traps
    client: httpx.Client


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    traps = Traps()  # run_server passes the server none of this process's EXECUTOR_* variables
    try:
        env = {ENV_CANARY_NAME: traps.env_canary}
        with run_server(tmp_path_factory.mktemp("session-attacks"), env) as server, server.client() as client:
            yield Harness(server, traps, client)
    finally:
        traps.close()


def open_session(client: httpx.Client) -> str:
    created = client.post("/sessions", json={})
    assert created.status_code == 201, created.text
    session_id: str = created.json()["session_id"]
    return session_id


def end_session(client: httpx.Client, session_id: str) -> None:
    """DELETE, whatever state it is in (204, or 410 when it ended already)."""
    assert client.delete(f"/sessions/{session_id}").status_code in (204, 410)


def session_call(client: httpx.Client, session_id: str, code: str, **body: Any) -> httpx.Response:
    return client.post(f"/sessions/{session_id}/execute", json={"code": code, **body})


# ----------------------------------------------------------------- the corpus in one session


class CorpusSession:
    """The one session the corpus runs in, case after case, and a new one each time a case
    ends it. What a call's answer says of the session's end is checked on the next call: a
    limit ends it (410 naming the limit); a failed call may have lost its worker (410
    ``killed``); a successful one never ends it."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.session_id: str | None = None
        #: The 410 reasons the next call may get, and whether it must get one.
        self.may_end: tuple[str, ...] = ()
        self.must_end = False
        self.opened = 0

    def _open(self) -> str:
        self.session_id = open_session(self.client)
        self.opened += 1
        self.may_end, self.must_end = (), False
        return self.session_id

    def run(self, body: dict[str, Any]) -> tuple[list[httpx.Response], list[str]]:
        """Every answer the case got in the session (a 410, then the answer of a new
        session), and what was wrong with the session's end."""
        problems: list[str] = []
        session_id = self.session_id or self._open()
        answers = [self.client.post(f"/sessions/{session_id}/execute", json=body)]
        first = answers[0]
        if first.status_code == 410:
            detail = str(first.json().get("detail"))
            if not any(f"({why})" in detail for why in self.may_end):
                problems.append(f"session: ended with no call to end it (expected one of {self.may_end}): {detail}")
            answers.append(self.client.post(f"/sessions/{self._open()}/execute", json=body))
        elif self.must_end:
            problems.append(f"session: a call stopped by {self.may_end} did not end it: {first.status_code}")
        last = answers[-1]
        if last.status_code == 200 and last.json()["limit"] is not None:
            self.may_end, self.must_end = (str(last.json()["limit"]),), True
        elif last.status_code == 200 and last.json()["success"] is False:
            self.may_end, self.must_end = ("killed",), False
        elif last.status_code == 200:
            self.may_end, self.must_end = (), False
        return answers, problems

    def close(self) -> None:
        if self.session_id is not None:
            end_session(self.client, self.session_id)


@pytest.fixture(scope="module")
def corpus_session(harness: Harness) -> Iterator[CorpusSession]:
    runner = CorpusSession(harness.client)
    try:
        yield runner
    finally:
        runner.close()


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_a_session_holds_every_attack_as_one_shot_execute_does(
    harness: Harness, corpus_session: CorpusSession, case: AttackCase
) -> None:
    # A nonce of its own: a persistence check here meets no setup's nonce (pairs are below).
    body = request_body(case, harness.traps.context(case, secrets.token_hex(8)))
    one_shot = harness.client.post("/execute", json=body)
    problems = escapes(harness.traps, case, one_shot, "one-shot")
    in_session, session_problems = corpus_session.run(body)
    problems += session_problems
    for answer in in_session:
        problems += escapes(harness.traps, case, answer, "session")
    if outcome(in_session[-1]) != outcome(one_shot):
        problems.append(
            f"the session's outcome {outcome(in_session[-1])} is not the one-shot's {outcome(one_shot)}:\n"
            f"  session: {in_session[-1].text[:400]}\n  one-shot: {one_shot.text[:400]}"
        )
    assert not problems, "\n".join(problems)
    assert_healthy(harness.server, case.id)


# ------------------------------------------------------------------------------ persistence


#: Where a setup case is told to leave its file: the probe's (a shared directory, which the
#: sandbox must not let it write) or the session's own working directory (which it may).
PERSIST_PLACES = ("shared-directory", "session-directory")


def persist_path(setup: AttackCase, place: str) -> str | None:
    return None if place == "shared-directory" else f"{setup.id}.persist"


@pytest.mark.slow
@pytest.mark.parametrize("place", PERSIST_PLACES)
@pytest.mark.parametrize(("setup", "check"), PERSISTENCE_PAIRS, ids=[check.id for _, check in PERSISTENCE_PAIRS])
def test_what_a_setup_leaves_in_one_session_no_other_session_or_one_shot_finds(
    harness: Harness, setup: AttackCase, check: AttackCase, place: str
) -> None:
    client, traps = harness.client, harness.traps
    nonce = secrets.token_hex(8)
    setup_body = request_body(setup, traps.context(setup, nonce, persist_path(setup, place)))
    check_body = request_body(check, traps.context(check, nonce, persist_path(setup, place)))
    problems: list[str] = []
    a = open_session(client)
    b: str | None = None
    try:
        left = client.post(f"/sessions/{a}/execute", json=setup_body)
        problems += escapes(traps, setup, left, "the setup in session A")
        b = open_session(client)  # after the setup: its worker is forked after it ran
        problems += escapes(traps, check, client.post(f"/sessions/{b}/execute", json=check_body), "session B")
        for attempt in range(PERSIST_REPEATS):
            problems += escapes(traps, check, client.post("/execute", json=check_body), f"one-shot {attempt + 1}")
    finally:
        for session_id in (a, b):
            if session_id is not None:
                end_session(client, session_id)
    assert not problems, "\n".join(problems)
    assert_healthy(harness.server, f"{setup.id} then {check.id}")


@pytest.mark.parametrize(("setup", "check"), PERSISTENCE_PAIRS, ids=[check.id for _, check in PERSISTENCE_PAIRS])
def test_a_persistence_check_is_not_blind_it_finds_its_setup_within_the_same_session(
    harness: Harness, setup: AttackCase, check: AttackCase
) -> None:
    """The control of the test above: in the same session the check does find what its
    setup left (state carries by design), so its silence elsewhere means something."""
    client, traps = harness.client, harness.traps
    nonce = secrets.token_hex(8)
    where = persist_path(setup, "session-directory")
    session_id = open_session(client)
    try:
        left = client.post(
            f"/sessions/{session_id}/execute", json=request_body(setup, traps.context(setup, nonce, where))
        )
        if outcome(left) != (200, True, None):
            pytest.skip(f"{setup.id} leaves nothing here (it answered {outcome(left)})")
        found = client.post(
            f"/sessions/{session_id}/execute", json=request_body(check, traps.context(check, nonce, where))
        )
    finally:
        end_session(client, session_id)
    assert found.status_code == 200, found.text
    assert MARKER in found.json()["stdout"], found.text


# ---------------------------------------------------------------- state across sessions


@dataclass(frozen=True)
class State:
    """Something a program can leave in its process: ``leave`` leaves it, ``look`` prints
    it (``leaked`` when it is there)."""

    name: str
    leave: str
    look: str
    leaked: str


def states(nonce: str, seed: int) -> list[State]:
    dialect = f"leak_{nonce}"
    return [
        State(
            "global", f"leaked = {nonce!r}", "try:\n    print(leaked)\nexcept NameError:\n    print('absent')", nonce
        ),
        State(
            "class-attribute",
            f"class Holder:\n    value = None\n\nHolder.value = {nonce!r}",
            "try:\n    print(Holder.value)\nexcept NameError:\n    print('absent')",
            nonce,
        ),
        State(
            "library-registry",  # a registry of a C module: the process's, not the program's namespace
            f"import csv\ncsv.register_dialect({dialect!r}, delimiter=';')",
            f"import csv\nprint({dialect!r} in csv.list_dialects())",
            "True",
        ),
        State(
            "decimal-context",  # the thread's context, in the C module
            "import decimal\ndecimal.getcontext().prec = 7",
            "import decimal\nprint(decimal.getcontext().prec)",
            "7",
        ),
        State(
            "random-seed",
            f"import random\nrandom.seed({seed})",
            # The next value, without drawing it (so that looking twice sees the same).
            "import random\nkept = random.getstate()\nprint(random.random())\nrandom.setstate(kept)",
            repr(random.Random(seed).random()),
        ),
        State(
            "environment",
            f"import os\nos.environ['LEAKED'] = {nonce!r}",
            "import os\nprint(os.environ.get('LEAKED', 'absent'))",
            nonce,
        ),
        State(
            "file",
            f"with open('leaked.txt', 'w') as f:\n    f.write({nonce!r})",
            "import os\nprint(open('leaked.txt').read() if os.path.exists('leaked.txt') else 'absent')",
            nonce,
        ),
    ]


STATE_NAMES = [state.name for state in states("x", 0)]


def looked(answer: httpx.Response, who: str) -> str:
    """What a ``look`` program printed (it must have run)."""
    assert answer.status_code == 200 and answer.json()["success"] is True, f"{who}: {answer.text[:400]}"
    printed: str = answer.json()["stdout"].strip()
    return printed


@pytest.mark.parametrize("name", STATE_NAMES)
def test_state_left_in_one_session_is_invisible_to_another_session_and_to_one_shot(harness: Harness, name: str) -> None:
    client = harness.client
    state = next(s for s in states(secrets.token_hex(8), secrets.randbits(32)) if s.name == name)
    a = open_session(client)
    b: str | None = None
    try:
        left = session_call(client, a, state.leave)
        assert left.status_code == 200 and left.json()["success"] is True, left.text
        # The control: the session itself sees it on its next call.
        assert looked(session_call(client, a, state.look), "session A") == state.leaked
        b = open_session(client)  # after A left it: a worker forked since
        assert looked(session_call(client, b, state.look), "session B") != state.leaked
        for attempt in range(PERSIST_REPEATS):
            assert looked(client.post("/execute", json={"code": state.look}), f"one-shot {attempt}") != state.leaked
        assert looked(session_call(client, a, state.look), "session A again") == state.leaked
    finally:
        for session_id in (a, b):
            if session_id is not None:
                end_session(client, session_id)


def test_modules_stay_read_only_in_a_session_and_a_refusal_does_not_end_it(harness: Harness) -> None:
    client = harness.client
    a = open_session(client)
    b: str | None = None
    try:
        for code in ("import json\njson.x = 1", "import json\njson.dumps = len", "import json\nsetattr(json, 'x', 1)"):
            refused = session_call(client, a, code)
            assert refused.status_code == 200, refused.text
            assert refused.json()["success"] is False and refused.json()["limit"] is None, refused.text
            assert refused.json()["error"]["type"] == "SecurityError", refused.text
        look = "import json\nprint(json.dumps('ab'), hasattr(json, 'x'))"
        assert looked(session_call(client, a, look), "session A") == '"ab" False'
        b = open_session(client)
        assert looked(session_call(client, b, look), "session B") == '"ab" False'
        assert looked(client.post("/execute", json={"code": look}), "one-shot") == '"ab" False'
        state = client.get(f"/sessions/{a}")
        assert state.status_code == 200 and state.json()["executions"] == 4, state.text
    finally:
        for session_id in (a, b):
            if session_id is not None:
                end_session(client, session_id)


@pytest.mark.slow
@pytest.mark.parametrize("ending", ["deleted", "timeout"])
def test_an_ended_sessions_worker_and_state_reach_no_later_execution(harness: Harness, ending: str) -> None:
    """Its worker is killed, not handed back to the pool: neither a new session nor a
    one-shot execution meets what it left."""
    client = harness.client
    left = states(secrets.token_hex(8), secrets.randbits(32))
    a = open_session(client)
    later: str | None = None
    try:
        for state in left:
            answer = session_call(client, a, state.leave)
            assert answer.status_code == 200 and answer.json()["success"] is True, answer.text
        if ending == "deleted":
            assert client.delete(f"/sessions/{a}").status_code == 204
        else:
            stopped = session_call(client, a, "while True:\n    pass", timeout_s=1)
            assert stopped.status_code == 200 and stopped.json()["limit"] == "timeout", stopped.text
        gone = session_call(client, a, "print(1)")
        assert gone.status_code == 410 and f"({ending})" in gone.json()["detail"], gone.text
        later = open_session(client)
        for state in left:
            assert looked(session_call(client, later, state.look), f"a later session: {state.name}") != state.leaked
            for attempt in range(PERSIST_REPEATS):
                one_shot = client.post("/execute", json={"code": state.look})
                assert looked(one_shot, f"one-shot {attempt}: {state.name}") != state.leaked
    finally:
        for session_id in (a, later):
            if session_id is not None:
                end_session(client, session_id)
