"""``import sys`` in a real worker: the facts, exit, the streams and the recursion limit
behave as in CPython where a program can tell, and nothing of the real ``sys`` is held."""

from __future__ import annotations

import pytest

from src.worker.sys_stand_in import RECURSION_LIMIT_CAP
from tests.support.server import LiveServer


def test_the_facts_agents_read(live_server: LiveServer) -> None:
    code = (
        "import sys\n"
        "print(sys.version_info >= (3, 11), sys.version_info.major, type(sys.version).__name__)\n"
        "print(sys.maxsize == 2**63 - 1, sys.byteorder, sys.platform, sys.float_info.max > 1e308)\n"
        "sys.getsizeof([1, 2, 3]) > 0"
    )
    body = live_server.reply(code)
    assert body["stdout"] == "True 3 str\nTrue little linux True\n"
    assert body["result"] is True


def test_the_streams_write_where_print_writes_in_order(live_server: LiveServer) -> None:
    code = (
        "import sys\n"
        "print('one')\n"
        "sys.stdout.write('two\\n')\n"
        "print('warn', file=sys.stderr)\n"
        "sys.stderr.write('more\\n')\n"
        "sys.stdout.writelines(['three\\n'])\n"
        "sys.stdout.flush()\n"
        "sys.stdout.isatty()"
    )
    body = live_server.reply(code)
    assert body["stdout"] == "one\ntwo\nthree\n"
    assert body["stderr"] == "warn\nmore\n"
    assert body["result"] is False


def test_stream_output_counts_against_the_output_limit(live_server: LiveServer) -> None:
    body = live_server.reply("import sys\nwhile True:\n    sys.stdout.write('x' * 65536)")
    assert body["success"] is False
    assert body["truncated"]["stdout"] is True


@pytest.mark.parametrize(
    ("exit_call", "success", "error"),
    [
        ("sys.exit()", True, None),
        ("sys.exit(0)", True, None),
        ("raise SystemExit", True, None),
        ("sys.exit(2)", False, {"type": "SystemExit", "message": "exit status 2", "line": 3}),
        ("sys.exit('no input rows')", False, {"type": "SystemExit", "message": "no input rows", "line": 3}),
    ],
)
def test_exit_ends_the_program_as_cpython_does(
    live_server: LiveServer, exit_call: str, success: bool, error: object
) -> None:
    body = live_server.reply(f"import sys\nprint('before')\n{exit_call}\nprint('after')")
    assert body["stdout"] == "before\n"
    assert (body["success"], body["error"]) == (success, error)
    assert body["stderr"] == ("no input rows\n" if "rows" in exit_call else "")


def test_a_raised_recursion_limit_is_capped_and_the_stack_holds_it(live_server: LiveServer) -> None:
    """Recursion through C code on every level (sorted with a key calling back: about
    three of the limit's units a level) is the deepest user of the C stack measured; up
    to the cap it ends normally, past it with a RecursionError, never with a crashed
    worker. Plain recursion reaches nearly the cap."""
    code = (
        "import sys\n"
        "sys.setrecursionlimit(10 ** 6)\n"
        "def down(n):\n"
        "    return n if n == 0 else sorted([n], key=lambda x: down(x - 1))[0]\n"
        "def plain(n):\n"
        "    return n if n == 0 else plain(n - 1)\n"
        f"print(sys.getrecursionlimit(), down({RECURSION_LIMIT_CAP // 4}), plain({RECURSION_LIMIT_CAP - 50}))\n"
        f"down({RECURSION_LIMIT_CAP})"
    )
    body = live_server.reply(code, timeout_s=10)
    assert body["stdout"] == f"{RECURSION_LIMIT_CAP} {RECURSION_LIMIT_CAP // 4} 0\n", (
        body["error"],
        body["limit"],
        body["stderr"][-300:],
    )
    assert body["error"]["type"] == "RecursionError"
    assert body["limit"] is None


@pytest.mark.parametrize(
    ("expression", "error_type"),
    [
        ("sys.modules", "AttributeError"),
        ("sys.settrace", "AttributeError"),
        ("sys.stdin", "AttributeError"),
        ("sys.exc_info", "AttributeError"),
        ("vars(sys.stdout)", "SecurityError"),
        ("copy.copy(sys.stdout)", "TypeError"),
        ("setattr(sys.stdout, 'write', print)", "SecurityError"),
        ("sys.stdout.write(b'x')", "TypeError"),
        ("type(sys.stdout).write(sys.stdout, 'x')", "AttributeError"),  # the class is an inert stand-in
        ("type(sys.stdout)('stdout')", "SecurityError"),
    ],
)
def test_nothing_of_the_real_sys_is_reachable(live_server: LiveServer, expression: str, error_type: str) -> None:
    body = live_server.reply(f"import copy\nimport sys\nx = {expression}\nprint(x)")
    assert body["success"] is False
    assert body["error"]["type"] == error_type, body["error"]


def test_a_missing_member_says_why(live_server: LiveServer) -> None:
    body = live_server.reply("import sys\nsys.flags")
    assert body["error"]["message"].startswith("module 'sys' has no attribute 'flags' in the sandbox: ")
