"""Holders found by a scan, not a list: every class the catalogue offers (and the builtins
the program holds) is built with a refused callable among its arguments, as C code can
build one (a class called by C code is no crossing: its arguments are not admitted). If
the object then passes the membrane as it is, using it (calling, iterating, indexing,
entering, formatting) must never call what it holds: a class that does is a holder the
membrane does not judge by what it holds (src/worker/membrane.py, _CALLABLE_HOLDERS).
"""

from __future__ import annotations

import _json
import collections
import contextlib
import itertools
from collections.abc import Callable
from typing import Any

from src.worker import membrane
from tests.support.inprocess import Proxies, run

#: Arguments beside the callable, a few of each shape.
_OTHERS: list[Any] = [1, "ab", [1, 2], {"a": 1}, None]

_USES: list[Callable[[Any], Any]] = [
    lambda held: held(),
    lambda held: held("x"),
    lambda held: list(itertools.islice(iter(held), 3)),
    lambda held: held["k"],
    lambda held: held.__enter__(),
    format,
]


def _passes(value: Any) -> bool:
    try:
        return membrane.admit(value) is value
    except Exception:  # noqa: BLE001 - refused, or failed: either way not held
        return False


def _candidate_classes(proxies: Proxies) -> set[Any]:
    offered = {
        value
        for proxy in proxies.values()
        for name, value in vars(proxy).items()
        if isinstance(value, type) and not name.startswith("_")
    }
    return offered | {map, filter, zip, enumerate, iter, property, staticmethod, classmethod, sorted, reversed}


def test_no_offered_class_holds_a_refused_callable_unjudged(proxies: Proxies) -> None:
    run("1", proxies)  # the membrane as a job configures it
    calls: list[tuple[Any, ...]] = []

    def recorder(*args: Any, **kwargs: Any) -> int:
        calls.append(args)
        return 1

    unjudged: set[str] = set()
    for cls in sorted(_candidate_classes(proxies), key=lambda c: getattr(c, "__qualname__", str(c))):
        for count in (1, 2, 3):
            for position in range(count):
                for others in itertools.islice(itertools.product(_OTHERS, repeat=count - 1), 6):
                    arguments = list(others)
                    arguments.insert(position, _json.scanstring)  # a C function the membrane refuses
                    try:
                        made = cls(*arguments)
                    except Exception:  # noqa: BLE001 - not built from these arguments
                        continue
                    if not _passes(made):
                        continue
                    arguments[position] = recorder
                    calls.clear()
                    try:
                        rebuilt = cls(*arguments)
                    except Exception:  # noqa: BLE001
                        continue
                    for use in _USES:
                        with contextlib.suppress(Exception):  # a use that does not apply
                            use(rebuilt)
                    if calls:
                        unjudged.add(getattr(cls, "__qualname__", str(cls)))
    assert unjudged == set()


def test_the_scan_finds_a_holder_the_membrane_would_not_judge(proxies: Proxies) -> None:
    """The scan's own check: an object that calls what it holds, built over the refused
    function, is refused (here a defaultdict, judged by its factory)."""
    run("1", proxies)
    assert not _passes(collections.defaultdict(_json.scanstring))  # type: ignore[arg-type]
    assert _passes(collections.defaultdict(list))
