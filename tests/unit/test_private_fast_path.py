"""Private attributes of the program's instances (``self._balance``) read and written as
public ones are once the rules accepted one for the class (guards.note_private_names_of,
ownership.PRIVATE_ATTRIBUTES_OF_INSTANCES, the same tables in the C guards). Each read
and write must end as it does in a job where nothing was noted before it."""

from __future__ import annotations

import pytest

from src.worker import fastguards, ownership
from tests.support.inprocess import Proxies, guard_mode, run

_TARGETS = """
import abc, collections, contextlib, dataclasses, enum, json
class Plain:
    def __init__(self):
        self._x = 1
        self.__y = 2
    def peek(self):
        return self.__y
class Child(Plain):
    _shared = 3
class Fallback:
    def __getattr__(self, name):
        return (name, json.dumps)
class Failure(Exception):
    def __init__(self):
        self._x = 1
class Table(dict):
    pass
class Items(collections.UserList):
    pass
class Shape(abc.ABC):
    pass
class Meta(metaclass=abc.ABCMeta):
    pass
class Colour(enum.Enum):
    RED = 1
@dataclasses.dataclass
class Record:
    a: int = 1
class Slotted:
    __slots__ = ("_x",)
class Stack(contextlib.ExitStack):
    pass
targets = {
    "plain": Plain(), "child": Child(), "fallback": Fallback(), "failure": Failure(), "table": Table(),
    "userlist": Items([1]), "abc": Shape(), "abcmeta": Meta(), "enum-member": Colour.RED,
    "record": Record(), "slotted": Slotted(), "exitstack": Stack(), "class": Plain,
}
"""
_NAMES = [
    "_x", "_Plain__y", "_shared", "_missing", "_abc_impl", "_is_protocol", "_exit_callbacks",
    "_UserList__cast", "_fields", "__y", "_",
]  # fmt: skip


def _outcomes(proxies: Proxies, cases: list[tuple[str, str, str]], *, prime: bool) -> list[str]:
    lines = [_TARGETS, "outcomes = []"]
    if prime:  # a private read and write on every object first: whatever can be noted is
        lines.append(
            "for target in targets.values():\n"
            "    try:\n        target._x\n    except Exception:\n        pass\n"
            "    try:\n        target._primed = 5\n    except Exception:\n        pass"
        )
    for target, name, how in cases:
        action = f"targets[{target!r}].{name}" if how == "read" else f"targets[{target!r}].{name} = 7"
        lines.append(
            f"try:\n    value = {action}\n    outcomes.append('ok')\n"
            "except Exception as error:\n    outcomes.append(type(error).__name__)"
        )
    lines.append("outcomes")
    reply = run("\n".join(lines), proxies).reply
    assert reply["error"] is None, reply
    return list(reply["result"])


@pytest.mark.parametrize("pure", [False, True], ids=["c-guards", "python-guards"])
def test_a_noted_class_decides_as_the_rules_do(proxies: Proxies, pure: bool) -> None:
    if not pure and not fastguards.available():
        pytest.skip("the C half is not built here")
    with guard_mode(pure=pure):
        targets = run(_TARGETS + "list(targets)", proxies).result
        cases = [(t, n, how) for t in targets for n in _NAMES for how in ("read", "write")]
        alone = [_outcomes(proxies, [case], prime=False)[0] for case in cases]
        primed = _outcomes(proxies, cases, prime=True)
    assert len(alone) == len(primed) == len(cases)
    differences = [(case, a, p) for case, a, p in zip(cases, alone, primed, strict=True) if a != p]
    assert differences == []
    assert {"ok", "SecurityError", "AttributeError"} <= set(alone)


def test_the_common_case_is_noted(proxies: Proxies) -> None:
    """The program's own classes (over object, a builtin, with its own __getattr__ or a
    dataclass) are noted; a subclass of a
    library class, an ABC, a class with a library metaclass or a fallback of a library's
    are not."""
    code = _TARGETS + "for t in targets.values():\n    try:\n        t._x\n    except Exception:\n        pass"
    with guard_mode(pure=True):
        assert run(code, proxies).reply["error"] is None
    noted = sorted(kind.__name__ for kind in ownership.PRIVATE_ATTRIBUTES_OF_INSTANCES.values())
    assert noted == ["Child", "Failure", "Fallback", "Plain", "Record", "Slotted", "Table"]


def test_private_slots_are_the_programs(proxies: Proxies) -> None:
    """``__slots__ = ("_x", "__y")``: the descriptors type.__new__ makes for the class's own
    slots hold the program's attributes, not a library's."""
    code = (
        "class P:\n    __slots__ = ('_x', '__y')\n    def __init__(self):\n        self._x = 1\n"
        "        self.__y = 2\n    def y(self):\n        return self.__y\n"
        "p = P()\np._x += 1\n[p._x, p.y()]"
    )
    assert run(code, proxies).result == [2, 2]
