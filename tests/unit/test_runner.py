"""run_job in-process: real RestrictedPython, real guards, everything the program does as data."""

from __future__ import annotations

import builtins
import json
import re
from typing import Any

import pytest

from tests.support.inprocess import Proxies, program, run


def traceback_files(stderr: str) -> set[str]:
    return set(re.findall(r'File "([^"]*)"', stderr))


# --------------------------------------------------------------------------- ordinary programs


def test_print_goes_to_stdout(proxies: Proxies) -> None:
    assert run("print('hello', 42)", proxies).stdout == "hello 42\n"


def test_for_loop_prints_each_item(proxies: Proxies) -> None:
    assert run("for i in range(3):\n    print(i)", proxies).stdout == "0\n1\n2\n"


def test_successful_program_reply(proxies: Proxies) -> None:
    reply = run("print('x')", proxies).reply
    assert reply == {"success": True, "result": None, "result_truncated": False, "error": None, "limit": None}


def test_successful_program_writes_nothing_to_stderr(proxies: Proxies) -> None:
    assert run("x = [i for i in range(3)]", proxies).stderr == ""


#: A generator whose `finally` prints, for programs that abandon it.
_ABANDONED = "def steps():\n    try:\n        yield 1\n        yield 2\n    finally:\n        print('cleanup')\n"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        pytest.param("for a, b in [(1, 2), (3, 4)]:\n    print(a + b)", "3\n7\n", id="for-tuple-unpacking"),
        pytest.param("for i, (a, b) in enumerate([(1, 2)]):\n    print(i, a, b)", "0 1 2\n", id="for-nested-unpacking"),
        pytest.param("for k, v in {'a': 1}.items():\n    print(k, v)", "a 1\n", id="for-dict-items"),
        pytest.param("a, b = 1, 2\nprint(a, b)", "1 2\n", id="assign-unpacking"),
        pytest.param("a, (b, c) = 1, (2, 3)\nprint(a, b, c)", "1 2 3\n", id="assign-nested-unpacking"),
        pytest.param("a, *rest = [1, 2, 3]\nprint(a, rest)", "1 [2, 3]\n", id="assign-starred"),
        pytest.param("x = 0\nwhile x < 2:\n    x += 1\n    print(x)", "1\n2\n", id="while"),
        pytest.param("print(*[1, 2], sep=',')", "1,2\n", id="print-star-args"),
        pytest.param("def f():\n    print('in f')\nf()", "in f\n", id="print-in-function"),
        pytest.param("print('a', end='')\nprint('b')", "ab\n", id="print-end"),
        # A generator's finalizer waits for a safe point; it runs before the next output.
        pytest.param(_ABANDONED + "for x in steps():\n    break\nprint('after')", "cleanup\nafter\n", id="gen-break"),
        pytest.param(_ABANDONED + "g = steps()\nnext(g)\ng = None\nprint('after')", "cleanup\nafter\n", id="gen-drop"),
        pytest.param(_ABANDONED + "def f():\n    g = steps()\n    next(g)\nf()\nprint('after')", "cleanup\nafter\n",
                     id="gen-local"),
    ],
)  # fmt: skip
def test_ordinary_statements_print_what_python_prints(proxies: Proxies, code: str, expected: str) -> None:
    assert run(code, proxies).stdout == expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        pytest.param("[x * x for x in range(4)]", [0, 1, 4, 9], id="list-comprehension"),
        pytest.param("{k: v for k, v in [('a', 1), ('b', 2)]}", {"a": 1, "b": 2}, id="dict-comprehension"),
        pytest.param("sorted({x % 3 for x in range(10)})", [0, 1, 2], id="set-comprehension"),
        pytest.param("sum(x for x in range(5))", 10, id="generator-expression"),
        pytest.param("[(a, b) for a, b in zip('ab', 'cd')]", [["a", "c"], ["b", "d"]], id="comprehension-unpacking"),
        pytest.param("[y for x in [[1, 2], [3]] for y in x if y > 1]", [2, 3], id="nested-comprehension"),
        pytest.param("def f(n):\n    return [i for i in range(n)]\nf(3)", [0, 1, 2], id="comprehension-in-function"),
        pytest.param("g = (x for x in range(3))\nlist(g)", [0, 1, 2], id="generator-consumed"),
        pytest.param("def gen():\n    yield from range(2)\nlist(gen())", [0, 1], id="yield-from"),
        pytest.param("f = lambda x: x + 1\nf(1)", 2, id="lambda"),
        pytest.param("try:\n    1 / 0\nexcept ZeroDivisionError:\n    r = 'caught'\nr", "caught", id="try-except"),
        pytest.param("import contextlib\n@contextlib.contextmanager\ndef ctx():\n    yield 'opened'\n"
                     "with ctx() as f:\n    r = f\nr", "opened", id="with-statement"),
    ],
)  # fmt: skip
def test_final_expression_is_the_result(proxies: Proxies, code: str, expected: Any) -> None:
    assert run(code, proxies).result == expected


def test_result_is_none_without_a_final_expression(proxies: Proxies) -> None:
    assert run("x = 5", proxies).result is None


def test_underscore_is_the_result_when_the_last_statement_is_not_an_expression(
    proxies: Proxies,
) -> None:
    assert run("x = 5\n_ = x * 2", proxies).result == 10


def test_final_expression_wins_over_underscore(proxies: Proxies) -> None:
    assert run("_ = 1\n2", proxies).result == 2


def test_final_call_to_print_has_result_none(proxies: Proxies) -> None:
    assert run("print('x')", proxies).result is None


def test_only_the_last_expression_is_the_result(proxies: Proxies) -> None:
    assert run("1\n2\n3", proxies).result == 3


def test_context_names_are_visible(proxies: Proxies) -> None:
    outcome = run("n * 2 + len(items)", proxies, context={"n": 20, "items": [1, 2]})
    assert outcome.result == 42


def test_context_values_can_be_modified_by_the_program(proxies: Proxies) -> None:
    outcome = run("data['seen'] = True\ndata", proxies, context={"data": {"seen": False}})
    assert outcome.result == {"seen": True}


def test_one_job_does_not_see_the_names_of_another(proxies: Proxies) -> None:
    run("leftover = 1", proxies)
    assert run("leftover", proxies).error["type"] == "NameError"


def test_datetime_strptime_works(proxies: Proxies) -> None:
    # strptime imports _strptime lazily from C, through the __import__ of the calling frame.
    code = "import datetime\ndatetime.datetime.strptime('2024-03-05', '%Y-%m-%d').day"
    assert run(code, proxies).result == 5


def test_time_strptime_works(proxies: Proxies) -> None:
    assert run("import time\ntime.strptime('2024', '%Y').tm_year", proxies).result == 2024


def test_datetime_without_lazy_import_works(proxies: Proxies) -> None:
    assert run("import datetime\ndatetime.date(2024, 3, 5).isoformat()", proxies).result == "2024-03-05"


# --------------------------------------------------------------------------- errors


def test_user_exception_type(proxies: Proxies) -> None:
    assert run("x = 1\nraise ValueError('boom')", proxies).error["type"] == "ValueError"


def test_user_exception_message(proxies: Proxies) -> None:
    assert run("x = 1\nraise ValueError('boom')", proxies).error["message"] == "boom"


def test_user_exception_line(proxies: Proxies) -> None:
    assert run("x = 1\nraise ValueError('boom')", proxies).error["line"] == 2


def test_user_exception_is_not_a_success(proxies: Proxies) -> None:
    assert run("1 / 0", proxies).reply["success"] is False


def test_user_exception_sets_no_limit(proxies: Proxies) -> None:
    assert run("1 / 0", proxies).reply["limit"] is None


def test_output_before_an_exception_is_kept(proxies: Proxies) -> None:
    assert run("print('before')\n1 / 0", proxies).stdout == "before\n"


FUNCTION_ERROR = "def f():\n    x = 1\n    return x / 0\n\nf()\n"


def test_exception_inside_a_function_reports_the_line_in_that_function(proxies: Proxies) -> None:
    assert run(FUNCTION_ERROR, proxies).error["line"] == 3


def test_exception_raised_by_library_code_reports_the_calling_line(proxies: Proxies) -> None:
    assert run("import json\n\njson.loads('not json')", proxies).error["line"] == 3


def test_exception_raised_by_library_code_keeps_its_type_name(proxies: Proxies) -> None:
    assert run("import json\njson.loads('not json')", proxies).error["type"] == "JSONDecodeError"


def test_error_raised_by_a_class_statement_reports_the_class_line(proxies: Proxies) -> None:
    # Extending an enum that has members fails in the metaclass, on the class line.
    code = "import enum\n\nclass Base(enum.Enum):\n    A = 1\n\nclass Sub(Base):\n    B = 2\n"
    assert run(code, proxies).error["line"] == 6


def test_error_raised_by_a_class_statement_is_reported(proxies: Proxies) -> None:
    code = "import enum\n\nclass Base(enum.Enum):\n    A = 1\n\nclass Sub(Base):\n    B = 2\n"
    assert run(code, proxies).error["type"] == "TypeError"


@pytest.mark.parametrize(
    ("code", "expected_type"),
    [
        pytest.param("raise SystemExit(3)", "SystemExit", id="system-exit"),
        pytest.param("raise KeyboardInterrupt", "KeyboardInterrupt", id="keyboard-interrupt"),
        pytest.param("raise GeneratorExit", "GeneratorExit", id="generator-exit"),
        pytest.param("def f():\n    return f()\nf()", "RecursionError", id="recursion"),
        pytest.param("class E(Exception):\n    pass\nraise E('x')", "E", id="user-exception-class"),
    ],
)
def test_base_exceptions_are_reported_not_raised(proxies: Proxies, code: str, expected_type: str) -> None:
    assert run(code, proxies).error["type"] == expected_type


def test_error_message_is_capped_at_max_error_chars(proxies: Proxies) -> None:
    outcome = run("raise ValueError('x' * 5000)", proxies, max_error_chars=100)
    assert len(outcome.error["message"]) == 100


def test_error_message_with_lone_surrogate_is_escaped(proxies: Proxies) -> None:
    message = run("raise ValueError('a\\ud800')", proxies).error["message"]
    assert message == "a\\ud800"


def test_memory_error_is_the_memory_limit(proxies: Proxies) -> None:
    # 2**60 bytes is more than any address space: the allocation fails at once.
    assert run("bytearray(2 ** 60)", proxies).reply["limit"] == "memory"


def test_memory_error_message_names_the_configured_limit(proxies: Proxies) -> None:
    assert "256 MB" in run("bytearray(2 ** 60)", proxies).error["message"]


@pytest.mark.parametrize(
    "code",
    [
        "raise MemoryError",
        "raise MemoryError('pretend')",
        "class Fake(MemoryError):\n    pass\ndef f():\n    raise Fake()\nf()",
        "try:\n    bytearray(2 ** 60)\nexcept MemoryError as e:\n    raise MemoryError('again') from e",
        "class D(dict):\n    def items(self):\n        raise MemoryError\nD(a=1)",  # raised as the result converts
        "def g():\n    yield 1\nx = g()\nnext(x)\nx.throw(MemoryError())",
        "def g():\n    yield 1\nx = g()\nnext(x)\nx.throw(MemoryError)",
        "import heapq\nm = heapq.merge([1], [2])\nnext(m)\nm.throw(MemoryError)",
        "e = MemoryError('kept')\ndef f():\n    raise e\nimport contextlib\nwith contextlib.ExitStack() as s:\n    f()",
        # Thrown into a generator that never started, and raised by library code from the
        # class the program handed it (pass 62).
        "def g():\n    yield 1\ng().throw(MemoryError)",
        "import collections.abc\nclass G(collections.abc.Generator):\n    def send(self, value):\n"
        "        raise StopIteration\n    def throw(self, typ, val=None, tb=None):\n"
        "        return super().throw(typ, val, tb)\nG().throw(MemoryError)",
        # Thrown into a finished generator: raised at the program's call, where a failed
        # allocation would be; no allocation failed (pass 62).
        "def g():\n    yield 1\ngen = g()\nlist(gen)\ngen.throw(MemoryError)",
        "def g():\n    yield 1\ngen = g()\nlist(gen)\nimport operator\n"
        "operator.methodcaller('throw', MemoryError)(gen)",
    ],
)
def test_a_memory_error_the_program_raises_is_its_error_not_the_limit(proxies: Proxies, code: str) -> None:
    outcome = run(code, proxies)
    assert outcome.reply["limit"] is None
    assert outcome.error["type"] in {"MemoryError", "Fake"}
    assert "limit" not in outcome.error["message"]


@pytest.mark.parametrize(
    "builtin", ["MemoryError", "TimeoutError", "ValueError", "WorkerCrashed", "SecurityError", "CPUTimeExceeded"]
)
def test_a_class_renamed_after_a_builtin_exception_is_reported_as_the_programs(proxies: Proxies, builtin: str) -> None:
    """A class's name is the program's to set: one named after a builtin exception or an
    error the service reports itself (a crash, a refusal) is reported with its module, so
    it never reads as the service's verdict (passes 73 and 78); the builtin itself, and
    the program's classes of other names, keep their plain names."""
    code = f"class E(Exception):\n    pass\nE.__name__ = E.__qualname__ = {builtin!r}\nraise E('the limit')"
    outcome = run(code, proxies)
    assert (outcome.error["type"], outcome.reply["limit"]) == (f"__main__.{builtin}", None)
    if builtin in dir(builtins):
        assert run(f"raise {builtin}('x')", proxies).error["type"] == builtin
    assert run("class Own(ValueError):\n    pass\nraise Own('x')", proxies).error["type"] == "Own"


def test_a_long_traceback_keeps_its_head_and_its_tail(proxies: Proxies) -> None:
    """A chain of causes thousands long is written with the lines between its head and
    its tail left out: the sandbox's own writer stays within the output limit (pass 76:
    it flooded stderr and the program's error became the output limit)."""
    code = (
        "e = None\nfor i in range(5000):\n    try:\n        raise KeyError(i) from e\n"
        "    except KeyError as k:\n        e = k\nprint('printed')\nraise e"
    )
    outcome = run(code, proxies)
    assert (outcome.error["type"], outcome.reply["limit"], outcome.stdout) == ("KeyError", None, "printed\n")
    assert len(outcome.stderr) < 70_000
    assert "characters of the traceback left out" in outcome.stderr
    assert outcome.stderr.rstrip().endswith("KeyError: 4999")
    assert outcome.stderr.startswith("Traceback (most recent call last):")


@pytest.mark.parametrize(
    ("code", "error_type"),
    [
        pytest.param("raise ValueError('x' * 3_000_000)", "ValueError", id="message"),
        pytest.param("e = ValueError('short')\ne.add_note('n' * 3_000_000)\nraise e", "ValueError", id="note"),
        pytest.param(
            "raise SyntaxError('m', ('<code>', 1, 1, 'x', 1, 3_000_000))", "SyntaxError", id="syntax-error-caret"
        ),
    ],
)
def test_one_huge_line_of_a_traceback_is_cut_too(proxies: Proxies, code: str, error_type: str) -> None:
    """The traceback is bounded in characters, not in chunks: one line of megabytes (an
    exception's message, a note, a caret line) flooded stderr from the sandbox's own
    writer, and the program's error became the output limit (pass 85)."""
    outcome = run("print('printed')\n" + code, proxies)
    assert (outcome.error["type"], outcome.reply["limit"], outcome.stdout) == (error_type, None, "printed\n")
    assert len(outcome.stderr) < 70_000
    assert "characters of the traceback left out" in outcome.stderr


def test_a_memory_error_inside_a_function_is_still_the_limit(proxies: Proxies) -> None:
    code = "def grow():\n    return bytearray(2 ** 60)\ndef outer():\n    return grow()\nouter()"
    assert run(code, proxies).reply["limit"] == "memory"


def test_a_size_no_memory_could_hold_is_the_programs_memory_error(proxies: Proxies) -> None:
    """``[0] * 2 ** 60`` fails before allocating anything (its size overflows), as it
    would under CPython on any machine: the program's error, not the service's limit."""
    outcome = run("def grow():\n    return [0] * 2 ** 60\ngrow()", proxies)
    assert outcome.reply["limit"] is None
    assert outcome.error["type"] == "MemoryError"
    assert outcome.error["line"] == 2


# --------------------------------------------------------------------------- tracebacks


def test_traceback_is_written_to_stderr(proxies: Proxies) -> None:
    stderr = run(FUNCTION_ERROR, proxies).stderr
    assert stderr.splitlines()[-1] == "ZeroDivisionError: division by zero"


def test_traceback_shows_every_frame_of_the_program(proxies: Proxies) -> None:
    stderr = run(FUNCTION_ERROR, proxies).stderr
    assert re.findall(r'File "<code>", line (\d+)', stderr) == ["5", "3"]


def test_traceback_quotes_the_program_source(proxies: Proxies) -> None:
    assert "return x / 0" in run(FUNCTION_ERROR, proxies).stderr


TRACEBACK_PROGRAMS = [
    pytest.param("1 / 0", id="top-level"),
    pytest.param(FUNCTION_ERROR, id="in-function"),
    pytest.param("import json\njson.loads('not json')", id="raised-in-library"),
    pytest.param("import socket", id="refused-import"),
    pytest.param("getattr(1, '_' + '_globals__')", id="guard-refusal"),
    pytest.param("try:\n    getattr(1, '_x')\nexcept AttributeError:\n    raise ValueError('again')",
                 id="chained-guard-refusal"),
    pytest.param("import json\ntry:\n    json.loads('x')\nexcept ValueError as e:\n    raise KeyError('k') from e",
                 id="chained-library-error"),
]  # fmt: skip


@pytest.mark.parametrize("code", TRACEBACK_PROGRAMS)
def test_traceback_holds_only_program_frames(proxies: Proxies, code: str) -> None:
    assert traceback_files(run(code, proxies).stderr) == {"<code>"}


@pytest.mark.parametrize("code", TRACEBACK_PROGRAMS)
def test_traceback_names_no_host_path(proxies: Proxies, code: str) -> None:
    assert "/work" not in run(code, proxies).stderr


@pytest.mark.parametrize("code", TRACEBACK_PROGRAMS)
def test_traceback_names_no_sandbox_module(proxies: Proxies, code: str) -> None:
    assert "src." not in run(code, proxies).stderr


# --------------------------------------------------------------------------- refused at compile time


def test_syntax_error_type(proxies: Proxies) -> None:
    assert run("x = 1\nif x\n    pass\n", proxies).error["type"] == "SyntaxError"


def test_syntax_error_line(proxies: Proxies) -> None:
    assert run("x = 1\nif x\n    pass\n", proxies).error["line"] == 2


def test_syntax_error_message(proxies: Proxies) -> None:
    assert run("x = 1\nif x\n    pass\n", proxies).error["message"] == "expected ':'"


def test_syntax_error_runs_nothing(proxies: Proxies) -> None:
    assert run("print('ran')\nx = (", proxies).stdout == ""


def test_security_error_type(proxies: Proxies) -> None:
    assert run("x = 1\ny = x.__globals__", proxies).error["type"] == "SecurityError"


def test_security_error_line(proxies: Proxies) -> None:
    assert run("x = 1\ny = x.__globals__", proxies).error["line"] == 2


def test_security_error_runs_nothing(proxies: Proxies) -> None:
    assert run("print('ran')\ny = (1).__globals__", proxies).stdout == ""


def test_security_error_lists_every_violation(proxies: Proxies) -> None:
    message = run("a = (1).__globals__\nb = (2).__code__", proxies).error["message"]
    assert re.findall(r"Line (\d+):", message) == ["1", "2"]


def test_result_name_is_unreachable_from_the_program(proxies: Proxies) -> None:
    assert run("x = 1\nx", proxies).result == 1


# --------------------------------------------------------------------------- result conversion


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        pytest.param("{3, 1, 2}", "{1, 2, 3}", id="set-repr"),
        pytest.param("float('nan')", "nan", id="nan"),
        pytest.param("float('-inf')", "-inf", id="minus-inf"),
        pytest.param("a = [1]\na.append(a)\na", [1, "[...]"], id="self-referencing-list"),
        pytest.param("10 ** 5000", "<int with 16610 bits>", id="huge-int"),
        pytest.param("(1, (2, 'x'))", [1, [2, "x"]], id="tuple-list"),
        pytest.param("{1: 'a', None: 'b'}", {"1": "a", "null": "b"}, id="non-string-keys"),
        pytest.param("import decimal\ndecimal.Decimal('1.5')", "1.5", id="decimal-as-its-string"),
        pytest.param("import enum\nclass C(enum.IntEnum):\n    A = 3\nC.A", 3, id="int-enum"),
        pytest.param("'a\\ud800'", "a\\ud800", id="lone-surrogate"),
    ],
)  # fmt: skip
def test_result_conversion(proxies: Proxies, code: str, expected: Any) -> None:
    assert run(code, proxies).result == expected


def test_instance_result_is_its_repr(proxies: Proxies) -> None:
    result = run("class P:\n    pass\nP()", proxies).result
    assert re.fullmatch(r"<__main__\.P object at 0x[0-9a-f]+>", result)


def test_result_is_not_truncated_within_the_budget(proxies: Proxies) -> None:
    assert run("list(range(100))", proxies).reply["result_truncated"] is False


def test_result_over_max_result_bytes_is_flagged(proxies: Proxies) -> None:
    outcome = run("'x' * (max_bytes + 1)", proxies, context={"max_bytes": 4096}, max_result_bytes=4096)
    assert outcome.reply["result_truncated"] is True


def test_long_list_result_is_cut_to_fit(proxies: Proxies) -> None:
    outcome = run("list(range(max_bytes))", proxies, context={"max_bytes": 4096}, max_result_bytes=4096)
    assert len(json.dumps(outcome.result).encode()) <= 4096


def test_long_list_result_is_flagged(proxies: Proxies) -> None:
    outcome = run("list(range(max_bytes))", proxies, context={"max_bytes": 4096}, max_result_bytes=4096)
    assert outcome.reply["result_truncated"] is True


def test_multibyte_result_over_the_byte_budget_is_cut_to_fit(proxies: Proxies) -> None:
    # 3000 characters but 6000 UTF-8 bytes: only the encoded size shows it is too big.
    outcome = run("'é' * 3000", proxies, max_result_bytes=4096)
    assert len(outcome.result.encode()) <= 4096


def test_multibyte_result_over_the_byte_budget_keeps_the_start_of_the_string(
    proxies: Proxies,
) -> None:
    outcome = run("'é' * 3000", proxies, max_result_bytes=4096)
    assert outcome.result.startswith("ééé") and len(outcome.result.encode()) <= 4096


def test_multibyte_result_over_the_byte_budget_is_flagged(proxies: Proxies) -> None:
    outcome = run("'é' * 3000", proxies, max_result_bytes=4096)
    assert outcome.reply["result_truncated"] is True


def test_truncated_result_is_still_a_success(proxies: Proxies) -> None:
    outcome = run("list(range(10000))", proxies, max_result_bytes=1024)
    assert outcome.reply["success"] is True


def test_reply_is_json_encodable(proxies: Proxies) -> None:
    reply = run("a = [{1, 2}, float('nan'), 10 ** 5000, 'a\\ud800']\na.append(a)\na", proxies).reply
    text = json.dumps(reply, ensure_ascii=False, allow_nan=False)
    assert isinstance(text.encode("utf-8"), bytes)


# --------------------------------------------------------------------------- sys.exit / SystemExit


def test_exit_status_is_read_from_the_exception_not_from_a_property_of_its_subclass(proxies: Proxies) -> None:
    code = "class Quiet(SystemExit):\n    @property\n    def code(self):\n        return 0\nraise Quiet(4)"
    assert run(code, proxies).error == {"type": "SystemExit", "message": "exit status 4", "line": 5}


def test_an_exit_message_of_the_programs_own_str_class_is_plain_text(proxies: Proxies) -> None:
    code = "import sys\nclass Loud(str):\n    def __str__(self):\n        return 'loud'\nsys.exit(Loud('quiet'))"
    outcome = run(code, proxies)
    assert outcome.error["type"] == "SystemExit"
    assert type(outcome.error["message"]) is str
    assert outcome.stderr == outcome.error["message"] + "\n"


def test_the_sys_streams_write_to_the_jobs_output(proxies: Proxies) -> None:
    outcome = run("import sys\nsys.stdout.write('a')\nprint('b', file=sys.stderr)", proxies)
    assert (outcome.stdout, outcome.stderr) == ("a", "b\n")


def test_a_member_a_module_does_not_offer_says_why_and_holds_no_object(proxies: Proxies) -> None:
    code = "import json\ntry:\n    json.codecs\nexcept AttributeError as e:\n    seen = [str(e), e.name, e.obj]\nseen"
    message, name, obj = run(code, proxies).result
    assert message.startswith("module 'json' has no attribute 'codecs' in the sandbox")
    assert (name, obj) == ("codecs", None)


def test_importing_a_member_a_module_does_not_offer_names_the_module_and_says_why(proxies: Proxies) -> None:
    """``from M import x`` for an x the proxy lacks is an ImportError naming M (the
    interpreter's own fallback would name an unknown module), with the catalogue's reason,
    and the optional-import idiom catches it."""
    outcome = run("from json import decoder", proxies)
    assert (outcome.error_type, outcome.error["message"]) == (
        "ImportError",
        "cannot import name 'decoder' from 'json' in the sandbox",
    )
    refused = run("from subprocess import run", proxies)
    assert refused.error_type == "ModuleNotFoundError"
    with_reason = run("from sys import modules", proxies)
    assert with_reason.error["message"].startswith("cannot import name 'modules' from 'sys' in the sandbox: ")
    code = "try:\n    from json import decoder\nexcept ImportError:\n    decoder = None\nfrom json import dumps\ndumps([decoder])"
    assert run(code, proxies).result == "[null]"


# --------------------------------------------------------------------------- describing odd outcomes


def test_an_exit_status_past_a_c_long_is_described(proxies: Proxies) -> None:
    reply = run("import sys\nsys.exit(10**5000)", proxies).reply
    assert reply["error"] == {"type": "SystemExit", "message": "exit status out of range", "line": 2}


def test_a_class_named_by_a_str_subclass_that_cannot_format_is_described(proxies: Proxies) -> None:
    code = (
        "class S(str):\n    def __format__(self, spec):\n        raise ValueError('no')\n"
        "class E(Exception):\n    def __str__(self):\n        raise ValueError('unprintable')\n"
        "class V:\n    def __repr__(self):\n        raise ValueError('no repr')\n"
        "E.__name__ = S('E')\nV.__name__ = S('V')\n"
    )
    raised = run(code + "raise E()", proxies).reply
    assert raised["error"] == {"type": "E", "message": "<E with an unprintable message>", "line": 12}
    assert run(code + "V()", proxies).reply["result"] == "<unrepresentable V>"


def test_a_result_whose_conversion_lowers_the_recursion_limit_still_converts(proxies: Proxies) -> None:
    code = (
        "import sys\nclass Trigger(dict):\n    def items(self):\n        n = 1\n        while True:\n"
        "            try:\n                sys.setrecursionlimit(n)\n                break\n"
        "            except RecursionError:\n                n += 1\n        return []\n"
        "deep = 1\nfor i in range(90):\n    deep = [deep]\n[deep, Trigger()]"
    )
    reply = run(code, proxies).reply
    assert reply["success"] is True
    assert reply["result"][1] == {}


def test_a_forward_reference_too_deep_for_the_parser_is_a_syntax_error_not_the_limit(proxies: Proxies) -> None:
    """typing compiles a forward reference in the worker: the parser's MemoryError for
    nesting is not an allocation the limit refused (pass 60)."""
    outcome = run("import typing\ntyping.Union['-' * 200000 + '1']", proxies)
    assert outcome.reply["limit"] is None
    assert outcome.error["type"] == "SyntaxError"
    assert run("import typing\ntyping.Optional['int'] is not None", proxies).result is True


def test_a_system_error_the_program_raises_is_its_error_even_after_memory_ran_out(proxies: Proxies) -> None:
    """Out of memory, 3.11's compiler may raise SystemError, which is the memory limit;
    the program's own `raise SystemError(...)` after a MemoryError it caught is its error
    (attack pass 79)."""
    code = (
        "try:\n    bytearray(1 << 46)\nexcept MemoryError:\n    pass\n"
        "raise SystemError('the program says: memory limit')"
    )
    outcome = run(code, proxies)
    assert (outcome.error["type"], outcome.reply["limit"]) == ("SystemError", None)


@pytest.mark.parametrize(
    ("handler", "expected"),
    [
        ("E = type(e)\nraise E('access to \"open\" is not allowed (forged)')", "is the sandbox's own verdict"),
        ("E = type(e)\nraise E(*['forged'])", "is the sandbox's own verdict"),
        ("raise", 'access to "__globals__" is not allowed'),
        ("raise e", 'access to "__globals__" is not allowed'),
    ],
    ids=["the-programs-raise", "through-a-star-call", "re-raised", "re-raised-by-name"],
)
def test_a_refusal_the_program_forges_with_the_sandboxs_class_is_refused(
    proxies: Proxies, handler: str, expected: str
) -> None:
    """The class of a refusal the program caught is a stand-in that cannot be called (a
    program that could make one had sandbox code raise it, passes 79, 82, 85): the only
    SecurityErrors are the sandbox's, and a real refusal re-raised stays one."""
    indented = "\n".join("    " + line for line in handler.splitlines())
    code = f"try:\n    getattr(1, '__globals__')\nexcept Exception as e:\n{indented}\n"
    error = run(code, proxies).error
    assert error["type"] == "SecurityError" and expected in error["message"]


def test_an_error_in_an_evaluated_string_is_the_programs_at_the_call(proxies: Proxies) -> None:
    """As in CPython: the error's line is the program's line that called eval/exec, and the
    string's frames are shown as ``File "<string>"`` with the line in the string."""
    code = 'print("start")\ndef run():\n    exec("x = 1\\ny = missing")\nrun()'
    outcome = run(code, proxies)
    assert outcome.error == {"type": "NameError", "message": "name 'missing' is not defined", "line": 3}
    assert 'File "<string>", line 2, in <module>' in outcome.stderr
    assert traceback_files(outcome.stderr) == {"<code>", "<string>"}


def test_a_chained_error_from_a_string_keeps_its_frames_apart(proxies: Proxies) -> None:
    code = 'try:\n    eval("1 / 0")\nexcept ZeroDivisionError as e:\n    raise ValueError("bad") from e'
    outcome = run(code, proxies)
    assert outcome.error is not None and outcome.error["line"] == 4
    assert outcome.stderr.count('File "<string>", line 1') == 1


def test_output_can_be_captured_with_redirect_stdout_and_stderr(proxies: Proxies) -> None:
    code = (
        "import io, sys\nfrom contextlib import redirect_stdout, redirect_stderr\n"
        "out, err = io.StringIO(), io.StringIO()\n"
        "with redirect_stdout(out), redirect_stderr(err):\n"
        "    print('a')\n    sys.stdout.write('b\\n')\n    print('c', file=sys.stderr)\n"
        "print('after')\n[out.getvalue(), err.getvalue()]"
    )
    outcome = run(code, proxies)
    assert (outcome.stdout, outcome.result) == ("after\n", ["a\nb\n", "c\n"])


def test_a_redirect_ends_with_its_block_even_when_it_raises(proxies: Proxies) -> None:
    code = (
        "import io\nfrom contextlib import redirect_stdout\nbuf = io.StringIO()\n"
        "try:\n    with redirect_stdout(buf):\n        print('inside')\n        1 / 0\n"
        "except ZeroDivisionError:\n    print('outside')\nbuf.getvalue()"
    )
    outcome = run(code, proxies)
    assert (outcome.stdout, outcome.result) == ("outside\n", "inside\n")


def test_sys_offers_argv_and_the_int_digits_limit(proxies: Proxies) -> None:
    code = "import sys\nsys.set_int_max_str_digits(10000)\n[sys.argv[1:], len(str(7 ** 6000))]"
    assert run(code, proxies).result == [[], 5071]


def test_output_can_be_captured_by_assigning_sys_stdout(proxies: Proxies) -> None:
    """The older idiom: save sys.stdout, assign a buffer, assign the saved stream back."""
    code = (
        "import io, sys\nsaved = sys.stdout\nsys.stdout = buf = io.StringIO()\nprint('inside')\n"
        "sys.stdout.write('direct\\n')\nsys.stdout = saved\nsetattr(sys, 'stderr', io.StringIO())\n"
        "print('outside')\nbuf.getvalue()"
    )
    outcome = run(code, proxies)
    assert (outcome.stdout, outcome.result) == ("outside\n", "inside\ndirect\n")


@pytest.mark.parametrize(
    "code",
    [
        "import sys\nsys.path = []",
        "import sys\ndel sys.stdout",
        "import json\njson.dumps = print",
        "class A:\n    pass\nA().__stdout__",
    ],
)
def test_only_the_streams_of_sys_can_be_assigned(proxies: Proxies, code: str) -> None:
    assert run(code, proxies).error["type"] == "SecurityError"


def test_get_type_hints_evaluates_the_programs_strings_under_its_rules(proxies: Proxies) -> None:
    code = (
        "from typing import get_type_hints, Optional\nclass Node:\n    value: int\n"
        "    next: 'Optional[Node]' = None\nclass Child(Node):\n    tag: 'list[str]'\n"
        "def f(x: int, y: 'Node') -> None:\n    pass\nh, g = get_type_hints(Child), get_type_hints(f)\n"
        "[sorted(h), h['tag'] == list[str], g['y'] is Node, g['return'] is type(None)]"
    )
    assert run(code, proxies).result == [["next", "tag", "value"], True, True, True]


def test_get_type_hints_refuses_what_eval_refuses(proxies: Proxies) -> None:
    code = "from typing import get_type_hints\nclass A:\n    x: \"__import__('socket')\"\nget_type_hints(A)"
    assert run(code, proxies).error["type"] == "SecurityError"


def test_postponed_annotations_are_the_programs_source_text(proxies: Proxies) -> None:
    """``from __future__ import annotations``: each annotation is the string of the
    program's own source (not of the tree the policy rewrote), as CPython makes it."""
    code = (
        "from __future__ import annotations\nfrom typing import Optional, get_type_hints\n"
        "from dataclasses import dataclass, field\n@dataclass\nclass Node:\n    kids: list[Node] = field(default_factory=list)\n"
        "    up: Optional[Node] = None\n    tag: 'str' = ''\ndef f(x: dict[str, int]) -> Node:\n    return Node()\n"
        "[Node.__annotations__, f.__annotations__, get_type_hints(Node)['kids'] == list[Node], repr(f({}))]"
    )
    assert run(code, proxies).result == [
        {"kids": "list[Node]", "up": "Optional[Node]", "tag": "'str'"},
        {"x": "dict[str, int]", "return": "Node"},
        True,
        "Node(kids=[], up=None, tag='')",
    ]


@pytest.mark.parametrize(
    "code", ["from __future__ import braces", "import __future__", "from __future__ import annotations as _getattr_"]
)
def test_only_future_statements_of_known_features_compile(code: str) -> None:
    from src.language.catalogue import CATALOGUE
    from src.language.validation import SourcePolicy, validate_source

    assert validate_source(code, SourcePolicy(50_000, 100, frozenset(CATALOGUE)))


def test_a_redirected_sys_stdout_reads_as_the_programs_buffer(proxies: Proxies) -> None:
    code = (
        "import io, sys\nsaved = sys.stdout\nsys.stdout = io.StringIO()\nprint('x')\n"
        "text = sys.stdout.getvalue()\nsys.stdout = sys.__stdout__\nprint('y')\n[text, hasattr(sys.stdout, 'getvalue')]"
    )
    outcome = run(code, proxies)
    assert (outcome.stdout, outcome.result) == ("y\n", ["x\n", False])


# The finalizer's refusal is reported as an exception ignored in a finalizer, as CPython does.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_finalizer_after_a_memory_error_runs_strings_under_the_guards(proxies: Proxies) -> None:
    outcome = run(program("escape_exec_after_the_namespace_was_released"), proxies)
    assert outcome.stdout == ""
    assert outcome.error is not None and outcome.error["type"] == "MemoryError"


def test_the_error_line_is_never_the_exceptions_own(proxies: Proxies) -> None:
    outcome = run(program("escape_reporter_trusts_a_syntax_error_line"), proxies)
    assert outcome.error is not None
    assert (outcome.error["type"], outcome.error["line"]) == ("E", None)


def test_a_code_object_equal_to_a_strings_is_not_the_strings() -> None:
    import marshal

    from src.worker import dynamic

    string_code = compile("x = 1", "<code>", "exec")
    dynamic._note_string_code(string_code)
    twin = marshal.loads(marshal.dumps(string_code))
    assert twin == string_code and twin is not string_code
    assert dynamic.is_string_code(string_code) and not dynamic.is_string_code(twin)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        pytest.param(
            "import difflib\ntry:\n    getattr(len, '__self__')\nexcept Exception as e:\n    SE = type(e)\n"
            "g = difflib.unified_diff(['a'], ['b'])\nnext(g)\ng.throw(SE, 'forged')",
            ("TypeError", "exceptions must be classes or instances deriving from BaseException"),
            id="thrown-into-a-library-generator",
        ),
        pytest.param(
            "try:\n    getattr(len, '__self__')\nexcept Exception as e:\n    raise e",
            ("SecurityError", 'access to "__self__" is not allowed: special attributes that reach the interpreter'),
            id="a-real-refusal-raised-again",
        ),
        pytest.param(
            "import copy\ntry:\n    getattr(len, '__self__')\nexcept Exception as e:\n    raise copy.copy(e) from None",
            ("__main__.SecurityError", 'access to "__self__" is not allowed'),
            id="a-copy-library-code-made",
        ),
    ],
)
def test_only_the_sandboxs_own_refusals_are_reported_as_refusals(
    proxies: Proxies, code: str, expected: tuple[str, str]
) -> None:
    """A refusal is the sandbox's only when its factory made it (refusal.refused), never by
    who constructed the class: library code copying or raising one makes the program's."""
    error = run(code, proxies).error
    assert error is not None
    assert (error["type"], error["message"][: len(expected[1])]) == expected


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("Security\u200bError", "Security\\u200bError"),
        ("\uff2demoryError", "\uff2demoryError"),
        ("Worker\u2060Crashed", "Worker\\u2060Crashed"),
        ("SecurityError\ufe0f", "SecurityError\ufe0f"),
        ("\u202erorrEytiruceS", "\\u202erorrEytiruceS"),
    ],
)
def test_a_lookalike_of_a_service_error_name_is_qualified(proxies: Proxies, name: str, shown: str) -> None:
    """Any name that is not a plain ASCII identifier is qualified, its unprintable
    characters escaped: it could read as the service's own (passes 82, 85)."""
    code = f"class E(Exception):\n    pass\nE.__name__ = {name!r}\nraise E('x')"
    assert run(code, proxies).error["type"] == f"__main__.{shown}"


def test_a_result_is_encoded_under_the_default_int_digits_limit(proxies: Proxies) -> None:
    """The program may lower sys.set_int_max_str_digits; its result is still encoded (pass
    83: the reply became the sandbox's own error)."""
    outcome = run("import sys\nsys.set_int_max_str_digits(640)\n10 ** 1000", proxies)
    assert outcome.result == 10**1000


def test_ast_offers_literal_eval_only(proxies: Proxies) -> None:
    code = (
        "import ast\nvalue = ast.literal_eval(\"[1, (2, 3), {'a': None}, -4.5]\")\n"
        "try:\n    ast.literal_eval(\"__import__('socket')\")\nexcept ValueError:\n    refused = True\n"
        "[value, refused, hasattr(ast, 'parse')]"
    )
    assert run(code, proxies).result == [[1, [2, 3], {"a": None}, -4.5], True, False]


def test_the_error_line_is_read_before_the_programs_str_runs(proxies: Proxies) -> None:
    code = (
        "class E(Exception):\n    def __str__(self):\n        self.with_traceback(None)\n        return 'm'\nraise E()"
    )
    assert run(code, proxies).error["line"] == 5


def test_a_stream_named_by_a_str_subclass_keeps_the_exact_name() -> None:
    """A str subclass answers == and hash as it likes, and found the worker's own stream in
    one table and not the other (pass 85). The program can no longer call the class
    (test_membrane: the sandbox's own classes are stand-ins); the stream still keeps the
    exact text of its name, whoever makes it."""
    from src.worker.sys_stand_in import StandardStream

    class Flipping(str):
        flips = 0

        def __hash__(self) -> int:
            Flipping.flips += 1
            return hash("stdout") if Flipping.flips % 2 else 7

    stream = StandardStream(Flipping("stdout"))
    name = object.__getattribute__(stream, "_name")
    assert type(name) is str and name == "stdout"


def test_an_exit_stack_hook_cannot_have_the_library_write_onto_a_library_class(proxies: Proxies) -> None:
    code = (
        "import contextlib, json\nclass S(contextlib.ExitStack):\n    @staticmethod\n"
        "    def _create_cb_wrapper(callback, *args, **kwds):\n        return json.JSONDecoder\n"
        "try:\n    S().callback(print)\nexcept Exception as e:\n    r = type(e).__name__\n"
        "[r, hasattr(json.JSONDecoder, '__wrapped__')]"
    )
    assert run(code, proxies).result == ["SecurityError", False]


@pytest.mark.parametrize(
    "ending",
    [
        pytest.param(
            "def f():\n    g = gen()\n    next(g)\n    raise ValueError('real')\nf()", id="released-by-the-failure"
        ),
        pytest.param("g = gen()\nnext(g)\n'done'", id="held-by-a-name"),
    ],
)
def test_nothing_of_the_programs_runs_after_its_outcome(proxies: Proxies, ending: str) -> None:
    """A generator's ``finally`` that only the end of the job would release never runs: it
    ran after the reply was built, where filling the memory broke the reply's encoding
    and answered a ValueError as a worker crash (attack pass 85), as after os._exit."""
    code = "def gen():\n    try:\n        yield 1\n    finally:\n        print('late')\nprint('before')\n" + ending
    outcome = run(code, proxies)
    assert outcome.stdout == "before\n"
    error = outcome.reply["error"]
    assert error is None or error["type"] == "ValueError"
