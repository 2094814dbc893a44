"""A class statement the interpreter fails after a hook saw the class (ownership.py:
begin_construction, claim_if_being_built, end_construction): the class is never the
program's, also when a MemoryError the program provoked cuts the bookkeeping short
(pass 45 F3: the program filled its memory, caught the MemoryError and kept classes
whose statements had failed). The MemoryError is injected where the program's would land.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from src.worker import ownership
from tests.support.inprocess import Proxies, run

STASHED = (
    "import abc\n"
    "stash = []\n"
    "class Base(abc.ABC):\n    pass\n"
    "class Grab:\n    def __set_name__(self, owner, name):\n        stash.append(owner)\n        raise ValueError\n"
    "try:\n    class Half(Base):\n        g = Grab()\n"
    "except Exception as e:\n    failed = type(e).__name__\n"
    "outcomes = [failed]\n"
    "try:\n    held = stash[0]\n    outcomes.append('held')\n"
    "except Exception as e:\n    outcomes.append(type(e).__name__)\n"
    "outcomes"
)


@pytest.fixture
def memory_error_in(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``memory_error_in(target, name)``: the first call of target.name about the class
    ``Half`` raises MemoryError."""

    def arm(target: Any, name: str) -> None:
        real = getattr(target, name)
        fired: list[bool] = []

        def failing(*args: Any, **kwargs: Any) -> Any:
            if not fired and any(getattr(arg, "__name__", None) == "Half" for arg in args):
                fired.append(True)
                raise MemoryError
            return real(*args, **kwargs)

        monkeypatch.setattr(target, name, failing)

    yield arm


def test_a_class_whose_statement_failed_is_refused(proxies: Proxies) -> None:
    assert run(STASHED, proxies).result == ["RuntimeError", "SecurityError"]


def test_a_claim_cut_short_between_record_and_grant_is_undone(proxies: Proxies, memory_error_in: Any) -> None:
    memory_error_in(ownership.UserClasses, "add")
    # The hook's parameter is never admitted: the statement fails, nothing was stashed.
    assert run(STASHED, proxies).result == ["RuntimeError", "IndexError"]
    assert not ownership._claimed


def test_an_abandonment_cut_short_still_refuses_the_class(proxies: Proxies, memory_error_in: Any) -> None:
    """end_construction's discard fails: the class keeps its construction marker, and that
    alone makes it refused and not the program's."""
    memory_error_in(ownership.UserClasses, "discard")
    assert run(STASHED, proxies).result == ["MemoryError", "SecurityError"]


def test_construction_failed_sees_a_stale_marker_only() -> None:
    class Built:
        pass

    assert not ownership.construction_failed(Built)
    token = ownership.begin_construction({})
    type.__setattr__(Built, ownership.CONSTRUCTION_MARKER, token)
    assert not ownership.construction_failed(Built)  # still being built
    ownership.end_construction(token, None)
    assert ownership.construction_failed(Built)  # the statement ended without it
