"""Method calls on built-in values that the compiled program makes natively.

``squares.append(x)``, ``counts.get(w, 0)``, ``", ".join(parts)``: through the guards
each is a ``_getattr_`` call that builds a bound method, then a call of it, where CPython
calls the C method directly (a specialised instruction for ``list.append``). For an
object whose exact type is one of ``RECEIVER_TYPES`` the guard's answer depends only on
the type and the name, and for the names listed in the worker's table it is the built-in
method bound to the object, unchanged. So the policy compiles such a call as

    (r.name(args) if _type_(r) in _native_name_ else _getattr_(r, "name")(args))

(an ``if`` statement where the result is thrown away: CPython then specialises
``list.append`` as it does for the plain call), and the worker fills each
``_native_<name>_`` (table_name) by asking its own ``_getattr_`` about each
type and name, once, before any job (worker/native_calls.py): a name the guard answers
differently for a type (``str.format`` is wrapped so that its fields go through the
guards) is not native for that type, and the guarded branch runs.

The receiver is evaluated once, and the object whose type was tested is the object
whose method is called, whatever other code runs meanwhile: a finaliser the garbage
collector calls between two loads, or a class namespace whose item reads run code, can
rebind a name, so a name is never simply loaded twice. Where an assignment expression
can hold the receiver in a variable of the running frame alone (the module's top level,
which runs once, and a function's body, where it is a fast local) the call compiles as

    (_tmp.name(args) if _type_(_tmp := r) in _native_name_ else _getattr_(_tmp, "name")(args))

with ``_tmp`` a temporary no program code can name. Inside a comprehension only a name
the comprehension itself iterates over is loaded twice (nothing else can rebind it: an
assignment expression that tries is a SyntaxError), and a str or bytes constant anywhere;
in a class body (and a function's defaults or decorators evaluated there), a
comprehension's iterable and an annotation, nothing else is native (an assignment
expression would bind in the class namespace, or is not allowed there). :func:`sites` decides this for each call, before
the policy rewrites the tree.

The arguments are written into both branches, so only where they are small (no call,
lambda, comprehension, await or yield among them: a nested native call inside would
double the code again). They are evaluated after the method is found in both branches,
as CPython evaluates them.
"""

from __future__ import annotations

import ast
import collections
import enum
import re
import types

#: Built-in classes without an instance dict: what ``obj.name`` finds is the class's.
RECEIVER_TYPES: tuple[type, ...] = (
    list,
    dict,
    set,
    frozenset,
    str,
    bytes,
    bytearray,
    tuple,
    int,
    float,
    collections.deque,
    re.Pattern,
    re.Match,
)

#: The public methods of those classes: the calls the policy compiles with a native branch.
METHOD_NAMES: frozenset[str] = frozenset(
    name
    for kind in RECEIVER_TYPES
    for name, member in vars(kind).items()
    if not name.startswith("_") and isinstance(member, types.MethodDescriptorType)
)


def table_name(method: str) -> str:
    """The guard global holding the exact types for which ``method`` is called natively
    (reserved: names.is_reserved)."""
    return f"_native_{method}_"


class Form(enum.Enum):
    """How a native call loads its receiver (see the module's docstring)."""

    BIND = "bind"  # held in a temporary by an assignment expression
    RELOAD = "reload"  # loaded again: a constant, or a comprehension's own variable


#: What may not be among the arguments of a call compiled with a native branch: the
#: arguments are written into both branches, and these would run twice as much code per
#: level of nesting (a native call in an argument) or define things twice.
_NOT_DUPLICATED = (
    ast.Call, ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp,
    ast.NamedExpr, ast.Await, ast.Yield, ast.YieldFrom, ast.Starred,
)  # fmt: skip

_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


class _Scope(enum.Enum):
    """Where an expression is evaluated, as far as holding the receiver goes."""

    FRAME = "frame"  # module top level or a function's body: an assignment expression binds here
    CLASS = "class"  # a class body: names live in its namespace, whose reads may run code
    COMPREHENSION = "comprehension"  # a comprehension's element and conditions
    FIXED = "fixed"  # comprehensions' iterables and annotations: no assignment expression allowed


def _shape_allows(node: ast.Call) -> bool:
    """``r.name(args)`` with ``name`` one of the built-in classes' methods and arguments
    small enough to write twice."""
    func = node.func
    if not (isinstance(func, ast.Attribute) and func.attr in METHOD_NAMES):
        return False
    if any(keyword.arg is None for keyword in node.keywords):
        return False
    arguments = [*node.args, *(keyword.value for keyword in node.keywords)]
    return not any(isinstance(inner, _NOT_DUPLICATED) for argument in arguments for inner in ast.walk(argument))


def _comprehension_names(node: ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp) -> frozenset[str]:
    # The names the comprehension binds: `o` in `for o[0] in ...` is only read.
    return frozenset(
        name.id
        for generator in node.generators
        for name in ast.walk(generator.target)
        if isinstance(name, ast.Name) and isinstance(name.ctx, ast.Store)
    )


def sites(tree: ast.AST) -> dict[int, Form]:
    """The calls of ``tree`` (by ``id``) that may be compiled with a native branch, and how
    each holds its receiver. Every other call stays guarded only."""
    found: dict[int, Form] = {}

    def form(call: ast.Call, scope: _Scope, iterated: frozenset[str]) -> Form | None:
        assert isinstance(call.func, ast.Attribute)
        receiver = call.func.value
        if isinstance(receiver, ast.Constant) and type(receiver.value) in (str, bytes):
            return Form.RELOAD
        if scope is _Scope.FRAME:
            return Form.BIND
        if scope is _Scope.COMPREHENSION and isinstance(receiver, ast.Name) and receiver.id in iterated:
            return Form.RELOAD
        return None

    def visit(node: ast.AST, scope: _Scope, iterated: frozenset[str]) -> None:
        # Below a comprehension's iterable, the compiler refuses an assignment expression
        # even in a lambda's body: every scope there stays FIXED.
        frame = _Scope.FIXED if scope is _Scope.FIXED else _Scope.FRAME
        if isinstance(node, _FUNCTIONS):
            header: list[ast.AST] = [*node.decorator_list, node.args]
            for part in header:  # evaluated where the statement is
                visit(part, scope, iterated)
            if node.returns is not None:
                visit(node.returns, _Scope.FIXED, frozenset())
            for statement in node.body:
                visit(statement, frame, frozenset())
            return
        if isinstance(node, ast.Lambda):
            visit(node.args, scope, iterated)
            visit(node.body, frame, frozenset())
            return
        if isinstance(node, ast.ClassDef):
            for part in [*node.decorator_list, *node.bases, *node.keywords]:
                visit(part, scope, iterated)
            for statement in node.body:
                visit(statement, _Scope.CLASS, frozenset())
            return
        if isinstance(node, _COMPREHENSIONS):
            inner = _comprehension_names(node)
            for generator in node.generators:
                visit(generator.iter, _Scope.FIXED, frozenset())
                visit(generator.target, _Scope.COMPREHENSION, inner)
                for condition in generator.ifs:
                    visit(condition, _Scope.COMPREHENSION, inner)
            elements = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
            for element in elements:
                visit(element, _Scope.COMPREHENSION, inner)
            return
        if isinstance(node, (ast.arg, ast.AnnAssign)) and node.annotation is not None:
            visit(node.annotation, _Scope.FIXED, frozenset())
            for child in ast.iter_child_nodes(node):
                if child is not node.annotation:
                    visit(child, scope, iterated)
            return
        if isinstance(node, ast.Call) and _shape_allows(node):
            chosen = form(node, scope, iterated)
            if chosen is not None:
                found[id(node)] = chosen
        for child in ast.iter_child_nodes(node):
            visit(child, scope, iterated)

    visit(tree, _Scope.FRAME, frozenset())
    return found
