"""Native method calls on built-in values (src/language/native_calls.py,
src/worker/native_calls.py): what the policy compiles with a native branch, what the
worker's tables let through, and that a program sees the same answers (and the same
refusals) either way.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from src.language import native_calls
from src.language.catalogue import CATALOGUE
from src.language.names import binding_problem, is_reserved
from src.language.validation import SourcePolicy, prepare_program, validate_source
from src.worker import fastguards
from src.worker.guards import guarded_getattr, python_guarded_getattr
from src.worker.native_calls import native_method_tables
from tests.support.inprocess import Proxies, guard_mode, run

POLICY = SourcePolicy(max_ast_nodes=50_000, max_ast_depth=100, allowed_imports=frozenset(CATALOGUE))


def _compiled_tree(code: str) -> ast.AST:
    """The transformed program, as the policy hands it to the compiler."""
    seen: list[ast.AST] = []
    real_compile = builtins.compile

    def spy(source: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(source, ast.AST):
            seen.append(source)
        return real_compile(source, *args, **kwargs)

    from src.language import validation

    validation.compile = spy  # type: ignore[attr-defined]
    try:
        prepared = prepare_program(code, POLICY)
    finally:
        del validation.compile  # type: ignore[attr-defined]
    assert not prepared.violations, prepared.violations
    return seen[-1]


def _compiled_source(code: str) -> str:
    return ast.unparse(_compiled_tree(code))


# --------------------------------------------------------------------------- what the policy compiles


@pytest.mark.parametrize(
    "code",
    [
        "items = []\nitems.append(1)",
        "counts = {}\nn = counts.get('w', 0) + 1",
        "parts = ['a']\ns = ', '.join(parts)",
        "text = 'a b'\nwords = text.split(sep=' ')",
        "q = []\nx = 1\nq.append(x * 2 + len)",
        "class C:\n    items = []\nC.items.append(1)",  # any receiver, held once
        "def f(s):\n    return s.strip().split(',')",
        "f = lambda s: s.strip()",
        "xs = [' a']\nys = [x.strip() for x in xs]",  # the comprehension's own variable
        "class C:\n    ys = [x.strip() for x in [' a']]",
        "class C:\n    s = ', '.join(['a'])",  # a constant, anywhere
    ],
)
def test_a_method_call_on_a_name_or_constant_gets_a_native_branch(code: str) -> None:
    assert "_native_" in _compiled_source(code)


@pytest.mark.parametrize(
    "code",
    [
        "items = []\nitems.append(len(items))",  # a call among the arguments
        "items = []\nitems.append(lambda: 1)",
        "items = []\nitems.extend([x for x in 'ab'])",
        "items = []\nargs = [1]\nitems.append(*args)",
        "d = {}\nkw = {}\nd.update(**kw)",
        # A class body's names live in its namespace (an Enum's runs code on every read).
        "items = []\nclass C:\n    n = items.count(1)",
        "class C:\n    items = []\n    items.append(1)",
        "items = []\nclass C:\n    def m(self, n=items.count(1)): pass",  # a default, read in the class
        # Inside a comprehension, a name it does not iterate over (a global, or a cell a
        # nested function may rebind), and a comprehension's iterable.
        "items = []\nys = [items.count(x) for x in 'ab']",
        "def f(items):\n    return [items.count(x) for x in 'ab']",
        "text = 'a b'\nys = [w for w in text.split()]",
        # An assignment expression may not appear in an iterable, even in a lambda there,
        # nor in an annotation.
        "xs = ['b', 'A']\nys = [w for w in sorted(xs, key=lambda w: xs.count(w))]",
        "xs = []\ny: xs.copy() = 1",
        "xs = []\ndef f(a: xs.copy()) -> xs.copy():\n    pass",
        "items = []\nitems.frobnicate(1)",  # not a method of a built-in class
        "x = 3\nx.bit_length",  # not a call
    ],
)
def test_other_shapes_stay_guarded_only(code: str) -> None:
    assert "_native_" not in _compiled_source(code)


def test_a_discarded_call_becomes_an_if_statement_and_a_used_one_an_expression() -> None:
    discarded = _compiled_source("items = []\nitems.append(1)\nNone")
    assert "if _type_((_tmp0 := items)) in _native_append_:\n    _tmp0.append(1)\nelse:" in discarded
    used = _compiled_source("counts = {}\nn = counts.get('w', 0)")
    assert "_admit_(_tmp0.get('w', 0) if _type_((_tmp0 := counts)) in _native_get_ else" in used


def test_the_receiver_is_loaded_once_where_a_name_could_be_rebound() -> None:
    """The type tested is the type of the object whose method is called: the name is read
    into a temporary once (at the top level and in a function's body), never read twice."""
    source = _compiled_source("items = []\ndef f(xs):\n    xs.append(1)\n    return xs.count(1)\nitems.append(2)")
    for line in source.splitlines():
        if "_native_" in line:
            assert ":= " in line, line
            assert "items." not in line and "xs." not in line, line


def test_the_tables_are_reserved_names() -> None:
    for method in native_calls.METHOD_NAMES:
        name = native_calls.table_name(method)
        assert is_reserved(name)
        assert binding_problem(name, in_class_body=False, is_method=False) is not None
    assert [v.rule for v in validate_source("_native_append_ = {object}", POLICY)]


# --------------------------------------------------------------------------- the worker's tables


def test_the_table_has_every_name_and_follows_the_guard() -> None:
    tables = native_method_tables(python_guarded_getattr)
    assert set(tables) == {native_calls.table_name(m) for m in native_calls.METHOD_NAMES}
    assert list in tables["_native_append_"]
    assert dict in tables["_native_get_"]
    assert {str, bytes} <= tables["_native_join_"]
    # The guard wraps these (their fields are read through the guards): never native.
    assert str not in tables["_native_format_"]
    assert str not in tables["_native_format_map_"]
    for types_ in tables.values():
        assert types_ <= set(native_calls.RECEIVER_TYPES)


def test_the_c_and_python_guards_give_the_same_tables() -> None:
    if not fastguards.available():
        pytest.skip("the C half is not built here")
    assert native_method_tables(guarded_getattr) == native_method_tables(python_guarded_getattr)


def test_a_guard_that_refuses_a_name_keeps_it_guarded() -> None:
    def refusing(obj: object, name: str) -> Any:
        if name == "append":
            raise PermissionError(name)
        return python_guarded_getattr(obj, name)

    tables = native_method_tables(refusing)
    assert tables["_native_append_"] == frozenset()
    assert list in tables["_native_pop_"]


# --------------------------------------------------------------------------- what a program sees

SAME_ANSWERS = [
    pytest.param(
        "items = []\nfor i in range(5):\n    items.append(i * i)\nitems",
        [0, 1, 4, 9, 16],
        id="list-append",
    ),
    pytest.param(
        "counts = {}\nfor w in 'a b a c a'.split():\n    counts[w] = counts.get(w, 0) + 1\ncounts",
        {"a": 3, "b": 1, "c": 1},
        id="dict-get",
    ),
    pytest.param("parts = ['x', 'y']\n', '.join(parts)", "x, y", id="constant-receiver"),
    # A subclass (its own append) and a program class with the same method names take
    # the guarded branch: their methods run.
    pytest.param(
        "class Loud(list):\n    def append(self, x):\n        super().append(x * 10)\n"
        "class Box:\n    def get(self, k, d=None):\n        return 'box'\n"
        "items = Loud()\nitems.append(2)\nb = Box()\n[items, b.get('k', 0)]",
        [[20], "box"],
        id="subclasses-and-program-classes",
    ),
    # str.format is never native: its fields go through the guards.
    pytest.param(
        "def f():\n    pass\ntemplate = '{0.__name__}: {0.__globals__}'\n"
        "try:\n    r = template.format(f)\nexcept Exception as e:\n    r = type(e).__name__\nr",
        "SecurityError",
        id="format-fields-still-guarded",
    ),
    # Arguments evaluated after the method is found, in both branches, as in CPython.
    pytest.param(
        "log = []\nclass K:\n    @property\n    def v(self):\n        global items\n        log.append('arg')\n"
        "        items = None\n        return 1\nitems = []\nkept = items\nk = K()\nitems.append(k.v)\n[kept, log, items]",
        [[1], ["arg"], None],
        id="receiver-rebound-by-an-argument",
    ),
    # A method a library value carries (re.Match) and a missing method.
    pytest.param(
        "import re\nm = re.match('(a)(b)', 'ab')\nt = 'x'\ntry:\n    t.nope()\nexcept AttributeError as e:\n"
        "    err = str(e)\n[m.group(2), m.span(), err]",
        ["b", [0, 2], "'str' object has no attribute 'nope'"],
        id="library-value-and-missing-method",
    ),
    pytest.param("items = [3, 1, 2]\nitems.sort(key=None, reverse=True)\nitems", [3, 2, 1], id="keywords"),
    # Every scope: a function's body and a lambda's (temporaries of their own frames, so
    # recursion and generators keep theirs apart), comprehensions, class bodies.
    pytest.param(
        "import enum\ndef walk(xs, out):\n    for x in xs:\n        if x.isdigit():\n            out.append(x)\n"
        "        elif len(x) > 1:\n            walk(list(x.upper()), out)\n    return out\n"
        "def gen(words):\n    for w in words:\n        yield w.strip().split('-')\n"
        "strip = lambda s: s.strip()\n"
        "class Colour(enum.Enum):\n    RED = ', '.join(['r', 'e'])\n    BLUE = [p.title() for p in ['b']]\n"
        "pairs = {k.upper(): v.lower() for k, v in [('a', 'B')]}\n"
        "[walk(['1', 'ab', '2'], []), list(gen([' a-b ', 'c'])), strip(' s '), Colour.RED.value,\n"
        " Colour.BLUE.value, pairs, ' x '.strip().upper().split('X')]",
        [["1", "2"], [["a", "b"], ["c"]], "s", "r, e", ["B"], {"A": "b"}, ["", ""]],
        id="every-scope",
    ),
]


@pytest.mark.parametrize(("code", "expected"), SAME_ANSWERS)
@pytest.mark.parametrize("pure", [False, True], ids=["c-guards", "python-guards"])
def test_a_program_sees_what_cpython_gives(proxies: Proxies, code: str, expected: Any, pure: bool) -> None:
    with guard_mode(pure=pure):
        outcome = run(code, proxies)
    assert outcome.reply["error"] is None, outcome.reply
    assert outcome.result == expected


def test_a_value_taken_out_of_a_container_still_passes_the_membrane(proxies: Proxies) -> None:
    """``holder.pop()`` natively returns what the list holds as it is: the call's result
    is admitted as every call's is (a list filled by library code can hold what the
    program may not)."""
    code = "import json\nholder = []\nholder.append(json.dumps)\nf = holder.pop()\n[f is json.dumps, f([1])]"
    assert run(code, proxies).result == [True, "[1]"]


def _receivers_tested(tree: ast.AST) -> Iterator[tuple[ast.expr, frozenset[str]]]:
    """Each ``_type_(receiver) in _native_..._`` test of ``tree`` and the names the
    comprehensions around it iterate over (innermost only)."""

    def walk(node: ast.AST, iterated: frozenset[str]) -> Iterator[tuple[ast.expr, frozenset[str]]]:
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            inner = frozenset(
                n.id
                for g in node.generators
                for n in ast.walk(g.target)
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
            )
            for child in ast.iter_child_nodes(node):
                yield from walk(child, inner)
            return
        if isinstance(node, (ast.FunctionDef, ast.Lambda, ast.ClassDef)):
            iterated = frozenset()
        if (
            isinstance(node, ast.Compare)
            and isinstance(node.left, ast.Call)
            and isinstance(node.left.func, ast.Name)
            and node.left.func.id == "_type_"
            and isinstance(node.comparators[0], ast.Name)
            and node.comparators[0].id.startswith("_native_")
        ):
            yield node.left.args[0], iterated
        for child in ast.iter_child_nodes(node):
            yield from walk(child, iterated)

    yield from walk(tree, frozenset())


_CORPORA = [
    *sorted((Path(__file__).parents[1] / "programs").glob("*.py")),
    *sorted((Path(__file__).parents[3] / "shared" / "usability").glob("*.py")),
]


@pytest.mark.parametrize("path", _CORPORA, ids=lambda p: p.stem)
def test_no_native_branch_reads_a_name_that_other_code_could_rebind(path: Path) -> None:
    """A name read twice (once for the type test, once for the call) may name another
    object the second time: a finaliser the garbage collector runs in between, or a class
    namespace whose reads run code, rebinds it. So the receiver is held in a temporary,
    or is a constant, or a variable of the comprehension around the call (which nothing
    else can rebind)."""
    prepared = prepare_program(path.read_text(), POLICY)
    if prepared.violations:
        assert not any("assignment expression" in str(v.as_detail()["message"]) for v in prepared.violations)
        pytest.skip("refused by the policy")
    tree = _compiled_tree(path.read_text())
    for receiver, iterated in _receivers_tested(tree):
        if isinstance(receiver, ast.NamedExpr):
            assert isinstance(receiver.target, ast.Name) and is_reserved(receiver.target.id)
            continue
        if isinstance(receiver, ast.Constant):
            continue
        assert isinstance(receiver, ast.Name) and receiver.id in iterated, ast.unparse(receiver)
