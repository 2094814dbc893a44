"""validate_source(code, policy) -> list[Violation]: refuse what cannot run, before a worker is spent.

Runs in the API process, on every request, in this order: parse, node count and nesting
depth (iteratively, so a hostile nesting cannot overflow this process's stack), the
import allow-list and the forbidden names and attributes (with a hint for each),
RestrictedPython's own transformer with the same policy class the worker compiles with,
so nothing the worker would refuse gets past here, and finally the size of what the
compiler would build (see ``compiled_limit_bytes``). Every violation is collected with
its line, not just the first.

The worker enforces all of this again at compile and run time: this layer exists to give
a fast, precise 400 that an LLM can act on in one retry, not to be the only line.
"""

from __future__ import annotations

import ast
import io
import marshal
import re
import tokenize
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, get_args

from .names import attribute_problem
from .policy import PLAIN_RESULT_BUILTINS, SOURCE_FILENAME, SandboxTransformer, is_future_statement

#: Builtins deliberately missing in the sandbox, with what to do instead.
FORBIDDEN_NAMES: dict[str, str] = {
    "globals": "namespace introspection is not available; use the names directly",
    "locals": "namespace introspection is not available; use the names directly",
    "input": "there is no stdin; pass data in through the request's `context`",
    "breakpoint": "there is no debugger in the sandbox",
    "help": "there is no interactive help in the sandbox",
    "exit": "end the program by reaching its end; raise an exception to report failure",
    "quit": "end the program by reaching its end; raise an exception to report failure",
}
_ATTRIBUTE_FUNCTIONS = frozenset({"getattr", "setattr", "delattr", "hasattr"})
_PUBLIC_IMPORT_HINT = "import the module's public names"
_RESTRICTED_HINT = "rewrite it with ordinary classes, functions and the public attributes of objects"
_RP_LINE = re.compile(r"^Line (\d+): (.*)$", re.S)
_QUOTED = re.compile(r'"([^"]*)"')
#: A 400 lists at most this many violations (an LLM fixes the first ones and retries;
#: listing 10 000 would cost the server and the caller's context for nothing).
MAX_VIOLATIONS = 50


#: The ``rule`` of each violation, as a 400 lists it.
Rule = Literal[
    "syntax",
    "too_many_nodes",
    "too_deep",
    "too_large_compiled",
    "too_many_captures",
    "too_wide",
    "uncheckable",
    "import",
    "forbidden_name",
    "private_attribute",
    "private_name",
    "async",
    "restricted",
    "more",
]
RULES: tuple[Rule, ...] = get_args(Rule)

#: The compiled program (the marshalled bytecode sent to the worker) may be at most this
#: many times its source in UTF-8 bytes, and at least COMPILED_FLOOR_BYTES whatever the
#: source. Why a limit: CPython folds constant expressions while compiling, so 16 KiB of
#: ``("一"*4096, "丁"*4096, ...)`` compiled to 18 MB (and a chain of ``+`` between such
#: strings costs time quadratic in its length: 26 KB of source took 31 s to compile).
#: Why 16: over the 10 449 files of this interpreter's stdlib and site-packages, plain
#: compile gives at most 6.3 bytes of bytecode per source byte (median 1.5), the 368 of
#: them this validator accepts at most 5.4 through RestrictedPython, and the folding
#: estimate below at most 2.1 (``python -m tests.bench.compiled_size``). The floor lets
#: small programs fold the odd table or banner (``"-" * 4096``) without counting bytes.
COMPILED_BYTES_PER_SOURCE_BYTE = 16

#: Names one ``case`` pattern may bind. CPython's pattern compiler spends memory and time
#: quadratic in the captures of one pattern (6 000 in 35 KB of source took 2.9 GB and
#: 4.5 s to compile); ordinary patterns bind a handful.
MAX_PATTERN_CAPTURES = 64
COMPILED_FLOOR_BYTES = 256 * 1024


def compiled_limit_bytes(source_bytes: int) -> int:
    """Largest compiled program accepted for a source of ``source_bytes`` UTF-8 bytes."""
    return max(COMPILED_FLOOR_BYTES, COMPILED_BYTES_PER_SOURCE_BYTE * source_bytes)


@dataclass(frozen=True)
class Violation:
    """One reason the validator refused a program."""

    line: int | None
    rule: Rule
    message: str
    hint: str = ""

    def as_detail(self) -> dict[str, Any]:
        where = f"Line {self.line}: " if self.line is not None else ""
        text = f"{where}{_shorten_quoted(self.message).rstrip('.')}."
        if self.hint and not self.hint.startswith(ALLOWED_MODULES_HINT):
            text += f" Hint: {self.hint}."
        elif self.hint:
            text += " Hint: the allowed modules are listed in this violation's hint."
        return {"line": self.line, "rule": self.rule, "message": text, "hint": self.hint}


#: The start of the hint that lists the allowed modules: given once per refusal.
ALLOWED_MODULES_HINT = "allowed modules: "
#: The hint of every import violation after the first.
_SEE_THE_MODULE_LIST = "the allowed modules are listed in the hint of the first import violation"


#: The longest name or literal a message quotes whole: the program chooses them, and
#: fifty messages quoting 20 000 characters each made a refusal of a megabyte (pass 85).
MAX_QUOTED_CHARS = 80
_QUOTED = re.compile(rf'"([^"\n]{{{MAX_QUOTED_CHARS + 1},}})"')


def _shorten_quoted(message: str) -> str:
    def shorter(match: re.Match[str]) -> str:
        quoted = match.group(1)
        return f'"{quoted[: MAX_QUOTED_CHARS - 20]}...{quoted[-10:]}" ({len(quoted):,} characters)'

    return _QUOTED.sub(shorter, message)


def violation_details(violations: list[Violation]) -> list[dict[str, Any]]:
    """The ``detail`` of a 400: each violation with its line, rule, message and hint, the
    allowed-module list once (in the first import violation's hint), not once per import
    and again in the message."""
    details = []
    listed = False
    for violation in violations:
        detail = violation.as_detail()
        if violation.hint.startswith(ALLOWED_MODULES_HINT):
            if listed:
                detail["hint"] = _SEE_THE_MODULE_LIST
                detail["message"] = detail["message"].replace("listed in this violation's hint", "listed above")
            listed = True
        details.append(detail)
    return details


@dataclass(frozen=True)
class SourcePolicy:
    max_ast_nodes: int
    max_ast_depth: int
    allowed_imports: frozenset[str]


_ASYNC_NODES = (ast.AsyncFunctionDef, ast.Await, ast.AsyncFor, ast.AsyncWith)
#: Nodes whose body runs later than where they stand.
_DEFERRED_BODIES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
#: The names an ``except`` clause may give for it to catch a failed import.
_IMPORT_ERROR_CATCHERS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})


def _catches_import_errors(handlers: list[ast.ExceptHandler]) -> bool:
    """Whether one of a ``try``'s handlers catches ModuleNotFoundError (bare ``except:``,
    ``except ImportError``, ``except (ImportError, AttributeError)``, ``except Exception``)."""
    for handler in handlers:
        caught = handler.type
        if caught is None:
            return True
        names = caught.elts if isinstance(caught, ast.Tuple) else [caught]
        if any(isinstance(name, ast.Name) and name.id in _IMPORT_ERROR_CATCHERS for name in names):
            return True
    return False


_BINDING_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


class _Scan:
    """One iterative pass over the tree: shape limits, the names the program binds, and
    the policy checks. (Separate recursive visitors walked the tree three times, and the
    recursion itself is what a hostile nesting would attack.)"""

    def __init__(self, policy: SourcePolicy) -> None:
        self.policy = policy
        self.violations: list[Violation] = []
        #: line -> private names / words of other problems reported there, so that
        #: RestrictedPython's message for the same problem is not listed twice.
        self.private: dict[int | None, set[str]] = {}
        self.reported: dict[int | None, set[str]] = {}
        self.bound: set[str] = set()
        self.loads: list[tuple[ast.Name, int | None]] = []

    def add(self, line: int | None, rule: Rule, message: str, hint: str = "") -> None:
        self.violations.append(Violation(line, rule, message, hint))

    def import_hint(self) -> str:
        return ALLOWED_MODULES_HINT + ", ".join(sorted(self.policy.allowed_imports))

    def run(self, tree: ast.AST) -> list[Violation]:
        """Shape violations alone if the shape is wrong (walking on could be expensive),
        otherwise every policy violation."""
        policy = self.policy
        count = 0
        # The flag: the node runs inside a try whose handlers catch a failed import.
        stack: list[tuple[ast.AST, int, int | None, bool]] = [(tree, 0, None, False)]
        while stack:
            node, depth, line, import_may_fail = stack.pop()
            line = getattr(node, "lineno", line)  # nearest enclosing line, for nodes without one
            # Each name a global or nonlocal statement lists counts: one node may list any
            # number, and the passes after this one work per name.
            count += len(node.names) if isinstance(node, (ast.Global, ast.Nonlocal)) else 1
            if count > policy.max_ast_nodes:
                message = f"the program has more than {policy.max_ast_nodes} syntax nodes"
                return [Violation(None, "too_many_nodes", message, "send a shorter program")]
            if depth > policy.max_ast_depth:
                message = f"expressions or blocks are nested more than {policy.max_ast_depth} deep"
                hint = "flatten the nesting with intermediate variables or functions"
                return [Violation(line, "too_deep", message, hint)]
            if isinstance(node, (ast.Import, ast.ImportFrom)) and import_may_fail:
                self.check_optional_import(node, line)
            else:
                self.check(node, line)
            if isinstance(node, ast.Try):
                # The body's imports, and the fallback's in the handlers (``except ImportError:
                # from typing_extensions import Self``), which only run when an import failed.
                body = (
                    {id(child) for child in [*node.body, *node.handlers]}
                    if _catches_import_errors(node.handlers)
                    else set()
                )
                stack.extend(
                    (child, depth + 1, line, import_may_fail or id(child) in body)
                    for child in ast.iter_child_nodes(node)
                )
            else:
                # A function's body runs when it is called, not where the try is.
                inherited = import_may_fail and not isinstance(node, _DEFERRED_BODIES)
                stack.extend((child, depth + 1, line, inherited) for child in ast.iter_child_nodes(node))
        for name, line in self.loads:  # forbidden builtins the program did not rebind itself
            if name.id not in self.bound:
                self.reported.setdefault(line, set()).add(f"{name.id} call")
                self.add(
                    line, "forbidden_name", f"'{name.id}' is not available in the sandbox", FORBIDDEN_NAMES[name.id]
                )
        return self.violations

    def check(self, node: ast.AST, line: int | None) -> None:
        if isinstance(node, ast.Name):
            if not isinstance(node.ctx, ast.Load):
                self.bound.add(node.id)
            elif node.id in FORBIDDEN_NAMES:
                self.loads.append((node, line))
        elif isinstance(node, ast.Call):
            self.check_call(node, line)
            if len(node.keywords) > MAX_KEYWORDS_PER_BRACKET:
                # _too_wide counts `=` tokens, but an f-string is one token in 3.11: a
                # call inside a replacement field is only seen here.
                message = f"a call or definition has more than {MAX_KEYWORDS_PER_BRACKET} keyword arguments"
                self.add(line, "too_wide", message, "pass the values in a dict")
        elif isinstance(node, ast.arguments):
            if len(node.defaults) + sum(d is not None for d in node.kw_defaults) > MAX_KEYWORDS_PER_BRACKET:
                message = f"a call or definition has more than {MAX_KEYWORDS_PER_BRACKET} keyword arguments"
                self.add(line, "too_wide", message, "pass the values in a dict")
        elif isinstance(node, ast.arg):
            self.bound.add(node.arg)
        elif isinstance(node, ast.alias):
            self.bound.add((node.asname or node.name).partition(".")[0])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name not in self.policy.allowed_imports:
                    self.add(line, "import", f"import of '{alias.name}' is not allowed", self.import_hint())
        elif isinstance(node, ast.ImportFrom):
            self.check_import_from(node, line)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            self.bound.add(node.name)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            self.bound.add(node.name)  # a capture binds a name like an assignment
        elif isinstance(node, ast.MatchMapping) and node.rest:
            self.bound.add(node.rest)
        elif isinstance(node, ast.match_case):
            self.check_captures(node, line)
        if isinstance(node, _BINDING_DEFS):
            self.bound.add(node.name)
        if isinstance(node, _ASYNC_NODES) or (isinstance(node, ast.comprehension) and node.is_async):
            self.reported.setdefault(line, set()).update({"async", "await"})
            self.add(line, "async", "async code is not supported in the sandbox", "use ordinary functions and loops")

    def check_captures(self, node: ast.match_case, line: int | None) -> None:
        captures = sum(
            1
            for n in ast.walk(node.pattern)
            if (isinstance(n, (ast.MatchAs, ast.MatchStar)) and n.name) or (isinstance(n, ast.MatchMapping) and n.rest)
        )
        if captures > MAX_PATTERN_CAPTURES:
            message = f"a case pattern binds {captures} names; at most {MAX_PATTERN_CAPTURES} are allowed"
            hint = "match the structure, then read the items in the case body"
            self.add(getattr(node.pattern, "lineno", line), "too_many_captures", message, hint)

    def check_call(self, node: ast.Call, line: int | None) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in _ATTRIBUTE_FUNCTIONS and len(node.args) >= 2:
            name = node.args[1]
            if isinstance(name, ast.Constant) and isinstance(name.value, str):
                # The same table the compiler applies to `obj.name` (names.py); whether a
                # private name is allowed on a particular object is decided at run time.
                problem = attribute_problem(name.value, store=func.id in ("setattr", "delattr"))
                if problem is not None:
                    self.private.setdefault(line, set()).add(name.value)
                    self.add(line, "private_attribute", f"{func.id}(): {problem}", "use the object's public interface")

    def check_optional_import(self, node: ast.Import | ast.ImportFrom, line: int | None) -> None:
        """``try: import numpy / except ImportError:``: a module outside the allow-list is
        the program's to handle. It compiles, and the import raises ModuleNotFoundError
        when it runs (guards.make_import), so the program's fallback runs. What is never
        importable in any form stays refused here."""
        if isinstance(node, ast.ImportFrom):
            if node.level:
                self.add(line, "import", "relative imports are not allowed", self.import_hint())
            names = [alias.name for alias in node.names]
        else:
            names = []
        for name in names:
            if name.startswith("_"):
                self.private.setdefault(line, set()).add(name)
                self.add(line, "private_name", f"'{name}' is private and cannot be imported", _PUBLIC_IMPORT_HINT)
                self.reported.setdefault(line, set()).add(f'"{name}" is')

    def check_import_from(self, node: ast.ImportFrom, line: int | None) -> None:
        if is_future_statement(node):
            return  # a compiler directive, not a module the program gets
        if node.level:
            self.add(line, "import", "relative imports are not allowed", self.import_hint())
        elif node.module not in self.policy.allowed_imports:
            self.add(line, "import", f"import from '{node.module}' is not allowed", self.import_hint())
        for alias in node.names:
            if alias.name.startswith("_"):
                self.private.setdefault(line, set()).add(alias.name)
                self.add(line, "private_name", f"'{alias.name}' is private and cannot be imported", _PUBLIC_IMPORT_HINT)
                self.reported.setdefault(line, set()).add(f'"{alias.name}" is')


def _restricted_python_violations(
    tree: ast.Module,
    private: dict[int | None, set[str]],
    reported: dict[int | None, set[str]],
    first_temporary: int,
    names_may_be_rebound: bool,
) -> list[Violation]:
    errors: list[str] = []
    transformer = SandboxTransformer(errors, [], {}, names_may_be_rebound=names_may_be_rebound)
    transformer._tmp_idx = first_temporary  # noqa: SLF001 - RestrictedPython's own counter
    transformer.visit(tree)
    out = []
    for error in errors:
        match = _RP_LINE.match(error)
        line = int(match.group(1)) if match and match.group(1).isdigit() else None
        text = match.group(2) if match else error
        # Set lookups, not scans: a line with thousands of private names stays linear.
        quoted = _QUOTED.search(text)
        if (quoted is not None and quoted.group(1) in private.get(line, ())) or any(
            word in text.lower() for word in reported.get(line, ())
        ):
            continue  # the same problem, already reported with a hint
        message, _, hint = text.rstrip(".").partition("; ")
        out.append(Violation(line, "restricted", message, hint or _RESTRICTED_HINT))
    return out


# CPython 3.11's limits on constant folding (Python/ast_opt.c): an expression that would
# exceed one is left to run time, and so costs nothing here.
_FOLD_MAX_INT_BITS = 128  # MAX_INT_SIZE
_FOLD_MAX_STR_ITEMS = 4096  # MAX_STR_SIZE, in characters or bytes
_FOLD_MAX_COLLECTION_ITEMS = 256  # MAX_COLLECTION_SIZE
_FOLD_MAX_TOTAL_ITEMS = 1024  # MAX_TOTAL_ITEMS, nested tuples counted
#: What a folded number or tuple slot costs in bytecode, at most.
_SMALL_BYTES = 16
_SLOT_BYTES = 8


@dataclass(frozen=True)
class _Folded:
    """What the compiler would make of a constant expression. ``size``: bytes for str
    and bytes (UTF-8 bytes at most 4 per character), items counted through nested tuples
    for tuples; ``length``: characters, bytes or items; ``value``: the value of an int."""

    kind: Literal["int", "number", "str", "bytes", "tuple"]
    length: int = 0
    size: int = 0
    value: int = 0


def _constant(value: object) -> _Folded | None:
    if isinstance(value, int):  # bool too, as in CPython
        return _Folded("int", value=int(value))
    if isinstance(value, (float, complex)):
        return _Folded("number")
    if isinstance(value, str):
        return _Folded("str", len(value), len(value) if value.isascii() else 4 * len(value))
    if isinstance(value, bytes):
        return _Folded("bytes", len(value), len(value))
    return None  # None, Ellipsis: nothing folds with them that grows


def _int_op(op: ast.operator, a: int, b: int) -> _Folded | None:
    """Fold two ints the way CPython does (never computing anything it would refuse)."""
    bits_a, bits_b = a.bit_length(), b.bit_length()
    try:
        if isinstance(op, ast.Add):
            return _Folded("int", value=a + b)
        if isinstance(op, ast.Sub):
            return _Folded("int", value=a - b)
        if isinstance(op, ast.Mult):
            return None if a and b and bits_a + bits_b > _FOLD_MAX_INT_BITS else _Folded("int", value=a * b)
        if isinstance(op, ast.Pow):
            if b < 0:
                return _Folded("number")
            return None if a and b and bits_a > _FOLD_MAX_INT_BITS // b else _Folded("int", value=a**b)
        if isinstance(op, ast.LShift):
            if b < 0 or (a and b and (b > _FOLD_MAX_INT_BITS or bits_a > _FOLD_MAX_INT_BITS - b)):
                return None
            return _Folded("int", value=a << b)
        if isinstance(op, (ast.RShift, ast.FloorDiv, ast.Mod, ast.BitOr, ast.BitAnd, ast.BitXor)):
            return _Folded("int", value=_eval_int(op, a, b))
    except (ArithmeticError, ValueError):
        return None
    return _Folded("number")  # true division


def _eval_int(op: ast.operator, a: int, b: int) -> int:
    """``a op b`` for the operators whose result is no larger than their operands."""
    if isinstance(op, ast.RShift):
        return a >> b
    if isinstance(op, ast.FloorDiv):
        return a // b
    if isinstance(op, ast.Mod):
        return a % b
    if isinstance(op, ast.BitOr):
        return a | b
    if isinstance(op, ast.BitAnd):
        return a & b
    return a ^ b


def _repeat(times: int, seq: _Folded) -> _Folded | None:
    """``seq * times`` as CPython folds it (safe_multiply), or None when it does not."""
    if seq.length == 0:
        return seq
    if seq.kind == "tuple":
        if times < 0 or times > _FOLD_MAX_COLLECTION_ITEMS // seq.length:
            return None
        if times and seq.size > _FOLD_MAX_TOTAL_ITEMS // times:
            return None
        return _Folded("tuple", seq.length * times, seq.size * times)
    if times < 0 or times > _FOLD_MAX_STR_ITEMS // seq.length:
        return None
    return _Folded(seq.kind, seq.length * times, seq.size * times)


def _binop(op: ast.operator, left: _Folded, right: _Folded) -> _Folded | None:
    if left.kind == "int" and right.kind == "int":
        return _int_op(op, left.value, right.value)
    numbers = ("int", "number")
    if left.kind in numbers and right.kind in numbers:
        return _Folded("number")
    if isinstance(op, ast.Mult):
        if left.kind == "int" and right.kind in ("str", "bytes", "tuple"):
            return _repeat(left.value, right)
        if right.kind == "int" and left.kind in ("str", "bytes", "tuple"):
            return _repeat(right.value, left)
    if isinstance(op, ast.Add) and left.kind == right.kind and left.kind in ("str", "bytes", "tuple"):
        return _Folded(left.kind, left.length + right.length, left.size + right.size)
    return None  # a TypeError at run time, or str % args: CPython leaves these alone


def _new_bytes(folded: _Folded) -> int:
    """Bytes the compiler builds for one folded expression (a tuple shares its items)."""
    if folded.kind in ("str", "bytes"):
        return folded.size
    if folded.kind == "tuple":
        return _SLOT_BYTES * folded.length
    if folded.kind == "int":
        return folded.value.bit_length() // 8 + _SMALL_BYTES
    return _SMALL_BYTES


def folded_bytes(tree: ast.AST) -> int:
    """An upper bound of the bytes CPython's constant folding builds compiling ``tree``:
    every folded expression counts, the intermediate ones of a chain too, so the bound
    also covers the time folding takes (``s1 + s2 + ...`` copies each prefix)."""
    folded: dict[int, _Folded] = {}
    total = 0
    stack: list[tuple[ast.AST, bool]] = [(tree, False)]
    while stack:
        node, children_done = stack.pop()
        if not children_done:
            stack.append((node, True))
            stack.extend((child, False) for child in ast.iter_child_nodes(node))
            continue
        result: _Folded | None = None
        if isinstance(node, ast.Constant):
            result = _constant(node.value)
            if result is not None:
                folded[id(node)] = result
            continue
        if isinstance(node, ast.Tuple) and isinstance(node.ctx, ast.Load):
            items = [folded.get(id(item)) for item in node.elts]
            if all(item is not None for item in items):
                nested = sum(item.size for item in items if item is not None and item.kind == "tuple")
                result = _Folded("tuple", len(items), len(items) + nested)
        elif isinstance(node, ast.UnaryOp):
            operand = folded.get(id(node.operand))
            if operand is not None and operand.kind in ("int", "number"):
                result = _Folded("number") if operand.kind == "number" else _unary(node.op, operand.value)
        elif isinstance(node, ast.BinOp):
            left, right = folded.get(id(node.left)), folded.get(id(node.right))
            if left is not None and right is not None:
                result = _binop(node.op, left, right)
        if result is not None:
            folded[id(node)] = result
            total += _new_bytes(result)
    return total


def _unary(op: ast.unaryop, value: int) -> _Folded:
    if isinstance(op, ast.USub):
        return _Folded("int", value=-value)
    if isinstance(op, ast.Invert):
        return _Folded("int", value=~value)
    if isinstance(op, ast.Not):
        return _Folded("int", value=int(not value))
    return _Folded("int", value=value)


def _too_large_compiled(size: int, source_bytes: int, estimated: bool) -> Violation:
    limit = compiled_limit_bytes(source_bytes)
    what = "compiling the program would build about" if estimated else "the compiled program is"
    message = (
        f"{what} {size} bytes, {size // max(source_bytes, 1)} times its source of {source_bytes} bytes; "
        f"the limit is {limit} bytes ({COMPILED_BYTES_PER_SOURCE_BYTE} times the source, "
        f"at least {COMPILED_FLOOR_BYTES})"
    )
    hint = (
        "build large constants at run time (n = 4096; s = 'x' * n) instead of writing them as "
        "expressions of literals such as 'x' * 4096, which the compiler expands into the program"
    )
    return Violation(None, "too_large_compiled", message, hint)


@dataclass(frozen=True)
class PreparedProgram:
    """The validator's verdict, and the program compiled when there is nothing to refuse."""

    violations: list[Violation]
    bytecode: bytes | None = None


def validate_source(code: str, policy: SourcePolicy) -> list[Violation]:
    """Every reason ``code`` may not run; empty when it may."""
    return prepare_program(code, policy).violations


#: At most this many replacement fields in one f-string, and ``=`` signs (keyword
#: arguments, defaults) in one pair of brackets. CPython parses the first and compiles
#: the second in time that grows faster than their size, in C, holding the GIL: one
#: 256 KiB f-string of 87 000 fields took 8-11 s to parse, one call with 24 000 keyword
#: arguments 6 s to compile, and the API's event loop waited that long behind the checker
#: thread. Ordinary code stays far below.
MAX_FSTRING_FIELDS = 2000
MAX_KEYWORDS_PER_BRACKET = 1000
_STRING_PREFIX = re.compile(r"[A-Za-z]*")


def _too_wide(code: str) -> Violation | None:
    """The shapes above, found by the tokenizer (linear, ~10 ms for 256 KiB) before the
    parser sees them. Source the tokenizer cannot read is left to the parser's verdict."""
    brackets: list[int] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(code).readline):
            if token.type == tokenize.STRING:
                prefix = _STRING_PREFIX.match(token.string)
                if prefix and "f" in prefix.group(0).lower():
                    fields = token.string.count("{") - 2 * token.string.count("{{")
                    if fields > MAX_FSTRING_FIELDS:
                        message = f"an f-string has more than {MAX_FSTRING_FIELDS} replacement fields"
                        return Violation(token.start[0], "too_wide", message, "build the text in a loop with join()")
            elif token.type == tokenize.OP:
                if token.string in "([{":
                    brackets.append(0)
                elif token.string in ")]}" and brackets:
                    brackets.pop()
                elif token.string == "=" and brackets:
                    brackets[-1] += 1
                    if brackets[-1] > MAX_KEYWORDS_PER_BRACKET:
                        message = f"a call or definition has more than {MAX_KEYWORDS_PER_BRACKET} keyword arguments"
                        return Violation(token.start[0], "too_wide", message, "pass the values in a dict")
    except (tokenize.TokenError, SyntaxError, ValueError):
        return None  # the parser reports what is wrong with it
    return None


def prepare_program(
    code: str,
    policy: SourcePolicy,
    first_temporary: int = 0,
    *,
    in_the_programs_namespace: bool = False,
    memory_ran_out: Callable[[], bool] | None = None,
) -> PreparedProgram:
    """Validate ``code`` and, if nothing is wrong, compile the tree RestrictedPython just
    transformed, so the worker does not parse, transform and compile it all over again
    (in a freshly forked process that work costs page faults, not just cycles).
    ``first_temporary``: the number of the first compiler temporary (``_tmpN``), so that a
    string run by eval/exec in the program's namespace never reuses the program's.
    ``in_the_programs_namespace``: a string for eval/exec, whose names may be the
    program's: no builtin is assumed unbound (so every call's result is admitted), and the
    string may not bind the names of those builtins (the program's calls would then skip
    the membrane). ``memory_ran_out``: whether an allocation failed since the string was
    handed over (a worker's: the parser's and the compiler's MemoryError on deep nesting is
    a refusal, one from memory the program exhausted is its memory limit, raised as is)."""
    wide = _too_wide(code)
    if wide is not None:
        return PreparedProgram([wide])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning for odd escapes is not our business
            tree = ast.parse(code, SOURCE_FILENAME)
    except SyntaxError as exc:
        hint = "fix the syntax and send it again"
        return PreparedProgram([Violation(exc.lineno, "syntax", f"SyntaxError: {exc.msg}", hint)])
    except (RecursionError, MemoryError) as exc:
        if isinstance(exc, MemoryError) and memory_ran_out is not None and memory_ran_out():
            raise
        message = "the program is nested too deeply to parse"
        return PreparedProgram([Violation(None, "too_deep", message, "flatten the nesting")])
    except ValueError as exc:  # e.g. NUL bytes in the source
        message = f"the source cannot be parsed: {exc}"
        return PreparedProgram([Violation(None, "syntax", message, "send plain UTF-8 Python source")])

    scan = _Scan(policy)
    try:
        violations = scan.run(tree)
        if scan.violations is violations and len(violations) < MAX_VIOLATIONS:  # past that the list is cut anyway
            violations += _restricted_python_violations(
                tree, scan.private, scan.reported, first_temporary, in_the_programs_namespace
            )
            if in_the_programs_namespace:
                for name in sorted(scan.bound & PLAIN_RESULT_BUILTINS):
                    message = f"a string run by eval()/exec() may not bind the builtin name '{name}'"
                    violations.append(Violation(None, "restricted", message, "choose another name"))
    except RecursionError:  # the shape check bounds depth; this is the last line of defence
        return PreparedProgram([Violation(None, "too_deep", "the program is nested too deeply", "flatten the nesting")])
    if violations:
        violations.sort(key=lambda v: v.line or 0)
        if len(violations) > MAX_VIOLATIONS:
            more = len(violations) - MAX_VIOLATIONS
            violations = [
                *violations[:MAX_VIOLATIONS],
                Violation(None, "more", f"{more} more violations not listed", "fix the ones above first"),
            ]
        return PreparedProgram(violations)
    # Before compiling: the compiler's folding is what costs the memory and the time.
    source_bytes = len(code.encode("utf-8", "surrogatepass"))
    estimate = folded_bytes(tree)
    if estimate > compiled_limit_bytes(source_bytes):
        return PreparedProgram([_too_large_compiled(estimate, source_bytes, estimated=True)])
    try:
        # dont_inherit: this module's `from __future__ import annotations` must not leak
        # into the program (it would stop evaluating the program's annotations).
        program = compile(tree, SOURCE_FILENAME, "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError, SystemError) as exc:
        # Errors only the compiler finds (e.g. 'return' outside a function). Out of memory
        # (3.11's compiler may then raise SystemError, "error return without exception
        # set"), the program's memory limit: raised as is, for the runner to decide.
        ran_out = memory_ran_out is not None and isinstance(exc, (MemoryError, SystemError)) and memory_ran_out()
        if ran_out or isinstance(exc, SystemError):
            raise
        line = getattr(exc, "lineno", None)
        message = f"SyntaxError: {getattr(exc, 'msg', None) or 'the program cannot be compiled'}"
        return PreparedProgram([Violation(line, "syntax", message, "fix the syntax and send it again")])
    bytecode = marshal.dumps(program)
    # The estimate's backstop: whatever else makes bytecode large is refused here, before
    # it is cached or sent (a job frame holds at most MAX_JOB_BYTES).
    if len(bytecode) > compiled_limit_bytes(source_bytes):
        return PreparedProgram([_too_large_compiled(len(bytecode), source_bytes, estimated=False)])
    return PreparedProgram([], bytecode)
