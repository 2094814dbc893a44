"""Native attribute reads and writes on the program's own instances
(src/language/native_attributes.py): where they are compiled, and that they give what the
guards give, whatever the instance holds, with the C guards and with the Python ones."""

from __future__ import annotations

import ast
import functools
import json
import os
import sys
from typing import Any

import pytest

from src.language import native_attributes
from src.language.policy import SOURCE_FILENAME, SandboxTransformer
from tests.support.inprocess import Proxies, guard_mode, run

MODES = pytest.mark.parametrize("pure", [False, True], ids=["c-guards", "python-guards"])


def _compiled(code: str) -> str:
    tree = ast.parse(code, SOURCE_FILENAME)
    errors: list[str] = []
    SandboxTransformer(errors, [], {}).visit(tree)
    assert errors == []
    return ast.unparse(tree)


# --------------------------------------------------------------------------- what is compiled

METHOD = "class P:\n    def m(self, other):\n{body}"


def _method(*lines: str) -> str:
    return _compiled(METHOD.format(body="".join(f"        {line}\n" for line in lines)))


def test_two_reads_of_a_parameter_take_one_check_and_native_reads() -> None:
    source = _method("return self.x + self.y")
    assert "_tmp0 = _type_(self) in _own_kinds_" in source
    native = (
        "(_tmp1 if _type_((_tmp1 := self.{0})) in _plain_ else _admit_(_tmp1)) if _tmp0 else _getattr_(self, '{0}')"
    )
    assert native.format("x") in source
    assert native.format("y") in source
    # Made before the parameter's own check, which an instance of the program's skips.
    assert "_tmp0 = _type_(self) in _own_kinds_\n        if not _tmp0 and _type_(self) not in _plain_:" in source


def test_a_single_read_keeps_the_guard() -> None:
    source = _method("return self.x + other.y + other.z")
    assert "_getattr_(self, 'x')" in source and "self.x" not in source.replace("_getattr_(self, 'x')", "")
    assert "_type_((_tmp1 := other.y)) in _plain_" in source


def test_augmented_assignment_reads_and_writes_through_the_copy_of_the_parameter() -> None:
    source = _method("self.total += other", "return self.total")
    assert (
        "_tmp1 = (_tmp3 if _type_((_tmp3 := _tmp0.total)) in _plain_ else _admit_(_tmp3)) if _tmp2 "
        "else _getattr_(_tmp0, 'total')"
    ) in source
    assert "if _tmp2:\n            _tmp0.total = _tmp1" in source
    assert "_tmp2 = _type_(self) in _own_kinds_" in source


def test_a_write_without_a_check_at_the_start_checks_the_class() -> None:
    source = _method("self.x = other", "self.y = 2")
    assert "if _type_(self) in _own_kinds_:\n            self.x = other\n        else:" in source
    assert "_write_attribute_(self, 'y').y = 2" in source


def test_a_write_to_a_checked_parameter_uses_the_check_made_at_the_start() -> None:
    source = _method("self.x = self.a + self.b", "return self.x")
    assert "_tmp0 = _type_(self) in _own_kinds_" in source
    assert (
        "if _tmp0:\n            self.x = _tmp2\n        else:\n            _write_attribute_(self, 'x').x = _tmp2"
        in source
    )


@pytest.mark.parametrize(
    "lines",
    [
        # The parameter is rebound somewhere in the function, a nested scope included.
        ("self = other", "return self.x + self.y"),
        ("for self in [other]:", "    pass", "return self.x + self.y"),
        ("def inner():", "    nonlocal self", "    self = 1", "return self.x + self.y"),
        ("try:", "    pass", "except Exception as self:", "    pass", "return self.x + self.y"),
        ("import json as self", "return self.x + self.y"),
        ("del self", "return other"),
        ("[(self := 1) for _ in [1]]", "return self.x + self.y"),
        ("match other:", "    case self:", "        pass", "return self.x + self.y"),
        # An assignment expression in a nested function's annotations binds here.
        ("def inner(q: (self := other)):", "    pass", "return self.x + self.y"),
        ("def inner(*q: (self := other)) -> None:", "    pass", "return self.x + self.y"),
        ("def inner() -> (self := other):", "    pass", "return self.x + self.y"),
        # Private names and the names the guards treat with care.
        ("return self._x + self._x",),
        ("return self.format + self.format",),
        ("return self.mro + self.mro",),
        # A method call: the guard answers for the program's bound method in C.
        ("return self.f() + self.g()",),
        # Nested scopes keep the guards.
        ("return [self.x for _ in [1]] + [self.y for _ in [1]]",),
        ("return lambda: self.x + self.y",),
    ],
)
def test_these_stay_guarded(lines: tuple[str, ...]) -> None:
    assert "_own_kinds_" not in _method(*lines)


# --------------------------------------------------------------------------- what they give

#: Values library code could have put into the program's instance (update_wrapper copies a
#: namespace into it): the native read must give the guard's answer for each.
_PLANTED: dict[str, Any] = {
    "number": 1,
    "text": "s",
    "items": [1, (2, 3)],
    "offered": json.dumps,
    "not_offered": os.getpid,
    "module": os,
    "real_type": type,
    "frame": sys._getframe(),
    "library_class": json.JSONDecoder,
    "library_method": json.JSONDecoder().decode,
    "format_method": "{0}".format,
    "namespace": type.__dict__,
    "capability_in_a_tuple": (os.getpid, 1),
    "partial_getattr": functools.partial(getattr, 1),
    "library_function_unbound": json.JSONDecoder.raw_decode,
}


def _plant(obj: Any) -> None:
    """Library code writing into the program's instance, as only a test can."""
    vars(obj).update(_PLANTED)


def _describe(value: Any) -> str:
    kind = type(value).__name__
    if kind in ("int", "str"):
        return f"{kind}:{value!r}"
    if kind == "tuple":
        return f"tuple:{[type(v).__name__ for v in value]}"
    return kind


_READ_PROGRAM = """
class Box:
    def __init__(self, n):
        self.n = n
    def total(self):
        return self.n + self.n
{methods}
box = Box(1)
plant(box)
def describe(value):
    kind = type(value).__name__
    if kind in ("int", "str"):
        return kind + ":" + repr(value)
    if kind == "tuple":
        return "tuple:" + repr([type(v).__name__ for v in value])
    return kind
def outcome(read):
    try:
        return describe(read())
    except Exception as error:
        return type(error).__name__
rows = []
for name in {names!r}:
    guarded = outcome(lambda: getattr(box, name))
    native = outcome(getattr(box, "read_" + name))
    rows.append([name, guarded, native])
[box.total(), rows]
"""


@MODES
def test_a_native_read_gives_what_the_guard_gives(proxies: Proxies, pure: bool) -> None:
    names = sorted(_PLANTED)
    methods = "".join(
        f"    def read_{name}(self):\n        self.{name}\n        return self.{name}\n" for name in names
    )
    code = _READ_PROGRAM.format(methods=methods, names=names)
    assert ":= self.number)) in _plain_" in _compiled(code)  # the native branch is what runs
    with guard_mode(pure=pure):
        outcome = run(code, proxies, context={"plant": _plant})
    assert outcome.reply["error"] is None, outcome.reply
    total, rows = outcome.result
    assert total == 2
    differing = [row for row in rows if row[1] != row[2]]
    assert differing == []
    verdicts = {name: guarded for name, guarded, _ in rows}
    # The membrane's verdicts, not the raw values.
    assert verdicts["number"] == "int:1"
    for refused in ("not_offered", "module", "frame", "namespace", "partial_getattr"):
        assert verdicts[refused] == "SecurityError", refused


_KINDS_PROGRAM = """
import dataclasses, enum, typing
class Plain:
    def __init__(self):
        self.a = 1
    def both(self, other):
        other.a = self.a + self.a
        return other.a
class Slotted:
    __slots__ = ("a",)
    def __init__(self):
        self.a = 1
    def both(self, other):
        other.a = self.a + self.a
        return other.a
class Failure(Exception):
    def both(self, other):
        other.a = self.args[0] + self.args[0]
        return other.a
class Table(dict):
    def both(self, other):
        other.a = self.get("a", 1) + self.get("a", 1)
        return other.a
@dataclasses.dataclass
class Point:
    a: int = 1
    def both(self, other):
        other.a = self.a + self.a
        return other.a
@dataclasses.dataclass(frozen=True)
class Frozen:
    a: int = 1
    def both(self, other):
        other.a = self.a + self.a
        return other.a
class Colour(enum.Enum):
    RED = 1
    def both(self, other):
        return self.value + self.value
class Pair(typing.NamedTuple):
    a: int
out = []
for make in (Plain, Slotted, lambda: Failure(1), Table, Point, Frozen, lambda: Colour.RED):
    obj = make()
    try:
        out.append(obj.both(Plain()))
    except Exception as error:
        out.append(type(error).__name__)
    try:
        obj.a = 5
        out.append(obj.a)
    except Exception as error:
        out.append(type(error).__name__)
out
"""


#: What CPython gives for _KINDS_PROGRAM (this process's library modules are the
#: sandbox's, so CPython's answer is written down rather than computed here).
_KINDS_ANSWER = [2, 5, 2, 5, 2, 5, 2, 5, 2, 5, 2, "FrozenInstanceError", 2, 5]


@MODES
def test_writes_and_reads_on_every_kind_of_class_give_cpythons_answers(proxies: Proxies, pure: bool) -> None:
    with guard_mode(pure=pure):
        outcome = run(_KINDS_PROGRAM, proxies)
    assert outcome.reply["error"] is None, outcome.reply
    assert outcome.result == _KINDS_ANSWER


_ACCOUNTS = """
class Account:
    def __init__(self, owner):
        self.owner = owner
        self.balance = 0
        self.history = []
    def deposit(self, amount):
        self.balance += amount
        self.history.append(amount)
        return self.balance
    def move(self, other, amount):
        self.balance -= amount
        other.balance += amount
        return (self.balance, other.balance, other.owner + self.owner)
a, b = Account("a"), Account("b")
for n in range(5):
    a.deposit(n)
[a.move(b, 3), b.deposit(1), a.history]
"""


@MODES
def test_augmented_assignments_on_the_programs_instances(proxies: Proxies, pure: bool) -> None:
    with guard_mode(pure=pure):
        outcome = run(_ACCOUNTS, proxies)
    assert outcome.reply["error"] is None, outcome.reply
    assert outcome.result == [[7, 3, "ba"], 4, [0, 1, 2, 3, 4]]


def test_rebound_parameters_are_found_at_any_depth_in_one_pass() -> None:
    from src.language.native_attributes import rebound_parameters

    code = (
        "def outer(p, q):\n"
        "    def middle(p, r):\n"
        "        def inner(s):\n"
        "            nonlocal r\n"
        "            r = 1\n"
        "            p = 2\n"
        "        return p\n"
        "    match q:\n"
        "        case [*rest]:\n"
        "            pass\n"
        "    return p\n"
    )
    tree = ast.parse(code)
    functions = {node.name: node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    rebound = rebound_parameters(tree)
    # inner's p is its own local, but shadowing counts (it only costs a native branch).
    assert rebound[id(functions["outer"])] == {"p"}
    assert rebound[id(functions["middle"])] == {"p", "r"}
    assert id(functions["inner"]) not in rebound


def test_a_deep_value_stored_natively_is_not_copied(proxies: Proxies) -> None:
    """The value is evaluated once into a temporary both branches store: a deep expression
    compiles as it does when assigned to a local (a copy of it hit the recursion limit)."""
    value = "abs(" * 90 + "self.y" + ")" * 90
    code = f"class P:\n    def __init__(self):\n        self.y = -1\n        self.x = {value}\nP().x"
    assert run(code, proxies).result == 1


def _plant_refused(box: list[Any]) -> None:
    """C code handing the program's method a value the program never held, as only a
    test can put one in a list."""
    box.append(os.getpid)


@MODES
def test_a_parameter_read_natively_still_passes_the_membrane_when_it_is_not_the_programs(
    proxies: Proxies, pure: bool
) -> None:
    """The parameter's own check is skipped only for an instance of the program's: a
    value C code passes in (map over the unbound method) is still refused at the entry."""
    code = (
        "class P:\n    def m(self, other):\n        return self.x + self.y\n"
        "box = []\nplant(box)\n"
        "try:\n    r = list(map(P.m, box, [1]))\nexcept Exception as e:\n    r = type(e).__name__\n"
        "p = P()\np.x, p.y = 1, 2\n[r, p.m(0)]"
    )
    assert "if not _tmp0 and _type_(self) not in _plain_:" in _compiled(code)
    with guard_mode(pure=pure):
        outcome = run(code, proxies, context={"plant": _plant_refused})
    assert outcome.result == ["SecurityError", 3], outcome.reply


def test_a_parameter_rebound_under_its_mangled_name_keeps_the_guards() -> None:
    """Inside a class the compiler mangles ``__p`` into ``_C__p``: a binding spelt one
    way rebinds a parameter spelt the other (pass 62), so neither is read natively."""
    mangled_binding = _compiled(
        "class C:\n    def m(self, __p, other):\n        _C__p = other\n        return __p.a + __p.b\n"
    )
    assert "_own_kinds_" not in mangled_binding
    plain_binding = _compiled(
        "class C:\n    def m(self, _C__p, other):\n        __p = other\n        return _C__p.a + _C__p.b\n"
    )
    assert "_own_kinds_" not in plain_binding
    nonlocal_binding = _compiled(
        "class C:\n    def m(self, _C__p, other):\n        def inner():\n            nonlocal __p\n"
        "            __p = other\n        inner()\n        return _C__p.a + _C__p.b\n"
    )
    assert "_own_kinds_" not in nonlocal_binding
    # The ordinary spelling keeps its native reads.
    assert "_own_kinds_" in _compiled("class C:\n    def m(self, p):\n        return p.a + p.b\n")


def test_parameters_are_matched_as_the_compiler_spells_them() -> None:
    """A binding rebinds a parameter when both compile to the same name, under the
    innermost class around each: a class nested in the method mangles with its own name
    (no rebinding), a class whose name has leading underscores mangles without them."""
    assert "_own_kinds_" not in _compiled(
        "class _C:\n    def m(self, _C__p, other):\n        __p = other\n        return _C__p.a + _C__p.b\n"
    )
    assert "_own_kinds_" in _compiled(
        "class C:\n    def m(self, _C__p, other):\n        class D:\n            __p = other\n"
        "        return _C__p.a + _C__p.b\n"
    )


def test_finding_rebound_parameters_costs_one_lookup_per_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``global`` lists any number of names in one node, which the node limit does not
    bound: each name costs one lookup, not one per parameter seen (pass 73: 16,000 names
    and 16,000 parameters held the program checker for its whole 15 s)."""
    calls = 0
    mangled = native_attributes._mangled

    def counted(name: str) -> bool:
        nonlocal calls
        calls += 1
        return mangled(name)

    monkeypatch.setattr(native_attributes, "_mangled", counted)
    count = 3000
    source = (
        f"global {', '.join(f'__g{i}' for i in range(count))}\n"
        f"class C:\n    def f(self, {', '.join(f'_C__p{i}' for i in range(count))}):\n"
        f"        global {', '.join(f'__q{i}' for i in range(count))}\n"
    )
    native_attributes.rebound_parameters(ast.parse(source))
    assert calls < 5 * 3 * count


def test_a_stored_value_is_let_go_by_its_temporary_once_stored() -> None:
    source = _method("self.data = other.load()", "self.data = None")
    stored = source.index("self.data = _tmp")
    assert "= None" in source[stored : source.index("self.data = None")]  # the temporary let go
