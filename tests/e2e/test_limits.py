"""Each limit, proved by an attack sized from the configured limit (TEST_ENV).

A limit test asserts *which* limit stopped the run: an attack twice the memory limit
must come back as ``limit == "memory"``, not as a timeout or a crash. Every attack has a
sibling under the limit that still succeeds, and after every attack the server still
runs ``print(6 * 7)``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.inprocess import program
from tests.support.server import TEST_ENV, LiveServer, run_server

MAX_MEMORY_MB = int(TEST_ENV["EXECUTOR_MAX_MEMORY_MB"])
MAX_STDOUT_BYTES = int(TEST_ENV["EXECUTOR_MAX_STDOUT_BYTES"])
MAX_STDERR_BYTES = int(TEST_ENV["EXECUTOR_MAX_STDERR_BYTES"])
MAX_RESULT_BYTES = int(TEST_ENV["EXECUTOR_MAX_RESULT_BYTES"])
DEFAULT_TIMEOUT_S = float(TEST_ENV["EXECUTOR_EXECUTION_TIMEOUT_S"])
MIB = 1024 * 1024


def timed(server: LiveServer, code: str, **body: Any) -> tuple[dict[str, Any], float]:
    started = time.monotonic()
    reply = server.reply(code, **body)
    return reply, time.monotonic() - started


# --------------------------------------------------------------------------- memory

#: Fill memory but 8 MB, then compile a 20 000-name display while holding 256 kB more a round.
_OUT_OF_MEMORY_IN_COMPILE = """
hold = []
try:
    for _ in range(10_000):
        hold.append(bytearray(4 * 1024 * 1024))
except MemoryError:
    pass
hold.pop()
hold.pop()
src = "[" + ",".join(["x%d" % i for i in range(20000)]) + "]"
names = {{("x%d" % i): i for i in range(20000)}}
for _ in range(1000):
    hold.append(bytearray(256 * 1024))
    {run}
"""


@pytest.mark.parametrize(
    "code",
    [
        pytest.param(f"x = bytearray({2 * MAX_MEMORY_MB} * {MIB})\nlen(x)", id="one-block-twice-the-limit"),
        pytest.param(
            f"blocks = []\nfor i in range({2 * MAX_MEMORY_MB}):\n    blocks.append(bytearray({MIB}))\nlen(blocks)",
            id="one-mib-at-a-time-up-to-twice-the-limit",
        ),
        pytest.param(f"x = [0] * ({2 * MAX_MEMORY_MB} * {MIB} // 8)\nlen(x)", id="list-of-twice-the-limit"),
        # The limit reached while eval()/exec() compile a string: the parser's MemoryError
        # on deep nesting is a refusal, this one is the limit (attack pass 78).
        pytest.param(_OUT_OF_MEMORY_IN_COMPILE.format(run="eval(src, names)"), id="eval-compiles-at-the-limit"),
        pytest.param(_OUT_OF_MEMORY_IN_COMPILE.format(run="exec(src, names)"), id="exec-compiles-at-the-limit"),
    ],
)
def test_memory_limit(live_server: LiveServer, code: str) -> None:
    before = live_server.metric("executor_limits_hit_total", kind="memory")
    reply = live_server.reply(code)
    assert reply["limit"] == "memory"
    assert reply["success"] is False
    assert reply["error"]["type"] == "MemoryError"
    assert reply["result"] is None
    assert live_server.metric("executor_limits_hit_total", kind="memory") == before + 1
    live_server.assert_still_serves()


def test_allocation_under_the_memory_limit_works(live_server: LiveServer) -> None:
    reply = live_server.reply(f"x = bytearray({MAX_MEMORY_MB // 4} * {MIB})\nlen(x)")
    assert reply["success"] is True
    assert reply["result"] == MAX_MEMORY_MB // 4 * MIB


# --------------------------------------------------------------------------- CPU


@pytest.fixture(scope="module")
def one_cpu_second_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with run_server(tmp_path_factory.mktemp("cpu"), {"EXECUTOR_MAX_CPU_S": "1"}) as server:
        yield server


def test_cpu_limit(one_cpu_second_server: LiveServer) -> None:
    # A wall clock of 5 s, a CPU budget of 1 s: only the CPU limit can stop this before 5 s.
    reply, elapsed_s = timed(one_cpu_second_server, "while True:\n    pass", timeout_s=5)
    assert reply["limit"] == "cpu"
    assert reply["success"] is False
    assert reply["error"]["type"] == "CPUTimeExceeded"
    # ~1 s of CPU (SIGXCPU) or 2 s (the hard limit's SIGKILL); generous for a loaded host.
    assert elapsed_s < 4
    one_cpu_second_server.assert_still_serves()


def test_sleeping_uses_no_cpu_budget(one_cpu_second_server: LiveServer) -> None:
    reply = one_cpu_second_server.reply("import time\ntime.sleep(1.5)\n'done'", timeout_s=5)
    assert reply["success"] is True
    assert reply["result"] == "done"


# --------------------------------------------------------------------------- wall clock


def test_wall_clock_limit(live_server: LiveServer) -> None:
    reply, elapsed_s = timed(live_server, "import time\ntime.sleep(10)", timeout_s=1)
    assert reply["limit"] == "timeout"
    assert reply["success"] is False
    assert reply["error"]["type"] == "TimeoutError"
    assert elapsed_s < 3
    live_server.assert_still_serves()


def test_default_wall_clock_limit_applies_without_timeout_s(live_server: LiveServer) -> None:
    reply, elapsed_s = timed(live_server, "import time\ntime.sleep(30)")
    assert reply["limit"] == "timeout"
    assert elapsed_s >= DEFAULT_TIMEOUT_S
    assert elapsed_s < DEFAULT_TIMEOUT_S + 2
    live_server.assert_still_serves()


def test_short_sleep_within_the_wall_clock(live_server: LiveServer) -> None:
    reply = live_server.reply("import time\ntime.sleep(0.1)\n'awake'", timeout_s=1)
    assert reply["success"] is True
    assert reply["result"] == "awake"


# --------------------------------------------------------------------------- output


def test_output_flood_stops_the_run(live_server: LiveServer) -> None:
    reply = live_server.reply(f"print('x' * {100 * MAX_STDOUT_BYTES})")
    assert reply["limit"] == "output"
    assert reply["success"] is False
    assert reply["truncated"]["stdout"] is True
    assert len(reply["stdout"].encode("utf-8")) <= MAX_STDOUT_BYTES
    live_server.assert_still_serves()


def test_endless_printing_is_stopped_by_the_output_limit(live_server: LiveServer) -> None:
    # With a 5 s wall clock, only the output limit can end this loop early.
    reply, elapsed_s = timed(live_server, "while True:\n    print('y' * 1000)", timeout_s=5)
    assert reply["limit"] == "output"
    assert reply["stdout"].startswith("y" * 1000 + "\n")
    assert elapsed_s < 4
    live_server.assert_still_serves()


def test_output_slightly_over_budget_is_truncated_not_stopped(live_server: LiveServer) -> None:
    reply = live_server.reply(f"print('x' * {MAX_STDOUT_BYTES * 3 // 2})\n'finished'")
    assert reply["truncated"]["stdout"] is True
    assert reply["limit"] is None
    assert reply["success"] is True
    assert reply["result"] == "finished"
    assert reply["stdout"] == "x" * MAX_STDOUT_BYTES


def test_truncated_output_never_splits_a_character(live_server: LiveServer) -> None:
    # 3-byte characters: the budget falls in the middle of one; the reply stays valid text.
    reply = live_server.reply(f"print('\u20ac' * {MAX_STDOUT_BYTES})")
    assert reply["truncated"]["stdout"] is True
    assert set(reply["stdout"]) == {"\u20ac"}
    assert len(reply["stdout"].encode("utf-8")) == MAX_STDOUT_BYTES // 3 * 3


def test_stderr_over_budget_is_truncated(live_server: LiveServer) -> None:
    reply = live_server.reply(f"raise ValueError('e' * {MAX_STDERR_BYTES + 1000})")
    assert reply["truncated"]["stderr"] is True
    assert len(reply["stderr"].encode("utf-8")) <= MAX_STDERR_BYTES
    assert reply["limit"] is None
    assert reply["error"]["type"] == "ValueError"


def test_output_within_budget_is_complete(live_server: LiveServer) -> None:
    reply = live_server.reply(f"print('x' * {MAX_STDOUT_BYTES - 1})")
    assert reply["truncated"]["stdout"] is False
    assert reply["stdout"] == "x" * (MAX_STDOUT_BYTES - 1) + "\n"


# --------------------------------------------------------------------------- recursion


@pytest.mark.parametrize(
    ("code", "lines"),
    [
        pytest.param("def f(n):\n    return f(n + 1)\nf(0)", {2}, id="direct"),
        # Which of the two calls overflows depends on the parity of the stack depth the
        # program starts at; either is the program's own line (after its two comment lines).
        pytest.param(program("limits_mutual_recursion"), {4, 6}, id="mutual"),
        pytest.param("f = lambda n: f(n + 1)\nf(0)", {1}, id="lambda"),
        pytest.param("def f(n):\n    return [f(n + 1) for _ in range(1)]\nf(0)", {2}, id="through-a-comprehension"),
    ],
)
def test_unbounded_recursion(live_server: LiveServer, code: str, lines: set[int]) -> None:
    reply = live_server.reply(code)
    assert reply["error"]["type"] == "RecursionError"
    assert reply["error"]["line"] in lines
    assert reply["success"] is False
    assert reply["limit"] is None
    live_server.assert_still_serves()


def test_bounded_recursion_works(live_server: LiveServer) -> None:
    reply = live_server.reply("def fact(n):\n    return 1 if n < 2 else n * fact(n - 1)\nfact(20)")
    assert reply["result"] == 2432902008176640000


def test_deeply_nested_result_is_answered(live_server: LiveServer) -> None:
    reply = live_server.reply(program("limits_deeply_nested_result"))
    assert reply["success"] is True
    depth, value = 0, reply["result"]
    while isinstance(value, list) and value and depth < 1000:
        depth, value = depth + 1, value[0]
    assert depth < 1000  # cut off long before the program's 100 000 levels
    live_server.assert_still_serves()


# --------------------------------------------------------------------------- huge ints


def test_huge_int_power_is_stopped_by_the_wall_clock(live_server: LiveServer) -> None:
    reply, elapsed_s = timed(live_server, "x = 10 ** (10 ** 8)\n1", timeout_s=1)
    assert reply["limit"] == "timeout"
    assert elapsed_s < 3
    health = httpx.get(live_server.url + "/health", timeout=10)
    assert health.status_code == 200
    live_server.assert_still_serves()


def test_huge_int_to_text_is_an_error(live_server: LiveServer) -> None:
    reply = live_server.reply("str(10 ** 5000)")
    assert reply["error"]["type"] == "ValueError"
    assert reply["success"] is False
    live_server.assert_still_serves()


def test_huge_int_result_is_described(live_server: LiveServer) -> None:
    reply = live_server.reply("10 ** 5000")
    assert reply["success"] is True
    assert reply["result"] == f"<int with {(10**5000).bit_length()} bits>"


# --------------------------------------------------------------------------- result size


@pytest.mark.parametrize(
    "code",
    [
        pytest.param(f"list(range({MAX_RESULT_BYTES}))", id="list"),
        pytest.param(f"_ = [i for i in range({MAX_RESULT_BYTES})]", id="underscore"),
        pytest.param(f"'r' * {2 * MAX_RESULT_BYTES}", id="string"),
        pytest.param(f"{{str(i): i for i in range({MAX_RESULT_BYTES})}}", id="dict"),
    ],
)
def test_result_over_budget_is_truncated(live_server: LiveServer, code: str) -> None:
    reply = live_server.reply(code)
    assert reply["truncated"]["result"] is True
    assert reply["success"] is True
    assert len(json.dumps(reply["result"], ensure_ascii=False).encode("utf-8")) <= MAX_RESULT_BYTES
    live_server.assert_still_serves()


def test_long_string_result_keeps_its_start(live_server: LiveServer) -> None:
    reply = live_server.reply(f"'r' * {2 * MAX_RESULT_BYTES}")
    assert reply["truncated"]["result"] is True
    assert reply["result"].startswith("r" * 1000)


def test_result_under_budget_is_whole(live_server: LiveServer) -> None:
    reply = live_server.reply("list(range(1000))")
    assert reply["truncated"]["result"] is False
    assert reply["result"] == list(range(1000))


def test_long_list_result_keeps_its_first_items(live_server: LiveServer) -> None:
    reply = live_server.reply(f"list(range({MAX_RESULT_BYTES}))")
    assert reply["result"][:100] == list(range(100))


# --------------------------------------------------------------------------- server after the limits


def test_server_healthy_after_the_limits(live_server: LiveServer) -> None:
    health = httpx.get(live_server.url + "/health", timeout=10)
    assert health.status_code == 200
    assert health.json()["checks"]["template_restarts"] == 0
    live_server.assert_still_serves()
