"""validate_source: every refusal with its line and rule, and ordinary programs untouched.

Each refusal has a sibling in ``ORDINARY`` (or next to it) showing that the everyday form
of the same construct still passes.
"""

from __future__ import annotations

import ast
import json
import marshal
from pathlib import Path
from types import CodeType

import pytest
import RestrictedPython.transformer as rp_transformer

from src.language import policy
from src.language.catalogue import CATALOGUE
from src.language.validation import (
    FORBIDDEN_NAMES,
    SourcePolicy,
    Violation,
    prepare_program,
    validate_source,
    violation_details,
)

POLICY = SourcePolicy(max_ast_nodes=50_000, max_ast_depth=100, allowed_imports=frozenset(CATALOGUE))
#: A small allow-list so the hint can be compared exactly.
SMALL_IMPORTS = SourcePolicy(max_ast_nodes=50_000, max_ast_depth=100, allowed_imports=frozenset({"json", "re"}))


def line_rules(violations: list[Violation]) -> list[tuple[int | None, str]]:
    return [(v.line, v.rule) for v in violations]


# ---------------------------------------------------------------------- ordinary code

ORDINARY = [
    pytest.param("print(6 * 7)", id="print"),
    pytest.param(
        "class Point:\n"
        "    def __init__(self, x, y):\n"
        "        self.x = x\n"
        "        self.y = y\n"
        "\n"
        "    def norm(self):\n"
        "        return (self.x ** 2 + self.y ** 2) ** 0.5\n"
        "\n"
        "print(Point(3, 4).norm())\n",
        id="class-with-init",
    ),
    pytest.param("squares = [x * x for x in range(10) if x % 2]\nprint(squares)", id="list-comprehension"),
    pytest.param("d = {k: v for k, v in zip('ab', [1, 2])}\ns = {x for x in 'aab'}\nprint(d, s)", id="dict-set-comp"),
    pytest.param("g = (x for x in range(3))\nprint(sum(g))", id="generator-expression"),
    pytest.param("def gen():\n    yield 1\n    yield 2\nprint(list(gen()))", id="generator-function"),
    pytest.param("import json\nprint(json.dumps({'a': 1}))", id="import-json"),
    pytest.param("import re\nprint(re.sub('a', 'b', 'aa'))", id="import-re"),
    pytest.param("from json import dumps, loads\nprint(loads(dumps([1])))", id="from-json-import"),
    pytest.param("import collections.abc\nprint(collections.abc.Sequence)", id="import-dotted-allowed"),
    pytest.param("try:\n    1 / 0\nexcept ZeroDivisionError as exc:\n    print(exc)", id="try-except"),
    pytest.param("f = lambda x: x + 1\nprint(f(1))", id="lambda"),
    pytest.param("x = 5\nprint(f'{x!r:>5}')", id="f-string"),
    pytest.param("if (n := 3) > 2:\n    print(n)", id="walrus"),
    pytest.param("print(getattr(1, 'real'))", id="getattr-public-name"),
    pytest.param("print((1).real, 'a'.upper())", id="public-attribute"),
    pytest.param("name = 'x'\nprint(getattr(1, name, None))", id="getattr-name-from-variable"),
    pytest.param("x = " + "(" * 150 + "1" + ")" * 150, id="redundant-parentheses-are-not-nesting"),
    pytest.param("x = " + "[" * 90 + "]" * 90, id="nesting-under-the-limit"),
]


@pytest.mark.parametrize("code", ORDINARY)
def test_ordinary_program_has_no_violations(code: str) -> None:
    assert validate_source(code, POLICY) == []


# ---------------------------------------------------------------------- refusals

REFUSED = [
    pytest.param("x = 1\ny = (\n", 2, "syntax", id="syntax-error"),
    pytest.param("x = 1\nif x\n    pass\n", 2, "syntax", id="syntax-missing-colon"),
    pytest.param("import socket", 1, "import", id="import-os"),
    pytest.param("import json\nimport subprocess", 2, "import", id="import-subprocess-line-2"),
    pytest.param("import xml.dom", 1, "import", id="import-dotted-outside"),
    pytest.param("from socket import socket", 1, "import", id="from-os-import"),
    pytest.param("from . import sibling", 1, "import", id="relative-import"),
    pytest.param("from .json import dumps", 1, "import", id="relative-import-named"),
    pytest.param("from json import _default_encoder", 1, "private_name", id="from-import-private"),
    pytest.param("input('/etc/passwd')", 1, "forbidden_name", id="open"),
    pytest.param("x = 1\ninput('f')", 2, "forbidden_name", id="open-on-line-2"),
    pytest.param("globals()", 1, "forbidden_name", id="globals"),
    pytest.param("x = 1\nprint(locals())", 2, "forbidden_name", id="locals-builtin"),
    pytest.param("x = (1).__globals__", 1, "restricted", id="dunder-attribute"),
    pytest.param("x = 1\ny = x.__class__.__code__", 2, "restricted", id="dunder-chain"),
    pytest.param("class A:\n    pass\nA().__dict__ = 1", 3, "restricted", id="dunder-attribute-store"),
    pytest.param("getattr(1, '__globals__')", 1, "private_attribute", id="getattr-dunder-literal"),
    pytest.param("hasattr(1, '_value_')", 1, "private_attribute", id="hasattr-sunder-literal"),
    pytest.param("class A:\n    pass\nsetattr(A(), '__class__', 1)", 3, "private_attribute", id="setattr-dunder"),
    pytest.param("async def f():\n    pass", 1, "async", id="async-def"),
    pytest.param("async def f():\n    await g()", 2, "async", id="await"),
    pytest.param("async def f():\n    async for a in b:\n        pass", 2, "async", id="async-for"),
    pytest.param("__import__('socket')", 1, "restricted", id="dunder-name"),
    pytest.param("from json import *", 1, "restricted", id="star-import"),
    pytest.param("match 1:\n    case C(__class__=x):\n        pass", 2, "restricted", id="match-private-keyword"),
    pytest.param("print(await x)", 1, "async", id="await-at-module-level"),
    pytest.param("x = [1]\nprint([y async for y in x])", 2, "async", id="async-comprehension-outside-async"),
    pytest.param(
        "x = 1\nmatch x:\n    case [" + ", ".join(f"a{i}" for i in range(65)) + "]:\n        pass",
        3,
        "too_many_captures",
        id="too-many-captures",
    ),
    pytest.param("import array", 1, "import", id="array-not-offered"),
    pytest.param("x = 1\nmatch x:\n    case int.__class__:\n        pass", 3, "restricted", id="pattern-dunder-value"),
    pytest.param(
        "import json\nmatch 1:\n    case json._private:\n        pass", 3, "restricted", id="pattern-private-value"
    ),
    # Errors only the compiler finds, after the AST checks passed:
    pytest.param("x = 1\nreturn x", 2, "syntax", id="return-outside-function"),
    pytest.param("x = 1\nbreak", 2, "syntax", id="break-outside-loop"),
    pytest.param("def f(a, a):\n    pass", 1, "syntax", id="duplicate-argument"),
    pytest.param("print(1, end='', end='')", 1, "syntax", id="repeated-keyword"),
]


def test_a_pattern_may_bind_as_many_names_as_the_limit() -> None:
    code = "x = 1\nmatch x:\n    case [" + ", ".join(f"a{i}" for i in range(64)) + "]:\n        pass"
    assert validate_source(code, POLICY) == []


@pytest.mark.parametrize(("code", "line", "rule"), REFUSED)
def test_refused_construct_is_reported_with_its_line(code: str, line: int, rule: str) -> None:
    assert (line, rule) in line_rules(validate_source(code, POLICY))


def test_every_violation_is_collected_not_just_the_first() -> None:
    code = "import socket\nx = 1\ninput('f')\ny = x.__globals__\n"
    assert line_rules(validate_source(code, POLICY)) == [
        (1, "import"),
        (3, "forbidden_name"),
        (4, "restricted"),
    ]


def test_violations_are_sorted_by_line() -> None:
    code = "y = (1).__globals__\nimport socket\n"
    lines = [v.line or 0 for v in validate_source(code, POLICY)]
    assert lines == sorted(lines)


def test_import_hint_lists_the_allowed_modules() -> None:
    (violation,) = validate_source("import socket", SMALL_IMPORTS)
    assert violation.hint == "allowed modules: json, re"


def test_relative_import_hint_lists_the_allowed_modules() -> None:
    (violation,) = validate_source("from . import x", SMALL_IMPORTS)
    assert violation.hint == "allowed modules: json, re"


def test_import_allowed_by_a_wider_policy_is_refused_by_a_narrow_one() -> None:
    assert line_rules(validate_source("import math", SMALL_IMPORTS)) == [(1, "import")]


def test_import_inside_the_narrow_policy_passes() -> None:
    assert validate_source("import json\nimport re", SMALL_IMPORTS) == []


@pytest.mark.parametrize(
    "code",
    [
        pytest.param("try:\n    import numpy as np\nexcept ImportError:\n    np = None", id="except-import-error"),
        pytest.param("try:\n    import numpy\nexcept ModuleNotFoundError:\n    pass", id="except-module-not-found"),
        pytest.param("try:\n    from numpy import mean\nexcept (ImportError, AttributeError):\n    pass", id="tuple"),
        pytest.param("try:\n    import socket\nexcept Exception:\n    pass", id="except-exception"),
        pytest.param("try:\n    import socket\nexcept:\n    pass", id="bare-except"),
        pytest.param("try:\n    if True:\n        import numpy\nexcept ImportError:\n    pass", id="nested-block"),
        pytest.param(
            "try:\n    import numpy\nexcept ValueError:\n    pass\nexcept ImportError:\n    pass", id="second-handler"
        ),
        pytest.param(
            "try:\n    from typing import Self\nexcept ImportError:\n    from typing_extensions import Self",
            id="fallback-in-the-handler",
        ),
    ],
)
def test_an_import_the_program_is_ready_to_miss_passes(code: str) -> None:
    assert validate_source(code, SMALL_IMPORTS) == []


@pytest.mark.parametrize(
    ("code", "line"),
    [
        pytest.param("try:\n    import numpy\nexcept ValueError:\n    pass", 2, id="other-handler"),
        pytest.param("try:\n    pass\nfinally:\n    import numpy", 4, id="in-finally"),
        pytest.param("try:\n    pass\nexcept ValueError:\n    import numpy", 4, id="in-another-handler"),
        pytest.param("try:\n    def f():\n        import numpy\nexcept ImportError:\n    pass", 3, id="in-a-def"),
        pytest.param(
            "try:\n    g = lambda: __import__('socket')\nexcept ImportError:\n    pass", 2, id="dunder-import"
        ),
        pytest.param("try:\n    from . import x\nexcept ImportError:\n    pass", 2, id="relative"),
        pytest.param("try:\n    from json import _default_encoder\nexcept ImportError:\n    pass", 2, id="private"),
    ],
)
def test_other_imports_outside_the_allow_list_stay_refused(code: str, line: int) -> None:
    violations = validate_source(code, SMALL_IMPORTS)
    assert violations and violations[0].line == line, violations


def test_private_import_message_names_the_name() -> None:
    violations = validate_source("from json import _default_encoder", POLICY)
    assert violations[0].message == "'_default_encoder' is private and cannot be imported"


# ---------------------------------------------------------------------- forbidden names


@pytest.mark.parametrize("name", sorted(FORBIDDEN_NAMES))
def test_forbidden_builtin_is_refused_with_a_hint(name: str) -> None:
    violations = [v for v in validate_source(f"x = 1\n{name}()", POLICY) if v.rule == "forbidden_name"]
    assert [(v.line, v.hint) for v in violations] == [(2, FORBIDDEN_NAMES[name])]


# breakpoint is left out: RestrictedPython reserves the name, so binding it is refused too.
BINDABLE = sorted(set(FORBIDDEN_NAMES) - {"breakpoint"})


@pytest.mark.parametrize("name", BINDABLE)
def test_program_variable_with_a_forbidden_name_is_fine(name: str) -> None:
    assert validate_source(f"{name} = [1, 2]\nprint({name})", POLICY) == []


@pytest.mark.parametrize("name", BINDABLE)
def test_program_parameter_with_a_forbidden_name_is_fine(name: str) -> None:
    assert validate_source(f"def f({name}):\n    return {name}\nprint(f(2))", POLICY) == []


def test_own_function_called_dir_is_fine() -> None:
    assert validate_source("def dir(x):\n    return [x]\nprint(dir(1))", POLICY) == []


def test_loop_variable_called_input_is_fine() -> None:
    assert validate_source("for input in range(3):\n    print(input)", POLICY) == []


# ---------------------------------------------------------------------- shape limits


def test_too_many_nodes_is_a_violation() -> None:
    policy = SourcePolicy(max_ast_nodes=50, max_ast_depth=100, allowed_imports=frozenset())
    code = "x = [" + ", ".join(["1"] * 100) + "]"
    assert line_rules(validate_source(code, policy)) == [(None, "too_many_nodes")]


@pytest.mark.parametrize("statement", ["global", "nonlocal"])
def test_each_name_of_a_global_or_nonlocal_counts_as_a_node(statement: str) -> None:
    """One statement may list any number of names, and the policy's passes work per name
    (pass 73: 16,000 names in one global held the checker for 15 s)."""
    policy = SourcePolicy(max_ast_nodes=50, max_ast_depth=100, allowed_imports=frozenset())
    names = ", ".join(f"n{i}" for i in range(60))
    code = f"def outer():\n    n0 = 1\n    def f():\n        {statement} {names}\n"
    assert line_rules(validate_source(code, policy)) == [(None, "too_many_nodes")]


def test_program_under_the_node_limit_passes() -> None:
    policy = SourcePolicy(max_ast_nodes=50, max_ast_depth=100, allowed_imports=frozenset())
    assert validate_source("x = [1, 2, 3]", policy) == []


DEEP = [
    pytest.param("x = " + "[" * 150 + "]" * 150, id="nested-lists"),
    pytest.param("x = " + "-" * 150 + "1", id="nested-unary-minus"),
    pytest.param("x = " + " + ".join(["1"] * 300), id="long-binop-chain"),
    pytest.param("x = " + "f(" * 150 + ")" * 150, id="nested-calls"),
    pytest.param("x = " + "{'a': " * 150 + "1" + "}" * 150, id="nested-dicts"),
]


@pytest.mark.parametrize("code", DEEP)
def test_nesting_deeper_than_the_limit_is_a_violation(code: str) -> None:
    assert [v.rule for v in validate_source(code, POLICY)] == ["too_deep"]


def test_nested_blocks_deeper_than_the_limit_are_a_violation() -> None:
    policy = SourcePolicy(max_ast_nodes=50_000, max_ast_depth=20, allowed_imports=frozenset())
    code = "x = 1\n" + "".join("    " * i + "if x:\n" for i in range(30)) + "    " * 30 + "pass\n"
    assert [v.rule for v in validate_source(code, policy)] == ["too_deep"]


def test_nested_blocks_under_the_limit_pass() -> None:
    policy = SourcePolicy(max_ast_nodes=50_000, max_ast_depth=20, allowed_imports=frozenset())
    code = "x = 1\n" + "".join("    " * i + "if x:\n" for i in range(5)) + "    " * 5 + "pass\n"
    assert validate_source(code, policy) == []


def test_too_deep_violation_names_the_line_of_the_nesting() -> None:
    code = "y = 2\n\nx = " + "-" * 150 + "1"
    assert line_rules(validate_source(code, POLICY)) == [(3, "too_deep")]


def test_extremely_deep_expression_returns_a_violation_instead_of_raising() -> None:
    assert [v.rule for v in validate_source("-" * 100_000 + "1", POLICY)] == ["too_deep"]


def test_too_many_parentheses_is_a_syntax_violation() -> None:
    code = "x = " + "(" * 250 + "1" + ")" * 250
    assert line_rules(validate_source(code, POLICY)) == [(1, "syntax")]


def test_nesting_within_a_high_configured_limit_does_not_raise() -> None:
    policy = SourcePolicy(max_ast_nodes=1_000_000, max_ast_depth=1000, allowed_imports=frozenset())
    violations = validate_source("x = " + "-" * 300 + "1", policy)
    assert isinstance(violations, list)


def test_too_deep_violation_for_nested_lists_has_a_line() -> None:
    (violation,) = validate_source("x = " + "[" * 150 + "]" * 150, POLICY)
    assert violation.line == 1


def test_private_import_is_reported_once() -> None:
    assert line_rules(validate_source("from json import _default_encoder", POLICY)) == [(1, "private_name")]


def test_await_as_the_last_statement_is_reported() -> None:
    assert (2, "async") in line_rules(validate_source("x = 1\nawait x", POLICY))


def test_async_generator_expression_is_refused() -> None:
    assert (2, "async") in line_rules(validate_source("y = []\ng = (x async for x in y)", POLICY))


# ---------------------------------------------------------------------- prepare_program


@pytest.mark.parametrize("code", ORDINARY)
def test_ordinary_program_is_compiled(code: str) -> None:
    assert prepare_program(code, POLICY).bytecode is not None


@pytest.mark.parametrize(("code", "line", "rule"), REFUSED)
def test_refused_program_is_not_compiled(code: str, line: int, rule: str) -> None:
    assert prepare_program(code, POLICY).bytecode is None


def test_prepared_violations_match_validate_source() -> None:
    code = "import socket\nx = 1\ninput('f')\n"
    assert prepare_program(code, POLICY).violations == validate_source(code, POLICY)


def test_prepared_bytecode_runs_through_the_guards() -> None:
    """The compiled program is RestrictedPython's transformed tree, not plain Python."""
    bytecode = prepare_program("x = [1, 2]\nprint(x[0])", POLICY).bytecode
    assert bytecode is not None
    names = marshal.loads(bytecode).co_names
    assert "_getitem_" in names


# ---------------------------------------------------------------------- odd input


def test_nul_byte_is_a_syntax_violation() -> None:
    assert [v.rule for v in validate_source("x = 1\x00\n", POLICY)] == ["syntax"]


def test_empty_program_passes() -> None:
    assert validate_source("", POLICY) == []


# ---------------------------------------------------------------------- detail format


def test_detail_has_line_rule_message_and_hint() -> None:
    (violation,) = validate_source("x = 1\nimport socket", SMALL_IMPORTS)
    assert violation.as_detail() == {
        "line": 2,
        "rule": "import",
        "message": "Line 2: import of 'socket' is not allowed. Hint: the allowed modules are listed in this violation's hint.",
        "hint": "allowed modules: json, re",
    }


def test_a_long_name_the_program_chose_is_quoted_shortened() -> None:
    """Each message quotes the name or literal the program wrote: fifty of 20 000
    characters made a refusal of a megabyte (pass 85). Past 80 characters a quote keeps
    its start and its end, and says how long it was."""
    name = "__" + "a" * 20_000 + "__"
    details = violation_details(validate_source(f"x = (1).{name}\ny = (2).{name}", SMALL_IMPORTS))
    assert len(details) == 2
    for detail in details:
        assert len(detail["message"]) < 400
        assert "(20,004 characters)" in detail["message"] and '...aaaaaaaa__"' in detail["message"]


def test_the_allowed_modules_are_listed_once_per_refusal() -> None:
    details = violation_details(validate_source("import socket\nimport sys\nfrom subprocess import run", SMALL_IMPORTS))
    text = json.dumps(details)
    assert text.count("json, re") == 1
    assert details[0]["hint"] == "allowed modules: json, re"
    assert all(detail["hint"] and "listed above" in detail["message"] for detail in details[1:])


@pytest.mark.parametrize(
    "code",
    [
        "from json import _default_encoder",
        "x = (1).__globals__",
        "class A:\n    def __getattribute__(self, name):\n        pass",
        "import socket",
        "async def f():\n    pass",
        "input('x')",
        "_getattr_ = 1",
        "x = 1\ndel x.__class__",
    ],
)
def test_every_violation_has_a_hint(code: str) -> None:
    violations = validate_source(code, POLICY)
    assert violations and all(v.hint for v in violations), violations


@pytest.mark.parametrize(("code", "line", "rule"), REFUSED)
def test_detail_message_starts_with_its_line(code: str, line: int, rule: str) -> None:
    details = [v.as_detail() for v in validate_source(code, POLICY) if v.line is not None]
    assert all(d["message"].startswith(f"Line {d['line']}: ") for d in details)


def test_detail_without_a_line_has_no_line_prefix() -> None:
    policy = SourcePolicy(max_ast_nodes=10, max_ast_depth=100, allowed_imports=frozenset())
    (violation,) = validate_source("x = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]", policy)
    assert violation.as_detail()["message"] == (
        "the program has more than 10 syntax nodes. Hint: send a shorter program."
    )


def test_pruned_location_copy_compiles_the_same_bytecode_as_restrictedpython() -> None:
    # policy.copy_locations_pruned replaces RestrictedPython's copy_locations for speed;
    # it must not change a single instruction or line number.

    def stock(new_node: ast.AST, old_node: ast.AST) -> None:
        for attr in ("lineno", "end_lineno", "col_offset", "end_col_offset"):
            setattr(new_node, attr, getattr(old_node, attr))
        ast.fix_missing_locations(new_node)

    def shape(code: CodeType) -> list[object]:
        out: list[object] = [code.co_code, list(code.co_lines()), list(code.co_positions())]
        out.extend(shape(const) for const in code.co_consts if isinstance(const, CodeType))
        return out

    corpus = sorted((Path(__file__).resolve().parents[3] / "shared" / "usability").glob("*.py"))
    programs = [p.read_text() for p in corpus] or [
        "class A:\n    def __init__(self, x):\n        self.x = x\nfor a, b in [(1, 2)]:\n    print(A(a).x, b)\n"
    ]
    for program in programs:
        fast = prepare_program(program, POLICY)
        rp_transformer.copy_locations = stock
        try:
            slow = prepare_program(program, POLICY)
        finally:
            rp_transformer.copy_locations = policy.copy_locations_pruned
        if fast.bytecode is None or slow.bytecode is None:
            assert fast.violations == slow.violations
            continue
        assert shape(marshal.loads(fast.bytecode)) == shape(marshal.loads(slow.bytecode))


@pytest.mark.parametrize(
    "code",
    [
        pytest.param('x = 1\ns = f"' + "{x}" * 2001 + '"\n', id="f-string-fields"),
        pytest.param("f(" + ", ".join(f"a{i}=1" for i in range(1001)) + ")\n", id="keyword-arguments"),
        pytest.param("def g(" + ", ".join(f"a{i}=1" for i in range(1001)) + "):\n    pass\n", id="defaults"),
        # Inside a replacement field: one string token to the tokenizer (pass 45 F1: 24 000
        # keywords took the checker 5 s to compile).
        pytest.param(
            's = f"{dict(' + ", ".join(f"a{i}=1" for i in range(1001)) + ')}"\n', id="keywords-in-an-f-string"
        ),
        pytest.param(
            's = f"{(lambda ' + ", ".join(f"a{i}=1" for i in range(1001)) + ': 0)()}"\n', id="defaults-in-an-f-string"
        ),
    ],
)
def test_shapes_the_parser_or_compiler_takes_superlinear_time_on_are_refused_first(code: str) -> None:
    assert [v.rule for v in validate_source(code, POLICY)] == ["too_wide"]


def test_ordinary_wide_code_is_not_too_wide() -> None:
    code = 'x = 1\ns = f"' + "{x}" * 2000 + '"\nprint(dict(' + ", ".join(f"a{i}=1" for i in range(1000)) + "))\n"
    assert validate_source(code, POLICY) == []
