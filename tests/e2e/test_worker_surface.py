"""What a program can reach inside a real worker (not the test process): the library
objects that hold the worker's own streams must not lead to real file objects."""

from __future__ import annotations

from tests.conftest import LiveServer


def run(server: LiveServer, code: str) -> dict[str, object]:
    response = server.execute(code)
    assert response.status_code == 200
    body: dict[str, object] = response.json()
    return body


def test_library_internals_of_an_own_subclass_do_not_reach_the_real_stdout(live_server: LiveServer) -> None:
    code = "import pprint\nclass P(pprint.PrettyPrinter):\n    pass\ntype(P()._stream).__name__"
    assert run(live_server, code)["result"] == "OutputStream"


def test_the_stdout_wrapper_keeps_its_stream_to_itself(live_server: LiveServer) -> None:
    code = "import pprint\nclass P(pprint.PrettyPrinter):\n    pass\nP()._stream._stream"
    error = run(live_server, code)["error"]
    assert isinstance(error, dict) and error["type"] == "SecurityError"


def test_pprint_still_prints(live_server: LiveServer) -> None:
    assert run(live_server, "import pprint\npprint.pprint({'a': [1, 2]})")["stdout"] == "{'a': [1, 2]}\n"


def test_file_classes_cannot_be_reinitialised_through_special_methods(live_server: LiveServer) -> None:
    code = "import io\nb = io.BytesIO()\ntype(b).__init__(b, b'x')"
    error = run(live_server, code)["error"]
    assert isinstance(error, dict) and error["type"] == "SecurityError"


def test_the_stdout_wrapper_cannot_be_copied(live_server: LiveServer) -> None:
    code = "import copy, pprint\nclass P(pprint.PrettyPrinter):\n    pass\ncopy.copy(P()._stream)"
    error = run(live_server, code)["error"]
    assert isinstance(error, dict) and error["type"] == "TypeError"
