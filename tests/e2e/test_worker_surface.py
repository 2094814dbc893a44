"""What a program can reach inside a real worker (not the test process): the library
objects that hold the worker's own streams must not lead to real file objects."""

from __future__ import annotations

from tests.support.server import LiveServer


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


#: A program whose __hash__ collides with an entry of typing's subscription cache, so
#: its __eq__ receives the cached object. typing's import cached type[Any], an alias whose
#: call is the real type (sixth security review). The template empties the caches.
TYPING_CACHE_PROBE = 'import typing, abc\nM64 = (1 << 64) - 1\nP1 = 11400714785074694791\nP2 = 14029467366897019727\nP5 = 2870177450012600261\ndef rotr(x, r):\n    return ((x >> r) | (x << (64 - r))) & M64\ndef first_lane(h, second, n):\n    # invert CPython\'s tuple hash (xxHash-style) for a 2-tuple, given the second item\'s hash\n    acc = (h & M64)\n    acc = (acc - (n ^ (P5 ^ 3527539))) & M64\n    inv1 = pow(P1, -1, 1 << 64)\n    inv2 = pow(P2, -1, 1 << 64)\n    acc = (acc * inv1) & M64\n    acc = rotr(acc, 31)\n    acc = (acc - (second & M64) * P2) & M64\n    acc = (acc * inv1) & M64\n    acc = rotr(acc, 31)\n    acc = (acc - P5) & M64\n    lane = (acc * inv2) & M64\n    return lane - (1 << 64) if lane >= (1 << 63) else lane\n# typing.Type[int] hashes as hash((type, (int,))): recover hash(type)\nh_type = first_lane(hash(typing.Type[int]), hash((int,)), 2)\ntarget = h_type ^ hash((typing.Any,))   # hash(type[typing.Any]) = hash(type) ^ hash(args)\ngot = []\nclass P:\n    def __hash__(self):\n        return target\n    def __eq__(self, other):\n        got.append(other)\n        return False\ntry:\n    typing.Union[P(), typing.Callable[..., typing.Any]]\nexcept Exception as e:\n    print("err", e)\nprint(got)\nif got:\n    alias = got[0]\n    T = alias(int)            # the real builtins.type\n    Meta = alias(abc.ABC)     # the real ABCMeta\n    print(T, Meta, T is type)\n    C = T("C", (), {"__getattribute__": lambda s, n: 42})\n    print(C().anything)\n    print("ESC" + "APED")\n'


def test_typing_cache_hands_no_metaclass_alias_to_a_program(live_server: LiveServer) -> None:
    body = run(live_server, TYPING_CACHE_PROBE)
    assert "ESC" + "APED" not in str(body["stdout"])
    assert body["success"] is False
