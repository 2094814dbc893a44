"""What a program can reach inside a real worker (not the test process): the library
objects that hold the worker's own streams must not lead to real file objects."""

from __future__ import annotations

from tests.support.inprocess import program
from tests.support.server import LiveServer


def test_library_internals_of_an_own_subclass_do_not_reach_the_real_stdout(live_server: LiveServer) -> None:
    error = live_server.reply(program("surface_stream_of_an_own_printer"))["error"]
    assert isinstance(error, dict) and error["type"] == "SecurityError"


def test_the_stdout_wrapper_keeps_its_stream_to_itself(live_server: LiveServer) -> None:
    error = live_server.reply(program("surface_stream_inside_the_wrapper"))["error"]
    assert isinstance(error, dict) and error["type"] == "SecurityError"


def test_pprint_still_prints(live_server: LiveServer) -> None:
    assert live_server.reply("import pprint\npprint.pprint({'a': [1, 2]})")["stdout"] == "{'a': [1, 2]}\n"


def test_file_classes_cannot_be_reinitialised_through_special_methods(live_server: LiveServer) -> None:
    code = "import io\nb = io.BytesIO()\ntype(b).__init__(b, b'x')"
    error = live_server.reply(code)["error"]
    assert isinstance(error, dict) and error["type"] == "SecurityError"


def test_the_stdout_wrapper_cannot_be_copied(live_server: LiveServer) -> None:
    error = live_server.reply(program("surface_copy_of_the_wrapper"))["error"]
    assert isinstance(error, dict) and error["type"] in {"SecurityError", "TypeError"}


def test_typing_cache_hands_no_metaclass_alias_to_a_program(live_server: LiveServer) -> None:
    # A program whose __hash__ collides with an entry of typing's subscription cache has
    # its __eq__ called with the cached object. typing's own import caches type[Any], an
    # alias whose call is the real type: the way back to three-argument type() and every
    # metaclass, so the template empties the caches before any program runs.
    body = live_server.reply(program("surface_typing_cache_metaclass_alias"))
    assert "ESC" + "APED" not in str(body["stdout"])
    assert body["success"] is False


def test_what_the_interpreter_writes_to_stderr_names_no_host_path(live_server: LiveServer) -> None:
    """A warning raised in library code and an exception in a generator's finally at
    collection are written by the interpreter itself, not the runner: they still show
    no path but the program's own source."""
    code = (
        "import re\n"
        "re.compile(*['[[a]'])\n"
        "def g():\n"
        "    try:\n"
        "        yield 1\n"
        "    finally:\n"
        "        1 / 0\n"
        "x = g()\n"
        "next(x)\n"
        "x = None\n"
        "print('done')"
    )
    body = live_server.reply(code)
    assert body["stdout"] == "done\n"
    assert "FutureWarning: Possible nested set at position 1" in body["stderr"]
    assert "Exception ignored in: <generator object>" in body["stderr"]
    assert "ZeroDivisionError" in body["stderr"]
    assert "/" not in body["stderr"].replace("1 / 0", ""), body["stderr"]


def test_an_unraisable_exception_at_the_recursion_limit_names_no_host_path(live_server: LiveServer) -> None:
    # The worker's hook itself ran out of stack; CPython then printed its own report of
    # the hook's failure, with the sandbox's paths and the hook's address.
    code = (
        "import sys\n"
        "def g():\n"
        "    try:\n"
        "        yield 1\n"
        "    finally:\n"
        "        raise ValueError('boom')\n"
        "def at_depth(n, target):\n"
        "    if n < target:\n"
        "        return at_depth(n + 1, target)\n"
        "    gen = g()\n"
        "    next(gen)\n"
        "    gen = None\n"
        "    return n\n"
        "sys.setrecursionlimit(120)\n"
        "for t in range(100, 115):\n"
        "    try:\n"
        "        at_depth(0, t)\n"
        "    except RecursionError:\n"
        "        pass\n"
        "print('done')"
    )
    body = live_server.reply(code)
    assert body["stdout"] == "done\n"
    assert "src/worker" not in body["stderr"] and " at 0x" not in body["stderr"], body["stderr"][-500:]
