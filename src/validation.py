"""validate_source(code, policy) -> list[Violation]: refuse what cannot run, before a worker is spent.

Runs in the API process, on every request, in this order: parse, node count and nesting
depth (iteratively, so a hostile nesting cannot overflow this process's stack), the
import allow-list and the forbidden names and attributes (with a hint for each), and
finally RestrictedPython's own transformer with the same policy class the worker
compiles with, so nothing the worker would refuse gets past here. Every violation is
collected with its line, not just the first.

The worker enforces all of this again at compile and run time: this layer exists to give
a fast, precise 400 that an LLM can act on in one retry, not to be the only line.
"""

from __future__ import annotations

import ast
import marshal
import re
import warnings
from dataclasses import dataclass

from .errors import Violation
from .worker.policy import SOURCE_FILENAME, SandboxTransformer

#: Builtins deliberately missing in the sandbox, with what to do instead.
FORBIDDEN_NAMES: dict[str, str] = {
    "open": "there is no file system; pass data in through the request's `context`",
    "eval": "dynamic code is not allowed; write the expression directly",
    "exec": "dynamic code is not allowed; write the statements directly",
    "compile": "dynamic code is not allowed; write the code directly",
    "globals": "namespace introspection is not available; use the names directly",
    "locals": "namespace introspection is not available; use the names directly",
    "vars": "namespace introspection is not available; use the attributes directly",
    "dir": "introspection is not available; use documented attributes",
    "input": "there is no stdin; pass data in through the request's `context`",
    "breakpoint": "there is no debugger in the sandbox",
    "help": "there is no interactive help in the sandbox",
    "exit": "end the program by reaching its end; raise an exception to report failure",
    "quit": "end the program by reaching its end; raise an exception to report failure",
}
_ATTRIBUTE_FUNCTIONS = frozenset({"getattr", "setattr", "delattr", "hasattr"})
_RP_LINE = re.compile(r"^Line (\d+): (.*)$", re.S)
_QUOTED = re.compile(r'"([^"]*)"')
#: A 400 lists at most this many violations (an LLM fixes the first ones and retries;
#: listing 10 000 would cost the server and the caller's context for nothing).
MAX_VIOLATIONS = 50


@dataclass(frozen=True)
class SourcePolicy:
    max_ast_nodes: int
    max_ast_depth: int
    allowed_imports: frozenset[str]


def _shape_violations(tree: ast.AST, policy: SourcePolicy) -> list[Violation]:
    """Node count and nesting depth, walked with an explicit stack."""
    count = 0
    stack: list[tuple[ast.AST, int, int | None]] = [(tree, 0, None)]
    while stack:
        node, depth, line = stack.pop()
        line = getattr(node, "lineno", line)  # nearest enclosing line, for nodes without one
        count += 1
        if count > policy.max_ast_nodes:
            message = f"the program has more than {policy.max_ast_nodes} syntax nodes"
            return [Violation(None, "too_many_nodes", message, "send a shorter program")]
        if depth > policy.max_ast_depth:
            message = f"expressions or blocks are nested more than {policy.max_ast_depth} deep"
            return [
                Violation(line, "too_deep", message, "flatten the nesting with intermediate variables or functions")
            ]
        stack.extend((child, depth + 1, line) for child in ast.iter_child_nodes(node))
    return []


def _bound_names(tree: ast.AST) -> set[str]:
    """Names the program binds itself: a variable called ``dir`` is not the builtin."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).partition(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


class _PolicyVisitor(ast.NodeVisitor):
    def __init__(self, policy: SourcePolicy, bound: set[str]) -> None:
        self.policy = policy
        self.bound = bound
        self.violations: list[Violation] = []
        #: line -> private names / words of other problems reported there, so that
        #: RestrictedPython's message for the same problem is not listed twice.
        self.private: dict[int | None, set[str]] = {}
        self.reported: dict[int | None, set[str]] = {}
        self.line: int | None = None

    def _add(self, node: ast.AST, rule: str, message: str, hint: str = "") -> None:
        self.violations.append(Violation(getattr(node, "lineno", self.line), rule, message, hint))

    def _import_hint(self) -> str:
        return "allowed modules: " + ", ".join(sorted(self.policy.allowed_imports))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name not in self.policy.allowed_imports:
                self._add(node, "import", f"import of '{alias.name}' is not allowed", self._import_hint())

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            self._add(node, "import", "relative imports are not allowed", self._import_hint())
        elif node.module not in self.policy.allowed_imports:
            self._add(node, "import", f"import from '{node.module}' is not allowed", self._import_hint())
        for alias in node.names:
            if alias.name.startswith("_"):
                self.private.setdefault(node.lineno, set()).add(alias.name)
                self._add(node, "private_name", f"'{alias.name}' is private and cannot be imported")

    def visit_Name(self, node: ast.Name) -> None:
        hint = FORBIDDEN_NAMES.get(node.id)
        if hint is not None and isinstance(node.ctx, ast.Load) and node.id not in self.bound:
            self.reported.setdefault(node.lineno, set()).add(f"{node.id} call")
            self._add(node, "forbidden_name", f"'{node.id}' is not available in the sandbox", hint)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr.startswith("_"):
            self.private.setdefault(node.lineno, set()).add(node.attr)
            self._add(
                node,
                "private_attribute",
                f"attribute '{node.attr}' starts with '_' and cannot be used in the sandbox",
                "use the object's public interface",
            )
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in _ATTRIBUTE_FUNCTIONS and len(node.args) >= 2:
            name = node.args[1]
            if isinstance(name, ast.Constant) and isinstance(name.value, str) and name.value.startswith("_"):
                self.private.setdefault(node.lineno, set()).add(name.value)
                self._add(
                    node,
                    "private_attribute",
                    f"{func.id}() of '{name.value}': names starting with '_' are private in the sandbox",
                    "use the object's public interface",
                )
        self.generic_visit(node)

    def generic_visit(self, node: ast.AST) -> None:
        self.line = getattr(node, "lineno", self.line)  # for nodes without a line (comprehension)
        super().generic_visit(node)

    def _no_async(self, node: ast.AST) -> None:
        line = getattr(node, "lineno", self.line)
        self.reported.setdefault(line, set()).update({"async", "await"})
        self._add(node, "async", "async code is not supported in the sandbox", "use ordinary functions and loops")
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_Await = visit_AsyncFor = visit_AsyncWith = _no_async

    def visit_comprehension(self, node: ast.comprehension) -> None:
        if node.is_async:
            self._no_async(node)
        else:
            self.generic_visit(node)


def _restricted_python_violations(
    tree: ast.Module, private: dict[int | None, set[str]], reported: dict[int | None, set[str]]
) -> list[Violation]:
    errors: list[str] = []
    SandboxTransformer(errors, [], {}).visit(tree)
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
        out.append(Violation(line, "restricted", text.rstrip(".") + "."))
    return out


@dataclass(frozen=True)
class PreparedProgram:
    """The validator's verdict, and the program compiled when there is nothing to refuse."""

    violations: list[Violation]
    bytecode: bytes | None = None


def validate_source(code: str, policy: SourcePolicy) -> list[Violation]:
    """Every reason ``code`` may not run; empty when it may."""
    return prepare_program(code, policy).violations


def prepare_program(code: str, policy: SourcePolicy) -> PreparedProgram:
    """Validate ``code`` and, if nothing is wrong, compile the tree RestrictedPython just
    transformed, so the worker does not parse, transform and compile it all over again
    (in a freshly forked process that work costs page faults, not just cycles)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning for odd escapes is not our business
            tree = ast.parse(code, SOURCE_FILENAME)
    except SyntaxError as exc:
        hint = "fix the syntax and send it again"
        return PreparedProgram([Violation(exc.lineno, "syntax", f"SyntaxError: {exc.msg}", hint)])
    except (RecursionError, MemoryError):
        message = "the program is nested too deeply to parse"
        return PreparedProgram([Violation(None, "too_deep", message, "flatten the nesting")])
    except ValueError as exc:  # e.g. NUL bytes in the source
        message = f"the source cannot be parsed: {exc}"
        return PreparedProgram([Violation(None, "syntax", message, "send plain UTF-8 Python source")])

    shape = _shape_violations(tree, policy)
    if shape:
        return PreparedProgram(shape)  # walking further could be expensive; this is enough to act on
    visitor = _PolicyVisitor(policy, _bound_names(tree))
    try:
        visitor.visit(tree)
        violations = visitor.violations
        if len(violations) < MAX_VIOLATIONS:  # past that the list is cut anyway
            violations += _restricted_python_violations(tree, visitor.private, visitor.reported)
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
    try:
        # dont_inherit: this module's `from __future__ import annotations` must not leak
        # into the program (it would stop evaluating the program's annotations).
        program = compile(tree, SOURCE_FILENAME, "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        # Errors only the compiler finds (e.g. 'return' outside a function).
        line = getattr(exc, "lineno", None)
        message = f"SyntaxError: {getattr(exc, 'msg', None) or 'the program cannot be compiled'}"
        return PreparedProgram([Violation(line, "syntax", message, "fix the syntax and send it again")])
    return PreparedProgram([], marshal.dumps(program))
