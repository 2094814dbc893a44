"""The cyclic collector runs only at safe points while a program runs
(guards.collect_at_a_safe_point): a collection runs the program's finalisers, which at an
allocation inside a guard ran between the guard's check and its use (pass 50 swapped a
key of the dict eval() had just checked). Each collection that starts while a frame of
the program is on the stack must come from a safe point, and the garbage is still
collected, with the C guards and with the pure-Python ones."""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Sized
from typing import Any

import pytest

from src.language.policy import SOURCE_FILENAME
from src.worker import fastguards
from tests.support.inprocess import Proxies, guard_mode, run

#: Cyclic garbage with finalisers, made in every kind of place a program allocates: loops,
#: a while loop, calls, comprehensions, eval/exec, class statements.
PROGRAM = """
log = []

def finalised(tag):
    try:
        yield 1
    finally:
        log.append(tag)

class Node:
    def __init__(self, tag):
        self.me = self
        self.gen = finalised(tag)
        next(self.gen)

for i in range(3000):
    Node(i)
i = 0
while i < 3000:
    Node(i)
    i += 1
made = [Node(k) for k in range(2000)]
made = None
for k in range(200):
    eval("[Node(k) for _ in range(5)]")
    exec("class Made:\\n    pass")
len(log)
"""


def _where_it_starts() -> str:
    """Where a collection starts: at a safe point, in the program (a frame of its on the
    stack and no safe point), or outside any program."""
    frame: Any = sys._getframe(2)  # the test looks at its own stack
    in_program = False
    while frame is not None:
        if frame.f_code.co_name == "collect_at_a_safe_point":
            return "safe point"
        if frame.f_code.co_filename == SOURCE_FILENAME:
            in_program = True
        frame = frame.f_back
    return "program" if in_program else "outside"


@pytest.mark.parametrize("pure", [False, True], ids=["c-guards", "python-guards"])
def test_collections_start_only_at_safe_points_while_a_program_runs(proxies: Proxies, pure: bool) -> None:
    if not pure and not fastguards.available():
        pytest.skip("the C half is not built here")
    starts: list[str] = []

    def record(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            starts.append(_where_it_starts())

    gc.callbacks.append(record)
    try:
        with guard_mode(pure=pure):
            outcome = run(PROGRAM, proxies, cpu_s=60)
    finally:
        gc.callbacks.remove(record)
    assert outcome.reply["error"] is None, outcome.reply
    assert "program" not in starts
    assert starts.count("safe point") > 10
    assert outcome.result > 5000  # the finalisers ran: the garbage was collected meanwhile


#: Loops whose bodies make cycles and call nothing that collects (a native call whose
#: result is dropped, an item store): the loop itself is the safe point.
LOOPS_WITHOUT_CALLS = {
    "for-over-range": "for i in range(20000):\n    node = {'children': []}\n    node['children'].append(node)",
    "while": "i = 0\nwhile i < 20000:\n    node = {'children': []}\n    node['children'].append(node)\n    i += 1",
    # An in-place + or | of a container made in another statement (pass 62).
    # (one cycle of one object per step: more steps for as many collections)
    "augmented-list": "i = 0\nwhile i < 60000:\n    l = []\n    b = [l]\n    l += b\n    i += 1",
    "augmented-dict": "for i in range(60000):\n    d = {}\n    e = {0: d}\n    d |= e",
}


#: Repetition with no loop of the program's (pass 62, pass 59): a recursion whose calls
#: are statements, an operator hook the interpreter calls from C code (sorted's key), a
#: method the program calls from a comprehension of numbers. Each call of a function
#: whose code may make cycles is a safe point.
REPEATED_WITHOUT_LOOPS = {
    "tree-recursion": "def f(n):\n    l = []\n    l += [l]\n    if n:\n        f(n - 1)\n        f(n - 1)\nf(15)",
    "operator-hook-from-c": (
        "class C:\n    def __add__(self, other):\n        l = [other]\n        l[0] = l\n        return other\n"
        "c = C()\nlen(sorted(range(40000), key=lambda i: c + i))"
    ),
    "attribute-store": (
        "class Node:\n    def link(self):\n        self.me = self\n        return 1\n"
        "sum(map(Node.link, (Node() for _ in range(40000))))"
    ),
}


_REPEATED_CYCLES = {**LOOPS_WITHOUT_CALLS, **REPEATED_WITHOUT_LOOPS}


@pytest.mark.parametrize("pure", [False, True], ids=["c-guards", "python-guards"])
@pytest.mark.parametrize("code", list(_REPEATED_CYCLES.values()), ids=list(_REPEATED_CYCLES))
def test_repeated_cycles_are_collected_without_a_call_of_the_programs(proxies: Proxies, code: str, pure: bool) -> None:
    if not pure and not fastguards.available():
        pytest.skip("the C half is not built here")
    before = gc.get_stats()[0]["collections"]
    with guard_mode(pure=pure):
        outcome = run(code, proxies)
    assert outcome.reply["error"] is None, outcome.reply
    # Tens of thousands of cycles: CPython's threshold (700) calls for dozens of collections.
    assert gc.get_stats()[0]["collections"] - before > 20


def _compiled(code: str) -> str:
    import ast

    from src.language.policy import SandboxTransformer

    tree = ast.parse(code, SOURCE_FILENAME)
    SandboxTransformer([], [], {}).visit(tree)
    return ast.unparse(tree)


def test_a_loop_of_arithmetic_alone_costs_no_safe_point() -> None:
    """A body of arithmetic and name bindings makes no cycle: the loop runs as CPython's."""
    collatz = "n = 27\nsteps = 0\nwhile n != 1:\n    n = n // 2 if n % 2 == 0 else 3 * n + 1\n    steps += 1"
    assert "while n != 1:" in _compiled(collatz)
    assert "for i in _getiter_(range(10)):" in _compiled("t = 0\nfor i in range(10):\n    t += i * i")
    # A call in the iterable runs once, outside the loop.
    assert "for i in _getiter_(range(len(xs))):" in _compiled("t = 0\nfor i in range(len(xs)):\n    t += xs[i]")
    # Anything that can make a cycle takes one.
    for body in ("items.append(items)", "x.me = x", "d[k] = d", "f = lambda: f", "raise ValueError", "a += [a]"):
        assert "while _admit_(n):" in _compiled(f"while n:\n    {body}"), body
        assert "_admitting_iter_(_getiter_(range(3)), 0)" in _compiled(f"for i in range(3):\n    {body}"), body
    # An in-place + of a name joins containers only where the loop makes some.
    assert "while _admit_(n):" in _compiled("while n:\n    b = [a]\n    a += b")
    assert "while n:" in _compiled("while n:\n    a += b")


def _generations_collected(action: Any) -> list[int]:
    collected: list[int] = []

    def record(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            collected.append(info["generation"])

    gc.callbacks.append(record)
    try:
        action()
    finally:
        gc.callbacks.remove(record)
    return collected


def test_the_oldest_generation_waits_for_a_quarter_more_long_lived_objects() -> None:
    """CPython's rule (gcmodule.c, collect_generations): a program building a large live
    structure would otherwise have its whole heap scanned every few thousand objects."""
    from src.worker import guards

    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(gc.get_threshold()[2] + 1):
            gc.collect(1)  # each counts towards the oldest generation's threshold
        assert gc.get_count()[2] > gc.get_threshold()[2]
        guards._LONG_LIVED[:] = [400_000, 99_999]  # less than a quarter reached it since
        assert 2 not in _generations_collected(guards.collect_at_a_safe_point)
        guards._LONG_LIVED[:] = [400_000, 100_000]
        assert _generations_collected(guards.collect_at_a_safe_point) == [2]
        assert guards._LONG_LIVED[1] == 0
        assert abs(guards._LONG_LIVED[0] - len(gc.get_objects(2))) < 1000  # what the collection left
    finally:
        guards.begin_collections()
        if was_enabled:
            gc.enable()


def test_what_survives_a_middle_collection_counts_as_long_lived() -> None:
    from src.worker import guards

    was_enabled = gc.isenabled()
    gc.disable()
    try:
        gc.collect()  # every generation's count starts from nothing
        guards.begin_collections()
        kept = [[i] for i in range(5000)]
        for _ in range(gc.get_threshold()[1] + 1):
            gc.collect(0)  # each counts towards the middle generation's threshold
        gc.collect(0)
        assert gc.get_count()[1] > gc.get_threshold()[1]
        assert gc.get_count()[2] <= gc.get_threshold()[2]
        assert _generations_collected(guards.collect_at_a_safe_point) == [1]
        assert guards._LONG_LIVED[1] >= len(kept)
    finally:
        guards.begin_collections()
        if was_enabled:
            gc.enable()


#: Classes made per call and dropped (a record type per row, a namedtuple, a dataclass, an
#: exception class), each instance with a generator whose ``finally`` runs when the
#: collector frees it: it reads and writes the instance's private and public attributes.
CLASSES_PER_CALL = """
import collections, dataclasses
log = []
errors = []

def make(i):
    class Row:
        def __init__(self):
            self._v = i
            self.gen = self.steps()
            next(self.gen)

        def steps(self):
            try:
                yield 1
            finally:
                try:
                    self.after = 1
                    self._after = 2
                    log.append(self._v + self.after + self._after)
                except Exception as error:
                    errors.append(repr(error))

    class Failure(ValueError):
        pass

    try:
        raise Failure(Row())
    except Failure:
        pass
    Pair = collections.namedtuple("Pair", "a b")
    Record = dataclasses.make_dataclass("Record", ["a"])
    return Pair(1, 2).a + Record(i).a

total = sum(make(i) for i in range(3000))
[total, len(log), errors[:3]]
"""


@pytest.mark.parametrize("pure", [False, True], ids=["c-guards", "python-guards"])
def test_classes_the_program_drops_are_freed_and_their_finalisers_see_them_as_its_own(
    proxies: Proxies, pure: bool
) -> None:
    """The sandbox's tables (PLAIN, verdicts, native attributes, dataclass fields...) held
    every class the program made for the whole job: a loop making a class per call hit
    the memory limit where CPython frees them (pass 64). The finalisers of the instances
    of a class being freed run with the class still the program's."""
    if not pure and not fastguards.available():
        pytest.skip("the C half is not built here")
    gc.collect()
    with guard_mode(pure=pure):
        outcome = run(CLASSES_PER_CALL, proxies, cpu_s=60)
        alive = [
            cls
            for cls in gc.get_objects()
            if isinstance(cls, type)
            and cls.__module__ == "__main__"
            and cls.__name__ in {"Row", "Failure", "Pair", "Record"}
        ]
    assert outcome.reply["error"] is None, outcome.reply
    total, finalised, errors = outcome.result
    assert total == sum(range(3000)) + 3000
    assert errors == []
    assert finalised > 2500  # freed meanwhile, each finaliser ran as the program's code
    assert len(alive) < 4 * 500  # of 4 * 3000: only those made since the last release


def _growth(proxies: Proxies, code: str, result: object, table: Callable[[], Sized]) -> int:
    """How many entries ``table`` gained while ``code`` ran, once it answered ``result``."""
    before = len(table())
    outcome = run(code, proxies, cpu_s=60)
    assert outcome.reply["error"] is None, outcome.reply
    assert outcome.result == result
    return len(table()) - before


def test_crossings_of_library_methods_of_dropped_classes_are_forgotten(proxies: Proxies) -> None:
    """A namedtuple class's _replace and _asdict are library functions made per class; the
    crossings made for them were kept for the whole job (pass 66: 20 000 classes, +48 MB).
    A crossing the program still holds keeps working."""
    from src.worker import membrane

    code = (
        "import collections\n"
        "Kept = collections.namedtuple('Kept', 'a')\nheld = Kept(1)._replace\n"
        "def one(i):\n    P = collections.namedtuple('P', 'a b')\n"
        "    return P(i, 2)._replace(a=1)._asdict()['a']\n"
        "total = sum(one(i) for i in range(2000))\n[total, held(a=5).a]"
    )
    assert _growth(proxies, code, [2000, 5], lambda: membrane.METHOD_CROSSINGS) < 400  # of 4000 made


def test_library_methods_made_per_read_are_forgotten_with_no_class_released(proxies: Proxies) -> None:
    """A partialmethod read through an instance binds a fresh library closure each time;
    each crossing was kept until a release of the program's classes, which never comes
    while it makes none (attack pass 78: 1 MB per read filled the memory limit). The
    collections sweep them once the table has doubled."""
    from src.worker import membrane

    code = (
        "import functools\nclass Call:\n    def __call__(self, *args):\n        return len(args)\n"
        "class C:\n    pass\ncall = Call()\nn = 0\n"
        "for i in range(5000):\n    C.pm = functools.partialmethod(call, str(i))\n    n += C().pm()\nn"
    )
    assert _growth(proxies, code, 10000, lambda: membrane.METHOD_CROSSINGS) < 1000  # of 5000 made


def test_code_generated_for_the_programs_dataclasses_is_not_kept(proxies: Proxies) -> None:
    """dataclasses compiles each of the program's classes' methods in __main__'s namespace,
    a module's: the membrane approved each by its code and kept the code (with its names
    and constants) for the job after the class was dropped (attack pass 78)."""
    from src.worker import membrane

    run("1", proxies)  # configured
    code = (
        "import dataclasses\ndef one(i):\n    D = dataclasses.make_dataclass('D', [('f' + str(i), int)])\n"
        "    d = D(1)\n    return d.__eq__(d) + (d == D(1))\nsum(one(i) for i in range(300))"
    )
    assert _growth(proxies, code, 600, lambda: membrane.MEMBRANE._approved_code) < 10


def test_library_classes_made_per_statement_are_freed(proxies: Proxies) -> None:
    """typing.NewType gives a class statement a new library class as its base each time
    (the statement then fails): each was kept for the job by its verdict, its seal and the
    names cached for its code (attack pass 78: the memory limit in 200 ms). The
    collections release the library classes judged in the job, as CPython frees them."""
    from src.worker import membrane

    code = (
        "import typing\nN = typing.NewType('N', int)\nfailed = 0\nfor i in range(5000):\n"
        "    try:\n        class X(N):\n            pass\n    except TypeError:\n        failed += 1\nfailed"
    )
    assert _growth(proxies, code, 5000, lambda: membrane.MEMBRANE._class_verdicts) < 1000  # of 5000 made
