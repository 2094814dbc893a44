"""Attribute reads and writes on instances of the program's own classes, made natively.

``self.x`` and ``self.x = v`` in a method are, through the guards, a call of
``_getattr_`` / ``_write_attribute_`` each (~90 ns), where CPython's specialised
instructions take a few. For an instance of a class the program defined (a class of
``_own_kinds_``, which the class factory fills: worker/ownership.py
``note_native_attributes``: not for a class with a library base whose public methods the
library's code calls), and a public name, the guards' answer does not depend on the name:
a write is always accepted, and a read is the attribute as ``getattr`` finds it,
passed through the membrane (``_admit_``). So for a parameter of a function that the
function never rebinds, the policy compiles (the first line only for a parameter read
this way at least twice: the check costs about what two guarded reads save)

    _tmp = _type_(p) in _own_kinds_             # once, as the call starts, before p's
    if not _tmp and _type_(p) not in _plain_:   # own check, which it then spares
        p = _admit_(p)
    (_r if _type_(_r := p.x) in _plain_ else _admit_(_r)) if _tmp else _getattr_(p, "x")
    if _tmp: p.x = v                            # _type_(p) in _own_kinds_ if p has no flag
    else: _write_attribute_(p, "x").x = v

A parameter is a fast local: no other code can rebind it, and the program cannot change
an object's class (``__class__`` is never writable), so the answer made as the call starts
holds for every read and write in the call (a finished class of the program stays in
``_own_kinds_``: only a failed class statement abandons a class, one it was building).
Names that start with ``_`` and the names the guards treat with care for some
receivers (``format``, ``mro``...) always take the guards. Only the function's own scope
is rewritten (a nested function, lambda, class or comprehension keeps the guards).
"""

from __future__ import annotations

import ast
import collections
import copy
from collections.abc import Callable, Iterator
from typing import TypeVar

from .names import CAREFUL_ATTRIBUTES, is_temporary

#: The worker's set of the program's classes whose instances take native reads and writes.
OWN_KINDS = "_own_kinds_"
#: Uses of a parameter below this many keep the guards (the check would cost more).
_WORTH_A_CHECK = 2

_NESTED_SCOPES = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.Lambda,
    ast.ClassDef,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
)


def _native_name(name: object) -> str | None:
    if isinstance(name, str) and not name.startswith("_") and name not in CAREFUL_ATTRIBUTES:
        return name
    return None


def _guarded(node: ast.AST, guard: str) -> tuple[str, str] | None:
    """(parameter, name) for ``guard(parameter, "name")`` with a native name, else None."""
    if not (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == guard
        and len(node.args) == 2  # the object and the name
        and not node.keywords
    ):
        return None
    target, name = node.args
    if not isinstance(target, ast.Name) or not isinstance(name, ast.Constant):
        return None
    native = _native_name(name.value)
    return None if native is None else (target.id, native)


def _written(statement: ast.AST) -> tuple[str, str] | None:
    """(parameter, name) for ``_write_attribute_(parameter, "name").name = value``."""
    if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1):
        return None
    target = statement.targets[0]
    if not isinstance(target, ast.Attribute):
        return None
    site = _guarded(target.value, "_write_attribute_")
    return site if site is not None and site[1] == target.attr else None


def _own_scope(nodes: list[ast.stmt]) -> Iterator[ast.AST]:
    """Every node of these statements, not descending into a nested scope."""
    pending: list[ast.AST] = list(nodes)
    while pending:
        node = pending.pop()
        yield node
        if isinstance(node, _NESTED_SCOPES):
            continue
        pending.extend(ast.iter_child_nodes(node))


def _parameter_names(function: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> list[str]:
    arguments = function.args
    names = [a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)]
    names += [a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None]
    return names


def _names_bound_by(node: ast.AST) -> list[str]:
    """The names ``node`` itself binds, in whichever scope (a nested function's parameters
    too: shadowing counts as rebinding here, which only ever costs a native branch)."""
    if isinstance(node, ast.Name):
        return [] if isinstance(node.ctx, ast.Load) else [node.id]
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        own = [] if isinstance(node, ast.Lambda) else [node.name]
        return own + _parameter_names(node)
    if isinstance(node, ast.ClassDef):
        return [node.name]
    if isinstance(node, ast.alias):
        return [(node.asname or node.name).partition(".")[0]]
    if isinstance(node, (ast.MatchAs, ast.MatchStar, ast.ExceptHandler)):
        return [node.name] if node.name else []
    if isinstance(node, ast.MatchMapping):
        return [node.rest] if node.rest else []
    if isinstance(node, (ast.Global, ast.Nonlocal)):
        return list(node.names)
    return []


def _mangled(name: str) -> bool:
    """Whether the compiler mangles ``name`` inside a class (``__p``, not ``__p__``)."""
    return name.startswith("__") and not name.endswith("__")


def _compiled_name(name: str, cls: str | None) -> str:
    """``name`` as the compiler spells it inside the class ``cls`` (the innermost one around
    it, or None): a private name ``__p`` becomes ``_C__p``."""
    owner = (cls or "").lstrip("_")
    return f"_{owner}{name}" if owner and _mangled(name) else name


def rebound_parameters(tree: ast.AST) -> dict[int, set[str]]:
    """For each function of ``tree`` (by id), its parameters that something in its body binds
    anywhere, nested scopes included: one pass, however deep functions nest (a binding
    marks the functions it is in that have such a parameter, innermost first, and stops
    at one already marked: the ones outside it were marked with it). Names are matched as
    the compiler spells them (``__p`` inside class C is ``_C__p``, whichever way the source
    spells it), so each binding costs one lookup, however many names the program has."""
    rebound: dict[int, set[str]] = {}
    # compiled parameter name -> (function having it, its spelling there), innermost last
    enclosing: dict[str, list[tuple[ast.AST, str]]] = {}
    # (node, leaving it, the innermost class around it)
    pending: list[tuple[ast.AST, bool, str | None]] = [(tree, False, None)]
    while pending:
        node, leaving, cls = pending.pop()
        if leaving:
            for name in _parameter_names(node):  # type: ignore[arg-type]
                enclosing[_compiled_name(name, cls)].pop()
            continue
        for bound in _names_bound_by(node):
            for function, spelling in reversed(enclosing.get(_compiled_name(bound, cls), ())):
                marked = rebound.setdefault(id(function), set())
                if spelling in marked:
                    break
                marked.add(spelling)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            pending.append((node, True, cls))
            for name in _parameter_names(node):
                enclosing.setdefault(_compiled_name(name, cls), []).append((node, name))
            arguments = node.args
            # Its annotations too: an assignment expression there binds in the enclosing
            # scope (counted here for this function as well, which only costs a branch).
            annotations = [
                a.annotation
                for a in (
                    *arguments.posonlyargs,
                    *arguments.args,
                    *arguments.kwonlyargs,
                    arguments.vararg,
                    arguments.kwarg,
                )
                if a is not None and a.annotation is not None
            ]
            inside = [
                *node.body,
                *node.decorator_list,
                *arguments.defaults,
                *arguments.kw_defaults,
                *annotations,
                node.returns,
            ]
            pending.extend((child, False, cls) for child in inside if child is not None)
        elif isinstance(node, ast.ClassDef):
            # Its body is compiled inside it; its decorators, bases and keywords outside.
            pending.extend((child, False, node.name) for child in node.body)
            outside = [*node.decorator_list, *node.bases, *node.keywords]
            pending.extend((child, False, cls) for child in outside)
        else:
            pending.extend((child, False, cls) for child in ast.iter_child_nodes(node))
    return rebound


def rewrite(function: ast.FunctionDef, rebound: set[str], first: int, temporary: Callable[[], str]) -> None:
    """Compile the native branches into ``function`` (already through the policy), for its
    parameters not in ``rebound`` (every name its own code binds anywhere, nested scopes
    included); the checks go at statement ``first`` (after the parameters passed the
    membrane)."""
    arguments = function.args
    parameters = [a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)]
    if not parameters:
        return
    # A parameter spelt ``__p`` is ``_C__p`` to the compiler, which any binding of that
    # spelling rebinds: never read natively.
    unbound = {name for name in parameters if name not in rebound and not _mangled(name)}
    # ``p.method(...)`` stays guarded: the guard answers for the program's bound method
    # in C, the membrane would take its slow path.
    calls: set[int] = set()
    reads: list[tuple[ast.AST, str]] = []
    writes = 0
    stores: collections.Counter[str] = collections.Counter()
    copies: dict[str, str] = {}  # the policy's `_tmp = p` (obj.x += v holds obj once)
    for node in _own_scope(function.body):
        if isinstance(node, ast.Call):
            calls.add(id(node.func))
            site = _guarded(node, "_getattr_")
            if site is not None:
                reads.append((node, site[0]))
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            stores[node.id] += 1
        elif isinstance(node, ast.Assign):
            writes += _written(node) is not None
            target, value = node.targets[0], node.value
            if (
                len(node.targets) == 1
                and isinstance(target, ast.Name)
                and is_temporary(target.id)
                and isinstance(value, ast.Name)
                and value.id in unbound
            ):
                copies[target.id] = value.id
    # A temporary bound once, to a parameter never rebound, is that parameter all along.
    owners = {name: name for name in unbound}
    owners.update((copy_, parameter) for copy_, parameter in copies.items() if stores[copy_] == 1)
    counts = collections.Counter(owners[name] for node, name in reads if id(node) not in calls and name in owners)
    flagged = [p for p in parameters if p in unbound and counts[p] >= _WORTH_A_CHECK]  # in order: the same code
    if not flagged and not writes:
        return
    flag_of = {parameter: temporary() for parameter in flagged}
    flags = {name: flag_of[owner] for name, owner in owners.items() if owner in flag_of}
    read = temporary() if flagged else ""
    _Native(set(owners), flags, calls, temporary, read).visit_statements(function.body)
    checks = [
        _located(ast.Assign(targets=[ast.Name(flag, ast.Store())], value=_is_own(parameter)), function)
        for parameter, flag in flag_of.items()
    ]
    entry = _first_parameter_check(function.body[:first], flag_of)
    if entry is None:
        function.body[first:first] = checks
    else:
        # Made before the parameters pass the membrane, which one of the program's own
        # instances passes as it is (its class is plain): the parameter's check then
        # costs nothing more for it.
        function.body[entry:entry] = checks


def _first_parameter_check(statements: list[ast.stmt], flag_of: dict[str, str]) -> int | None:
    """Where the first inline check of a flagged parameter is among the checks the policy
    put first (``if _type_(p) not in _plain_: p = _admit_(p)``), each flagged parameter's
    made to skip the lookup when its flag holds; None if a flagged parameter has none."""
    found: dict[str, int] = {}
    if not flag_of:
        return None
    for index, statement in enumerate(statements):
        parameter = _checked_parameter(statement)
        if parameter in flag_of:
            found[parameter] = index
    if found.keys() != flag_of.keys():
        return None
    for parameter, index in found.items():
        check = statements[index]
        assert isinstance(check, ast.If)
        skip = ast.UnaryOp(ast.Not(), ast.Name(flag_of[parameter], ast.Load()))
        check.test = ast.BoolOp(ast.And(), [skip, check.test])
    return min(found.values())


def _checked_parameter(statement: ast.stmt) -> str | None:
    """``p`` for ``if _type_(p) not in _plain_: p = _admit_(p)``, else None."""
    if not (isinstance(statement, ast.If) and isinstance(statement.test, ast.Compare) and not statement.orelse):
        return None
    test = statement.test
    kind = test.left
    if not (
        isinstance(kind, ast.Call)
        and isinstance(kind.func, ast.Name)
        and kind.func.id == "_type_"
        and len(kind.args) == 1
        and isinstance(kind.args[0], ast.Name)
        and isinstance(test.ops[0], ast.NotIn)
        and isinstance(test.comparators[0], ast.Name)
        and test.comparators[0].id == "_plain_"
    ):
        return None
    return kind.args[0].id


def _is_own(parameter: str) -> ast.expr:
    kind = ast.Call(ast.Name("_type_", ast.Load()), [ast.Name(parameter, ast.Load())], [])
    return ast.Compare(kind, [ast.In()], [ast.Name(OWN_KINDS, ast.Load())])


_Node = TypeVar("_Node", bound=ast.AST)


def _located(new: _Node, old: ast.AST) -> _Node:
    """``new`` (made here) placed at ``old``; the nodes made inside it get theirs from the
    one ``fix_missing_locations`` the policy runs at the end of the module."""
    return ast.copy_location(new, old)


class _Native(ast.NodeTransformer):
    def __init__(
        self, names: set[str], flags: dict[str, str], calls: set[int], temporary: Callable[[], str], read: str
    ) -> None:
        self._names = names  # the parameters never rebound, and their copies
        self._flags = flags  # name -> the check made as the call started
        self._calls = calls
        self._temporary = temporary
        self._read = read  # the temporary a native read lands in while it is checked

    def visit_statements(self, body: list[ast.stmt]) -> None:
        visited: list[ast.stmt] = []
        for statement in body:
            result = self.visit(statement)
            visited.extend(result if isinstance(result, list) else [result])
        body[:] = visited

    def generic_visit(self, node: ast.AST) -> ast.AST:
        if isinstance(node, _NESTED_SCOPES):
            return node  # its own scope: the guards as they are
        return super().generic_visit(node)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        visited = self.generic_visit(node)
        site = _guarded(node, "_getattr_")
        if site is None or site[0] not in self._flags or id(node) in self._calls:
            return visited
        holder, name = site
        # ``_r if _type_(_r := p.x) in _plain_ else _admit_(_r)``: the membrane's own
        # test, without a call for a plain value. One temporary serves every read: a read
        # holds no other read inside it.
        read = ast.Attribute(ast.Name(holder, ast.Load()), name, ast.Load())
        landed = ast.NamedExpr(ast.Name(self._read, ast.Store()), read)
        kind = ast.Call(ast.Name("_type_", ast.Load()), [landed], [])
        native = ast.IfExp(
            test=ast.Compare(kind, [ast.In()], [ast.Name("_plain_", ast.Load())]),
            body=ast.Name(self._read, ast.Load()),
            orelse=ast.Call(ast.Name("_admit_", ast.Load()), [ast.Name(self._read, ast.Load())], []),
        )
        return _located(ast.IfExp(ast.Name(self._flags[holder], ast.Load()), native, node), node)

    def visit_Assign(self, node: ast.Assign) -> ast.AST:
        site = _written(node)
        visited = self.generic_visit(node)
        if site is None or site[0] not in self._names:
            return visited
        holder, name = site
        statements: list[ast.stmt] = []
        value = node.value
        if not isinstance(value, (ast.Name, ast.Constant)):
            # Evaluated once, first (as CPython evaluates it before the store), into a
            # temporary both branches store: no copy of the expression, however deep.
            held = self._temporary()
            statements.append(_located(ast.Assign(targets=[ast.Name(held, ast.Store())], value=value), node))
            value = node.value = ast.Name(held, ast.Load())
        store = ast.Attribute(ast.Name(holder, ast.Load()), name, ast.Store())
        native = ast.Assign(targets=[store], value=copy.copy(value))
        # The check made as the call started, if there is one (a flagged parameter): its
        # class cannot change meanwhile, nor stop being one of the program's finished
        # classes (only a class statement that fails abandons a class, and only one it
        # was building).
        own = ast.Name(self._flags[holder], ast.Load()) if holder in self._flags else _is_own(holder)
        statements.append(_located(ast.If(test=own, body=[native], orelse=[node]), node))
        if len(statements) == 2:
            # Let go of the value once stored: the attribute holds it as long as the program
            # does (p.data = big; p.data = None must give big back).
            release = ast.Assign(targets=[ast.Name(held, ast.Store())], value=ast.Constant(None))
            statements.append(_located(release, node))
        return statements  # type: ignore[return-value]
