"""Targets that unpack or store into a container (``a, *b = x``, ``i, d[i] = ...``,
``for obj.x in xs``, ``with cm as (a, b)``): every part is bound, in CPython's order, to
its value as the membrane admits it (src/language/policy.py, ``_unpack_into``). Run with
the C guards and with the pure-Python ones.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.support.inprocess import Proxies, guard_mode, run

MODES = pytest.mark.parametrize("pure", [False, True], ids=["c-guards", "python-guards"])

#: Programs whose answer is CPython's, checked against CPython itself below.
AS_CPYTHON = {
    "name-then-item-it-reads": "d = {}\ni = 0\ni, d[i] = 1, 2\nj = 0\nk = [7]\nj, d[j] = k + [3]\nresult = d",
    "item-then-name-it-reads": "d = {}\ni = 0\nd[i], i = 2, 1\nresult = (d, i)",
    "swap-items": "xs = [1, 2, 3]\ni, j = 0, 2\nxs[i], xs[j] = xs[j], xs[i]\nresult = xs",
    "chain-evaluates-once": (
        "calls = []\ndef f():\n    calls.append(1)\n    return (1, 2)\na, b = c = f()\nresult = (a, b, c, len(calls))"
    ),
    "nested-and-starred": (
        "class P:\n    pass\np = P()\nd = {}\n(a, (p.x, d['k'])), *rest, last = [(1, (2, 3)), 4, 5, 6]\n"
        "result = (a, p.x, d, rest, last)"
    ),
    "list-target": "d = {}\n[d['a'], [b, *c]] = 1, 'xyz'\nresult = (d, b, c)",
    "empty-targets": "n = 0\nfor [] in [(), []]:\n    n += 1\na = [] = ()\nresult = (n, a)",
    "for-attribute": "class P:\n    pass\np = P()\nseen = []\nfor p.x in 'ab':\n    seen.append(p.x)\nresult = seen",
    "for-item-and-name": (
        "d = {}\nout = []\nfor i, d[i] in enumerate('ab'):\n    out.append(sorted(d.items()))\nresult = out"
    ),
    "for-starred": "out = []\nfor a, *rest in [(1, 2, 3), 'xy']:\n    out.append((a, rest))\nresult = out",
    "for-nested-in-a-function": (
        "def f():\n    total = 0\n    for i, (a, b) in enumerate([(1, 2), (3, 4)]):\n        total += i + a * b\n"
        "    return total\nresult = f()"
    ),
    "with-unpacks-before-the-next-item": (
        "import contextlib\nd = {}\nwith contextlib.nullcontext((1, 2)) as (a, d['x']), "
        "contextlib.nullcontext(a + d['x']) as b:\n    pass\nresult = (a, d, b)"
    ),
}


def _cpython(code: str) -> Any:
    namespace: dict[str, Any] = {}
    exec(code, namespace)  # the program's true answer, from CPython itself
    return namespace["result"]


def _as_json(value: Any) -> Any:
    """What the reply carries for ``value`` (tuples are lists, dict keys strings)."""
    if isinstance(value, (list, tuple)):
        return [_as_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _as_json(v) for k, v in value.items()}
    return value


@MODES
@pytest.mark.parametrize("code", list(AS_CPYTHON.values()), ids=list(AS_CPYTHON))
def test_targets_are_bound_as_cpython_binds_them(proxies: Proxies, code: str, pure: bool) -> None:
    with guard_mode(pure=pure):
        outcome = run(code + "\nresult", proxies)
    assert outcome.reply["error"] is None, outcome.reply
    assert outcome.result == _as_json(_cpython(code))


#: Each stores a value no guard has seen (``planted``: a container the program was handed
#: holding a capability, as a library's iterator or tuple can) through one target form.
PLANTED = {
    "for-item": "d = {}\nfor d[0] in planted:\n    pass",
    "for-attribute": "class P:\n    pass\np = P()\nfor p.x in planted:\n    pass",
    "for-starred": "for a, *rest in [(1, *planted)]:\n    pass",
    "unpack-into-item": "d = {}\nd[0], n = planted",
    "unpack-starred": "first, *rest = [1, *planted]",
    "unpack-chain": "d = {}\na = (d[0], e) = planted",
    "with-unpacks": "import contextlib\nd = {}\nwith contextlib.nullcontext(planted) as (d[0], n):\n    pass",
    "comprehension-starred": "[r for a, *r in [[1, *planted]]]",
}


@MODES
@pytest.mark.parametrize("code", list(PLANTED.values()), ids=list(PLANTED))
def test_no_target_stores_what_the_membrane_refuses(proxies: Proxies, code: str, pure: bool) -> None:
    with guard_mode(pure=pure):
        outcome = run(code, proxies, context={"planted": (os.getpid, 1)})
    assert outcome.error["type"] == "SecurityError", outcome.reply
    assert "getpid" in outcome.error["message"]


def test_a_comprehension_target_binds_names_only(proxies: Proxies) -> None:
    error = run("d = {}\n[1 for d[0] in 'ab']", proxies).error
    assert error["type"] == "SecurityError"
    assert "a comprehension can only bind names" in error["message"]
    assert "use a for statement" in error["message"]
