"""The name policy (src/language/names.py, policy.py, src/worker/guards.py): ordinary code an LLM writes
runs, and each escape route next to it stays closed. Every allowed case has a refused
sibling in the same section.
"""

from __future__ import annotations

from typing import Any

import pytest

from src.language.catalogue import CATALOGUE
from src.language.validation import SourcePolicy, validate_source
from tests.support.inprocess import Proxies, run

POLICY = SourcePolicy(max_ast_nodes=50_000, max_ast_depth=100, allowed_imports=frozenset(CATALOGUE))


def rules(code: str) -> list[str]:
    return [v.rule for v in validate_source(code, POLICY)]


# --------------------------------------------------------------------------- special methods

DEFINED = [
    pytest.param(
        "class P:\n    def __init__(self, x):\n        self.x = x\n    def __repr__(self):\n        return f'P({self.x})'\n"
        "    def __str__(self):\n        return 'p'\n[repr(P(1)), str(P(1))]",
        ["P(1)", "p"],
        id="repr-str",
    ),
    pytest.param(
        "class Bag:\n    def __init__(self):\n        self.items = [1, 2]\n    def __len__(self):\n        return 2\n"
        "    def __iter__(self):\n        return iter(self.items)\n    def __contains__(self, x):\n        return x == 1\n"
        "    def __getitem__(self, i):\n        return self.items[i]\n"
        "b = Bag()\n[len(b), list(b), 1 in b, b[1]]",
        [2, [1, 2], True, 2],
        id="container-protocol",
    ),
    pytest.param(
        "class C:\n    def __init__(self):\n        self.n = 0\n    def __iter__(self):\n        return self\n"
        "    def __next__(self):\n        self.n += 1\n        if self.n > 3:\n            raise StopIteration\n"
        "        return self.n\nlist(C())",
        [1, 2, 3],
        id="iterator-protocol",
    ),
    pytest.param(
        "class V:\n    def __init__(self, x):\n        self.x = x\n    def __add__(self, o):\n        return V(self.x + o.x)\n"
        "    def __eq__(self, o):\n        return self.x == o.x\n    def __hash__(self):\n        return hash(self.x)\n"
        "    def __lt__(self, o):\n        return self.x < o.x\n    def __bool__(self):\n        return self.x != 0\n"
        "[(V(1) + V(2)).x, V(1) == V(1), len({V(1), V(1)}), V(1) < V(2), bool(V(0))]",
        [3, True, 1, True, False],
        id="arithmetic-comparison-hash-bool",
    ),
    pytest.param(
        "class Ctx:\n    def __enter__(self):\n        return 'in'\n    def __exit__(self, *a):\n        return False\n"
        "class F:\n    def __call__(self, x):\n        return x * 2\nwith Ctx() as v:\n    pass\n[v, F()(4)]",
        ["in", 8],
        id="context-manager-and-callable",
    ),
    pytest.param(
        "class Base:\n    def __init__(self, name):\n        self.name = name\n"
        "class Child(Base):\n    def __init__(self, name):\n        super().__init__(name.upper())\nChild('a').name",
        "A",
        id="super-init",
    ),
    pytest.param(
        "class MyError(Exception):\n    def __init__(self, msg, code):\n        super().__init__(msg)\n        self.code = code\n"
        "try:\n    raise MyError('bad', 7)\nexcept MyError as e:\n    r = [str(e), e.code, type(e).__name__]\nr",
        ["bad", 7, "MyError"],
        id="custom-exception",
    ),
    pytest.param("x = 'script' if __name__ == '__main__' else 'module'\nx", "script", id="main-guard"),
]


@pytest.mark.parametrize(("code", "expected"), DEFINED)
def test_ordinary_special_methods_work(proxies: Proxies, code: str, expected: Any) -> None:
    assert run(code, proxies).result == expected


@pytest.mark.parametrize(
    "name",
    ["__getattribute__", "__del__", "__reduce__", "__reduce_ex__", "__getstate__", "__prepare__", "__instancecheck__",
     "__mro_entries__"],
)  # fmt: skip
def test_dangerous_special_methods_cannot_be_defined(name: str) -> None:
    code = f"class A:\n    def {name}(self, *a):\n        return 1\n"
    assert "restricted" in rules(code)


def test_special_names_outside_class_bodies_are_refused() -> None:
    assert "restricted" in rules("def __repr__(self):\n    return 'x'\n")


def test_module_name_cannot_be_assigned() -> None:
    assert "restricted" in rules("__name__ = 'x'\n")


# --------------------------------------------------------------------------- reserved names


@pytest.mark.parametrize(
    "code",
    [
        pytest.param("_getattr_ = getattr", id="assign"),
        pytest.param("def _write_(x):\n    return x", id="def"),
        pytest.param("for _print in [1]:\n    pass", id="for-target"),
        pytest.param("_tmp0 = 1", id="temporary"),
        pytest.param("class A:\n    _getattr_ = 1", id="class-body"),
        pytest.param("f = lambda _getiter_: 0", id="lambda-arg"),
        pytest.param("def f(*, _apply_=1):\n    return 1", id="keyword-only-arg"),
        pytest.param("import json as _getattr_", id="import-as"),
        pytest.param("with open('x') as _inplacevar_:\n    pass", id="with-target"),
        pytest.param("[1 for _getitem_ in range(3)]", id="comprehension-target"),
        pytest.param("try:\n    pass\nexcept Exception as _write_:\n    pass", id="except-target"),
        pytest.param("match 1:\n    case _getattr_:\n        pass", id="match-capture"),
        pytest.param("_getattr_: int = 1", id="annotated"),
        pytest.param("import _strptime", id="private-module"),
    ],
)
def test_guard_names_can_never_be_bound(code: str) -> None:
    assert "restricted" in rules(code)


def test_private_names_of_the_program_can_be_bound(proxies: Proxies) -> None:
    assert run("_cache = {}\ndef _helper(_x):\n    return _x + 1\n_helper(1)", proxies).result == 2


# --------------------------------------------------------------------------- reading special attributes

READABLE = [
    pytest.param("type(3).__name__", "int", id="type-name"),
    pytest.param("def f():\n    pass\nf.__name__", "f", id="function-name"),
    pytest.param("class A:\n    pass\n[A.__name__, A.__qualname__]", ["A", "A"], id="class-name"),
    pytest.param("class A:\n    pass\nA().__class__.__name__", "A", id="class-of-instance"),
    pytest.param(
        "try:\n    try:\n        1 / 0\n    except ZeroDivisionError as e:\n        raise ValueError('v') from e\n"
        "except ValueError as e:\n    r = [type(e.__cause__).__name__, type(e.__context__).__name__]\nr",
        ["ZeroDivisionError", "ZeroDivisionError"],
        id="exception-chain",
    ),
    pytest.param("import json\njson.__name__", "json", id="module-name"),
    pytest.param(
        "class D(dict):\n    def __init__(self):\n        dict.__init__(self, a=1)\nD()['a']", 1, id="builtin-init"
    ),
    pytest.param("step = iter('abc').__next__\n[step(), step()]", ["a", "b"], id="iterator-next"),
    pytest.param("def g():\n    yield 1\n    yield 2\nnxt = g().__next__\n[nxt(), nxt()]", [1, 2], id="generator-next"),
    pytest.param("e = enumerate('ab').__next__\ne()", [0, "a"], id="enumerate-next"),
]


@pytest.mark.parametrize(("code", "expected"), READABLE)
def test_harmless_special_attributes_can_be_read(proxies: Proxies, code: str, expected: Any) -> None:
    assert run(code, proxies).result == expected


REFUSED_READS = [
    pytest.param("try:\n    1 / 0\nexcept Exception as e:\n    e.__traceback__", "SecurityError", id="traceback"),
    pytest.param(
        "try:\n    try:\n        1/0\n    except Exception as e:\n        raise ValueError() from e\n"
        "except ValueError as v:\n    getattr(v.__cause__, '__trace' + 'back__')",
        "SecurityError",
        id="traceback-through-cause",
    ),
    pytest.param("getattr(len, '__se' + 'lf__')", "SecurityError", id="builtin-self-is-the-builtins-module"),
    pytest.param("def f():\n    pass\ngetattr(f, '__glo' + 'bals__')", "SecurityError", id="globals"),
    pytest.param("getattr(int, '__subcl' + 'asses__')", "SecurityError", id="subclasses"),
    pytest.param(
        "import json\ngetattr(type(json), '__in' + 'it__')", "SecurityError", id="library-class-special-method"
    ),
    pytest.param(
        "import json\ngetattr(json.JSONDecoder(), '_' + 'x')", "SecurityError", id="private-of-a-library-object"
    ),
    pytest.param("x = type(int)\nx('A', (), {})", "TypeError", id="class-of-a-class-is-not-the-real-type"),
    pytest.param("(1).__class__.__class__('A', (), {})", "TypeError", id="class-of-class-attribute"),
]


@pytest.mark.parametrize(("code", "expected"), REFUSED_READS)
def test_special_attributes_that_lead_out_stay_refused(proxies: Proxies, code: str, expected: str) -> None:
    # TypeError: the class of a class is the sandbox's type(), which refuses to build classes.
    assert run(code, proxies).error["type"] == expected


# --------------------------------------------------------------------------- private attributes

PRIVATE = [
    pytest.param(
        "class S:\n    def __init__(self):\n        self._items = []\n    def push(self, x):\n        self._items.append(x)\n"
        "        return len(self._items)\nS().push(5)",
        1,
        id="single-underscore",
    ),
    pytest.param(
        "class Account:\n    def __init__(self):\n        self.__balance = 10\n    def balance(self):\n"
        "        return self.__balance\nAccount().balance()",
        10,
        id="name-mangled",
    ),
    pytest.param(
        "class T:\n    def __init__(self):\n        self._c = 0.0\n    @property\n    def c(self):\n        return self._c\n"
        "    @c.setter\n    def c(self, v):\n        self._c = v\nt = T()\nt.c = 5\nt.c",
        5,
        id="property-backing-field",
    ),
    pytest.param(
        "import collections\nP = collections.namedtuple('P', 'x y')\np = P(1, 2)\n[p._asdict(), p._replace(x=3).x, P._fields]",
        [{"x": 1, "y": 2}, 3, ["x", "y"]],
        id="namedtuple-api",
    ),
]


@pytest.mark.parametrize(("code", "expected"), PRIVATE)
def test_private_attributes_of_the_programs_objects(proxies: Proxies, code: str, expected: Any) -> None:
    assert run(code, proxies).result == expected


def test_name_mangled_attribute_is_stored_under_the_mangled_name(proxies: Proxies) -> None:
    code = "class A:\n    def __init__(self):\n        self.__x = 1\nhasattr(A(), '_A__x')"
    assert run(code, proxies).result is True


# --------------------------------------------------------------------------- augmented assignment

AUGMENTED = [
    pytest.param("class C:\n    n = 0\nc = C()\nc.n += 2\nc.n", 2, id="attribute"),
    pytest.param("d = {'a': 1}\nd['a'] += 5\nd['a']", 6, id="item"),
    pytest.param(
        "import collections\nc = collections.Counter()\nfor w in 'abca':\n    c[w] += 1\nc['a']", 2, id="counter"
    ),
    pytest.param("m = [[1]]\nm[0][0] *= 7\nm", [[7]], id="nested-item"),
    pytest.param(
        "calls = []\ndef get():\n    calls.append(1)\n    return d\nd = {'k': 1}\nget()['k'] += 1\n[d['k'], len(calls)]",
        [2, 1],
        id="target-evaluated-once",
    ),
    pytest.param("class C:\n    items = []\nc = C()\nc.items += [1]\nc.items", [1], id="in-place-list"),
    # Python's order: the target read, the value, the operator, the write.
    pytest.param(
        "log = []\nclass C:\n    def __init__(self):\n        self._v = 1\n    @property\n    def v(self):\n"
        "        log.append('read')\n        return self._v\n    @v.setter\n    def v(self, x):\n"
        "        log.append('write')\n        self._v = x\ndef value():\n    log.append('value')\n    return 2\n"
        "c = C()\nc.v += value()\n[c.v, log]",
        [3, ["read", "value", "write", "read"]],
        id="order",
    ),
]


@pytest.mark.parametrize(("code", "expected"), AUGMENTED)
def test_augmented_assignment_on_attributes_and_items(proxies: Proxies, code: str, expected: Any) -> None:
    assert run(code, proxies).result == expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        pytest.param("import math\nmath.pi += 1", "SecurityError", id="module-attribute"),
        pytest.param("import json\njson.JSONDecoder.x = 1", "SecurityError", id="library-class-attribute"),
        # int.real read on the class is a descriptor, which += cannot add to: CPython refuses first.
        pytest.param("int.real += 1", "TypeError", id="builtin-class-attribute"),
    ],
)
def test_augmented_writes_to_things_the_program_does_not_own_are_refused(
    proxies: Proxies, code: str, expected: str
) -> None:
    assert run(code, proxies).error["type"] == expected


# --------------------------------------------------------------------------- annotations, nonlocal, match

TYPED = [
    pytest.param(
        "import dataclasses\n@dataclasses.dataclass\nclass P:\n    x: int\n    y: int = 0\n    def __post_init__(self):\n"
        "        self.y += 1\ndataclasses.asdict(P(1))",
        {"x": 1, "y": 1},
        id="dataclass-post-init",
    ),
    pytest.param(
        "import typing\nclass P(typing.NamedTuple):\n    x: int\n    y: int = 2\nP(1)._asdict()",
        {"x": 1, "y": 2},
        id="namedtuple",
    ),
    pytest.param("import enum\nclass C(enum.Enum):\n    RED = 1\nC.RED.name", "RED", id="enum"),
    pytest.param("def f(x: int) -> int:\n    total: int = x + 1\n    return total\nf(1)", 2, id="typed-locals"),
    pytest.param(
        "def counter():\n    n = 0\n    def inc():\n        nonlocal n\n        n += 1\n        return n\n    return inc\n"
        "c = counter()\nc()\nc()",
        2,
        id="nonlocal",
    ),
    pytest.param(
        "def f(cmd):\n    match cmd:\n        case {'go': d}:\n            return d\n        case [x, y]:\n            return x + y\n"
        "        case _:\n            return None\n[f({'go': 'n'}), f([1, 2]), f(3)]",
        ["n", 3, None],
        id="match-mapping-sequence",
    ),
    pytest.param(
        "import dataclasses, enum\nclass Color(enum.Enum):\n    RED = 1\n@dataclasses.dataclass\nclass P:\n    x: int\n"
        "    y: int\ndef f(v):\n    match v:\n        case Color.RED:\n            return 'red'\n"
        "        case P(x=0, y=y):\n            return y\n        case P(a, b):\n            return a + b\n"
        "[f(Color.RED), f(P(0, 5)), f(P(1, 2))]",
        ["red", 5, 3],
        id="match-value-and-class-patterns",
    ),
]


TYPED.append(
    pytest.param(
        "def check(vs):\n    raise ExceptionGroup('bad', [ValueError(v) for v in vs if v < 0] + [TypeError('t')])\n"
        "seen = []\ntry:\n    check([1, -2, -3])\nexcept* ValueError as g:\n    seen.append(len(g.exceptions))\n"
        "except* TypeError as g:\n    seen.append(str(g.exceptions[0]))\nseen",
        [2, "t"],
        id="except-star",
    )
)


@pytest.mark.parametrize(("code", "expected"), TYPED)
def test_typed_code_nonlocal_and_match(proxies: Proxies, code: str, expected: Any) -> None:
    assert run(code, proxies).result == expected


def test_match_class_pattern_cannot_read_private_attributes() -> None:
    assert "restricted" in rules("match 1:\n    case int(_x=y):\n        pass\n")


def test_match_value_pattern_cannot_read_introspection_attributes() -> None:
    assert "restricted" in rules("match 1:\n    case g.gi_frame:\n        pass\n")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("__match_args__ = ('__dict__',)", id="match-args"),
        pytest.param("__slots__ = ('__dict__',)", id="slots"),
    ],
)
def test_class_attribute_names_read_without_a_guard_are_checked(proxies: Proxies, body: str) -> None:
    assert run(f"class A:\n    {body}\n", proxies).error["type"] == "SecurityError"


# --------------------------------------------------------------------------- guarded operator


def test_attrgetter_reads_through_the_guard(proxies: Proxies) -> None:
    code = (
        "import operator\nclass I:\n    def __init__(self, p):\n        self.p = p\n"
        "[i.p for i in sorted([I(3), I(1)], key=operator.attrgetter('p'))]"
    )
    assert run(code, proxies).result == [1, 3]


def test_attrgetter_refuses_what_the_guard_refuses(proxies: Proxies) -> None:
    assert run("import operator\noperator.attrgetter('__globals__')(len)", proxies).error["type"] == "SecurityError"


def test_attribute_error_where_python_raises_it(proxies: Proxies) -> None:
    assert run("import re\nre.match('a', 'b').group()", proxies).error["type"] == "AttributeError"


def test_refusals_name_the_rule_and_an_alternative() -> None:
    message = validate_source("x = 1\ny = x.__globals__\n", POLICY)[0].as_detail()["message"]
    assert "type(x)" in message


# --------------------------------------------------------------------------- the names guards check


def _compiled_code(code: str) -> Any:
    import ast

    from src.language.policy import SOURCE_FILENAME, SandboxTransformer

    tree = ast.parse(code, SOURCE_FILENAME)
    errors: list[str] = []
    SandboxTransformer(errors, [], {}).visit(tree)
    assert errors == [], errors
    return tree, compile(tree, SOURCE_FILENAME, "exec", dont_inherit=True)


def _checked_and_stored(code_object: Any) -> list[tuple[str, str]]:
    """Each ``_write_attribute_(obj, "<checked>").<stored> = v`` of these code objects."""
    import dis
    import types

    pairs: list[tuple[str, str]] = []
    pending = [code_object]
    while pending:
        current = pending.pop()
        pending.extend(const for const in current.co_consts if isinstance(const, types.CodeType))
        instructions = [i for i in dis.get_instructions(current) if i.opname not in ("CACHE", "EXTENDED_ARG")]
        steps = zip(instructions, instructions[1:], instructions[2:], instructions[3:], strict=False)
        for load, precall, call, store in steps:
            if (
                load.opname == "LOAD_CONST"
                and isinstance(load.argval, str)
                and (precall.opname, precall.arg, call.opname) == ("PRECALL", 2, "CALL")
                and store.opname in ("STORE_ATTR", "DELETE_ATTR")
            ):
                pairs.append((load.argval, store.argval))
    return pairs


def test_the_write_guard_checks_the_name_the_interpreter_stores() -> None:
    """Over every program of the test corpora, in every context (a class body, a method, a
    class statement's header, which runs in the enclosing scope): the name passed to the
    write guard is the name the compiled store uses, private names mangled alike."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    sources = [path.read_text() for path in sorted((root / "programs").glob("*.py"))]
    sources += [path.read_text() for path in sorted((root / "bench" / "overhead_programs").glob("*.py"))]
    sources.append(
        "class Outer:\n    def m(self, o):\n        o.__y = 1\n        class K(metaclass=type(o)):\n"
        "            def n(self):\n                self.__z = 2\n        del o.__y\n"
    )
    checked = 0
    for source in sources:
        try:
            _, code_object = _compiled_code(source)
        except AssertionError:
            continue  # a program the policy refuses: nothing compiled
        pairs = _checked_and_stored(code_object)
        assert [pair for pair in pairs if pair[0] != pair[1]] == []
        checked += len(pairs)
    assert checked > 50


def test_a_class_header_is_compiled_in_the_enclosing_scope() -> None:
    """Bases, keywords and decorators run where the class statement is: a private name
    there is mangled with the enclosing class's name (none at the top level), and an
    assignment expression binds in the enclosing scope under its rules."""
    import ast

    nested, _ = _compiled_code("class Outer:\n    class K(*[o.__y for o in []]):\n        pass\n")
    assert "_getattr_(o, '_Outer__y')" in ast.unparse(nested)
    top, _ = _compiled_code("class K(*[o.__y for o in []]):\n    pass\n")
    assert "_getattr_(o, '__y')" in ast.unparse(top)
    assert rules("class K((__init__ := object)):\n    pass") != []


def test_the_programs_last_call_is_admitted_as_its_result() -> None:
    """The last expression is kept as the result: its call's value passes the membrane as
    any kept call's does (only a value the statement throws away skips it)."""
    import ast

    tree, _ = _compiled_code("import operator\nx = operator.getitem(list, int)\noperator.getitem(list, int)")
    assert ast.unparse(tree).splitlines()[-1].startswith("<result> = _admit_(")


@pytest.mark.parametrize("count", [1, 5, 32, 40])
def test_value_patterns_of_any_number_match_as_cpython_matches(proxies: Proxies, count: int) -> None:
    """Value patterns (``case Color.RED``) read their names through the guards as the
    match starts, into one tuple per statement (a namespace past 32 of them)."""
    cases = "".join(f"        case C.V{i}:\n            return {i}\n" for i in range(count))
    code = (
        "class C:\n" + "".join(f"    V{i} = {i * 10}\n" for i in range(count)) + "def which(x):\n    match x:\n"
        f"{cases}        case _:\n            return -1\n[which({(count - 1) * 10}), which(0), which(-5)]"
    )
    assert run(code, proxies).result == [count - 1, 0, -1]


def test_module_level_temporaries_are_let_go_after_their_last_use() -> None:
    """A module-level temporary is a global for the whole job: it keeps what it held (a
    native call's receiver) alive after the program dropped it (pass 62)."""
    import ast

    from src.language.policy import SOURCE_FILENAME, SandboxTransformer

    tree = ast.parse("data = bytearray(4)\ndata.count(1)\ndata = None\nlen(data or b'')", SOURCE_FILENAME)
    SandboxTransformer([], [], {}).visit(tree)
    source = ast.unparse(tree)
    assert "_getattr_(_tmp0, 'count')(1)\n_tmp0 = None\ndata = None" in source
