"""The repairs of the interpreter's C code (worker/interpreter_repairs/): what they leave to
ordinary code is exactly CPython's answers. The routes they close are escape programs
(tests/programs/escape_*.py, run by test_escapes.py and, in real workers, test_pool.py)."""

from __future__ import annotations

import collections
import dataclasses
import datetime
import decimal
import fractions
import functools
import io
import itertools
import operator
import os
import subprocess
import sys
import types
from collections.abc import Callable
from typing import Any

import pytest

from src.worker import repairs
from tests.support.server import PROJECT_ROOT

pytestmark = pytest.mark.skipif(not repairs.available(), reason="the repairs' extension is not built here")


@pytest.fixture(autouse=True)
def _repaired() -> None:
    repairs.apply()  # once per process; the tests' proxies do it too


def test_ci_builds_the_repairs() -> None:
    """.ci/run requires the extensions (EXTENSIONS_REQUIRED=1): without the repairs the
    service refuses to run programs, and CI must say so rather than skip these tests."""
    if os.environ.get("EXTENSIONS_REQUIRED") != "1":
        pytest.skip("only where the build is required")
    assert repairs.applied()


def _family() -> dict[str, type]:
    """Fresh classes with every shape of the binary dispatch: a method, its reflection, a
    subclass that overrides the reflection (asked first), NotImplemented both ways, the
    in-place and three-argument forms, and the other held special methods."""

    class Num:
        def __init__(self, v: int) -> None:
            self.v = v

        def __add__(self, o: Any) -> Any:
            return ("Num+", o.v if isinstance(o, Num) else o)

        def __radd__(self, o: Any) -> Any:
            return ("+Num", o.v if isinstance(o, Num) else o)

        def __sub__(self, o: Any) -> Any:
            return NotImplemented

        def __rsub__(self, o: Any) -> Any:
            return ("-Num", o)

        def __mul__(self, o: Any) -> Any:
            return NotImplemented if isinstance(o, str) else ("Num*", o)

        def __pow__(self, o: Any, m: Any = None) -> Any:
            return ("Num**", o, m)

        def __rpow__(self, o: Any, m: Any = None) -> Any:
            return ("**Num", o, m)

        def __iadd__(self, o: Any) -> Any:
            return ("Num+=", o)

        def __eq__(self, o: object) -> bool:
            return isinstance(o, Num) and o.v == self.v

        def __lt__(self, o: Any) -> Any:
            return NotImplemented if not isinstance(o, Num) else self.v < o.v

        def __hash__(self) -> int:
            return hash(self.v)

        def __bool__(self) -> bool:
            return self.v != 0

        def __index__(self) -> int:
            return self.v

        def __getitem__(self, i: int) -> int:
            if i >= self.v:
                raise IndexError(i)
            return i * 10

        def __contains__(self, x: object) -> bool:
            return x == self.v

        def __call__(self, *a: Any) -> Any:
            return ("called", a)

        def __len__(self) -> int:
            return self.v

        def __neg__(self) -> Any:
            return ("neg", self.v)

        def __int__(self) -> int:
            return self.v + 1

        def __float__(self) -> float:
            return self.v / 2

        def __repr__(self) -> str:
            return f"Num({self.v})"

        def __str__(self) -> str:
            return f"<{self.v}>"

        def __getattr__(self, name: str) -> Any:
            return ("missing", name)

        def __setitem__(self, key: Any, value: Any) -> None:
            self.__dict__.setdefault("items", []).append((key, value))

        def __delitem__(self, key: Any) -> None:
            self.__dict__.setdefault("items", []).append(("del", key))

        def __get__(self, obj: Any, owner: Any = None) -> Any:
            return ("got", self.v, obj is None)

        def __set__(self, obj: Any, value: Any) -> None:
            obj.__dict__["described"] = value

    class Guarded:
        def __setattr__(self, name: str, value: Any) -> None:
            super().__setattr__(name, ("set", value))

    class Sub(Num):
        def __radd__(self, o: Any) -> Any:
            return ("+Sub", o.v if isinstance(o, Num) else o)

        def __rpow__(self, o: Any, m: Any = None) -> Any:
            return ("**Sub", o, m)

    class Plain(Num):
        pass

    class Other:
        def __radd__(self, o: Any) -> Any:
            return ("+Other", type(o).__name__)

        def __rmul__(self, o: Any) -> Any:
            return NotImplemented

    return {"Num": Num, "Sub": Sub, "Plain": Plain, "Other": Other, "Guarded": Guarded}


def _outcomes(classes: dict[str, type]) -> list[Any]:
    num, sub, plain, other, guarded_class = (classes[k] for k in ("Num", "Sub", "Plain", "Other", "Guarded"))
    values = [num(2), sub(3), plain(4), other(), 5, "s", 1.5]
    binary = [operator.add, operator.sub, operator.mul, operator.pow, operator.iadd, operator.lt, operator.eq]
    outcomes: list[Any] = []
    for op, a, b in itertools.product(binary, values, values):
        try:
            outcomes.append(op(a, b))
        except TypeError as e:
            outcomes.append(("TypeError", str(e)))
    n = num(3)
    outcomes += [
        pow(n, 2, 5),
        bool(n),
        bool(num(0)),
        operator.index(n),
        list(n),
        3 in n,
        n[1],
        n(1, 2),
        hash(n) == hash(3),
        sorted([num(3), num(1), num(2)], key=lambda x: x).__len__(),
        [x.v for x in sorted([num(3), num(1), num(2)])],
        {num(1): "a"}[num(1)],
        len(n),
        -n,
        int(n),
        float(n),
        repr(n),
        str(n),
        f"{n}",
        n.nothing,
        list(iter(n)),
    ]
    n[1] = "x"
    del n[2]
    n.items.append(None)
    described = type("Holder", (), {"d": num(5)})()
    outcomes += [n.items, described.d]
    described.d = 6
    outcomes.append(described.__dict__)
    guarded = guarded_class()
    guarded.x = 1
    outcomes.append(guarded.x)
    return [_described(outcome, classes) for outcome in outcomes]


def _described(value: Any, classes: dict[str, type]) -> Any:
    """The outcome with the family's instances named by their class (two families' objects
    are never equal)."""
    if isinstance(value, tuple):
        return tuple(_described(item, classes) for item in value)
    if type(value) in classes.values():
        return f"<{type(value).__name__}>"
    return value


def test_held_special_methods_answer_as_the_generic_slots_do() -> None:
    """The same classes, held here and made in an interpreter without the repairs (where
    typeobject.c's generic slots run): the same outcomes."""
    held = _family()
    assert all(repairs.operands_held(cls) for name, cls in held.items() if name != "Guarded")  # no held slot
    unrepaired = subprocess.run(
        [
            sys.executable,
            "-c",
            "from tests.unit.test_repairs import _family, _outcomes; print(repr(_outcomes(_family())))",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert repr(_outcomes(held)) == unrepaired.stdout.strip()


def test_library_classes_hold_their_operands_too() -> None:
    """A library class's Python special method may return NotImplemented after its frame
    was an operand's last owner, as a program's may: every class is held, the ones that
    existed when the repairs were made and the ones made after."""
    made_now = type("MadeNow", (), {"__eq__": lambda self, other: NotImplemented, "__hash__": None})
    assert repairs.operands_held(fractions.Fraction)
    assert repairs.operands_held(made_now)


def test_a_getattribute_without_getattr_stays_held_after_its_first_lookup() -> None:
    """typeobject.c's slot for __getattribute__/__getattr__ rewrites itself into a simpler
    one at the first lookup on a class without __getattr__: that one is held too."""

    class Renamed:
        def __getattribute__(self, name: str) -> Any:
            return ("got", name) if name != "real" else object.__getattribute__(self, name)

    thing = Renamed()
    assert repairs.operands_held(Renamed)
    assert [thing.x, getattr(thing, "y", None)] == [("got", "x"), ("got", "y")]
    assert repairs.operands_held(Renamed)
    with pytest.raises(AttributeError):
        thing.real  # noqa: B018 - the lookup is the test


def test_special_methods_a_library_sets_afterwards_are_held_too() -> None:
    """functools.total_ordering and dataclass set special methods on a class that already
    exists, which puts the generic slot back: type's __setattr__ holds them again."""

    class Ranked:
        def __init__(self, v: int) -> None:
            self.v = v

        def __eq__(self, o: object) -> bool:
            return isinstance(o, Ranked) and o.v == self.v

        def __lt__(self, o: Ranked) -> bool:
            return self.v < o.v

        __hash__ = None  # type: ignore[assignment]  # as __eq__ alone would leave it

    repairs.hold_operands(Ranked)
    ordered: Any = functools.total_ordering(Ranked)
    assert repairs.operands_held(ordered)
    assert [ordered(2) >= ordered(1), ordered(1) > ordered(2)] == [True, False]

    class Point:
        x: int

    repairs.hold_operands(Point)
    point: Any = dataclasses.dataclass(order=True)(Point)
    assert repairs.operands_held(point)
    assert [point(1) < point(2), point(1) == point(1)] == [True, True]


def test_the_repaired_builtins_answer_as_cpython_does() -> None:
    """property, iter(f, sentinel), iter(obj) over __getitem__, OSError and
    UnicodeDecodeError's str, bytearray's searches and %: CPython's answers."""

    class P:
        @property
        def x(self) -> int:
            return 1

        @x.setter
        def x(self, value: int) -> None:
            self.stored: int | None = value

        @x.deleter
        def x(self) -> None:
            self.stored = None

    p = P()
    p.x = 5
    stored = p.stored
    del p.x
    lines = iter(["a", "b", "", "c"])

    class Seq:
        def __getitem__(self, i: int) -> int:
            if i > 2:
                raise IndexError
            return i

    data = bytearray(b"hello world")
    assert [
        p.x,
        stored,
        p.stored,
        list(iter(lines.__next__, "")),
        list(Seq()),  # type: ignore[call-overload]  # iteration by __getitem__
        str(OSError(2, "No such file", "a.txt", None, "b.txt")),
        str(FileNotFoundError(2, "gone")),
        str(OSError("just a message")),
        str(UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")),
        str(UnicodeDecodeError("ascii", b"ab\xff", 1, 3, "nope")),
        [data.find(b"o", 5), data.count(b"l"), data.index(b"w"), data.rfind(b"o"), data.rindex(b"l")],
        [data.startswith(b"he"), data.endswith(b"ld", 0, 11), b"lo w" in data, 111 in data],
        bytearray(b"%d-%s") % (5, b"x"),
        b"%s" % bytearray(b"y"),
    ] == [
        1,
        5,
        None,
        ["a", "b"],
        [0, 1, 2],
        "[Errno 2] No such file: 'a.txt' -> 'b.txt'",
        "[Errno 2] gone",
        "just a message",
        "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte",
        "'ascii' codec can't decode bytes in position 1-2: nope",
        [7, 3, 6, 7, 9],
        [True, True, True, True],
        bytearray(b"5-x"),
        b"y",
    ]


def test_the_repaired_list_answers_as_cpython_does() -> None:
    """The list repair (gh-120384, gh-120298): slice assignment takes any iterable
    first and list comparison holds its last items, with CPython's answers and errors."""

    class Sub(list):  # type: ignore[type-arg]
        pass

    cases: list[tuple[Callable[[], object], object]] = [
        (lambda: _assigned(list(range(10)), slice(2, 5), (x for x in "ab")), [0, 1, "a", "b", 5, 6, 7, 8, 9]),
        (lambda: _assigned(list(range(10)), slice(8, 2, -2), iter("xyz")), [0, 1, 2, 3, "z", 5, "y", 7, "x", 9]),
        (lambda: _assigned(Sub([1, 2]), slice(0, 1), iter([7, 8])), [7, 8, 2]),
        (lambda: _assigned([1, 2, 3], slice(0, 2), None), "self"),
        (lambda: ([1, 2] < [1, 3], [1, [2]] > [1, [1]], list.__lt__([1], [2]), [1] == [1.0]), (True, True, True, True)),
    ]
    for make, expected in cases:
        assert make() == expected or expected == "self"
    for value, error in [(5, "must assign iterable to extended slice"), ([1], "attempt to assign sequence of size 1")]:
        with pytest.raises((TypeError, ValueError), match=error):
            _assigned(list(range(10)), slice(None, None, 2), value)
    with pytest.raises(TypeError, match="can only assign an iterable"):
        _assigned([1, 2], slice(0, 1), 5)


def _assigned(target: list[object], where: slice, value: object) -> list[object]:
    target[where] = target if value is None else value  # type: ignore[call-overload]
    return target


def _all_classes() -> list[type]:
    seen: dict[int, type] = {}
    pending: list[type] = [object]
    while pending:
        cls = pending.pop()
        if id(cls) not in seen:
            seen[id(cls)] = cls
            pending.extend(type.__subclasses__(cls))
    return list(seen.values())


def test_every_repr_str_hash_and_comparison_holds_its_objects() -> None:
    """C code lends objects it does not own to repr(), str(), hash() and comparisons (a
    list's items, an exception's args, a deque's items): every class's slots hold their
    objects for the call, the C types' (those of modules imported after the repairs were
    made too, once the template has imported everything) and the classes made after."""

    class Later(dict):  # type: ignore[type-arg]
        pass

    class LaterError(KeyError):
        def __str__(self) -> str:
            return "mine"

    repairs.hold_new_types()  # as the template does once its imports are done
    unheld = [cls.__qualname__ for cls in _all_classes() if not repairs.callees_held(cls)]
    assert unheld == []
    assert repairs.callees_held(Later)
    assert repairs.callees_held(LaterError)


def _formatted() -> list[str]:
    """repr(), str(), hashes and comparisons of the interpreter's C types, and bytearray's
    inits, as text."""

    class Sub(list):  # type: ignore[type-arg]
        pass

    class Named:
        def __repr__(self) -> str:
            return "Named()"

    values: list[object] = [
        [1, "a", (2, None), {3: [4]}, slice(1, Named(), 3), Sub([5])],
        {1: Named(), "k": {2, 3}},
        frozenset({4}),
        collections.deque([Named(), 1], maxlen=5),
        collections.OrderedDict(a=1),
        collections.defaultdict(list, {1: [2]}),
        collections.Counter("aab"),
        types.SimpleNamespace(x=Named()),
        {"a": 1}.keys(),
        {"a": 1}.items(),
        types.MappingProxyType({"m": Named()}),
        functools.partial(max, 1, key=abs),
        _PartialSub(min, Named(), key=Named()),
        _self_holding_partial(),
        KeyError(Named()),
        ValueError("v", Named()),
        OSError(2, "gone"),
        datetime.datetime(2024, 2, 29, 12, 30),
        datetime.timedelta(days=1, seconds=5),
        decimal.Decimal("1.10"),
        fractions.Fraction(3, 4),
        range(1, 9, 2),
        1.5,
        3 + 4j,
        b"\x00b",
        bytearray(b"ba"),
        None,
        NotImplemented,
        Ellipsis,
        int,
    ]
    text = [f"{value!r} | {value!s}" for value in values]
    when = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    compared = [
        [(1, "a") < (1, "b"), [1, [2]] == [1, [2]], {1: "a"} != {1: "b"}, {1, 2} <= {1, 2, 3}],
        [collections.deque([1]) < collections.deque([2]), when > when.replace(year=2023), decimal.Decimal(1) < 2],
        [decimal.Decimal("0.5") == fractions.Fraction(1, 2), types.SimpleNamespace(a=1) == types.SimpleNamespace(a=1)],
        [hash((1, "a")) == hash((1, "a")), hash(frozenset({3})) == hash(frozenset({3})), hash(when) == hash(when)],
        [hash(decimal.Decimal("1.0")) == hash(1), hash(fractions.Fraction(1, 2)) == hash(0.5), {1: "a"}.keys() == {1}],
    ]
    text.append(repr(compared))
    try:
        hash([1])
    except TypeError as e:
        text.append(str(e))

    class Size:
        def __index__(self) -> int:
            return 3

    sources: list[object] = [range(65, 70), iter([1, 2]), Size(), "hé", b"ab", memoryview(b"mv"), [256], ["a"], 3.5, -1]
    for source in sources:
        try:
            made = bytearray(source, "utf-8") if isinstance(source, str) else bytearray(source)  # type: ignore[call-overload]
            text.append(repr(made))
        except (TypeError, ValueError) as e:
            text.append(f"{type(e).__name__}: {e}")
    return text


class _PartialSub(functools.partial[Any]):
    pass


def _self_holding_partial() -> functools.partial[Any]:
    holder: list[object] = []
    made = functools.partial(max, holder)
    holder.append(made)
    return made


#: functools.partial's state swapped in while its repr or its call uses the old one
#: (gh-144475, gh-154189): a __new__ that returns the live partial lets copy run
#: __setstate__ on it. In plain CPython 3.11 the first reads past the new, shorter
#: arguments and the second frees the callee that is running.
_PARTIAL_SWAPS = {
    "repr": (
        "import copy, functools\nmade = []\n"
        "class P(functools.partial):\n    def __new__(cls, *a, **k):\n"
        "        return made[0] if made else super().__new__(cls, *a, **k)\n"
        "class R:\n    def __repr__(self):\n        copy.copy(other)\n        return 'R'\n"
        "other = P(len, 9)\nvictim = P(print, R(), *range(200))\nmade.append(victim)\n"
        "text = repr(victim)\nprint(text[:40], text.count(','), victim.func.__name__, len(victim.args))\n"
    ),
    "call": (
        "import copy, functools\nmade = []\n"
        "class P(functools.partial):\n    def __new__(cls, *a, **k):\n"
        "        return made[0] if made else super().__new__(cls, *a, **k)\n"
        "other = P(len)\narmed = [True]\n"
        "def key(x):\n    if armed[0]:\n        armed[0] = False\n        copy.copy(other)\n"
        "        junk = [[0] * 12 for i in range(2000)]\n    return x\n"
        "numbers = list(range(500, 0, -1))\nvictim = P(numbers.sort, key=key)\nmade.append(victim)\n"
        "victim()\nprint(numbers[:3], victim.func.__name__)\n"
    ),
}


@pytest.mark.parametrize(
    ("swap", "printed"),
    [("repr", "P(<built-in function print>, R, 0, 1, 2, 201 len 1"), ("call", "[1, 2, 3] len")],
)
def test_a_partials_repr_and_call_keep_the_fields_they_started_with(swap: str, printed: str) -> None:
    """Outside the sandbox (copy refuses the route inside it): the repaired repr shows the
    arguments it started with, and the call keeps its callee alive until it returns."""
    program = "from src.worker import repairs\nrepairs.apply()\n" + _PARTIAL_SWAPS[swap]
    ran = subprocess.run(
        [sys.executable, "-c", program], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert ran.stdout.strip() == printed


def test_held_reprs_and_bytearray_inits_answer_as_cpython_does() -> None:
    """The same reprs, strs, hashes, comparisons and inits, here and in an interpreter
    without the repairs."""
    unrepaired = subprocess.run(
        [sys.executable, "-c", "from tests.unit.test_repairs import _formatted; print(repr(_formatted()))"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert repr(_formatted()) == unrepaired.stdout.strip()


def test_a_dying_contexts_signal_dicts_give_their_words_back() -> None:
    """A signal dict that outlives its context gets a word of its own, which goes back when
    the dict dies: a program that keeps each context's traps a moment keeps constant memory
    (pass 72: ~61 bytes per context were never given back), and the dicts keep answering."""
    loop = (
        "import decimal, resource\n"
        "from src.worker import repairs\n"
        "assert repairs.apply()\n"
        "def peak():\n"
        "    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "before = peak()\n"
        "for i in range(1_000_000):\n"
        "    context = decimal.Context()\n"
        "    traps, flags = context.traps, context.flags\n"
        "    context = None\n"
        "    traps[decimal.Inexact] = i % 2 == 0\n"
        "    assert traps[decimal.Inexact] == (i % 2 == 0) and not flags[decimal.Inexact]\n"
        "print(peak() - before)\n"
    )
    grown_kib = subprocess.run(
        [sys.executable, "-c", loop], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, check=True
    ).stdout
    assert int(grown_kib) < 16 * 1024  # ~60 MiB when every word was kept


def test_every_finalizer_waits_for_a_safe_point() -> None:
    """A finalizer a decref runs (a suspended generator's `finally`, an io object's
    close()) runs code of the program's inside whatever C operation released the object
    (pass 75: a class attribute store, read back through the type's cache): every class's
    finalizer goes through the trampoline that makes it wait, the C types' and the
    classes made later, whether they take it from a base or define `__del__`."""

    class Report(io.StringIO):
        pass

    late = type("Late", (), {"__del__": lambda self: None})
    repairs.hold_new_types()  # as the template does once its imports are done
    waiting = [cls.__qualname__ for cls in _all_classes() if not repairs.finalizer_deferred(cls)]
    assert waiting == []
    generator = types.GeneratorType
    for cls in (generator, types.CoroutineType, types.AsyncGeneratorType, io.StringIO, Report, late):
        assert "__del__" in dir(cls)  # it has a finalizer
        assert repairs.finalizer_deferred(cls)


def _printed_by(script: str) -> str:
    """What ``script`` prints, run in an interpreter of its own (a job's deferral of
    finalizers is process-wide: a worker runs one job)."""
    ran = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert ran.returncode == 0, ran.stderr
    return ran.stdout.strip()


#: Run in an interpreter of its own: a job's deferral is process-wide (a worker runs one).
DEFERRED_FINALIZERS = """
import gc
from src.worker import repairs
assert repairs.apply()
log, asked = [], []

def holder(label):
    try:
        yield 1
    finally:
        log.append([label, sorted(d)])

def held(label):
    g = holder(label)
    next(g)
    return g

d = {"a": held("before the job")}
d.update({"a": 1, "b": 2})  # at once: no job yet
repairs.begin_deferring_finalizers("<program>", lambda: asked.append(1))
d = {"a": held("in a C operation")}
d.update({"a": 1, "b": 2})
log.append(["waiting", len(log)])
log.append(["ran", repairs.run_waiting_finalizers()])
program = "def tick():\\n    pass\\nd = {'a': held('the program')}\\nd.update({'a': 1, 'b': 2})\\nx = len(d)\\ntick()"
exec(compile(program, "<program>", "exec"), globals())  # the pending call runs it at tick()'s start
steps = "g = held('rebound')\\ng = None\\nlog.append(['next', len(log)])\\nd['a'] = held('item')\\ndel d['a']"
steps += "\\nx = len(log)\\ntick()"
exec(compile(steps, "<program>", "exec"), globals())  # a rebinding is the program's own step, a deletion C's
log.append(["deleted at", x])
d["a"] = holder("never started")  # its finalizer runs nothing: not queued
d.update({"a": 1})
log.append(["unstarted queued", repairs.run_waiting_finalizers()])

def plain(x):
    yield x  # no handler: closing it runs no instruction

p = plain(1)
next(p)
d["a"] = p
p = None
d.update({"a": 1})
log.append(["without a handler queued", repairs.run_waiting_finalizers()])
nested = (
    "def inner():\\n    try:\\n        yield 1\\n    finally:\\n        log.append('inner')\\n"
    "def outer():\\n    try:\\n        yield 1\\n    finally:\\n        box = {}\\n"
    "        for i in range(3):\\n            g = inner()\\n            next(g)\\n            box[0] = g\\n"
    "            g = None\\n            tick()\\n        log.append(['inner ran in the finally', log.count('inner')])\\n"
    "o = outer()\\nnext(o)\\nd['a'] = o\\no = None"
)
exec(compile(nested, "<program>", "exec"), globals())  # a finally that releases inside C code
d.update({"a": 1})
repairs.run_waiting_finalizers()
log.append(["library", len(log)])
d = {"a": held("library code")}
d.update({"a": 1, "b": 2})
list(map(len, ["x"]))  # an eval breaker in a frame that is not the program's
log.append(["asked for a safe point", len(asked) > 0, repairs.run_waiting_finalizers()])

class Cycle:
    pass

gc.disable()
cycle = Cycle()
cycle.me, cycle.gen = cycle, held("collected")
cycle = None
log.append(["collected", gc.collect() > 0, repairs.run_waiting_finalizers()])
repairs.end_deferring_finalizers()
d = {"a": held("after the job")}
d.update({"a": 1, "b": 2})
print(log)
"""


def test_finalizers_wait_for_the_programs_next_instruction_or_a_safe_point() -> None:
    """In a job, a finalizer released inside a C operation runs once the operation is over:
    between two of the program's instructions, or at a safe point the guards are asked
    for when the interpreter's next check is in other code; one the program's own step
    releases (a rebinding) runs at once, as do the collector's (at a safe point already);
    before and after a job, as CPython does."""
    assert _printed_by(DEFERRED_FINALIZERS) == repr(
        [
            ["before the job", ["a"]],
            ["waiting", 1],
            ["in a C operation", ["a", "b"]],
            ["ran", 1],
            ["the program", ["a", "b"]],
            ["rebound", ["a", "b"]],
            ["next", 6],
            ["item", ["b"]],
            ["deleted at", 7],
            ["unstarted queued", 0],
            ["without a handler queued", 0],
            "inner",
            "inner",
            ["inner ran in the finally", 2],
            "inner",
            ["library", 15],
            ["library code", ["a", "b"]],
            ["asked for a safe point", True, 1],
            ["collected", ["a", "b"]],
            ["collected", True, 0],
            ["after the job", ["a"]],
        ]
    )


#: The queue's append is the allocation that fails (_testcapi.set_nomemory).
FINALIZER_WITHOUT_MEMORY = """
import _testcapi
import sys
from src.worker import repairs
assert repairs.apply()
log = []

def holder():
    try:
        yield 1
    finally:
        log.append("finally ran")

g = holder()
next(g)
d = {"a": g}
g = None
repairs.begin_deferring_finalizers("<program>", lambda: None)
sys._getframe()  # the frame object exists: the queue's append is the next allocation
_testcapi.set_nomemory(0, 1)
d["a"] = 1
_testcapi.remove_mem_hooks()
print([log, repairs.finalizers_never_run(), repairs.run_waiting_finalizers()])
"""


def test_a_finalizer_with_no_memory_to_wait_never_runs_inside_the_operation() -> None:
    """A program can exhaust memory so that the queue cannot take an object (attack pass
    77): the finalizer is then never run, rather than run inside the C operation that
    released its object."""
    pytest.importorskip("_testcapi")
    assert _printed_by(FINALIZER_WITHOUT_MEMORY) == repr([[], 1, 0])
