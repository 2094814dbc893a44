"""Soak test: a bounded, mixed load on the execution service, every answer checked, the
server's process tree watched for growth, and /metrics compared with the client's counts.

    .venv/bin/python -m tests.bench.soak                                 # own server, 600 s, 8 clients
    .venv/bin/python -m tests.bench.soak --duration 60 --json soak.json  # a short run, also as JSON
    .venv/bin/python -m tests.bench.soak --url http://127.0.0.1:8030 --token "$TOKEN"

Without ``--url`` it starts the service with ``tests.support.server.run_server`` on a free
loopback port: the lowered test settings (``TEST_ENV``), a random token, and the overrides of
``soak_settings`` (one execution slot per client and a queue twice that, so the soak's own
load is never refused; rate limits active but far above the load; the stdout budget back at
its default of 1 MiB for the ~1 MB output). It stops the server's whole process group at the
end. ``run_server`` starts uvicorn in the project root, so a ``.env`` there applies to the
settings not given (a warning says so). With ``--url`` (loopback only) it drives a running
service; that service's process tree is found from its listening port (or ``--pid``), and
its /metrics are compared as deltas, so any other traffic on it shows up as a difference.

The load: ``--concurrency`` threads, each with one keep-alive httpx connection, take request
numbers from one shared counter until ``--duration`` seconds or ``--max-requests`` requests,
whichever comes first. Request n is of kind ``SCHEDULE[n % len(SCHEDULE)]``, a list holding
each kind ``weight`` times, shuffled with ``--seed``: every run sends the same mix in the same
order. Each kind has one expected answer (``KINDS``): the status code, the X-Request-ID echo,
and for a 200 ``success``, ``result``, ``stdout``, ``truncated``, ``error`` and ``limit``
exactly (``stderr`` where it is deterministic), for a refusal the shape of ``detail`` and its
first item. Anything else, or no answer at all, is a wrong answer, reported with samples.
The expected answers come from the contract (../shared/CONTRACT.md) and docs/api.md; the
limits they depend on are read from the service's own ``sandbox://info`` (MCP) before the
load. The output kinds assume ``EXECUTOR_OUTPUT_FLOOD_FACTOR`` >= 2 (default 4).

Every ``--sample-interval`` seconds, from /proc: RSS and open descriptors of the server, of the
template and of the workers (the server's whole process tree), the number of processes and
zombies. Once before and once after the load, with the service idle and its tree settled, the
same again: what is left after the load is compared with what was there before it.

Exit status: 0 when every answer was the expected one, nothing answered 5xx, /metrics agrees
with the client, the service is healthy at the end and no growth is beyond the thresholds
below; 1 otherwise; 2 when the service could not be started or reached.
"""

from __future__ import annotations

import argparse
import contextlib
import enum
import json
import math
import os
import platform
import random
import secrets
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.bench.bench import UsageError, fmt, parse_target, percentile
from tests.support.server import PROJECT_ROOT, TEST_ENV, run_server

# --------------------------------------------------------------------------- thresholds

#: Growth limits; a run beyond any of them exits 1. A leak in this service would be per
#: request (a buffer, a descriptor, a process or a zombie kept for each execution), so it grows
#: with the request count: at the ~100 requests/s this mix reaches on 2 CPUs, 200 bytes per
#: request are already 1.1 MiB per minute, while a server that only warms up (allocator
#: arenas, the validator's 256-entry verdict cache) levels off. Slopes are therefore fitted
#: over the second half of the run only, and judged only when that half is long enough.
RSS_SLOPE_MAX_MIB_PER_MIN: dict[str, float] = {
    # The API process. 1 MiB/min is ~1.4 GiB a day, more than the Deployment's whole pod
    # (1 GiB). Under this load its RSS jitters by sigma ~1.5 MiB from sample to sample (1 MB
    # answers come and go; measured in a 60-s run), which gives a least-squares slope over
    # 5 minutes of 2-s samples a standard error of ~0.1 MiB/min: the limit is ~10 of those.
    "server": 1.0,
    # The template only forks, from a frozen heap: its RSS did not move by one page in the
    # 60-s run. A quarter of the server's allowance leaves room for allocator noise.
    "template": 0.25,
}
#: The second half of the run must span at least this long for its slopes to be judged. A
#: 60-s run reports them but does not judge them: over half a minute the jitter above alone
#: makes slopes of several MiB/min either way.
MIN_SLOPE_WINDOW_S = 120.0
#: Idle after the load minus idle before it, judged for every run length. The server was
#: 1-4 MiB above its start after 15- and 60-s runs (at most ~6 MiB above it under load); 32 MiB
#: is far above that warm-up and still below what ~500 bytes kept per request leave after a
#: 10-minute run (~60 000 requests). The template: flat, 4 MiB of slack.
RSS_GROWTH_MAX_MIB: dict[str, float] = {"server": 32.0, "template": 4.0}
#: Descriptors and processes must come back to what they were: the pool keeps the same number
#: of pre-forked workers, and every worker's pipes and socket are closed with it (both held
#: exactly in the runs so far). The server gets 2 descriptors of slack for a connection the
#: client closed and the server has not noticed yet; the template, which holds no
#: connections, none. One descriptor or process kept per request would be thousands.
FD_GROWTH_MAX: dict[str, int] = {"server": 2, "template": 0}
PROCESS_GROWTH_MAX = 0
ZOMBIES_AFTER_MAX = 0

# --------------------------------------------------------------------------- defaults

DEFAULT_DURATION_S = 600.0
DEFAULT_MAX_REQUESTS = 250_000
DEFAULT_CONCURRENCY = 8
DEFAULT_SAMPLE_INTERVAL_S = 2.0
REQUEST_TIMEOUT_S = 30.0
PROGRESS_EVERY_S = 30.0
SETTLE_TIMEOUT_S = 20.0
SETTLE_STABLE_S = 2.0
METRICS_CATCH_UP_S = 5.0
SAMPLES_PER_KIND = 3
MIB = 1024 * 1024

OUTPUT_LINE_BYTES = 1000
OUTPUT_1MB_LINES = 1000  # 1 000 000 bytes: under the default 1 MiB budget, close to it


def soak_settings(concurrency: int, slots: int) -> dict[str, str]:
    """Overrides of TEST_ENV for the soak's own server."""
    return {
        "EXECUTOR_MAX_CONCURRENT_EXECUTIONS": str(slots),
        # Never full: at most ``concurrency`` requests are in the service at once.
        "EXECUTOR_MAX_QUEUED_EXECUTIONS": str(2 * concurrency),
        "EXECUTOR_PREFORK_WORKERS": "4",  # the service's default (TEST_ENV lowers it)
        "EXECUTOR_MAX_STDOUT_BYTES": str(MIB),  # the default (TEST_ENV lowers it to 64 KiB)
        # The limiter runs (its storage is part of what is soaked) but never refuses the load.
        "EXECUTOR_RATE_LIMIT_EXECUTE_PER_TOKEN": "100000000/minute",
        "EXECUTOR_RATE_LIMIT_EXECUTE_PER_IP": "100000000/minute",
    }


# --------------------------------------------------------------------------- expected answers


class Unchecked(enum.Enum):
    """A field whose value is not part of the expected answer."""

    UNCHECKED = 0


UNCHECKED = Unchecked.UNCHECKED
RESPONSE_FIELDS = ("request_id", "success", "result", "stdout", "stderr", "truncated", "error", "limit", "duration_ms")
DETAIL_ITEM_FIELDS = {400: ("line", "rule", "message", "hint"), 422: ("loc", "msg", "type")}


@dataclass(frozen=True)
class Ran:
    """A 200: the program ran. Every field is compared exactly unless UNCHECKED."""

    success: bool
    result: Any = None
    stdout: str = ""
    truncated: tuple[bool, bool, bool] = (False, False, False)  # stdout, stderr, result
    limit: str | None = None
    error_type: str | None = None
    error_message: str | Unchecked = UNCHECKED
    error_line: int | Unchecked | None = UNCHECKED
    #: "empty": ""; "traceback": only frames of ``<code>`` and ending with the error's line;
    #: UNCHECKED: anything.
    stderr: Literal["empty", "traceback"] | Unchecked = "empty"


@dataclass(frozen=True)
class Refused:
    """A refusal: ``{"detail": ...}`` with this status; for 400/422 a list whose items have
    their documented fields and whose first item has ``first``'s values."""

    status: int
    first: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class Call:
    """One request as sent, and the answer it must get."""

    expect: Ran | Refused
    body: dict[str, Any] | None = None
    raw: bytes | None = None  # sent as is instead of ``body``
    auth: Literal["header", "bearer", "wrong", "none"] = "header"


@dataclass(frozen=True)
class Limits:
    """What the expected answers depend on, from the service's sandbox://info."""

    default_timeout_s: float
    max_timeout_s: float
    memory_mb: int
    max_stdout_bytes: int
    max_stderr_bytes: int
    max_result_bytes: int


@dataclass(frozen=True)
class Kind:
    name: str
    weight: int
    expected: str
    make: Callable[[int], Call]


def numbered_lines(count: int) -> str:
    """What the output programs print: ``count`` lines of OUTPUT_LINE_BYTES, numbered."""
    return "".join(str(i).zfill(6) + "x" * (OUTPUT_LINE_BYTES - 7) + "\n" for i in range(count))


def output_program(count: int) -> str:
    return f"for i in range({count}):\n    print(str(i).zfill(6) + 'x' * {OUTPUT_LINE_BYTES - 7})\n'done'\n"


def sort_expected(seed: int) -> list[int]:
    data = sorted((i * 7919 + seed) % 100003 for i in range(20000))
    return [data[0], data[10000], data[-1], sum(data[::101])]


def context_value(seq: int) -> dict[str, Any]:
    return {
        "n": seq,
        "words": [f"w{(seq * 31 + k) % 97}" for k in range(5)],
        "nested": {"a": [1, {"b": None}], "s": "caf\u00e9 \u2713"},
        "flag": seq % 2 == 0,
        "ratio": 0.25,
    }


def build_kinds(limits: Limits) -> list[Kind]:
    """Every kind of request the soak sends, with its weight in the mix and its expected answer."""
    budget = limits.max_stdout_bytes
    full_1mb = numbered_lines(OUTPUT_1MB_LINES)
    over_lines = math.ceil((budget + 64 * 1024) / OUTPUT_LINE_BYTES)
    full_over = numbered_lines(over_lines)
    twice_memory = 2 * limits.memory_mb
    over_timeout = limits.max_timeout_s + 1

    def ran(code: str, expect: Ran, **body: Any) -> Callable[[int], Call]:
        return lambda seq: Call(expect, {"code": code, **body})

    def compute_loop(seq: int) -> Call:
        n = 100_000 + seq % 1000
        code = f"total = 0\nfor i in range({n}):\n    total += i * i\ntotal\n"
        return Call(Ran(True, result=(n - 1) * n * (2 * n - 1) // 6), {"code": code})

    def compute_sort(seq: int) -> Call:
        code = (
            "data = [(i * 7919 + seed) % 100003 for i in range(20000)]\ndata.sort()\nprint(len(data))\n"
            "[data[0], data[10000], data[-1], sum(data[::101])]\n"
        )
        return Call(Ran(True, result=sort_expected(seq), stdout="20000\n"), {"code": code, "context": {"seed": seq}})

    def context_in_out(seq: int) -> Call:
        ctx = context_value(seq)
        code = (
            "print('hello ' + words[0])\n"
            "{'n2': n * 2, 'sorted': sorted(words), 'count': len(words), 'nested': nested,\n"
            " 'flag': not flag, 'ratio': ratio * 2}\n"
        )
        result = {
            "n2": seq * 2,
            "sorted": sorted(ctx["words"]),
            "count": 5,
            "nested": ctx["nested"],
            "flag": not ctx["flag"],
            "ratio": 0.5,
        }
        return Call(Ran(True, result=result, stdout=f"hello {ctx['words'][0]}\n"), {"code": code, "context": ctx})

    def raises_custom(seq: int) -> Call:
        code = "class Boom(Exception):\n    pass\nraise Boom('bad ' + str(n))\n"
        expect = Ran(
            False, error_type="Boom", error_message=f"bad {seq}", error_line=3, stderr="traceback", result=None
        )
        return Call(expect, {"code": code, "context": {"n": seq}})

    def refused(status: int, body: dict[str, Any], **first: Any) -> Callable[[int], Call]:
        return lambda seq: Call(Refused(status, tuple(first.items())), body)

    timeout_ran = Ran(False, limit="timeout", error_type="TimeoutError", stderr=UNCHECKED)
    memory_ran = Ran(False, limit="memory", error_type="MemoryError", stderr=UNCHECKED)
    keyerror_code = "def look(d):\n    return d['missing']\nprint('before')\nlook({'present': 1})\n"
    kinds = [
        Kind("trivial", 24, "200 success, stdout '42\\n'", ran("print(6 * 7)", Ran(True, stdout="42\n"))),
        Kind(
            "trivial_bearer",
            6,
            "as trivial, token as Authorization: Bearer",
            lambda seq: Call(Ran(True, stdout="42\n"), {"code": "print(6 * 7)"}, auth="bearer"),
        ),
        Kind("compute_loop", 8, "200, result = sum of i*i (code varies)", compute_loop),
        Kind("compute_sort", 8, "200, sorted 20k ints, result and stdout exact", compute_sort),
        Kind("context", 10, "200, context in (nested, unicode), result out exact", context_in_out),
        Kind(
            "output_1mb",
            3,
            f"200, {len(full_1mb)} B stdout exact, truncated.stdout {str(len(full_1mb) > budget).lower()}",
            ran(
                output_program(OUTPUT_1MB_LINES),
                Ran(True, result="done", stdout=full_1mb[:budget], truncated=(len(full_1mb) > budget, False, False)),
            ),
        ),
        Kind(
            "output_over_budget",
            2,
            f"200 success, {len(full_over)} B printed, stdout = first {budget} B, truncated.stdout true",
            ran(
                output_program(over_lines),
                Ran(True, result="done", stdout=full_over[:budget], truncated=(True, False, False)),
            ),
        ),
        Kind(
            "raises_keyerror",
            6,
            "200, error KeyError line 2, stdout 'before\\n', traceback of <code> only",
            ran(
                keyerror_code,
                Ran(
                    False,
                    stdout="before\n",
                    error_type="KeyError",
                    error_message="'missing'",
                    error_line=2,
                    stderr="traceback",
                ),
            ),
        ),
        Kind("raises_custom", 4, "200, error Boom 'bad <n>' line 3 (class of the program)", raises_custom),
        Kind(
            "timeout",
            1,
            "200, limit timeout, TimeoutError (while True: pass, timeout_s 1)",
            ran("while True:\n    pass\n", timeout_ran, timeout_s=1),
        ),
        Kind(
            "timeout_printed",
            1,
            "as timeout, after print('started'): stdout 'started\\n' (contract: output before a timeout is returned)",
            ran(
                "print('started')\nwhile True:\n    pass\n",
                Ran(False, stdout="started\n", limit="timeout", error_type="TimeoutError", stderr=UNCHECKED),
                timeout_s=1,
            ),
        ),
        Kind(
            "memory_block",
            2,
            f"200, limit memory, MemoryError (one {twice_memory} MiB bytearray)",
            ran(f"x = bytearray({twice_memory} * {MIB})\nlen(x)\n", memory_ran),
        ),
        Kind(
            "memory_grow",
            1,
            f"200, limit memory, MemoryError, stdout 'allocating\\n' (1 MiB blocks up to {twice_memory} MiB)",
            ran(
                f"print('allocating')\nblocks = []\nfor i in range({twice_memory}):\n"
                f"    blocks.append(bytearray({MIB}))\nlen(blocks)\n",
                Ran(False, stdout="allocating\n", limit="memory", error_type="MemoryError", stderr=UNCHECKED),
            ),
        ),
        Kind(
            "rejected_import",
            6,
            "400, first violation line 1 rule import",
            refused(400, {"code": "import os\n"}, line=1, rule="import"),
        ),
        Kind(
            "rejected_name",
            4,
            "400, first violation line 2 rule forbidden_name",
            refused(400, {"code": "print(1)\nexec('x = 1')\n"}, line=2, rule="forbidden_name"),
        ),
        Kind(
            "malformed_json",
            3,
            "422 json_invalid",
            lambda seq: Call(Refused(422, (("type", "json_invalid"),)), raw=b'{"code": "print(1)"'),
        ),
        Kind(
            "unknown_field",
            2,
            "422 extra_forbidden",
            refused(
                422, {"code": "print(1)", "unknown_field": 1}, loc=["body", "unknown_field"], type="extra_forbidden"
            ),
        ),
        Kind("wrong_type", 2, "422 string_type", refused(422, {"code": 42}, loc=["body", "code"], type="string_type")),
        Kind(
            "timeout_out_of_range",
            2,
            f"422 on timeout_s {over_timeout:g}",
            refused(422, {"code": "print(1)", "timeout_s": over_timeout}, loc=["body", "timeout_s"]),
        ),
        Kind(
            "wrong_token",
            3,
            "401, detail text",
            lambda seq: Call(Refused(401), {"code": "print(1)"}, auth="wrong"),
        ),
        Kind("no_token", 2, "401, detail text", lambda seq: Call(Refused(401), {"code": "print(1)"}, auth="none")),
    ]
    return kinds


def make_schedule(kinds: Sequence[Kind], seed: int) -> list[Kind]:
    schedule = [kind for kind in kinds for _ in range(kind.weight)]
    random.Random(seed).shuffle(schedule)
    return schedule


# --------------------------------------------------------------------------- checking


def short(value: Any, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 20] + f"... ({len(text)} chars)"


def same_json(a: Any, b: Any) -> bool:
    """Equal as JSON documents (true is not 1, 1.0 is not 1)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def text_difference(expected: str, got: str) -> str:
    where = f"length {len(got)} instead of {len(expected)}" if len(expected) != len(got) else "same length"
    first = next((i for i, (x, y) in enumerate(zip(expected, got, strict=False)) if x != y), None)
    if first is not None:
        where += f", first difference at {first}: {short(got[first : first + 40], 80)}"
    return where


def check_ran(expect: Ran, reply: dict[str, Any], request_id: str) -> list[str]:
    problems: list[str] = []
    missing = [name for name in RESPONSE_FIELDS if name not in reply]
    if missing:
        return [f"fields missing from the answer: {missing}"]
    if reply["request_id"] != request_id:
        problems.append(f"request_id {short(reply['request_id'])} instead of {request_id!r}")
    if reply["success"] is not expect.success:
        problems.append(f"success {short(reply['success'])} instead of {expect.success}")
    if not same_json(reply["result"], expect.result):
        problems.append(f"result {short(reply['result'])} instead of {short(expect.result)}")
    if reply["stdout"] != expect.stdout:
        if isinstance(reply["stdout"], str) and len(expect.stdout) > 200:
            problems.append(f"stdout differs: {text_difference(expect.stdout, reply['stdout'])}")
        else:
            problems.append(f"stdout {short(reply['stdout'])} instead of {short(expect.stdout)}")
    truncated = dict(zip(("stdout", "stderr", "result"), expect.truncated, strict=True))
    if reply["truncated"] != truncated:
        problems.append(f"truncated {short(reply['truncated'])} instead of {truncated}")
    if reply["limit"] != expect.limit:
        problems.append(f"limit {short(reply['limit'])} instead of {expect.limit!r}")
    error = reply["error"]
    if expect.error_type is None:
        if error is not None:
            problems.append(f"error {short(error)} instead of null")
    elif not isinstance(error, dict):
        problems.append(f"error {short(error)} instead of an object of type {expect.error_type}")
    else:
        if error.get("type") != expect.error_type:
            problems.append(f"error.type {short(error.get('type'))} instead of {expect.error_type!r}")
        if expect.error_message is not UNCHECKED and error.get("message") != expect.error_message:
            problems.append(f"error.message {short(error.get('message'))} instead of {expect.error_message!r}")
        if expect.error_line is not UNCHECKED and error.get("line") != expect.error_line:
            problems.append(f"error.line {short(error.get('line'))} instead of {expect.error_line}")
    stderr = reply["stderr"]
    if expect.stderr == "empty" and stderr != "":
        problems.append(f"stderr {short(stderr)} instead of empty")
    elif expect.stderr == "traceback":
        lines = stderr.splitlines() if isinstance(stderr, str) else []
        foreign = [line for line in lines if line.startswith("  File ") and not line.startswith('  File "<code>"')]
        last = f"{expect.error_type}: {expect.error_message}" if expect.error_message is not UNCHECKED else None
        if not lines or lines[0] != "Traceback (most recent call last):" or foreign:
            problems.append(f"stderr is not a traceback of <code> only: {short(stderr, 300)}")
        elif last is not None and lines[-1] != last:
            problems.append(f"stderr ends with {short(lines[-1])} instead of {last!r}")
    duration = reply["duration_ms"]
    if isinstance(duration, bool) or not isinstance(duration, int | float) or not duration >= 0:
        problems.append(f"duration_ms {short(duration)} is not a non-negative number")
    return problems


def check_refused(expect: Refused, status: int, answer: Any) -> list[str]:
    if not isinstance(answer, dict) or set(answer) != {"detail"}:
        return [f"body {short(answer, 300)} is not {{'detail': ...}}"]
    detail = answer["detail"]
    item_fields = DETAIL_ITEM_FIELDS.get(status)
    if item_fields is None:
        return [] if isinstance(detail, str) and detail else [f"detail {short(detail)} is not a text"]
    if not isinstance(detail, list) or not detail or not all(isinstance(item, dict) for item in detail):
        return [f"detail {short(detail, 300)} is not a list of objects"]
    problems = [
        f"detail item {short(item)} lacks {[f for f in item_fields if f not in item]}"
        for item in detail
        if any(f not in item for f in item_fields)
    ]
    first = detail[0]
    for key, value in expect.first:
        if first.get(key) != value:
            problems.append(f"detail[0].{key} {short(first.get(key))} instead of {short(value)}")
    return problems


def check_answer(call: Call, response: httpx.Response, request_id: str) -> list[str]:
    """What is wrong with this answer (nothing: an empty list)."""
    expect = call.expect
    status = response.status_code
    want = 200 if isinstance(expect, Ran) else expect.status
    problems: list[str] = []
    if status != want:
        problems.append(f"status {status} instead of {want}: {short(response.content[:300], 340)}")
        return problems
    if response.headers.get("x-request-id") != request_id:
        problems.append(f"X-Request-ID {short(response.headers.get('x-request-id'))} instead of {request_id!r}")
    if response.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        problems.append(f"Content-Type {short(response.headers.get('content-type'))}")
    try:
        answer = response.json()
    except ValueError as exc:
        return [*problems, f"body is not JSON ({exc}): {short(response.content[:300], 340)}"]
    if isinstance(expect, Ran):
        if not isinstance(answer, dict):
            return [*problems, f"body {short(answer)} is not an object"]
        problems += check_ran(expect, answer, request_id)
    else:
        problems += check_refused(expect, status, answer)
    return problems


def outcome_of(response: httpx.Response) -> str:
    """How the service should count this /execute answer in executor_executions_total."""
    if response.status_code != 200:
        return "rejected"
    try:
        reply = response.json()
    except ValueError:
        return "unparsed"
    if not isinstance(reply, dict):
        return "unparsed"
    if reply.get("success") is True:
        return "success"
    return "limit" if reply.get("limit") is not None else "error"


# --------------------------------------------------------------------------- the load


@dataclass
class Tally:
    """One client's own record (no locking); merged after the load."""

    count: Counter[str] = field(default_factory=Counter)
    wrong: Counter[str] = field(default_factory=Counter)
    samples: dict[str, list[str]] = field(default_factory=dict)
    latencies_s: dict[str, list[float]] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    transport_errors: Counter[str] = field(default_factory=Counter)


@dataclass
class Load:
    """What the clients share: the schedule, the ticket counter, the bounds, the stop flag."""

    url: str
    token: str
    schedule: Sequence[Kind]
    max_requests: int
    deadline: float
    stop: threading.Event = field(default_factory=threading.Event)
    _next: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def ticket(self) -> int | None:
        """The next request number, or None once a bound is reached."""
        if self.stop.is_set() or time.monotonic() >= self.deadline:
            return None
        with self._lock:
            if self._next >= self.max_requests:
                return None
            self._next += 1
            return self._next - 1

    @property
    def issued(self) -> int:
        return self._next


def headers_for(call: Call, token: str, request_id: str) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "X-Request-ID": request_id}
    if call.auth == "header":
        headers["X-Executor-Token"] = token
    elif call.auth == "bearer":
        headers["Authorization"] = f"Bearer {token}"
    elif call.auth == "wrong":
        headers["X-Executor-Token"] = "wrong-" + token[::-1]
    return headers


def client(load: Load, tally: Tally) -> None:
    with httpx.Client(base_url=load.url, timeout=REQUEST_TIMEOUT_S) as http:
        while (seq := load.ticket()) is not None:
            kind = load.schedule[seq % len(load.schedule)]
            call = kind.make(seq)
            request_id = f"soak-{seq}"
            content = call.raw if call.raw is not None else json.dumps(call.body).encode()
            tally.count[kind.name] += 1
            started = time.perf_counter()
            try:
                response = http.post("/execute", content=content, headers=headers_for(call, load.token, request_id))
            except httpx.HTTPError as exc:
                problems = [f"no answer: {type(exc).__name__}: {exc}"]
                tally.transport_errors[type(exc).__name__] += 1
            else:
                tally.latencies_s.setdefault(kind.name, []).append(time.perf_counter() - started)
                tally.statuses[response.status_code] += 1
                tally.outcomes[outcome_of(response)] += 1
                problems = check_answer(call, response, request_id)
            if problems:
                tally.wrong[kind.name] += 1
                kept = tally.samples.setdefault(kind.name, [])
                if len(kept) < SAMPLES_PER_KIND:
                    kept.append(f"{request_id}: " + "; ".join(problems))


# --------------------------------------------------------------------------- the process tree


@dataclass(frozen=True)
class Sample:
    t_s: float
    processes: int
    zombies: int
    templates: int
    workers: int
    others: int
    server_rss_mib: float
    server_fds: int | None
    template_rss_mib: float
    template_fds: int | None
    workers_rss_mib: float
    workers_fds: int | None


SERIES: tuple[tuple[str, str], ...] = (
    ("server_rss_mib", "server RSS MiB"),
    ("server_fds", "server fds"),
    ("template_rss_mib", "template RSS MiB"),
    ("template_fds", "template fds"),
    ("workers", "workers"),
    ("workers_rss_mib", "workers RSS MiB (sum)"),
    ("workers_fds", "workers fds (sum)"),
    ("processes", "processes in tree"),
    ("zombies", "zombies"),
)


def _stat(pid: str) -> tuple[int, str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name in parentheses may contain anything: split after the last ')'.
    fields = text.rpartition(")")[2].split()
    return int(fields[1]), fields[0]


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0  # a zombie, or gone


def _fds(pid: int) -> int | None:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None  # gone, or not ours to read


def _is_template(pid: int) -> bool:
    try:
        return b"src.worker.template" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _add(total: int | None, value: int | None) -> int | None:
    return None if total is None or value is None else total + value


def sample_tree(root: int, t_s: float) -> Sample | None:
    """The server's process tree now; None when the server itself is gone."""
    table: dict[int, tuple[int, str]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (found := _stat(entry)) is not None:
            table[int(entry)] = found
    if root not in table:
        return None
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    role: dict[int, str] = {root: "server"}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for child in children.get(parent, []):
            if role[parent] == "server":
                role[child] = "template" if _is_template(child) else "other"
            elif role[parent] in ("template", "worker"):
                role[child] = "worker"
            else:
                role[child] = "other"
            frontier.append(child)
    rss = {name: 0 for name in ("server", "template", "worker", "other")}
    fds: dict[str, int | None] = {name: 0 for name in rss}
    counts: Counter[str] = Counter()
    zombies = 0
    for pid, name in role.items():
        counts[name] += 1
        if table[pid][1] == "Z":
            zombies += 1
            continue
        rss[name] += _rss_kib(pid)
        fds[name] = _add(fds[name], _fds(pid))
    return Sample(
        t_s=round(t_s, 2),
        processes=len(role),
        zombies=zombies,
        templates=counts["template"],
        workers=counts["worker"],
        others=counts["other"],
        server_rss_mib=round(rss["server"] / 1024, 2),
        server_fds=fds["server"],
        template_rss_mib=round(rss["template"] / 1024, 2),
        template_fds=fds["template"],
        workers_rss_mib=round(rss["worker"] / 1024, 2),
        workers_fds=fds["worker"],
    )


class Sampler(threading.Thread):
    def __init__(self, root: int, started: float, interval_s: float) -> None:
        super().__init__(name="soak-sampler", daemon=True)
        self.root, self.started, self.interval_s = root, started, interval_s
        self.samples: list[Sample] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while True:
            sample = sample_tree(self.root, time.monotonic() - self.started)
            if sample is not None:
                self.samples.append(sample)
            if self.stop.wait(self.interval_s):
                return


def settle(root: int) -> tuple[Sample | None, bool]:
    """An idle sample once the tree has stopped changing (processes, zombies, descriptors) for
    SETTLE_STABLE_S with no zombie left; the last one seen if it does not within SETTLE_TIMEOUT_S."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    last: Sample | None = None
    stable_since = time.monotonic()
    while True:
        sample = sample_tree(root, 0.0)
        if sample is None:
            return None, False
        key = (sample.processes, sample.zombies, sample.server_fds, sample.template_fds)
        if last is None or key != (last.processes, last.zombies, last.server_fds, last.template_fds):
            stable_since = time.monotonic()
        last = sample
        if sample.zombies == 0 and time.monotonic() - stable_since >= SETTLE_STABLE_S:
            return sample, True
        if time.monotonic() > deadline:
            return sample, False
        time.sleep(0.25)


def slope_per_min(points: Sequence[tuple[float, float]]) -> float | None:
    """Least-squares slope, in units per minute, of (seconds, value) points."""
    if len(points) < 3:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var == 0:
        return None
    return 60.0 * sum((t - mean_t) * (v - mean_v) for t, v in points) / var


def series_stats(samples: Sequence[Sample], name: str, half_from_s: float) -> dict[str, Any]:
    values = [(s.t_s, getattr(s, name)) for s in samples if getattr(s, name) is not None]
    if not values:
        return {"first": None, "last": None, "max": None, "slope_per_min_second_half": None}
    second = [(t, float(v)) for t, v in values if t >= half_from_s]
    slope = slope_per_min(second)
    return {
        "first": values[0][1],
        "last": values[-1][1],
        "max": max(v for _, v in values),
        "slope_per_min_second_half": None if slope is None else round(slope, 3),
    }


def find_listener(port: int) -> int | None:
    """The pid that holds the listening socket of ``port`` (same user or root), from /proc."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for row in Path(table).read_text().splitlines()[1:]:
                fields = row.split()
                if int(fields[1].rpartition(":")[2], 16) == port and fields[3] == "0A":  # TCP_LISTEN
                    inodes.add(fields[9])
    targets = {f"socket:[{inode}]" for inode in inodes}
    owners: set[int] = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{entry}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{entry}/fd/{fd}") in targets:
                        owners.add(int(entry))
                        break
    # A supervisor that passed the socket on holds it too: the topmost holder is the server.
    tops = [pid for pid in owners if (found := _stat(str(pid))) is None or found[0] not in owners]
    return min(tops) if tops else None


# --------------------------------------------------------------------------- the service


@dataclass
class Target:
    url: str
    token: str
    pid: int | None
    settings: dict[str, str]
    log_path: Path | None = None

    def log_tail(self, lines: int = 40) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


class StartError(Exception):
    """The service could not be started or reached."""


def read_limits(target: Target) -> tuple[Limits, dict[str, Any]]:
    """The limits the service tells its users (MCP resource sandbox://info)."""
    request = {"jsonrpc": "2.0", "id": 1, "method": "resources/read", "params": {"uri": "sandbox://info"}}
    headers = {"X-Executor-Token": target.token, "Accept": "application/json, text/event-stream"}
    try:
        response = httpx.post(target.url + "/mcp", json=request, headers=headers, timeout=10)
        response.raise_for_status()
        info: dict[str, Any] = json.loads(response.json()["result"]["contents"][0]["text"])
        raw = info["limits"]
        limits = Limits(
            default_timeout_s=float(raw["default_timeout_s"]),
            max_timeout_s=float(raw["max_timeout_s"]),
            memory_mb=int(raw["memory_mb"]),
            max_stdout_bytes=int(raw["max_stdout_bytes"]),
            max_stderr_bytes=int(raw["max_stderr_bytes"]),
            max_result_bytes=int(raw["max_result_bytes"]),
        )
    except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise StartError(f"could not read the limits from /mcp sandbox://info: {type(exc).__name__}: {exc}") from None
    if limits.max_stdout_bytes < 512 * 1024 or limits.max_timeout_s < 1:
        raise UsageError(
            "the soak's expected answers need a stdout budget of at least 512 KiB and timeout_s 1 allowed; "
            f"this service has {limits.max_stdout_bytes} B and at most {limits.max_timeout_s:g} s"
        )
    return limits, raw


Snapshot = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(url: str) -> Snapshot:
    text = httpx.get(url + "/metrics", timeout=10).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): float(sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def counted(metrics: Snapshot, name: str, key: str, **where: str) -> dict[str, float]:
    """Values of ``name`` by the label ``key``, among the samples whose labels include ``where``."""
    found: dict[str, float] = {}
    for (sample_name, labels), value in metrics.items():
        as_dict = dict(labels)
        if sample_name == name and all(as_dict.get(k) == v for k, v in where.items()) and key in as_dict:
            found[as_dict[key]] = found.get(as_dict[key], 0.0) + value
    return found


def compare(client_counts: dict[str, int], before: dict[str, float], after: dict[str, float]) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    for key in sorted(set(client_counts) | set(before) | set(after)):
        server = after.get(key, 0.0) - before.get(key, 0.0)
        client_n = client_counts.get(key, 0)
        if server or client_n:
            rows[key] = {"client": client_n, "server": round(server), "difference": round(server) - client_n}
    return rows


def metrics_agreement(
    target: Target, before: Snapshot, client_outcomes: Counter[str], statuses: Counter[int]
) -> dict[str, Any]:
    """Deltas of the service's counters against the client's, waiting briefly for the last
    answers' increments (counted as the answers leave)."""
    deadline = time.monotonic() + METRICS_CATCH_UP_S
    while True:
        after = scrape(target.url)
        executions = compare(
            dict(client_outcomes),
            counted(before, "executor_executions_total", "outcome", transport="http"),
            counted(after, "executor_executions_total", "outcome", transport="http"),
        )
        http = compare(
            {str(k): v for k, v in statuses.items()},
            counted(before, "executor_http_requests_total", "status", route="/execute", method="POST"),
            counted(after, "executor_http_requests_total", "status", route="/execute", method="POST"),
        )
        agree = all(row["difference"] == 0 for row in (*executions.values(), *http.values()))
        if agree or time.monotonic() > deadline:
            restarts = after.get(("executor_template_restarts_total", ()), 0.0) - before.get(
                ("executor_template_restarts_total", ()), 0.0
            )
            return {
                "executions_total_by_outcome": executions,
                "http_requests_total_execute_by_status": http,
                "template_restarts": round(restarts),
                "agree": agree,
            }
        time.sleep(0.5)


def health(url: str) -> dict[str, Any]:
    try:
        response = httpx.get(url + "/health", timeout=10)
        report: dict[str, Any] = response.json()
        report["http_status"] = response.status_code
        return report
    except (httpx.HTTPError, ValueError) as exc:
        return {"status": "unreachable", "error": f"{type(exc).__name__}: {exc}"}


@contextlib.contextmanager
def own_service(concurrency: int, slots: int) -> Iterator[Target]:
    token = secrets.token_urlsafe(32)
    overrides = soak_settings(concurrency, slots)
    with tempfile.TemporaryDirectory(prefix="executor-soak-") as workdir, contextlib.ExitStack() as stack:
        try:  # run_server raises RuntimeError when the server exits during start-up or never answers
            server = stack.enter_context(run_server(Path(workdir), overrides, token=token))
        except RuntimeError as exc:
            raise StartError(str(exc)) from None
        yield Target(server.url, token, server.process.pid, {**TEST_ENV, **overrides}, server.log_path)


# --------------------------------------------------------------------------- the run


def run(target: Target, args: argparse.Namespace, description: str) -> int:
    limits, raw_limits = read_limits(target)
    kinds = build_kinds(limits)
    schedule = make_schedule(kinds, args.seed)
    start_health = health(target.url)
    print(f"executor soak: {description}")
    print(f"  python {platform.python_version()}, {os.cpu_count()} CPUs shared by client and server")
    if target.settings:
        print("  server settings: " + ", ".join(f"{k}={v}" for k, v in sorted(target.settings.items())))
    print(f"  limits (sandbox://info): {raw_limits}")
    print(f"  /health: {start_health.get('status')}; server pid: {target.pid or 'not found (no /proc figures)'}")
    print(
        f"  load: {args.concurrency} clients, {args.duration:g} s or {args.max_requests} requests, "
        f"{len(kinds)} kinds in a schedule of {len(schedule)} (seed {args.seed}), sample every {args.sample_interval:g} s"
    )

    idle_before, settled_before = settle(target.pid) if target.pid else (None, False)
    metrics_before = scrape(target.url)
    started = time.monotonic()
    load = Load(target.url, target.token, schedule, args.max_requests, started + args.duration)
    sampler = Sampler(target.pid, started, args.sample_interval) if target.pid else None
    if sampler is not None:
        sampler.start()
    tallies = [Tally() for _ in range(args.concurrency)]
    threads = [
        threading.Thread(target=client, args=(load, tally), name=f"soak-client-{i}", daemon=True)
        for i, tally in enumerate(tallies)
    ]
    for thread in threads:
        thread.start()
    interrupted = False
    join_by = load.deadline + REQUEST_TIMEOUT_S + 5.0
    next_progress = started + PROGRESS_EVERY_S
    try:
        while any(t.is_alive() for t in threads) and time.monotonic() < join_by:
            for thread in threads:
                thread.join(timeout=0.2)
            if time.monotonic() >= next_progress:
                next_progress += PROGRESS_EVERY_S
                progress(started, tallies, sampler)
    except KeyboardInterrupt:
        interrupted = True
        load.stop.set()
        print("\ninterrupted: stopping the load, then reporting", flush=True)
        for thread in threads:
            thread.join(timeout=REQUEST_TIMEOUT_S + 5.0)
    elapsed = time.monotonic() - started
    stuck = sum(t.is_alive() for t in threads)
    if sampler is not None:
        sampler.stop.set()
        sampler.join()
    idle_after, settled_after = settle(target.pid) if target.pid else (None, False)
    end_health = health(target.url)

    tally = Tally()
    for t in tallies:
        tally.count.update(t.count)
        tally.wrong.update(t.wrong)
        tally.statuses.update(t.statuses)
        tally.outcomes.update(t.outcomes)
        tally.transport_errors.update(t.transport_errors)
        for name, kept in t.samples.items():
            tally.samples.setdefault(name, []).extend(kept)
        for name, latencies in t.latencies_s.items():
            tally.latencies_s.setdefault(name, []).extend(latencies)
    agreement = metrics_agreement(target, metrics_before, tally.outcomes, tally.statuses)

    total = sum(tally.count.values())
    stopped_by = "interrupt" if interrupted else ("count" if load.issued >= args.max_requests else "duration")
    five_xx = sum(n for status, n in tally.statuses.items() if status >= 500)
    samples = sampler.samples if sampler is not None else []
    half_from = elapsed / 2
    window = max((s.t_s for s in samples), default=0.0) - half_from
    process: dict[str, Any] = {
        "pid": target.pid,
        "sample_interval_s": args.sample_interval,
        "second_half_from_s": round(half_from, 1),
        "second_half_window_s": round(max(window, 0.0), 1),
        "series": {name: series_stats(samples, name, half_from) for name, _ in SERIES},
        "idle_before": vars(idle_before) if idle_before else None,
        "idle_before_settled": settled_before,
        "idle_after": vars(idle_after) if idle_after else None,
        "idle_after_settled": settled_after,
        "samples": [vars(s) for s in samples],
    }
    failures = judge(
        tally=tally,
        five_xx=five_xx,
        stuck=stuck,
        process=process,
        agreement=agreement,
        end_health=end_health,
        window_s=window,
    )
    kinds_report = {
        kind.name: {
            "weight": kind.weight,
            "expected": kind.expected,
            "count": tally.count[kind.name],
            "wrong": tally.wrong[kind.name],
            "wrong_samples": tally.samples.get(kind.name, [])[:5],
            "latency_ms": latency(tally.latencies_s.get(kind.name, [])),
        }
        for kind in kinds
    }
    all_latencies = [x for values in tally.latencies_s.values() for x in values]
    report: dict[str, Any] = {
        "target": description,
        "started_own_server": target.log_path is not None,
        "server_settings": target.settings,
        "limits": raw_limits,
        "concurrency": args.concurrency,
        "duration_s": args.duration,
        "max_requests": args.max_requests,
        "seed": args.seed,
        "elapsed_s": round(elapsed, 1),
        "stopped_by": stopped_by,
        "total_requests": total,
        "requests_per_s": round(total / elapsed, 1) if elapsed > 0 else 0.0,
        "wrong_answers": sum(tally.wrong.values()),
        "five_xx": five_xx,
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "transport_errors": dict(tally.transport_errors),
        "stuck_clients": stuck,
        "latency_ms_all": latency(all_latencies),
        "kinds": kinds_report,
        "process": process,
        "metrics": agreement,
        "health_start": start_health.get("status"),
        "health_end": end_health.get("status"),
        "thresholds": {
            "rss_slope_max_mib_per_min": RSS_SLOPE_MAX_MIB_PER_MIN,
            "min_slope_window_s": MIN_SLOPE_WINDOW_S,
            "rss_growth_max_mib": RSS_GROWTH_MAX_MIB,
            "fd_growth_max": FD_GROWTH_MAX,
            "process_growth_max": PROCESS_GROWTH_MAX,
            "zombies_after_max": ZOMBIES_AFTER_MAX,
        },
        "failures": failures,
        "ok": not failures,
    }
    print_summary(report)
    if failures and target.log_path is not None and (five_xx or stuck):
        print("\nserver log (tail):\n" + target.log_tail())
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"\nresults written to {args.json}")
    return 1 if failures else 0


def latency(values: Sequence[float]) -> dict[str, float | None]:
    ordered = sorted(values)
    if not ordered:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    return {
        "p50": round(percentile(ordered, 50) * 1000, 2),
        "p95": round(percentile(ordered, 95) * 1000, 2),
        "p99": round(percentile(ordered, 99) * 1000, 2),
        "max": round(ordered[-1] * 1000, 2),
    }


def progress(started: float, tallies: Sequence[Tally], sampler: Sampler | None) -> None:
    done = sum(sum(list(t.count.values())) for t in tallies)
    wrong = sum(sum(list(t.wrong.values())) for t in tallies)
    five_xx = sum(n for t in tallies for status, n in list(t.statuses.items()) if status >= 500)
    line = f"  {time.monotonic() - started:6.0f} s  {done} requests, {wrong} wrong, {five_xx} 5xx"
    if sampler is not None and sampler.samples:
        s = sampler.samples[-1]
        line += (
            f"; server {s.server_rss_mib:.1f} MiB {s.server_fds} fds, template {s.template_rss_mib:.1f} MiB "
            f"{s.template_fds} fds, {s.processes} processes ({s.zombies} zombies)"
        )
    print(line, flush=True)


def judge(
    *,
    tally: Tally,
    five_xx: int,
    stuck: int,
    process: dict[str, Any],
    agreement: dict[str, Any],
    end_health: dict[str, Any],
    window_s: float,
) -> list[str]:
    """Every reason for a non-zero exit."""
    failures: list[str] = []
    wrong = sum(tally.wrong.values())
    if wrong:
        failures.append(f"{wrong} wrong answers: {dict(tally.wrong)}")
    if five_xx:
        failures.append(f"{five_xx} answers were 5xx")
    if stuck:
        failures.append(f"{stuck} clients were still waiting for an answer at the end")
    if not agreement["agree"]:
        failures.append("/metrics disagrees with the client's counts")
    if end_health.get("status") != "healthy":
        failures.append(f"/health at the end: {end_health.get('status')}")
    if process["pid"] is None:
        return failures
    series = process["series"]
    for role, limit in RSS_SLOPE_MAX_MIB_PER_MIN.items():
        slope = series[f"{role}_rss_mib"]["slope_per_min_second_half"]
        if window_s >= MIN_SLOPE_WINDOW_S and slope is not None and slope > limit:
            failures.append(f"{role} RSS grows {slope:.2f} MiB/min over the second half (limit {limit:g})")
    before, after = process["idle_before"], process["idle_after"]
    if before is None or after is None:
        failures.append("the server's process tree could not be read before and after the load")
        return failures
    for role, limit in RSS_GROWTH_MAX_MIB.items():
        grown = after[f"{role}_rss_mib"] - before[f"{role}_rss_mib"]
        if grown > limit:
            failures.append(f"{role} RSS idle after the load is {grown:.1f} MiB above before it (limit {limit:g})")
    for role, fd_limit in FD_GROWTH_MAX.items():
        b, a = before[f"{role}_fds"], after[f"{role}_fds"]
        if b is not None and a is not None and a - b > fd_limit:
            failures.append(f"{role} holds {a - b} more descriptors idle after the load (limit {fd_limit})")
    if after["processes"] - before["processes"] > PROCESS_GROWTH_MAX:
        failures.append(f"{after['processes'] - before['processes']} more processes in the tree after the load")
    if after["zombies"] > ZOMBIES_AFTER_MAX:
        failures.append(f"{after['zombies']} zombies left after the load")
    if not process["idle_after_settled"]:
        failures.append(f"the process tree did not settle within {SETTLE_TIMEOUT_S:g} s after the load")
    return failures


def print_summary(report: dict[str, Any]) -> None:
    print()
    print(
        f"requests: {report['total_requests']} in {report['elapsed_s']} s ({report['requests_per_s']}/s), "
        f"stopped by {report['stopped_by']}; wrong answers {report['wrong_answers']}; 5xx {report['five_xx']}; "
        f"no answer {sum(report['transport_errors'].values())}; statuses {report['statuses']}"
    )
    header = f"{'kind':<21} {'n':>6} {'wrong':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}  expected"
    print()
    print(header)
    print("-" * len(header))
    rows = [*report["kinds"].items(), ("all", {"count": report["total_requests"], "wrong": report["wrong_answers"],
                                              "latency_ms": report["latency_ms_all"], "expected": ""})]  # fmt: skip
    for name, kind in rows:
        lat = kind["latency_ms"]
        print(
            f"{name:<21} {kind['count']:>6} {kind['wrong']:>5} {fmt(lat['p50'], 1):>8} {fmt(lat['p95'], 1):>8} "
            f"{fmt(lat['p99'], 1):>8} {fmt(lat['max'], 1):>8}  {kind['expected']}"
        )
    for name, kind in report["kinds"].items():
        for sample in kind["wrong_samples"]:
            print(f"  WRONG {name}: {sample}")

    process = report["process"]
    print()
    if process["pid"] is None:
        print("process tree: not measured (server pid unknown)")
    else:
        print(
            f"process tree of pid {process['pid']}: {len(process['samples'])} samples; slope = least-squares fit "
            f"over the second half (from {process['second_half_from_s']} s, {process['second_half_window_s']} s "
            f"long; judged from {MIN_SLOPE_WINDOW_S:g} s)"
        )
        header = (
            f"{'':<22} {'first':>8} {'last':>8} {'max':>8} {'slope/min':>10} {'idle before':>12} {'idle after':>11}"
        )
        print(header)
        print("-" * len(header))
        before, after = process["idle_before"] or {}, process["idle_after"] or {}
        for name, label in SERIES:
            stats = process["series"][name]
            print(
                f"{label:<22} {fmt_value(stats['first']):>8} {fmt_value(stats['last']):>8} "
                f"{fmt_value(stats['max']):>8} {fmt(stats['slope_per_min_second_half'], 2):>10} "
                f"{fmt_value(before.get(name)):>12} {fmt_value(after.get(name)):>11}"
            )
    metrics = report["metrics"]
    print()
    print(
        "/metrics deltas against the client's counts ("
        + ("agree" if metrics["agree"] else "DISAGREE")
        + f"; template restarts {metrics['template_restarts']}; /health {report['health_start']} -> "
        f"{report['health_end']}):"
    )
    for title, rows_ in (
        ("executor_executions_total{transport=http} by outcome", metrics["executions_total_by_outcome"]),
        ('executor_http_requests_total{route="/execute"} by status', metrics["http_requests_total_execute_by_status"]),
    ):
        cells = ", ".join(
            f"{key} {row['client']}/{row['server']}" + (f" (diff {row['difference']:+d})" if row["difference"] else "")
            for key, row in rows_.items()
        )
        print(f"  {title} (client/server): {cells}")
    print()
    if report["failures"]:
        print("FAIL:")
        for failure in report["failures"]:
            print(f"  - {failure}")
    else:
        print("PASS: every answer as expected, no 5xx, /metrics agrees, no growth beyond the thresholds")


def fmt_value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.soak", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", help="soak a running service (loopback only) instead of starting one")
    parser.add_argument("--token", help="X-Executor-Token for --url (default: $EXECUTOR_API_TOKEN)")
    parser.add_argument("--pid", type=int, help="the --url service's pid (default: found from its listening port)")
    parser.add_argument("--duration", type=float, default=DEFAULT_DURATION_S, help="seconds of load (default 600)")
    parser.add_argument(
        "--max-requests",
        type=int,
        default=DEFAULT_MAX_REQUESTS,
        help=f"at most this many (default {DEFAULT_MAX_REQUESTS})",
    )
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY, help="client threads (default 8)")
    parser.add_argument(
        "--slots",
        type=int,
        help="EXECUTOR_MAX_CONCURRENT_EXECUTIONS of the server this script starts (default: the concurrency)",
    )
    parser.add_argument(
        "--sample-interval", type=float, default=DEFAULT_SAMPLE_INTERVAL_S, help="seconds between /proc samples"
    )
    parser.add_argument("--seed", type=int, default=19, help="shuffles the schedule of kinds (default 19)")
    parser.add_argument("--json", metavar="OUT", type=Path, help="also write the results as JSON to OUT")
    args = parser.parse_args(argv)
    if not 0 < args.duration <= 24 * 3600 or args.max_requests < 1 or args.sample_interval <= 0:
        parser.error("--duration (at most a day), --max-requests and --sample-interval must be positive")
    if not 1 <= args.concurrency <= 64:
        parser.error("--concurrency must be between 1 and 64")
    if args.slots is None:
        args.slots = args.concurrency
    if not 1 <= args.slots <= 256:
        parser.error("--slots must be between 1 and 256")
    if args.url is None and (args.token is not None or args.pid is not None):
        parser.error("--token and --pid only apply with --url (the script starts and knows its own server)")
    return args


def _terminate(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally blocks that stop the server


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        if args.url is not None:
            _host, port = parse_target(args.url)
            token = args.token or os.environ.get("EXECUTOR_API_TOKEN", "")
            if not token:
                raise UsageError("--url needs --token (or EXECUTOR_API_TOKEN in the environment)")
            try:
                httpx.get(args.url.rstrip("/") + "/livez", timeout=5).raise_for_status()
            except httpx.HTTPError as exc:
                raise StartError(f"{args.url}/livez: {type(exc).__name__}: {exc}") from None
            pid = args.pid or find_listener(port)
            return run(Target(args.url.rstrip("/"), token, pid, {}), args, args.url)
        if (PROJECT_ROOT / ".env").exists():
            print(f"warning: {PROJECT_ROOT / '.env'} applies to the settings the soak does not set", file=sys.stderr)
        with own_service(args.concurrency, args.slots) as target:
            try:
                return run(target, args, f"own uvicorn at {target.url}")
            except StartError:
                print("server log (tail):\n" + target.log_tail(), file=sys.stderr)
                raise
    except UsageError as exc:
        print(f"soak: {exc}", file=sys.stderr)
        return 2
    except StartError as exc:
        print(f"the service is not available: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted; the server was stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
