"""``for`` statements bind their names from ``_admitting_iter_`` (src/worker/guards.py,
its C half in _fastguards.c): every item, and every value unpacked from it, passes the
membrane before the name holds it, and the loop behaves as CPython's does, errors
included. Each case runs with the C guards and with the pure-Python ones.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import pytest

from src.worker import fastguards, guards
from tests.support.inprocess import Proxies, guard_mode, run

MODES = pytest.mark.parametrize("pure", [False, True], ids=["c-guards", "python-guards"])

AS_CPYTHON = [
    pytest.param("out = []\nfor x in [1, 'a', None]:\n    out.append(x)\nout", [1, "a", None], id="one-name"),
    pytest.param(
        "out = []\nfor k, v in {'a': 1, 'b': 2}.items():\n    out.append(k * v)\nout", ["a", "bb"], id="pairs"
    ),
    pytest.param(
        "out = []\nfor a, b in [[1, 2], 'xy']:\n    out.append((a, b))\nout", [[1, 2], ["x", "y"]], id="lists"
    ),
    pytest.param(
        "out = []\nfor a, *rest in [(1, 2, 3)]:\n    out.append((a, rest))\nout", [[1, [2, 3]]], id="starred-target"
    ),
    pytest.param("class P:\n    pass\np = P()\nfor p.x in [1, 2]:\n    pass\np.x", 2, id="attribute-target"),
    pytest.param(
        "def f():\n    total = 0\n    for i, (a, b) in enumerate([(1, 2), (3, 4)]):\n        total += i + a * b\n"
        "    return total\nf()",
        15,
        id="nested-target-in-a-function",
    ),
    pytest.param(
        "class It:\n    def __init__(self):\n        self.n = 0\n    def __iter__(self):\n        return self\n"
        "    def __next__(self):\n        self.n += 1\n        if self.n > 2:\n            raise StopIteration\n"
        "        return (self.n, -self.n)\n"
        "[(a, b) for a, b in It()] + [x for x in It()]\nout = []\nfor a, b in It():\n    out.append(a + b)\nout",
        [0, 0],
        id="program-iterator",
    ),
]


@MODES
@pytest.mark.parametrize(("code", "expected"), AS_CPYTHON)
def test_loops_give_what_cpython_gives(proxies: Proxies, code: str, expected: Any, pure: bool) -> None:
    with guard_mode(pure=pure):
        outcome = run(code, proxies)
    assert outcome.reply["error"] is None, outcome.reply
    assert outcome.result == expected


UNPACKING_ERRORS = [
    pytest.param("for a, b in [(1, 2, 3)]:\n    pass", "ValueError", "too many values to unpack (expected 2)"),
    pytest.param("for a, b in [[1]]:\n    pass", "ValueError", "not enough values to unpack (expected 2, got 1)"),
    pytest.param("for a, b in [5]:\n    pass", "TypeError", "cannot unpack non-iterable int object"),
    # The item's __iter__ raising StopIteration must not end the loop silently (CPython
    # raises it out of the loop; here it is a RuntimeError, as out of a generator).
    pytest.param(
        "class Odd:\n    def __iter__(self):\n        raise StopIteration\nfor a, b in [Odd()]:\n    pass",
        "RuntimeError",
        "unpacking an item of the loop raised StopIteration",
    ),
    # An endless item: one value too many is enough, as for CPython.
    pytest.param(
        "import itertools\nfor a, b in [itertools.count()]:\n    pass",
        "ValueError",
        "too many values to unpack (expected 2)",
    ),
]


@MODES
@pytest.mark.parametrize(("code", "kind", "message"), UNPACKING_ERRORS)
def test_unpacking_errors_are_cpythons(proxies: Proxies, code: str, kind: str, message: str, pure: bool) -> None:
    with guard_mode(pure=pure):
        error = run(code, proxies).error
    assert (error["type"], error["message"]) == (kind, message)
    if kind != "RuntimeError":
        try:
            exec(code, {})
        except Exception as native:  # noqa: BLE001
            assert (type(native).__name__, str(native)) == (kind, message)


_CAPABILITIES: list[object] = [os, sys._getframe(), os.getpid, type]


def _drain(make: Callable[[Any, int], Any], items: list[Any], count: int) -> list[str]:
    seen: list[str] = []
    try:
        for value in make(iter(items), count):
            seen.append(type(value).__name__ if count == 0 else str([type(v).__name__ for v in value]))
    except Exception as error:  # noqa: BLE001 - the error is the answer
        seen.append(f"{type(error).__name__}: {error}")
    return seen


@pytest.mark.parametrize("capability", _CAPABILITIES, ids=["module", "frame", "builtin", "type"])
@pytest.mark.parametrize("count", [0, 2])
def test_the_c_iterator_admits_as_the_python_one_does(proxies: Proxies, capability: object, count: int) -> None:
    """Called directly, with values no program could bring: the same verdicts."""
    if not fastguards.available():
        pytest.skip("the C half is not built here")
    run("1", proxies)  # the membrane as a job configures it
    items: list[Any] = [capability, 1] if count == 0 else [(1, capability), (2, 3), [capability, 4], "ab"]
    fast = _drain(guards.fast_admitting_iter, items, count)
    python = _drain(guards.admitting_iter, items, count)
    assert fast == python
    # The capability is refused (the loop stops there) or replaced, never bound as it is.
    assert fast[-1].startswith("SecurityError") or type(capability).__name__ not in str(fast)


def test_the_c_iterator_is_collected_in_a_cycle() -> None:
    if not fastguards.available():
        pytest.skip("the C half is not built here")
    import gc
    import weakref

    class Loop(list[Any]):
        pass

    items = Loop()
    iterator = guards.fast_admitting_iter(items, 0)
    items.append(iterator)  # items -> iterator -> (its inner iterator) -> items
    probe = weakref.ref(items)
    del items, iterator
    gc.collect()
    assert probe() is None


@MODES
def test_the_loop_iterator_is_not_reachable(proxies: Proxies, pure: bool) -> None:
    """The program never holds the iterator its for statement runs on."""
    with guard_mode(pure=pure):
        outcome = run("names = []\nfor x in [1]:\n    names = dir()\n'_admitting_iter_' in str(names)", proxies)
    assert outcome.reply["error"] is not None or outcome.result is False
