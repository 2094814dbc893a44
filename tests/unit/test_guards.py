"""Run-time guards: every refusal next to the ordinary form that still works.

The guards are exercised two ways: called directly, and from real RestrictedPython-
compiled programs through ``run_job`` (``class`` statements, ``print``, ``for`` and
``x += y`` only reach the guards through the compiler's rewriting).
"""

from __future__ import annotations

import abc
import builtins
import collections
import enum
import fractions
import inspect
import json
import operator
import sys
import types
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any

import pytest

from src.language import native_calls
from src.worker.guards import (
    INTROSPECTION_ATTRIBUTES,
    SandboxType,
    SecurityError,
    UserClasses,
    check_attribute_name,
    guard_globals,
    guarded_getattr,
    guarded_hasattr,
    guarded_inplacevar,
    make_class_factory,
    make_import,
    make_setattr,
    make_write_guard,
    safe_builtins,
)
from src.worker.ownership import begin_job
from tests.support.inprocess import ALLOWED, Proxies, program, run


class Plain:
    """A host-side object with an ordinary attribute."""

    value = 7


# --------------------------------------------------------------------------- attribute names


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("__globals__", id="globals"),
        pytest.param("__subclasses__", id="subclasses"),
        pytest.param("__dict__", id="dict"),
        pytest.param("__builtins__", id="builtins"),
        pytest.param("__getattribute__", id="getattribute"),
        pytest.param("__self__", id="self"),
        pytest.param("__dict__", id="dict-of-a-library-object"),
        pytest.param("__code__", id="code"),
        pytest.param("_private", id="private-of-a-library-object"),
        pytest.param("_value_", id="sunder"),
    ],
)
def test_getattr_refuses_names_that_reach_the_interpreter(name: str) -> None:
    with pytest.raises(SecurityError, match="not allowed"):
        guarded_getattr(Plain(), name)


def test_class_attribute_is_what_type_gives(proxies: Proxies) -> None:
    assert run("class Plain:\n    pass\nPlain().__class__ is Plain", proxies).result is True
    assert guarded_getattr(int, "__class__") is SandboxType  # never the real metaclass


def test_getattr_reads_an_ordinary_attribute() -> None:
    assert guarded_getattr(Plain(), "value") == 7


def test_getattr_refuses_a_name_that_is_not_a_string() -> None:
    with pytest.raises(TypeError):
        guarded_getattr(Plain(), 5)


def test_sandbox_violation_is_an_attribute_error() -> None:
    assert issubclass(SecurityError, AttributeError)


def test_getattr_with_default_returns_it_for_a_missing_attribute() -> None:
    assert guarded_getattr(Plain(), "missing", "fallback") == "fallback"


def test_getattr_without_default_raises_for_a_missing_attribute() -> None:
    with pytest.raises(AttributeError):
        guarded_getattr(Plain(), "missing")


def test_getattr_with_default_returns_the_attribute_when_present() -> None:
    assert guarded_getattr(Plain(), "value", "fallback") == 7


def test_hasattr_is_false_for_a_refused_name() -> None:
    assert guarded_hasattr(Plain(), "__globals__") is False


def test_hasattr_is_false_for_an_introspection_name() -> None:
    assert guarded_hasattr(Plain(), "f_back") is False


def test_hasattr_is_false_for_a_missing_name() -> None:
    assert guarded_hasattr(Plain(), "missing") is False


def test_hasattr_is_true_for_an_ordinary_name() -> None:
    assert guarded_hasattr(Plain(), "value") is True


def test_check_attribute_name_returns_an_allowed_name() -> None:
    assert check_attribute_name(Plain(), "value") == "value"


# --------------------------------------------------------------------------- introspection


@pytest.mark.parametrize("name", sorted(INTROSPECTION_ATTRIBUTES))
def test_getattr_refuses_introspection_names_on_any_object(name: str) -> None:
    with pytest.raises(SecurityError, match="introspection"):
        guarded_getattr(Plain(), name)


def _generator() -> Generator[int, None, None]:
    yield 1


async def _coroutine() -> int:
    return 1


async def _async_generator() -> AsyncGenerator[int, None]:
    yield 1


def _traceback() -> types.TracebackType:
    try:
        raise ValueError("for its traceback")
    except ValueError:
        tb = sys.exc_info()[2]
    assert tb is not None
    return tb


def _frame() -> types.FrameType:
    frame = inspect.currentframe()
    assert frame is not None
    return frame


def _code() -> types.CodeType:
    return _frame.__code__


@pytest.mark.parametrize(
    ("make", "name"),
    [
        pytest.param(_generator, "gi_frame", id="generator-gi_frame"),
        pytest.param(_generator, "gi_code", id="generator-gi_code"),
        pytest.param(_generator, "gi_yieldfrom", id="generator-gi_yieldfrom"),
        pytest.param(_coroutine, "cr_frame", id="coroutine-cr_frame"),
        pytest.param(_coroutine, "cr_await", id="coroutine-cr_await"),
        pytest.param(_async_generator, "ag_frame", id="async-generator-ag_frame"),
        pytest.param(_traceback, "tb_frame", id="traceback-tb_frame"),
        pytest.param(_traceback, "tb_next", id="traceback-tb_next"),
        pytest.param(_frame, "f_back", id="frame-f_back"),
        pytest.param(_frame, "f_globals", id="frame-f_globals"),
        pytest.param(_frame, "f_builtins", id="frame-f_builtins"),
        pytest.param(_code, "co_code", id="code-co_code"),
        pytest.param(_code, "co_consts", id="code-co_consts"),
        # Not in the name list: refused because the object is a frame, code or traceback.
        pytest.param(_frame, "f_lineno", id="frame-any-attribute"),
        pytest.param(_frame, "clear", id="frame-method"),
        pytest.param(_code, "co_name", id="code-any-attribute"),
        pytest.param(_code, "replace", id="code-method"),
        pytest.param(_traceback, "tb_lineno", id="traceback-any-attribute"),
    ],
)
def test_getattr_refuses_introspection_of_real_objects(make: Callable[[], Any], name: str) -> None:
    obj = make()
    try:
        with pytest.raises(SecurityError, match="introspection"):
            guarded_getattr(obj, name)
    finally:
        if isinstance(obj, types.CoroutineType):
            obj.close()  # never awaited: close it so no RuntimeWarning is raised


def test_getattr_reads_ordinary_generator_methods() -> None:
    gen = _generator()
    assert guarded_getattr(gen, "send")(None) == 1


def test_getattr_reads_ordinary_exception_attributes() -> None:
    assert guarded_getattr(ValueError("x"), "args") == ("x",)


# --------------------------------------------------------------------------- attribute names in programs


@pytest.mark.parametrize(
    ("code", "expected_type"),
    [
        pytest.param("(1).__subclasses__", "SecurityError", id="literal-dunder"),
        pytest.param("getattr(1, '_' + '_subclasses__')", "SecurityError", id="computed-dunder"),
        pytest.param(program("guard_computed_globals"), "SecurityError", id="computed-globals"),
        pytest.param("def g():\n    yield 1\ng().gi_frame", "SecurityError", id="literal-gi_frame"),
        pytest.param("def g():\n    yield 1\ngetattr(g(), 'gi_' + 'frame')", "SecurityError",
                     id="computed-gi_frame"),
        pytest.param("def g():\n    yield 1\ngetattr(g(), 'gi_code')", "SecurityError", id="computed-gi_code"),
        pytest.param(program("guard_computed_traceback"), "SecurityError", id="computed-traceback"),
        pytest.param(
            "import json\nsetattr(json.JSONDecoder(), '_x', 1)", "SecurityError", id="setattr-private-on-library"
        ),
        pytest.param("class A:\n    pass\nsetattr(A, '__class__', A)", "SecurityError",
                     id="setattr-dunder-on-own-class"),
        pytest.param(program("guard_delattr_dunder"), "SecurityError", id="delattr-dunder"),
    ],
)  # fmt: skip
def test_program_attribute_refusals(proxies: Proxies, code: str, expected_type: str) -> None:
    assert run(code, proxies).error["type"] == expected_type


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        pytest.param("(1).real", 1, id="literal"),
        pytest.param("getattr(1, 're' + 'al')", 1, id="computed"),
        pytest.param("getattr(1, 'missing', 'fallback')", "fallback", id="getattr-default"),
        pytest.param("hasattr(1, '_' + '_globals__')", False, id="hasattr-refused"),
        pytest.param("hasattr(1, 'real')", True, id="hasattr-ordinary"),
        pytest.param("def g():\n    yield 1\nnext(g())", 1, id="generator-next"),
        pytest.param("try:\n    1 / 0\nexcept Exception as e:\n    r = getattr(e, 'args')\nr", ["division by zero"],
                     id="exception-args"),
        pytest.param("class A:\n    pass\na = A()\nsetattr(a, 'x', 1)\ngetattr(a, 'x')", 1, id="setattr-getattr"),
        pytest.param("class A:\n    pass\na = A()\na.x = 1\ndelattr(a, 'x')\nhasattr(a, 'x')", False, id="delattr"),
    ],
)  # fmt: skip
def test_program_ordinary_attribute_access(proxies: Proxies, code: str, expected: Any) -> None:
    assert run(code, proxies).result == expected


# --------------------------------------------------------------------------- str.format


@pytest.mark.parametrize(
    "code",
    [
        pytest.param("def f():\n    pass\n'{0.__globals__}'.format(f)", id="attribute-field"),
        pytest.param("def f():\n    pass\n'{0.__code__}'.format(f)", id="code-field"),
        pytest.param("import json\n'{0._default_decoder}'.format(json)", id="private-field-of-a-module"),
        pytest.param("'{0.__self__}'.format(len)", id="self-of-a-builtin"),
        pytest.param("def f():\n    pass\n'{x.__globals__}'.format(x=f)", id="keyword-attribute-field"),
        pytest.param("def f():\n    pass\n'{0:{0.__globals__}}'.format(f)", id="nested-in-spec"),
        pytest.param("def f():\n    pass\n'{x.__globals__}'.format_map({'x': f})", id="format_map-attribute"),
        pytest.param("def f():\n    pass\nstr.format('{0.__globals__}', f)", id="unbound-format"),
        pytest.param("def f():\n    pass\nstr.format_map('{x.__globals__}', {'x': f})", id="unbound-format_map"),
        pytest.param("def f():\n    pass\ngetattr(str, 'format')('{0.__globals__}', f)", id="unbound-via-getattr"),
        pytest.param("def f():\n    pass\ng = '{0.__globals__}'.format\ng(f)", id="bound-method-kept"),
        pytest.param(program("guard_format_through_a_str_subclass"), id="str-subclass"),
        pytest.param("class S(str):\n    pass\nS.format('{0.__globals__}', len)", id="str-subclass-unbound"),
        pytest.param(program("guard_format_through_super"), id="super-format"),
        pytest.param(program("guard_format_map_through_super"), id="super-format_map"),
        pytest.param("import collections\ncollections.UserString('{0.__globals__}').format(len)", id="user-string"),
        pytest.param("import string\nstring.Formatter().format('{0.__globals__}', len)", id="string-formatter"),
        pytest.param(
            "import string\nclass F(string.Formatter):\n    def get_value(self, key, args, kwargs):\n"
            "        return len\nF().format('{x.__self__}')",
            id="string-formatter-subclass",
        ),
    ],
)  # fmt: skip
def test_format_fields_that_reach_what_the_guards_refuse_are_refused(proxies: Proxies, code: str) -> None:
    outcome = run(code, proxies)
    assert outcome.error["type"] == "SecurityError", outcome.reply


#: Templates and arguments formatted by the sandbox and by CPython, whose answers must agree.
FORMAT_CASES: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("{} {x}", (1,), {"x": 2}),
    ("{0} {1} {0}", ("a", "b"), {}),
    ("{0!r:>5}|{1:+}", ("a", 3), {}),
    ("{:.2f}", (3.14159,), {}),
    ("{:{w}}|", (1,), {"w": 3}),
    ("{:{}}|{}", ("x", 4, "y"), {}),
    ("{{0.real}}", (), {}),
    ("{0.real} {0.imag}", (3,), {}),
    ("{o[id]} {o[customer][name]} {o[items][0]}", (), {"o": {"id": 17, "customer": {"name": "Ada"}, "items": ["p"]}}),
    ("{0[0]}-{0[1]}", ([4, 5],), {}),
    ("{0[-1]}", ({"-1": "string key"},), {}),
    ("{0!s} {0!a}", ("é",), {}),
    ("{0:{1}.{2}f}", (3.14159, 8, 3), {}),
    ("{x.numerator}/{x.denominator}", (), {"x": __import__("fractions").Fraction(3, 4)}),
    ("{d.year}-{d.month:02d} {d:%d %b}", (), {"d": __import__("datetime").date(2026, 3, 9)}),
]


@pytest.mark.parametrize(("template", "args", "kwargs"), FORMAT_CASES, ids=[case[0] for case in FORMAT_CASES])
def test_format_fields_give_cpythons_answer(template: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    assert guarded_getattr(template, "format")(*args, **kwargs) == template.format(*args, **kwargs)
    if not args:
        assert guarded_getattr(template, "format_map")(kwargs) == template.format_map(kwargs)


@pytest.mark.parametrize("template", ["{x}", "{0}", "{}"])
def test_format_map_errors_are_cpythons(template: str) -> None:
    with pytest.raises(Exception) as expected:
        template.format_map(None)  # type: ignore[arg-type]
    with pytest.raises(type(expected.value)):
        guarded_getattr(template, "format_map")(None)


@pytest.mark.parametrize(
    ("template", "args", "kwargs"),
    [
        ("{0} {}", (1, 2), {}),
        ("{} {0}", (1, 2), {}),
        ("{1}", (1,), {}),
        ("{x}", (), {}),
        ("{0!z}", (1,), {}),
        ("{0[1]}", ([1],), {}),
        ("{0.nope}", (1,), {}),
        ("{:{:{:{}}}}", (1, 2, 3, 4), {}),
    ],
)
def test_format_errors_are_cpythons(template: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    with pytest.raises(Exception) as expected:
        template.format(*args, **kwargs)
    with pytest.raises(type(expected.value)) as got:
        guarded_getattr(template, "format")(*args, **kwargs)
    assert str(got.value) == str(expected.value)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        pytest.param("'{} {x}'.format(1, x=2)", "1 2", id="plain-fields"),
        pytest.param("'{x:,.1f}'.format_map({'x': 1234.5})", "1,234.5", id="format_map-precision-spec"),
        pytest.param("str.format('{} {}', 1, 2)", "1 2", id="unbound-format"),
        pytest.param("str.format_map('{x}', {'x': 1})", "1", id="unbound-format_map"),
        pytest.param("class S(str):\n    pass\ns = S('{}!')\ns.format(1)", "1!", id="str-subclass"),
        pytest.param("class S(str):\n    pass\ns = S('{}!')\nsuper(S, s).format(1)", "1!", id="super-format"),
        pytest.param("format(3.5, '>6')", "   3.5", id="format-builtin"),
        pytest.param("'{o[a][b]}'.format(o={'a': {'b': 'deep'}})", "deep", id="item-lookups"),
        pytest.param("import datetime\n'{0.year}-{0.month:02d}'.format(datetime.date(2026, 3, 9))", "2026-03",
                     id="attribute-lookups"),
        pytest.param("class P:\n    def __init__(self):\n        self._x = 5\n'{0._x}'.format(P())", "5",
                     id="own-private-attribute"),
        pytest.param("class M(dict):\n    def __missing__(self, k):\n        return '?'\n'{a} {b}'.format_map(M(a=1))",
                     "1 ?", id="format_map-missing"),
        pytest.param("import collections\ncollections.UserString('{0[k]}').format({'k': 'v'})", "v", id="user-string"),
        pytest.param("import string\nstring.Formatter().format('{0.real}-{x[1]}', 3, x='ab')", "3-b", id="string-formatter"),
        pytest.param(
            "import string\nclass F(string.Formatter):\n    def get_value(self, key, args, kwargs):\n"
            "        return kwargs.get(key, '?')\nF().format('{a}/{b}', a=1)",
            "1/?",
            id="string-formatter-subclass",
        ),
    ],
)  # fmt: skip
def test_format_fields_work(proxies: Proxies, code: str, expected: str) -> None:
    assert run(code, proxies).result == expected


def test_unbound_format_on_a_non_string_is_a_type_error(proxies: Proxies) -> None:
    assert run("str.format(1)", proxies).error["type"] == "TypeError"


def test_getattr_swaps_a_bound_format_for_the_checked_one() -> None:
    checked = guarded_getattr("{0.__globals__}", "format")
    with pytest.raises(SecurityError):
        checked(json.dumps)


def test_checked_bound_format_still_formats() -> None:
    assert guarded_getattr("{}-{}", "format")(1, 2) == "1-2"


def test_getattr_swaps_the_unbound_format() -> None:
    checked = guarded_getattr(str, "format")
    with pytest.raises(SecurityError):
        checked("{0[0]}", [json.dumps.__globals__])


def test_getattr_leaves_a_format_method_of_other_types_alone(proxies: Proxies) -> None:
    code = "class Report:\n    def format(self):\n        return 'report'\nReport().format()"
    assert run(code, proxies).result == "report"


# --------------------------------------------------------------------------- writes


def test_write_guard_refuses_a_module_proxy(proxies: Proxies) -> None:
    write = make_write_guard(UserClasses())
    with pytest.raises(SecurityError, match="read-only"):
        write(proxies["json"])


def test_write_guard_refuses_a_real_module() -> None:
    write = make_write_guard(UserClasses())
    with pytest.raises(SecurityError, match="read-only"):
        write(json)


@pytest.mark.parametrize(
    "cls",
    [
        pytest.param(int, id="int"),
        pytest.param(object, id="object"),
        pytest.param(type, id="type"),
        pytest.param(fractions.Fraction, id="library-class"),
        pytest.param(collections.OrderedDict, id="library-dict-class"),
        pytest.param(Plain, id="host-class"),
    ],
)
def test_write_guard_refuses_classes_the_program_did_not_define(cls: type) -> None:
    write = make_write_guard(UserClasses())
    with pytest.raises(SecurityError, match="class"):
        write(cls)


def test_write_guard_allows_a_class_the_program_defined() -> None:
    user_classes = UserClasses()
    user_classes.add(Plain)
    assert make_write_guard(user_classes)(Plain) is Plain


@pytest.mark.parametrize(
    "obj",
    [
        pytest.param({}, id="dict"),
        pytest.param([], id="list"),
        pytest.param(Plain(), id="instance"),
        pytest.param(collections.OrderedDict(), id="library-instance"),
    ],
)
def test_write_guard_allows_data_and_instances(obj: object) -> None:
    assert make_write_guard(UserClasses())(obj) is obj


#: Objects of every kind a write can meet: the program's classes (plain, over library
#: bases, with slots, frozen, an enum member), library objects, functions, classes.
_WRITE_TARGETS = """
import abc, collections, dataclasses, enum, fractions, json, typing
class Plain: pass
class Items(collections.UserList): pass
class Failure(Exception): pass
class Box(typing.Generic[typing.TypeVar("T")]): pass
class Pair(typing.NamedTuple):
    a: int
@dataclasses.dataclass(frozen=True)
class Frozen:
    a: int = 1
class Colour(enum.Enum):
    RED = 1
class Shape(abc.ABC): pass
class Text(str): pass
class Table(dict): pass
class Slotted:
    __slots__ = ("x",)
def function(): pass
targets = {
    "plain": Plain(), "userlist": Items(), "exception": Failure(), "generic": Box(), "namedtuple": Pair(1),
    "frozen": Frozen(), "enum-member": Colour.RED, "abc": Shape(), "str": Text("s"), "dict": Table(),
    "slotted": Slotted(), "function": function, "class": Plain, "fraction": fractions.Fraction(1),
    "decoder": json.JSONDecoder(), "list": [],
}
"""
_WRITE_NAMES = ["x", "data", "append", "name", "value", "args", "format", "a", "_x", "__x", "_UserList__cast"]


def _write_outcomes(prime: bool, cases: list[tuple[str, str]], proxies: Proxies) -> list[str]:
    lines = [_WRITE_TARGETS, "outcomes = []"]
    if prime:  # a public write on an instance of each class first: the fast path's table
        lines.append(
            "for target in targets.values():\n    try:\n        target.primed = 1\n    except Exception:\n        pass"
        )
    for target, name in cases:
        lines.append(
            f"try:\n    targets[{target!r}].{name} = 1\n    outcomes.append('stored')\n"
            "except Exception as error:\n    outcomes.append(type(error).__name__)"
        )
    lines.append("outcomes")
    return list(run("\n".join(lines), proxies).result)


def test_the_attribute_write_fast_path_decides_as_the_rules_do(proxies: Proxies) -> None:
    """``obj.name = v`` with a public name on an instance whose class the rules already
    accepted is one lookup: each write, after a public write on every kind of object,
    ends as it does in a job where none came before."""
    targets = run(_WRITE_TARGETS + "list(targets)", proxies).result
    cases = [(target, name) for target in targets for name in _WRITE_NAMES]
    alone = [_write_outcomes(False, [case], proxies)[0] for case in cases]
    after_priming = _write_outcomes(True, cases, proxies)
    assert dict(zip(cases, after_priming, strict=True)) == dict(zip(cases, alone, strict=True))
    assert "SecurityError" in alone and "stored" in alone  # both verdicts are exercised


def test_unpacking_reads_as_many_values_as_cpython_does(proxies: Proxies) -> None:
    """``a, b = it`` stops at one value too many, as CPython does: an endless iterator is
    an error at once, not a list built until memory runs out."""
    code = (
        "import itertools\n"
        "try:\n    a, b = itertools.count()\nexcept ValueError as error:\n    message = str(error)\n"
        "rows = [(x, (y, [z, *rest])) for x, (y, [z, *rest]) in [(1, (2, [3, 4, 5]))]]\n"
        "for first, *others in [range(3)]:\n    pass\n"
        "[message, rows, first, others]"
    )
    assert run(code, proxies).result == [
        "too many values to unpack (expected 2)",
        [[1, [2, [3, 4, 5]]]],
        0,
        [1, 2],
    ]


def test_setattr_builtin_writes_through_the_guard() -> None:
    user_classes = begin_job()  # the registry of the job that is running
    user_classes.add(Plain)
    setattr_ = make_setattr(make_write_guard(user_classes))
    instance = Plain()
    setattr_(instance, "value", 3)
    assert instance.value == 3


@pytest.mark.parametrize(
    "code",
    [
        pytest.param("import json\njson.dumps = None", id="module-attribute"),
        pytest.param("import json\nsetattr(json, 'dumps', None)", id="module-setattr"),
        pytest.param("import json\ndelattr(json, 'dumps')", id="module-delattr"),
        pytest.param("import collections.abc\ncollections.abc.Thing = 1", id="submodule-attribute"),
        pytest.param("int.double = lambda self: self * 2", id="builtin-class"),
        pytest.param("setattr(str, 'shout', str.upper)", id="builtin-class-setattr"),
        pytest.param("delattr(int, 'real')", id="builtin-class-delattr"),
        pytest.param("import fractions\nfractions.Fraction.x = 1", id="library-class"),
        pytest.param("import json\njson.JSONDecoder.decode = None", id="library-class-method"),
        pytest.param("import enum\nenum.Enum.extra = 1", id="library-metaclass-instance"),
        pytest.param("type(int).extra = 1", id="type-itself"),
    ],
)
def test_program_cannot_modify_modules_or_foreign_classes(proxies: Proxies, code: str) -> None:
    assert run(code, proxies).error["type"] == "SecurityError"


def test_refused_write_leaves_the_module_unchanged(proxies: Proxies) -> None:
    assert run("import json\njson.dumps = None", proxies).error["type"] == "SecurityError"
    assert run("import json\njson.dumps([1])", proxies).result == "[1]"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        pytest.param("class A:\n    pass\nA.x = 1\nA.x", 1, id="own-class"),
        pytest.param("class A:\n    pass\nsetattr(A, 'x', 2)\nA.x", 2, id="own-class-setattr"),
        pytest.param("class A:\n    x = 1\ndelattr(A, 'x')\nhasattr(A, 'x')", False, id="own-class-delattr"),
        pytest.param("class A:\n    pass\na = A()\na.x = 3\na.x", 3, id="own-instance"),
        pytest.param("class A:\n    pass\nclass B(A):\n    pass\nB.x = 4\nB.x", 4, id="own-subclass"),
        pytest.param("import fractions\nclass F(fractions.Fraction):\n    pass\nF.x = 5\nF.x", 5,
                     id="own-subclass-of-library-class"),
        pytest.param("import collections\nd = collections.OrderedDict()\nd['k'] = 6\nd['k']", 6,
                     id="library-instance-item"),
        pytest.param("d = {}\nd['k'] = 7\nd", {"k": 7}, id="dict-item"),
        pytest.param("xs = [0, 0]\nxs[1] = 8\nxs", [0, 8], id="list-item"),
        pytest.param("xs = [0, 0, 0]\ndel xs[0]\nxs", [0, 0], id="list-del-item"),
        pytest.param("def f():\n    pass\nf.tag = 9\nf.tag", 9, id="own-function"),
    ],
)  # fmt: skip
def test_program_can_modify_its_own_objects(proxies: Proxies, code: str, expected: Any) -> None:
    assert run(code, proxies).result == expected


# --------------------------------------------------------------------------- imports


def test_import_returns_the_proxy_of_an_allowed_module(proxies: Proxies) -> None:
    guarded_import = make_import(proxies, ALLOWED)
    assert guarded_import("json") is proxies["json"]


def test_import_refuses_a_module_outside_the_allow_list(proxies: Proxies) -> None:
    guarded_import = make_import(proxies, ALLOWED)
    with pytest.raises(ModuleNotFoundError, match="No module named 'socket' in the sandbox") as refused:
        guarded_import("socket")
    assert refused.value.name == "socket"


def test_import_refuses_a_catalogue_module_that_is_not_allowed(proxies: Proxies) -> None:
    guarded_import = make_import(proxies, frozenset({"math"}))
    with pytest.raises(ModuleNotFoundError, match="allowed modules: math"):
        guarded_import("json")


def test_a_program_falls_back_when_a_module_is_not_offered(proxies: Proxies) -> None:
    code = (
        "try:\n    import numpy as np\nexcept ImportError as e:\n    np = None\n    missing = e.name\n"
        "try:\n    from socket import socket\nexcept ModuleNotFoundError:\n    path = 'fallback'\n[np, missing, path]"
    )
    assert run(code, proxies).result == [None, "numpy", "fallback"]


def test_a_fallback_import_in_the_handler_runs_only_when_reached(proxies: Proxies) -> None:
    """``except ImportError: from typing_extensions import Self``: never reached when the
    first import works; reached, it fails as CPython's would, at run time."""
    unreached = "try:\n    from typing import Self\nexcept ImportError:\n    from typing_extensions import Self\n1"
    assert run(unreached, proxies).result == 1
    reached = "try:\n    import tomli\nexcept ImportError:\n    import toml"
    assert run(reached, proxies).error["type"] == "ModuleNotFoundError"


def test_import_allows_the_module_that_is_allowed(proxies: Proxies) -> None:
    guarded_import = make_import(proxies, frozenset({"math"}))
    assert guarded_import("math") is proxies["math"]


def test_import_refuses_relative_imports(proxies: Proxies) -> None:
    guarded_import = make_import(proxies, ALLOWED)
    with pytest.raises(ImportError, match="relative"):
        guarded_import("json", None, None, (), 1)


def test_import_of_dotted_name_binds_the_top_level_proxy(proxies: Proxies) -> None:
    guarded_import = make_import(proxies, ALLOWED)
    assert guarded_import("collections.abc") is proxies["collections"]


def test_from_import_of_dotted_name_returns_the_submodule_proxy(proxies: Proxies) -> None:
    guarded_import = make_import(proxies, ALLOWED)
    assert guarded_import("collections.abc", None, None, ("Mapping",)) is proxies["collections.abc"]


def test_program_cannot_name_an_internal_lazy_import(proxies: Proxies) -> None:
    # The import guard hands C callers the real _strptime; user code must not be able to
    # ask for it, which the compiler guarantees (private names are refused).
    assert run("import _strptime", proxies).error["type"] == "SecurityError"


def test_refused_name_with_a_default_gives_the_default(proxies: Proxies) -> None:
    assert run("getattr(len, '_' + '_globals__', 'hidden')", proxies).result == "hidden"


@pytest.mark.parametrize(
    ("code", "expected_type"),
    [
        pytest.param("import socket", "ModuleNotFoundError", id="not-allowed"),
        pytest.param("import xml.dom", "ModuleNotFoundError", id="not-allowed-dotted"),
        pytest.param("from socket import socket", "ModuleNotFoundError", id="from-not-allowed"),
        pytest.param("import urllib.request", "ModuleNotFoundError", id="sibling-of-allowed-submodule"),
        pytest.param("from . import json", "ImportError", id="relative"),
        pytest.param("from .json import dumps", "ImportError", id="relative-module"),
        pytest.param("import _strptime", "SecurityError", id="private-module"),
        pytest.param("from json import _default_encoder", "ImportError", id="private-name"),
        pytest.param("from json import codecs", "ImportError", id="module-inside-allowed-module"),
        pytest.param("from json import *", "SecurityError", id="star"),
    ],
)
def test_program_import_refusals(proxies: Proxies, code: str, expected_type: str) -> None:
    assert run(code, proxies).error["type"] == expected_type


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        pytest.param("import json\njson.dumps([1])", "[1]", id="import"),
        pytest.param("import json as j\nj.dumps([1])", "[1]", id="import-as"),
        pytest.param("from json import dumps\ndumps([1])", "[1]", id="from-import"),
        pytest.param("import collections.abc\nisinstance({}, collections.abc.Mapping)", True, id="dotted"),
        pytest.param("import collections.abc\ncollections", "<module 'collections' (sandboxed)>",
                     id="dotted-binds-top"),
        pytest.param("import collections.abc\ncollections.abc", "<module 'collections.abc' (sandboxed)>",
                     id="dotted-abc-attribute"),
        pytest.param("from collections.abc import Mapping\nisinstance({}, Mapping)", True, id="from-dotted"),
        pytest.param("from urllib.parse import quote\nquote('a b')", "a%20b", id="from-urllib-parse"),
        pytest.param("import urllib.parse\nurllib.parse.quote('a b')", "a%20b", id="urllib-parse"),
    ],
)  # fmt: skip
def test_program_imports_that_work(proxies: Proxies, code: str, expected: Any) -> None:
    assert run(code, proxies).result == expected


# --------------------------------------------------------------------------- type()


#: The sandbox's ``type`` as user code sees it: a callable, not a class to instantiate.
sandbox_type: Any = SandboxType


def test_type_with_one_argument_returns_the_real_type() -> None:
    assert sandbox_type(1) is int


def test_type_with_three_arguments_is_refused() -> None:
    with pytest.raises(TypeError, match="three arguments"):
        sandbox_type("X", (), {})


def test_isinstance_of_a_class_and_sandbox_type_is_true() -> None:
    assert isinstance(int, SandboxType)


def test_isinstance_of_an_instance_and_sandbox_type_is_false() -> None:
    assert not isinstance(1, SandboxType)


def test_issubclass_of_a_metaclass_and_sandbox_type_is_true() -> None:
    assert issubclass(abc.ABCMeta, SandboxType)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        pytest.param("type(1) is int", True, id="one-argument"),
        pytest.param("type('a') is str", True, id="one-argument-str"),
        pytest.param("isinstance(int, type)", True, id="isinstance-class"),
        pytest.param("isinstance(1, type)", False, id="isinstance-instance"),
        pytest.param("class A:\n    pass\nisinstance(A, type)", True, id="isinstance-own-class"),
        pytest.param("class A:\n    pass\ntype(A()) is A", True, id="own-instance"),
    ],
)  # fmt: skip
def test_program_type_ordinary_uses(proxies: Proxies, code: str, expected: Any) -> None:
    assert run(code, proxies).result == expected


def test_program_type_with_three_arguments_is_refused(proxies: Proxies) -> None:
    assert run("type('X', (), {'a': 1})", proxies).error["type"] == "TypeError"


def test_program_cannot_reach_the_real_type_to_build_classes_from_dicts(proxies: Proxies) -> None:
    # type(int) is the real builtins.type, which accepts three arguments again.
    error = run("real_type = type(int)\nX = real_type('X', (), {'a': 1})\nX.a", proxies).error
    assert (error["type"], error["line"]) == ("TypeError", 2)


# --------------------------------------------------------------------------- in-place operators


@pytest.mark.parametrize(
    ("op", "target", "value", "expected"),
    [
        pytest.param("+=", 5, 2, 7, id="add"),
        pytest.param("-=", 5, 2, 3, id="sub"),
        pytest.param("*=", 5, 2, 10, id="mul"),
        pytest.param("/=", 5, 2, 2.5, id="truediv"),
        pytest.param("//=", 5, 2, 2, id="floordiv"),
        pytest.param("%=", 5, 2, 1, id="mod"),
        pytest.param("**=", 5, 2, 25, id="pow"),
        pytest.param("<<=", 5, 2, 20, id="lshift"),
        pytest.param(">>=", 5, 2, 1, id="rshift"),
        pytest.param("|=", 5, 2, 7, id="or"),
        pytest.param("^=", 5, 1, 4, id="xor"),
        pytest.param("&=", 5, 4, 4, id="and"),
    ],
)
def test_inplacevar_applies_the_operator(op: str, target: int, value: int, expected: float) -> None:
    assert guarded_inplacevar(op, target, value) == expected


def test_inplacevar_matmul_calls_the_in_place_matmul() -> None:
    class Matrix:
        def __imatmul__(self, other: object) -> str:
            return "imatmul"

    assert guarded_inplacevar("@=", Matrix(), Matrix()) == "imatmul"


def test_inplacevar_mutates_a_list_in_place() -> None:
    target = [1]
    guarded_inplacevar("+=", target, [2])
    assert target == [1, 2]


def test_inplacevar_refuses_an_unknown_operator() -> None:
    with pytest.raises(SecurityError, match="unsupported"):
        guarded_inplacevar("=", 1, 2)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        pytest.param("x = 1\nx += 2\nx", 3, id="add"),
        pytest.param("x = 2\nx **= 3\nx", 8, id="pow"),
        pytest.param("x = 'ab'\nx *= 2\nx", "abab", id="str-repeat"),
        pytest.param("x = [1]\ny = x\nx += [2]\ny", [1, 2], id="list-in-place"),
        pytest.param("x = {1}\nx |= {2}\nsorted(x)", [1, 2], id="set-union"),
        pytest.param("def f(n):\n    n -= 1\n    return n\nf(5)", 4, id="in-function"),
    ],
)
def test_program_augmented_assignment(proxies: Proxies, code: str, expected: Any) -> None:
    assert run(code, proxies).result == expected


# --------------------------------------------------------------------------- classes


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        pytest.param("class A:\n    def __init__(self, x):\n        self.x = x\nA(3).x", 3, id="plain-class"),
        pytest.param(
            "import enum\nclass Colour(enum.Enum):\n    RED = 1\n    BLUE = 2\n[c.name for c in Colour]",
            ["RED", "BLUE"],
            id="enum",
        ),
        pytest.param("import enum\nclass C(enum.IntEnum):\n    A = 1\nC.A + 1", 2, id="int-enum"),
        pytest.param("import enum\nclass C(enum.Enum):\n    A = enum.auto()\nC.A.value", 1, id="enum-auto"),
        pytest.param(
            "import abc\nclass B(abc.ABC):\n    @abc.abstractmethod\n    def f(self):\n        pass\n"
            "class D(B):\n    def f(self):\n        return 3\nD().f()",
            3,
            id="abc-concrete-subclass",
        ),
        pytest.param(
            "import collections\nclass P(collections.namedtuple('P', 'x y')):\n    pass\nP(1, 2).y",
            2,
            id="namedtuple-subclass",
        ),
        pytest.param("class A(Exception):\n    pass\ntry:\n    raise A('m')\nexcept A as e:\n    r = e.args\nr",
                     ["m"], id="exception-subclass"),
        pytest.param("import enum\nclass C(enum.Enum):\n    A = 1\nC.extra = 5\nC.extra", 5, id="own-enum-writable"),
    ],
)  # fmt: skip
def test_program_classes(proxies: Proxies, code: str, expected: Any) -> None:
    assert run(code, proxies).result == expected


def test_abstract_class_of_program_cannot_be_instantiated(proxies: Proxies) -> None:
    code = "import abc\nclass B(abc.ABC):\n    @abc.abstractmethod\n    def f(self):\n        pass\nB()"
    assert run(code, proxies).error["type"] == "TypeError"


@pytest.mark.parametrize(
    "metaclass",
    ["type", "type(int)", "type(abc.ABC)", "abc.ABC", "M", "enum.EnumType"],
)
def test_a_metaclass_other_than_abcmeta_is_refused(proxies: Proxies, metaclass: str) -> None:
    code = f"import abc, enum\nclass M(type):\n    pass\nclass B(metaclass={metaclass}):\n    pass"
    assert run(code, proxies).error["type"] in {"SecurityError", "TypeError"}


def test_metaclass_abcmeta_is_the_older_spelling_of_abc(proxies: Proxies) -> None:
    code = (
        "import abc\nfrom abc import ABCMeta\nclass S(metaclass=ABCMeta):\n    @abc.abstractmethod\n"
        "    def area(self): ...\nclass Q(S):\n    def area(self):\n        return 4\n"
        "class T(abc.ABC, metaclass=abc.ABCMeta):\n    pass\n"
        "try:\n    S()\nexcept TypeError:\n    r = 'abstract'\n[r, Q().area(), [c.__name__ for c in Q.__mro__]]"
    )
    assert run(code, proxies).result == ["abstract", 4, ["Q", "S", "object"]]


CLASS_HOOKS = [
    pytest.param(
        "class Plugin:\n    found = []\n    def __init_subclass__(cls, tag='', **kw):\n"
        "        super().__init_subclass__(**kw)\n        cls.tag = tag\n        Plugin.found.append(cls.__name__)\n"
        "class A(Plugin, tag='a'):\n    pass\nclass B(Plugin):\n    pass\n[Plugin.found, A.tag, B.tag]",
        [["A", "B"], "a", ""],
        id="init-subclass",
    ),
    pytest.param(
        "class Field:\n    def __set_name__(self, owner, name):\n        self.name = name\n        owner.fields = "
        "getattr(owner, 'fields', ()) + (name,)\n    def __get__(self, obj, objtype=None):\n"
        "        return self if obj is None else obj.__dict__.get(self.name, 0)\n"
        "    def __set__(self, obj, value):\n        obj.__dict__[self.name] = value * 2\n"
        "    def __delete__(self, obj):\n        obj.__dict__.pop(self.name)\n"
        "class R:\n    a = Field()\n    b = Field()\nr = R()\nr.a = 5\nv = r.a\ndel r.a\n[R.fields, v, r.a, r.b]",
        [["a", "b"], 10, 0, 0],
        id="descriptors",
    ),
    pytest.param(
        "class Box:\n    def __class_getitem__(cls, item):\n        return f'Box of {item.__name__}'\nBox[int]",
        "Box of int",
        id="class-getitem",
    ),
    pytest.param(
        "import abc\nclass Sized(abc.ABC):\n    @classmethod\n    def __subclasshook__(cls, C):\n"
        "        return hasattr(C, '__len__') or NotImplemented\n[isinstance([], Sized), isinstance(3, Sized)]",
        [True, False],
        id="subclasshook",
    ),
]


@pytest.mark.parametrize(("code", "expected"), CLASS_HOOKS)
def test_class_hooks_of_the_programs_classes_work(proxies: Proxies, code: str, expected: Any) -> None:
    assert run(code, proxies).result == expected


@pytest.mark.parametrize(
    "code",
    [
        pytest.param(
            "import collections.abc\nclass M(collections.abc.Mapping):\n    @classmethod\n"
            "    def __subclasshook__(cls, C):\n        return True",
            id="subclasshook-under-a-library-abc",
        ),
        pytest.param(
            "class D:\n    def __set_name__(self, owner, name):\n        pass\nimport json\n"
            "D().__set_name__(json.JSONEncoder, 'x')\njson.JSONEncoder.x = 1",
            id="set-name-called-by-hand-claims-nothing",
        ),
        pytest.param("p = property(lambda self: 1)\np.__get__", id="builtin-get-of-a-property"),
        pytest.param("object.__init_subclass__", id="object-init-subclass-unbound"),
    ],
)
def test_class_hooks_give_nothing_the_program_does_not_own(proxies: Proxies, code: str) -> None:
    assert run(code, proxies).error["type"] in {"SecurityError", "AttributeError"}


def test_class_keyword_arguments_reach_the_metaclass(proxies: Proxies) -> None:
    # boundary=KEEP lets a Flag hold bits it has no member for; without it F(8) raises.
    code = "import enum\nclass F(enum.Flag, boundary=enum.KEEP):\n    A = 1\n    B = 2\nF(8).value"
    assert run(code, proxies).result == 8


def test_class_factory_uses_the_metaclass_of_the_bases() -> None:
    factory: Any = make_class_factory(UserClasses())
    namespace = factory.__prepare__("D", (abc.ABC,))
    cls = factory("D", (abc.ABC,), dict(namespace))
    assert type(cls) is abc.ABCMeta


def test_class_factory_records_the_class_as_the_programs_own() -> None:
    user_classes = UserClasses()
    factory: Any = make_class_factory(user_classes)
    cls = factory("D", (), {})
    assert cls in user_classes


def test_class_factory_refuses_conflicting_metaclasses() -> None:
    factory: Any = make_class_factory(UserClasses())
    with pytest.raises(TypeError, match="metaclass conflict"):
        factory("D", (abc.ABC, enum.Enum), {})


def test_class_not_built_by_the_factory_is_not_the_programs_own() -> None:
    assert Plain not in UserClasses()


# --------------------------------------------------------------------------- introspection

INTROSPECTION = [
    pytest.param(
        "class A:\n    pass\nclass B(A):\n    pass\n[[c.__name__ for c in B.__mro__], B.__bases__[0].__name__, B.__base__.__name__]",
        [["B", "A", "object"], "A", "A"],
        id="mro-and-bases",
    ),
    pytest.param(
        "import abc\nclass S(abc.ABC):\n    @abc.abstractmethod\n    def f(self): ...\nsorted(S.__abstractmethods__)",
        ["f"],
        id="abstractmethods",
    ),
    pytest.param(
        "class P:\n    def __init__(self):\n        self.x = 1\np = P()\nv = vars(p)\nv['y'] = 2\n[p.__dict__, p.y]",
        [{"x": 1, "y": 2}, 2],
        id="instance-dict",
    ),
    pytest.param(
        "class E(ValueError):\n    pass\ne = E('m')\ne.code = 3\nvars(e)", {"code": 3}, id="dict-of-an-own-exception"
    ),
    pytest.param(
        "import dataclasses\n@dataclasses.dataclass\nclass P:\n    x: int\n    y: str = ''\n"
        "def f(a: int) -> str:\n    return ''\n[list(P.__annotations__), list(f.__annotations__), P.__match_args__]",
        [["x", "y"], ["a", "return"], ["x", "y"]],
        id="annotations",
    ),
    pytest.param("class S:\n    __slots__ = ('a', 'b')\nS.__slots__", ["a", "b"], id="slots"),
    pytest.param(
        "import statistics\ns = statistics.NormalDist.__slots__\n[type(s).__name__, sorted(s)]",
        ["tuple", ["_mu", "_sigma"]],
        id="slots-of-a-library-class-as-a-copy",
    ),
    pytest.param(
        "import typing\nT = typing.Dict[str, int]\n[T.__origin__.__name__, [a.__name__ for a in T.__args__]]",
        ["dict", ["str", "int"]],
        id="typing-metadata",
    ),
    pytest.param(
        "import typing\nclass M(typing.TypedDict, total=False):\n    a: int\n[sorted(M.__optional_keys__), M.__total__]",
        [["a"], False],
        id="typed-dict-keys",
    ),
    pytest.param(
        "import functools\ndef deco(f):\n    @functools.wraps(f)\n    def inner(*a):\n        return f(*a)\n    return inner\n"
        "@deco\ndef add(a, b):\n    return a + b\n@functools.lru_cache\ndef sq(x):\n    return x * x\n"
        "[add.__wrapped__(1, 2), sq.__wrapped__(3)]",
        [3, 9],
        id="wrapped",
    ),
    pytest.param(
        "def outer():\n    n = 5\n    def inner():\n        return n\n    return inner\n"
        "[c.cell_contents for c in outer().__closure__]",
        [5],
        id="closure",
    ),
    pytest.param("[n for n in dir([]) if not n.startswith('_')][:2]", ["append", "clear"], id="dir"),
    pytest.param(
        "class A:\n    x = 1\n    def m(self):\n        return 2\n"
        "ns = vars(A)\n[ns['x'], ns['m'](A()), sorted(k for k in A.__dict__ if not k.startswith('__')),"
        " type(ns).__name__, repr(ns['__dict__'])]",
        [1, 2, ["m", "x"], "mappingproxy", "<attribute '__dict__' of 'A' objects>"],
        id="dict-of-a-class-as-a-read-only-copy",
    ),
    pytest.param(
        "class A:\n    x = [1]\n    __slots__ = ('y',)\nns = vars(A)\nns['x'].append(2)\n"
        "[A.x, repr(ns['y']), [k.__name__ for k in A.__mro__ if '__init__' in k.__dict__]]",
        [[1], "<member 'y' of 'A' objects>", ["object"]],
        id="dict-values-are-copies-and-object-has-one",
    ),
    pytest.param(
        "class A:\n    pass\nclass B(A):\n    pass\nclass C(A):\n    pass\n[c.__name__ for c in A.__subclasses__()]",
        ["B", "C"],
        id="subclasses-of-an-own-class",
    ),
    pytest.param(
        "def f(a, b=2, *, c=3):\n    pass\n[f.__defaults__, f.__kwdefaults__]", [[2], {"c": 3}], id="defaults"
    ),
    pytest.param(
        "class A:\n    def m(self):\n        return 1\na = A()\n[a.m.__self__ is a, a.m.__func__ is A.m]",
        [True, True],
        id="parts-of-a-bound-method",
    ),
    pytest.param(
        "import enum\nclass C(enum.Enum):\n    A = 1\n    B = 1\n[list(C.__members__), C.__members__['B'].name]",
        [["A", "B"], "A"],
        id="enum-members-with-aliases",
    ),
    pytest.param(
        "import dataclasses\n@dataclasses.dataclass(frozen=True)\nclass P:\n    x: int\n"
        "[list(P.__dataclass_fields__), P.__dataclass_params__.frozen, P(1).__dataclass_fields__['x'].name]",
        [["x"], True, "x"],
        id="dataclass-records",
    ),
]


@pytest.mark.parametrize(("code", "expected"), INTROSPECTION)
def test_introspection_of_the_programs_objects_works(proxies: Proxies, code: str, expected: Any) -> None:
    assert run(code, proxies).result == expected


@pytest.mark.parametrize(
    "code",
    [
        pytest.param("import json\njson.JSONEncoder().__dict__", id="dict-of-a-library-instance"),
        pytest.param(
            "import pprint\nclass P(pprint.PrettyPrinter):\n    pass\nvars(P())", id="dict-with-library-state"
        ),
        pytest.param("class A:\n    pass\nA.__dict__['y'] = 1", id="dict-of-a-class-written"),
        pytest.param("import json\njson.JSONEncoder.__dict__", id="dict-of-a-library-class"),
        pytest.param("object.__subclasses__()", id="subclasses-of-object"),
        pytest.param(
            "import json\nclass D(json.JSONDecoder):\n    pass\nD.__base__.__subclasses__()",
            id="subclasses-of-a-library-class",
        ),
        pytest.param("len.__self__", id="self-of-a-builtin-function"),
        pytest.param("import json\njson.JSONDecoder().parse_constant.__self__", id="self-of-a-library-table-method"),
        pytest.param("import json\njson.dumps.__defaults__", id="defaults-of-a-library-function"),
        pytest.param("import json\nd = json.JSONDecoder()\nd.decode.__func__", id="func-of-a-library-method"),
        pytest.param(
            "import pprint\nclass P(pprint.PrettyPrinter):\n    pass\np = P()\nsuper(P, p).__dict__",
            id="dict-through-super",
        ),
        pytest.param("import json\njson.dumps.__closure__", id="closure-of-a-library-function"),
        pytest.param("import json\njson.dumps.__annotations__", id="annotations-of-a-library-function"),
        pytest.param("import functools\nfunctools.update_wrapper.__wrapped__", id="wrapped-of-a-replacement"),
        pytest.param(
            "import dataclasses\n@dataclasses.dataclass\nclass P:\n    x: int\nP(1).__annotations__",
            id="annotations-through-an-instance",
        ),
        pytest.param(
            "def outer():\n    n = 5\n    def inner():\n        return n\n    return inner\n"
            "c = outer().__closure__[0]\nc.cell_contents = 6",
            id="closure-cell-write",
        ),
        pytest.param("def f():\n    pass\nf.__closure__ is None and f.__globals__", id="globals-stays-refused"),
    ],
)
def test_introspection_gives_nothing_that_is_not_the_programs(proxies: Proxies, code: str) -> None:
    assert run(code, proxies).error["type"] in {"SecurityError", "AttributeError", "TypeError"}


# --------------------------------------------------------------------------- builtins and guard names


@pytest.mark.parametrize(
    "name",
    ["open", "exec", "eval", "compile", "globals", "locals", "vars", "dir", "input", "breakpoint", "help", "exit",
     "quit", "__import__"],
)  # fmt: skip
def test_dangerous_builtins_are_absent_or_replaced(proxies: Proxies, name: str) -> None:
    table = safe_builtins(proxies, ALLOWED, UserClasses())
    assert table.get(name) is not getattr(builtins, name, object())


@pytest.mark.parametrize(
    ("code", "expected_type"),
    [
        pytest.param("input('/etc/passwd')", "NameError", id="open"),
        pytest.param("vars()", "TypeError", id="vars-of-the-namespace"),
        pytest.param("dir()", "TypeError", id="dir-of-the-namespace"),
        pytest.param("import json\nvars(json)", "SecurityError", id="vars-of-a-module"),
        pytest.param("globals()", "NameError", id="globals"),
        pytest.param("exit()", "NameError", id="exit"),
        pytest.param("eval('(1).__code__')", "SecurityError", id="eval"),
        pytest.param("exec('import socket')", "SecurityError", id="exec"),
        pytest.param("compile('(1).__code__', 'f', 'eval')", "SecurityError", id="compile"),
    ],
)
def test_program_dangerous_builtins_are_unavailable(proxies: Proxies, code: str, expected_type: str) -> None:
    assert run(code, proxies).error["type"] == expected_type


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        pytest.param("len([1, 2])", 2, id="len"),
        pytest.param("sorted([3, 1, 2])", [1, 2, 3], id="sorted"),
        pytest.param("list(zip('ab', range(2)))", [["a", 0], ["b", 1]], id="zip"),
        pytest.param("sum(map(abs, [-1, -2]))", 3, id="map-abs"),
        pytest.param("isinstance(ValueError(), Exception)", True, id="exceptions"),
        pytest.param("def f(*a, **k):\n    return [a, k]\nf(*[1, 2], **{'x': 3})", [[1, 2], {"x": 3}], id="star-args"),
    ],
)  # fmt: skip
def test_program_ordinary_builtins_work(proxies: Proxies, code: str, expected: Any) -> None:
    assert run(code, proxies).result == expected


def test_print_writes_to_the_given_stdout(proxies: Proxies) -> None:
    assert run("print('a', 'b', sep='-', end='!')", proxies).stdout == "a-b!"


def test_guard_globals_binds_every_name_the_compiler_emits() -> None:
    names = set(guard_globals(UserClasses()))
    expected = {
        "_print_", "_getattr_", "_getitem_", "_getiter_", "_iter_unpack_sequence_", "_unpack_sequence_",
        "_write_", "_write_attribute_", "_inplacevar_", "_apply_", "__metaclass__",
        "_admit_", "_admit_context_", "_admit_unchanged_", "_admit_each_", "_admit_values_", "_type_", "_plain_",
        "_admit_elements_", "_own_kinds_", "_admit_capture_", "_admit_handled_", "_yield_from_", "_match_values_", "_match_class_",
        "_admitting_iter_",
    }  # fmt: skip
    expected |= {native_calls.table_name(method) for method in native_calls.METHOD_NAMES}
    assert names == expected


def test_context_cannot_replace_a_guard(proxies: Proxies) -> None:
    context = {"_getattr_": None, "_print_": None, "_write_": None}
    reply = run("import json\njson.dumps = None", proxies, context=context)
    assert reply.error["type"] == "SecurityError"


def test_getitem_and_getiter_pass_ordinary_data_through(proxies: Proxies) -> None:
    assert run("d = {'k': [1, 2]}\n[x for x in d['k']]", proxies).result == [1, 2]


def test_operator_itemgetter_and_getitem_read_through_the_subscript_guard(proxies: Proxies) -> None:
    """Pass 44: the real ones handed C code the item raw (map(operator.getitem,
    [typing.Union], ["..."]) held a ForwardRef); the guarded ones admit it, and read
    ordinary items as the real ones do."""
    assert proxies["operator"].itemgetter is not operator.itemgetter
    code = (
        "import operator, typing\n"
        "rows = [(2, 'b'), (1, 'a')]\n"
        "ordinary = [sorted(rows, key=operator.itemgetter(0)), operator.itemgetter(1, 0)(rows[0]),\n"
        "            operator.getitem({'k': 3}, 'k'), repr(operator.itemgetter(1))]\n"
        "try:\n"
        "    list(map(operator.getitem, [typing.Union], ['x']))\n"
        "    refused = None\n"
        "except Exception as error:\n"
        "    refused = type(error).__name__\n"
        "[ordinary, refused]"
    )
    assert run(code, proxies).result == [[[[1, "a"], [2, "b"]], ["b", 2], 3, "operator.itemgetter(1)"], "SecurityError"]


def test_a_private_name_a_library_base_keeps_state_under_says_so(proxies: Proxies) -> None:
    code = (
        "import pprint\nclass Printer(pprint.PrettyPrinter):\n    def __init__(self):\n"
        "        super().__init__()\n        self._width = 3\nPrinter()\n"
    )
    message = run(code, proxies).error["message"]
    assert "a library base class of Printer keeps its own state under that name" in message
    assert "another name" in message


def test_decimals_template_contexts_are_the_librarys(proxies: Proxies) -> None:
    """Pass 44: decimal.DefaultContext (copied into every new thread's context),
    BasicContext and ExtendedContext are the library's templates, not settings of the
    program; the program's own contexts and the current one stay writable."""
    code = (
        "import decimal\nctx = decimal.getcontext()\nctx.prec = 5\nlocal = decimal.Context(prec=3)\n"
        "local.rounding = decimal.ROUND_DOWN\nrefused = []\n"
        "for template in (decimal.DefaultContext, decimal.BasicContext, decimal.ExtendedContext):\n"
        "    try:\n        template.prec = 2\n    except Exception as error:\n"
        "        refused.append(type(error).__name__)\n"
        "[str(decimal.Decimal(1) / 3), str(local.divide(decimal.Decimal(2), 3)), refused]"
    )
    assert run(code, proxies).result == ["0.33333", "0.666", ["SecurityError"] * 3]


def test_a_template_made_current_is_a_copy_of_it(proxies: Proxies) -> None:
    """``setcontext(BasicContext)`` makes a copy current, as decimal does with its own
    templates: the program then sets its precision; the template keeps its own."""
    code = (
        "import decimal\ndecimal.setcontext(decimal.BasicContext)\ndecimal.getcontext().prec = 5\n"
        "a = str(decimal.Decimal(1) / decimal.Decimal(3))\nmine = decimal.Context(prec=2)\n"
        "decimal.setcontext(mine)\nsame = decimal.getcontext() is mine\n"
        "[a, decimal.BasicContext.prec, decimal.getcontext().prec, same]"
    )
    assert run(code, proxies).result == ["0.33333", 9, 2, True]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        pytest.param(
            "import pprint\nraw = {}\ndef g(self):\n    return 1\ndef s(self, v):\n    pass\n"
            "class P(property):\n    pass\np = P(g, s)\nclass PP(pprint.PrettyPrinter):\n    _stream = p\n"
            "p.__init__(raw.get, raw.__setitem__)",
            ("TypeError", "a property's accessors are set once, when it is made"),
            id="re-initialised-after-the-check",
        ),
        pytest.param(
            "import pprint\nraw = {}\ndef g(self):\n    return 1\n"
            "class P(property):\n    def __set_name__(self, owner, name):\n"
            "        super().__init__(raw.get, raw.__setitem__)\n"
            "class PP(pprint.PrettyPrinter):\n    _stream = P(g)",
            ("RuntimeError", "Error calling __set_name__ on 'P' instance '_stream'"),  # 3.11 wraps the TypeError
            id="re-initialised-by-set-name",
        ),
        pytest.param(
            "import pprint\nclass PP(pprint.PrettyPrinter):\n    _stream = property()",
            ("SecurityError", '"_stream" is state a library base class keeps'),
            id="no-accessor-to-check",
        ),
    ],
)
def test_a_state_property_keeps_the_accessors_it_was_checked_with(
    proxies: Proxies, code: str, expected: tuple[str, str]
) -> None:
    """A property under a name a library base keeps state by must call the program's
    functions; its accessors were checked at the class statement and then swapped for C
    callables by ``property.__init__`` run again, which received the library's own values
    (the worker's stream, _json's scanner) raw (attack pass 86)."""
    error = run(code, proxies).error
    assert (error["type"], error["message"][: len(expected[1])]) == expected


def test_a_property_is_made_as_in_cpython(proxies: Proxies) -> None:
    code = (
        "class Checked(property):\n    def __init__(self, fget):\n        super().__init__(fget)\n"
        "class C:\n    def __init__(self):\n        self._x = 1\n    @Checked\n    def x(self):\n        return self._x\n"
        "    @property\n    def y(self):\n        return 2\n    @y.setter\n    def y(self, value):\n        self._x = value\n"
        "c = C()\nc.y = 5\n[c.x, c.y]"
    )
    assert run(code, proxies).result == [5, 2]


@pytest.mark.parametrize(
    "code",
    [
        pytest.param(
            "import dataclasses\ndataclasses.make_dataclass('C', [('_\\uff3fdict\\uff3f\\uff3f', object)], init=False)",
            id="make-dataclass",
        ),
        pytest.param(
            "import collections\ncollections.namedtuple('N', ['\\uff3f\\uff3fclass\\uff3f\\uff3f', 'b'])",
            id="namedtuple",
        ),
        pytest.param(
            "import typing\ntyping.NamedTuple('N', [('\\uff3f\\uff3fclass\\uff3f\\uff3f', int)])",
            id="typing-namedtuple",
        ),
    ],
)
def test_a_field_name_library_code_compiles_reads_as_written(proxies: Proxies, code: str) -> None:
    """The parser NFKC-normalises identifiers: a field named with fullwidth underscores
    passed every check as written and compiled to ``self.__dict__`` in the generated
    methods (pass 86)."""
    error = run(code, proxies).error
    assert error["type"] == "SecurityError" and "in Python: write it that way" in error["message"]


def test_a_non_ascii_field_name_that_reads_as_written_is_fine(proxies: Proxies) -> None:
    code = (
        "import collections, dataclasses\nP = dataclasses.make_dataclass('P', [('größe', int)])\n"
        "N = collections.namedtuple('N', ['größe'])\n[P(3).größe, N(4).größe]"
    )
    assert run(code, proxies).result == [3, 4]


def test_a_library_flag_keeps_the_exact_int_of_a_value_it_files(proxies: Proxies) -> None:
    """A library Flag called with a value that is no member files a pseudo-member in its
    own table: an int subclass of the program's, kept as its value, became what every
    later ``re.I | re.M`` returned, and re's compiler ran its operators (pass 87). The
    program's own flags keep what it gives them."""
    code = (
        "import enum, re\ncalls = []\nclass Bits(int):\n    def __hash__(self):\n        return hash(10)\n"
        "    def __and__(self, other):\n        calls.append(other)\n        return 0\n    __rand__ = __and__\n"
        "made = re.RegexFlag(Bits(10))\nlater = re.I | re.M\n"
        "class Own(enum.Flag):\n    A = 1\n    B = 2\n"
        "[type(made.value).__name__, type(later.value).__name__, len(calls), type(Own(Bits(3)).value).__name__]"
    )
    assert run(code, proxies).result == ["int", "int", 0, "Bits"]
