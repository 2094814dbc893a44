"""The guards' C half gives the answers of the Python rules (src/worker/fastguards.py).

The same programs run twice in-process, once with the C guards and once with
``EXECUTOR_PURE_PYTHON_GUARDS=1``, reading every name of a list from every object of a
list (plain values, ``str`` subclasses as names, the program's own classes, library
objects, module proxies, capability objects the membrane replaces or refuses); what each
read gives (its kind, or the error it raised) must be the same."""

from __future__ import annotations

import functools
import gc
import json
import os
import subprocess
import sys
import types
import weakref
from collections.abc import Callable
from typing import Any

import pytest

from src.worker import crossing, fastguards, guards, membrane
from src.worker.ownership import CURRENT_JOB
from src.worker.refusal import SecurityError
from tests.support.inprocess import Proxies, guard_mode, run
from tests.support.server import PROJECT_ROOT
from tests.unit.test_guards import _WRITE_NAMES, _WRITE_TARGETS, _write_outcomes

requires_c = pytest.mark.skipif(not fastguards.available(), reason="the C half is not built here")

_OBJECTS = """
import abc, collections, dataclasses, enum, fractions, functools, json, random, re, typing
class Plain:
    def method(self):
        return 1
class Items(collections.UserList): pass
class Failure(Exception): pass
class Pair(typing.NamedTuple):
    a: int
@dataclasses.dataclass(frozen=True)
class Frozen:
    a: int = 1
class Colour(enum.Enum):
    RED = 1
class Text(str): pass
class Table(dict): pass
class Answers:
    def __getattr__(self, name):
        return (name, json.dumps, random.Random)
class Counting(collections.Counter): pass
class Shifty:
    @property
    def x(self):
        return (json.dumps, 1)
def function(): pass
rng = random.Random(1)
pattern = re.compile("a(b)")
objects = {
    "int": 1, "str": "s", "list": [1], "dict": {"a": 1}, "tuple": (1, 2), "bytes": b"x", "none": None,
    "range": range(3), "slice": slice(1, 2), "frozenset": frozenset({1}),
    "plain": Plain(), "userlist": Items([1]), "exception": Failure(json.dumps, 1), "namedtuple": Pair(1),
    "frozen": Frozen(), "enum-member": Colour.RED, "text": Text("s"), "table": Table(a=1),
    "answers": Answers(), "counter": Counting("abca"), "shifty": Shifty(), "function": function,
    "class": Plain, "fraction": fractions.Fraction(1, 3), "decoder": json.JSONDecoder(), "module": json,
    "random": rng, "pattern": pattern, "match": pattern.match("ab"), "alias": list[int],
    "typing-alias": typing.List[int], "partial": functools.partial(max, 1), "generator": (x for x in []),
    "super": super(Items, Items([1])), "type": type, "dumps": json.dumps,
}
"""
_NAMES = [
    "append", "x", "a", "real", "get", "method", "args", "value", "name", "data", "dumps", "loads",
    "randint", "random", "search", "group", "most_common", "keys", "format", "format_map", "mro",
    "f_globals", "gi_frame", "gi_code", "__class__", "__dict__", "_private", "__init__", "__name__",
    "nope", "startswith", "scan_once", "func", "numerator", "__origin__", "__args__",
]  # fmt: skip
_READS = """
offered = {id(json.dumps): "json.dumps", id(random.Random): "random.Random"}
def kind(value):
    return offered.get(id(value), type(value).__name__)
outcomes = []
for object_name, obj in objects.items():
    for name in names:
        for how in ("plain", "default", "subclass-name"):
            try:
                if how == "plain":
                    value = getattr(obj, name)
                elif how == "default":
                    value = getattr(obj, name, "missing")
                else:
                    value = getattr(obj, Text(name))
                outcome = kind(value)
                if kind(value) in ("int", "str", "bool", "NoneType"):
                    outcome += ":" + repr(value)
                elif kind(value) == "tuple":
                    outcome += ":" + repr([kind(item) for item in value])
                if callable(value) and hasattr(value, "__name__"):
                    outcome += ":" + value.__name__
            except Exception as error:
                outcome = type(error).__name__ + ":" + str(error)[:120]
            outcomes.append([object_name, name, how, outcome])
outcomes
"""


def _outcomes(proxies: Proxies, code: str, *, pure: bool) -> list[Any]:
    with guard_mode(pure=pure):
        return list(run(code, proxies, max_result_bytes=8 << 20).result)


@requires_c
def test_every_read_gives_what_the_python_guard_gives(proxies: Proxies) -> None:
    # Each mode is what the job runs with (the per-process environment follows it).
    assert _outcomes(proxies, "[type(getattr).__name__]", pure=False) == ["Guard"]
    assert _outcomes(proxies, "[type(getattr).__name__]", pure=True) == ["function"]
    code = f"{_OBJECTS}\nnames = {_NAMES!r}\n{_READS}"
    fast = _outcomes(proxies, code, pure=False)
    python = _outcomes(proxies, code, pure=True)
    assert len(fast) == len(python) > 1000
    assert [row for row in fast if row not in python] == []
    # Every branch of the C code is exercised: plain values, bound methods, the program's
    # methods, crossings, refusals.
    seen = {row[3].partition(":")[0] for row in fast}
    assert {"int", "builtin_function_or_method", "builtin_method", "method", "SecurityError", "AttributeError"} <= seen


@requires_c
def test_a_second_read_of_a_library_method_is_the_crossing_the_first_made(proxies: Proxies) -> None:
    """The C guard answers a library method read from the crossing the Python path made
    on the first read: both are crossings (their results pass the membrane), of the same
    function, bound to the same object."""
    code = (
        "import collections, random\n"
        "rng = random.Random(3)\n"
        "first, second = rng.randint, rng.randint\n"
        "c = collections.Counter('abca')\n"
        "[first(1, 6) == random.Random(3).randint(1, 6), type(first).__name__, type(second).__name__,\n"
        " first == second, c.most_common(1), c.most_common(1)]"
    )
    for pure in (False, True):
        assert _outcomes(proxies, code, pure=pure) == [True, "method", "method", True, [["a", 2]], [["a", 2]]]


@requires_c
@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ((), "TypeError"),
        ((1,), "TypeError"),
        ((1, "real", 2, 3), "TypeError"),
        ((1, 2), "TypeError"),  # a name that is not a str
    ],
)
def test_a_call_of_another_shape_is_the_python_guards_error(call: tuple[object, ...], expected: str) -> None:
    def outcome(getattr_: object) -> str:
        try:
            getattr_(*call)  # type: ignore[operator]
        except Exception as error:  # noqa: BLE001 - the error is the answer
            return f"{type(error).__name__}: {error}"
        return "no error"

    fast, python = outcome(guards.guarded_getattr), outcome(guards.python_guarded_getattr)
    assert fast == python
    assert fast.startswith(expected)


@requires_c
def test_a_keyword_default_is_the_python_guards_answer() -> None:
    assert guards.guarded_getattr(1, "nope", default=5) == guards.python_guarded_getattr(1, "nope", default=5) == 5


@requires_c
def test_the_c_guards_are_what_the_program_gets() -> None:
    assert guards.guarded_getattr is not guards.python_guarded_getattr
    assert repr(guards.guarded_getattr) == "<built-in function getattr>"
    with pytest.raises(TypeError):
        type(guards.guarded_getattr)()  # type: ignore[misc]  # not instantiable from Python


@requires_c
def test_the_namespace_holds_each_c_guard_as_a_built_in_method_bound_to_it() -> None:
    # The form the interpreter specialises at a call site (fastguards.called_form).
    namespace = guards.guard_globals(CURRENT_JOB)
    for name in ("_getattr_", "_getitem_", "_write_", "_write_attribute_", "_admit_", "_admitting_iter_"):
        bound = namespace[name]
        assert type(bound) is types.BuiltinMethodType, name
        assert type(bound.__self__).__name__ == "Guard", name
    # What the program may hold as a value stays the guard, with the builtin's repr.
    assert guards.safe_builtins({}, frozenset(), CURRENT_JOB)["getattr"] is guards.guarded_getattr


@requires_c
@pytest.mark.parametrize(
    "call",
    [
        (1, "real"), (1, "nope", 5), ([1], "append"), ({}, "get"), ("s", "__class__"), (), (1,), (1, 2),
        (1, "real", 2, 3),
    ],
)  # fmt: skip
def test_a_guard_called_through_its_method_answers_as_the_guard(call: tuple[object, ...]) -> None:
    def outcome(getattr_: Callable[..., Any], *args: object, **kwargs: object) -> str:
        try:
            value = getattr_(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - the error is the answer
            return f"{type(error).__name__}: {error}"
        return type(value).__name__

    called = fastguards.called_form(guards.guarded_getattr)
    assert outcome(called, *call) == outcome(guards.guarded_getattr, *call)
    assert outcome(called, 1, "nope", default=5) == outcome(guards.guarded_getattr, 1, "nope", default=5) == "int"


@requires_c
@pytest.mark.parametrize(
    "code",
    [
        "getattr._call",
        "getattr(getattr, '_call')",
        "import operator\noperator.attrgetter('_call')(getattr)",
        "'{0._call}'.format(getattr)",
    ],
)
def test_the_programs_getattr_does_not_hand_out_its_call_method(proxies: Proxies, code: str) -> None:
    for pure in (False, True):
        with guard_mode(pure=pure):
            outcome = run(code, proxies)
        assert outcome.error_type == "SecurityError", (code, pure, outcome.reply)


def test_a_python_guard_is_called_as_it_is() -> None:
    assert fastguards.called_form(guards.python_guarded_getattr) is guards.python_guarded_getattr


@requires_c
def test_items_admissions_and_writes_give_what_the_python_guards_give(proxies: Proxies) -> None:
    code = (
        "import json, collections\n"
        "class Table(dict): pass\n"
        "rows = [{'a': [1, (2, 3)]}, Table(b=json.loads), collections.OrderedDict(c=1)]\n"
        "counts = {}\n"
        "for word in 'a b a'.split():\n"
        "    counts[word] = counts.get(word, 0) + 1\n"
        "seen = []\n"
        "for row in rows:\n"
        "    for key in row:\n"
        "        value = row[key]\n"
        "        seen.append([key, type(value).__name__])\n"
        "        row[key] = value\n"
        "[seen, counts, rows[0]['a'][1][0]]"
    )
    expected = [[["a", "list"], ["b", "function"], ["c", "int"]], {"a": 2, "b": 1}, 2]
    assert _outcomes(proxies, code, pure=False) == _outcomes(proxies, code, pure=True) == expected


def test_ci_builds_the_c_half() -> None:
    """.ci/run requires the built module (EXTENSIONS_REQUIRED=1): a compiler
    error there must not pass as a slower service."""
    if os.environ.get("EXTENSIONS_REQUIRED") != "1":
        pytest.skip("only where the build is required")
    assert fastguards.available()


class _LibraryHolder:
    """A class no program defined, holding what the membrane refuses or replaces."""

    def __init__(self) -> None:
        self.capabilities = (type, os, os.getpid, sys._getframe())
        self.module = os
        self.function = os.getpid
        self.kind = type
        self.bound = sys.modules.__getitem__
        self.frame = sys._getframe()


def _describe(read: Callable[[], object]) -> str:
    try:
        value = read()
    except Exception as error:  # noqa: BLE001 - the error is the answer
        return f"{type(error).__name__}: {error}"
    if type(value) is tuple:
        return f"tuple{[type(item).__name__ for item in value]}"
    return f"{type(value).__name__} {value is type}"


@requires_c
@pytest.mark.parametrize("name", ["capabilities", "module", "function", "kind", "bound", "frame", "f_globals"])
def test_what_library_objects_hold_is_refused_or_replaced_as_the_python_guard_does(proxies: Proxies, name: str) -> None:
    """Read directly, not from a program: values no program could bring to the guard
    (a real module, a frame, the real ``type`` in a library object's tuple)."""
    run("1", proxies)  # the membrane as a job configures it
    holder = _LibraryHolder()
    _describe(lambda: guards.python_guarded_getattr(holder, name))  # the name is now known public (or not)
    fast = _describe(lambda: guards.guarded_getattr(holder, name))
    python = _describe(lambda: guards.python_guarded_getattr(holder, name))
    assert fast == python
    assert "True" not in fast  # never the real type
    for obj in (holder.frame, os):  # a frame, a real module: every name takes the Python path
        assert _describe(functools.partial(guards.guarded_getattr, obj, name)) == _describe(
            functools.partial(guards.python_guarded_getattr, obj, name)
        )


@requires_c
def test_attribute_writes_end_as_with_the_python_guard(proxies: Proxies) -> None:
    """Each write of the write-guard table (every kind of object, public and private
    names), after a public write on each object (the table the C guard consults),
    ends as it does with the Python guards."""
    targets = run(_WRITE_TARGETS + "list(targets)", proxies).result
    cases = [(target, name) for target in targets for name in _WRITE_NAMES]

    def outcomes(pure: bool) -> list[str]:
        with guard_mode(pure=pure):
            return _write_outcomes(True, cases, proxies)

    fast, python = outcomes(False), outcomes(True)
    assert fast == python
    assert "SecurityError" in fast and "stored" in fast


@requires_c
def test_a_guard_in_a_reference_cycle_is_collected() -> None:
    """A job's guards hold closures that reach its namespace, which holds the guards: the
    collector must see through a guard (sessions run many jobs in one process)."""

    class Namespace(dict[str, object]):  # a dict the test can hold a weak reference to
        pass

    def a_cycle_through_a_guard() -> weakref.ref[Namespace]:
        namespace = Namespace()

        def fallback(value: object) -> object:
            return namespace  # the closure reaches the namespace ...

        namespace["_write_"] = fastguards.accelerated_write(set(), fallback)  # ... which holds the guard
        return weakref.ref(namespace)

    alive = a_cycle_through_a_guard()
    gc.collect()
    assert alive() is None


@requires_c
def test_an_argument_a_c_caller_drops_during_the_read_stays_alive() -> None:
    """Pass 42: itertools.accumulate passes its total borrowed; a property on it that
    advances the accumulate dropped the last reference while the C guard still used it (a
    worker crash, then a full escape through the corrupted heap). Run in a process of its
    own: before the fix it is a segmentation fault, not a failed assertion."""
    code = (
        "import json, sys\n"
        "from tests.support.inprocess import catalogue_proxies, program, run\n"
        "outcome = run(program('escape_c_guard_argument_dropped_during_the_read'), catalogue_proxies())\n"
        "print(json.dumps(outcome.reply['result']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.splitlines()[-1]) == ["survived", "generator already executing"]


def _library_values(*values: object) -> Callable[..., object]:
    """A library-side function (this module is not the program): hands back what it is told."""

    def give(*args: object, **kwargs: object) -> object:
        return values[0] if len(values) == 1 else values

    return give


def _raises(*args: object, **kwargs: object) -> object:
    raise KeyError("from the library")


_CALLS_THROUGH: list[tuple[str, Callable[..., object], tuple[object, ...], dict[str, object]]] = [
    ("plain result", _library_values(42), (1, "a"), {}),
    ("plain keywords", _library_values("x"), (), {"sep": ",", "n": 3}),
    ("a list", _library_values([1, 2]), (), {}),
    ("a real module", _library_values(os), (), {}),
    ("the real type", _library_values(type), (1,), {}),
    ("a frame", _library_values(sys._getframe()), (), {}),
    ("a tuple holding a module", _library_values(1, os), (), {}),
    ("a tuple of plain values", _library_values(1, "a"), (), {}),
    ("a library function", _library_values(os.getpid), (), {}),
    ("an argument the membrane refuses", _library_values(1), (os,), {}),
    ("a keyword the membrane refuses", _library_values(1), (), {"k": sys._getframe()}),
    ("an argument a library object", _library_values(1), (_LibraryHolder(),), {}),
    ("the library raises", _raises, (1,), {}),
]


@pytest.mark.parametrize(
    ("function", "args", "kwargs"), [c[1:] for c in _CALLS_THROUGH], ids=[c[0] for c in _CALLS_THROUGH]
)
def test_a_crossing_calls_through_as_the_python_version_does(
    proxies: Proxies, function: Callable[..., object], args: tuple[object, ...], kwargs: dict[str, object]
) -> None:
    """crossing.py's work in C (every argument plain) and in Python, on the same calls:
    the same result, replacement or refusal."""
    if crossing._CALL_THROUGH_C is None:
        pytest.skip("the C half is not built here")
    outcomes = [
        _describe(functools.partial(through, function, args, dict(kwargs)))
        for through in (crossing._CALL_THROUGH_C, crossing._call_through_python)
    ]
    assert outcomes[0] == outcomes[1]


def _shared_and_cyclic() -> list[object]:
    shared = [1, "a"]
    looped: list[object] = [1]
    looped.append(looped)
    deep: object = (os,)
    for _ in range(2000):  # deeper than the interpreter's recursion limit
        deep = [deep]
    diamond: object = (1,)
    for _ in range(64):  # 2**64 paths, 64 containers: each looked into once
        diamond = (diamond, diamond)
    return [
        [(i, shared) for i in range(50)],
        looped,
        deep,
        diamond,
        {"k": {frozenset({1, 2}): [1.5, None, b"x"]}},
        {1: os},
        {os: 1},
        {(1, os.getpid)},
        frozenset({(1, (2, (3, sys._getframe())))}),
        [looped, [shared, shared, (shared, [type])]],
        (),
        [[[]]],
    ]


@requires_c
@pytest.mark.parametrize("index", range(12))
def test_the_c_walk_over_nested_containers_agrees_with_the_python_one(proxies: Proxies, index: int) -> None:
    """admitted_nested's common case in C (every value plain at any depth, shared
    containers and cycles looked into once): the same answer as the Python walk."""
    from src.worker import membrane

    run("1", proxies)  # the membrane configured for this catalogue
    value = _shared_and_cyclic()[index]
    check = fastguards.plain_throughout_check()
    assert check is not None

    def python_walk() -> bool:
        try:
            membrane.select_nested_check(False)
            return membrane.admitted_nested(value) is value
        except Exception:  # noqa: BLE001 - a refusal: not plain
            return False
        finally:
            membrane.select_nested_check(True)

    assert check(membrane.PLAIN, value) is python_walk()


@pytest.mark.parametrize("getattr_", ["guarded_getattr", "python_guarded_getattr"])
def test_a_c_method_of_a_value_the_program_never_held_is_judged(getattr_: str) -> None:
    """C code calls the guard too (``map(getattr, values, names)``), with values that
    never passed the membrane: a C method bound to one is judged with it, not handed out
    as safe as its receiver (pass 86: a raw stream's ``detach()`` came back raw)."""
    import io

    raw = io.TextIOWrapper(io.BytesIO())
    guard = getattr(guards, getattr_)
    with pytest.raises(SecurityError):
        guard(raw, "detach")
    assert guard([1], "append").__self__ == [1]  # a plain value's: as safe as the value


def test_no_crossing_carries_the_function_it_calls(proxies: Proxies) -> None:
    # contextmanager's functions have a __wrapped__ of their own, which the merge of the
    # function's dict brought back (attack pass 90, N2).
    assert proxies  # the catalogue's crossings are made
    assert [call for call in crossing.ORIGINALS if "__wrapped__" in vars(call)] == []


@requires_c
def test_only_the_offered_guard_passes_the_membrane_and_guards_never_become_plain(proxies: Proxies) -> None:
    # Attack pass 90, N1: once getattr had passed the membrane, the guards' class was plain,
    # and every guard (the namespace's _admit_, _getitem_ ...) would have passed as it is.
    assert run("f = getattr\n[f(1, 'real'), [getattr][0](2, 'real')]", proxies).result == [1, 2]
    assert fastguards.guard_type() not in membrane.PLAIN
    namespace = guards.guard_globals(CURRENT_JOB)
    for name in ("_admit_", "_getitem_", "_write_", "_write_attribute_", "_admitting_iter_"):
        with pytest.raises(SecurityError):
            membrane.admit(namespace[name])
        with pytest.raises(SecurityError):
            membrane.admit(namespace[name].__self__)
