"""The compile-time half of the sandbox policy: RestrictedPython's transformer, extended.

RestrictingNodeTransformer already rewrites attribute access, subscripts, iteration,
unpacking, augmented assignment and print into calls to the guards in guards.py, and
refuses ``exec``/``eval`` calls, async code and any node type it has no rule for
(default deny). This subclass keeps all of that and decides names with the table in
names.py instead of RestrictedPython's blanket "no name may start with _", so ordinary
code runs:

* special methods can be defined in class bodies (allow-list), ``_private`` and
  ``__mangled`` names are the program's own, ``if __name__ == "__main__":`` works;
  the guard names the sandbox injects can never be bound;
* ``obj.attr += 1`` and ``items[k] += 1`` (each operand evaluated once, then the read
  through ``_getattr_``/``_getitem_`` and the write through ``_write_``);
* annotated assignments (dataclasses, NamedTuple, TypedDict, typed locals), ``nonlocal``;
* ``match`` statements: value and class patterns read attributes without a guard call,
  so their attribute names are checked here, statically (no ``_`` names, no frame or
  code introspection names); ``__match_args__`` is checked when the class is created;
* class statements keep their line number and keyword arguments;
* the value of a final expression statement is kept (``RESULT_NAME``), the way an
  interactive interpreter shows it; the name is not a valid identifier, so user code
  can neither read nor overwrite it.
"""

from __future__ import annotations

import ast
from typing import Any, cast

import RestrictedPython.transformer
from RestrictedPython.transformer import INSPECT_ATTRIBUTES, IOPERATOR_TO_STR, RestrictingNodeTransformer

from .names import INTROSPECTION_ATTRIBUTES, attribute_problem, binding_problem, mangle

#: Where the final expression's value is stored. Not an identifier: unreachable from code.
RESULT_NAME = "<result>"
#: The file name compiled code carries; the runner keeps only frames from this file.
SOURCE_FILENAME = "<code>"


_LOCATION = ("lineno", "end_lineno", "col_offset", "end_col_offset")


def copy_locations_pruned(new_node: ast.AST, old_node: ast.AST) -> None:
    """RestrictedPython's ``copy_locations`` (give a rewritten node the original's place),
    without its ``ast.fix_missing_locations(new_node)`` over the whole subtree.

    The nodes RestrictedPython creates are the only ones without a location, and it fixes
    them as soon as it creates them; the subtrees it wraps (``node.value`` of ``a.b``)
    already carry theirs. So the walk stops at any node that has a location. The stock
    helper re-walked every subtree at every rewrite, which made validating an ordinary
    1 KB program cost milliseconds. Only line/column metadata is at stake here, never a
    policy decision; tests compare the bytecode with the stock helper's.
    """
    for attr in _LOCATION:
        setattr(new_node, attr, getattr(old_node, attr, None))
    stack = [new_node]
    while stack:
        parent = stack.pop()
        for child in ast.iter_child_nodes(parent):
            if "lineno" not in child._attributes:  # noqa: SLF001 - ast's public field list
                stack.append(child)  # no location of its own (arguments, comprehension ...)
            elif getattr(child, "lineno", None) is None:
                for attr in _LOCATION:
                    setattr(child, attr, getattr(parent, attr, None))
                stack.append(child)
            # else: already located, and so is everything below it


RestrictedPython.transformer.copy_locations = copy_locations_pruned


def _call(name: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=ast.Name(name, ast.Load()), args=list(args), keywords=[])


class SandboxTransformer(RestrictingNodeTransformer):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        #: "module" / "class" / "function" for each enclosing scope.
        self._scopes: list[str] = ["module"]
        #: Names of the enclosing classes, innermost last (for private name mangling).
        self._classes: list[str] = []

    # ------------------------------------------------------------------ names

    def check_name(self, node: ast.AST, name: str | None, allow_magic_methods: bool = False) -> None:
        if name is None:
            return
        in_class_body = self._scopes[-1] == "class"
        is_method = isinstance(node, ast.FunctionDef) and node.name == name
        problem = binding_problem(name, in_class_body=in_class_body, is_method=is_method)
        if problem is not None:
            self.error(node, problem)
        elif name in ("print", "printed", "builtins", "breakpoint") and not isinstance(node, ast.Name):
            super().check_name(cast(Any, node), name)  # RestrictedPython's reserved names

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if isinstance(node.ctx, ast.Load) and node.id == "__name__":
            return node  # `if __name__ == "__main__":` reads the module's name, nothing more
        result = super().visit_Name(node)
        assert result is not None
        return result  # type: ignore[return-value]

    def check_import_names(self, node: ast.ImportFrom | ast.Import) -> ast.AST:
        modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
        for module in modules:
            if any(part.startswith("_") for part in module.split(".")):
                self.error(node, f'"{module}" is a private module and cannot be imported')
        return super().check_import_names(node)

    def _in_scope(self, kind: str, node: ast.AST, visit: object) -> ast.AST:
        self._scopes.append(kind)
        try:
            return visit(node)  # type: ignore[operator, no-any-return]
        finally:
            self._scopes.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        # RestrictedPython's own logic, with the body visited in a function scope (the
        # name itself is bound in the enclosing one: a method's name in the class body).
        self.check_name(node, node.name, allow_magic_methods=True)
        self.check_function_argument_names(node)

        def body(n: ast.FunctionDef) -> ast.AST:
            with self.print_info.new_print_scope():
                n = self.node_contents_visit(n)
                self.inject_print_collector(n)
            return n

        return self._in_scope("function", node, body)

    def check_function_argument_names(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        self._scopes.append("function")  # arguments are locals of the function
        try:
            super().check_function_argument_names(node)
        finally:
            self._scopes.pop()

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        return self._in_scope("function", node, super().visit_Lambda)

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        """RestrictedPython rebuilds every class from a template ``class X(metaclass=
        __metaclass__)``, which loses the statement's line (errors raised while building
        the class pointed at line 1) and its keywords (``class F(Flag, boundary=KEEP)``
        silently lost ``boundary``). Put both back; ``metaclass=`` stays refused."""
        if any(k.arg == "metaclass" for k in node.keywords):
            self.error(
                node,
                "metaclass= is not allowed; inherit from a base class instead (abc.ABC, enum.Enum, typing.NamedTuple)",
            )
            node.keywords = [k for k in node.keywords if k.arg != "metaclass"]
        keywords = node.keywords
        self.check_name(node, node.name)
        self._classes.append(node.name)
        try:
            rebuilt = self._in_scope("class", node, super().visit_ClassDef)
        finally:
            self._classes.pop()
        assert isinstance(rebuilt, ast.ClassDef)
        # The template's own nodes: the class and its `metaclass=__metaclass__` keyword.
        template_nodes = [rebuilt, *(part for k in rebuilt.keywords for part in (k, k.value))]
        for part in template_nodes:
            ast.copy_location(part, node)
        rebuilt.keywords.extend(k for k in keywords if k.arg != "metaclass")
        return rebuilt

    def visit_TryStar(self, node: ast.AST) -> ast.AST:
        self.error(node, "except* (exception groups) is not supported; catch the exception types with plain except")
        return node

    def visit_Nonlocal(self, node: ast.Nonlocal) -> ast.AST:
        for name in node.names:
            self.check_name(node, name)
        return node

    # ------------------------------------------------------------------ attributes

    def _mangled(self, attr: str) -> str:
        return mangle(attr, self._classes[-1] if self._classes else None)

    def _check_attribute(self, node: ast.AST, attr: str, *, store: bool) -> None:
        problem = attribute_problem(attr, store=store)
        if problem is not None:
            self.error(node, problem)
        if attr in INSPECT_ATTRIBUTES or attr in INTROSPECTION_ATTRIBUTES:
            self.error(node, f'"{attr}" is a restricted name, that is forbidden to access in RestrictedPython.')

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        """``a.b`` -> ``_getattr_(a, "b")``; ``a.b = c`` -> ``_write_(a).b = c``.

        The name passed to ``_getattr_`` is mangled the way Python mangles ``self.__x``
        in a class body, since a string constant is never mangled by the compiler (the
        store side stays an attribute node, which it does mangle)."""
        store = not isinstance(node.ctx, ast.Load)
        self._check_attribute(node, node.attr, store=store)
        node = self.node_contents_visit(node)
        if not store:
            new_node = _call("_getattr_", node.value, ast.Constant(self._mangled(node.attr)))
            copy_locations_pruned(new_node, node)
            return new_node
        # The attribute-store guard sees the name too (private and special names are only
        # writable on the program's own objects); the compiler mangles the store itself.
        new_value = _call("_write_attribute_", node.value, ast.Constant(self._mangled(node.attr)))
        copy_locations_pruned(new_value, node.value)
        node.value = new_value
        return node

    # ------------------------------------------------------------------ assignments

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST | list[ast.stmt]:
        """``n += 1`` stays RestrictedPython's; ``obj.x += 1`` and ``items[k] += 1`` become
        ``_t = obj; _write_(_t).x = _inplacevar_("+=", _getattr_(_t, "x"), 1)`` (and the
        same with a key temporary for items), so each operand is evaluated once, as in Python."""
        target = node.target
        if isinstance(target, ast.Name):
            # Native `n += x`: RestrictedPython routes it through _inplacevar_, a Python
            # call per operation (5x slower loops) that guards nothing here: the operator
            # acts on values the program already holds, exactly as `n = n + x` would.
            self.check_name(target, target.id)
            node.value = self.visit(node.value)
            return node
        operator = ast.Constant(IOPERATOR_TO_STR[type(node.op)])
        value = self.visit(node.value)
        obj_name = self.gen_tmp_name()
        statements: list[ast.stmt] = [
            ast.Assign(targets=[ast.Name(obj_name, ast.Store())], value=self.visit(target.value))
        ]
        if isinstance(target, ast.Attribute):
            self._check_attribute(target, target.attr, store=False)
            self._check_attribute(target, target.attr, store=True)
            current = _call("_getattr_", ast.Name(obj_name, ast.Load()), ast.Constant(self._mangled(target.attr)))
            write_target: ast.expr = ast.Attribute(
                value=_call(
                    "_write_attribute_", ast.Name(obj_name, ast.Load()), ast.Constant(self._mangled(target.attr))
                ),
                attr=target.attr,
                ctx=ast.Store(),
            )
        elif isinstance(target, ast.Subscript):
            key_name = self.gen_tmp_name()
            statements.append(ast.Assign(targets=[ast.Name(key_name, ast.Store())], value=self.visit(target.slice)))
            current = _call("_getitem_", ast.Name(obj_name, ast.Load()), ast.Name(key_name, ast.Load()))
            write_target = ast.Subscript(
                value=_call("_write_", ast.Name(obj_name, ast.Load())), slice=ast.Name(key_name, ast.Load()),
                ctx=ast.Store(),
            )  # fmt: skip
        else:  # pragma: no cover - the grammar allows nothing else
            self.not_allowed(node)
            return node
        statements.append(ast.Assign(targets=[write_target], value=_call("_inplacevar_", operator, current, value)))
        for statement in statements:
            copy_locations_pruned(statement, node)
        return statements

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        """``x: int = 1`` (typed locals, dataclass and NamedTuple fields). The target goes
        through the same name and write rules as a plain assignment; the annotation is an
        ordinary guarded expression."""
        return self.node_contents_visit(node)

    # ------------------------------------------------------------------ match

    def _check_static_reference(self, node: ast.expr) -> None:
        """A pattern's ``Color.RED`` or ``shapes.Point``: read by the interpreter without
        a guard call, so every attribute name in it is checked now."""
        while isinstance(node, ast.Attribute):
            self._check_attribute(node, node.attr, store=False)
            node = node.value
        if isinstance(node, ast.Name):
            self.check_name(node, node.id) if node.id != "__name__" else None

    def visit_Match(self, node: ast.Match) -> ast.AST:
        return self.node_contents_visit(node)

    def visit_match_case(self, node: ast.match_case) -> ast.AST:
        return self.node_contents_visit(node)

    def visit_MatchValue(self, node: ast.MatchValue) -> ast.AST:
        if isinstance(node.value, (ast.Attribute, ast.Name)):
            self._check_static_reference(node.value)
            return node  # must stay an attribute lookup: the compiler refuses calls here
        return self.node_contents_visit(node)

    def visit_MatchSingleton(self, node: ast.MatchSingleton) -> ast.AST:
        return node

    def visit_MatchSequence(self, node: ast.MatchSequence) -> ast.AST:
        return self.node_contents_visit(node)

    def visit_MatchMapping(self, node: ast.MatchMapping) -> ast.AST:
        for key in node.keys:
            if isinstance(key, (ast.Attribute, ast.Name)):
                self._check_static_reference(key)
        node.patterns = [self.visit(p) for p in node.patterns]
        self.check_name(node, node.rest)
        return node

    def visit_MatchClass(self, node: ast.MatchClass) -> ast.AST:
        self._check_static_reference(node.cls)
        for attr in node.kwd_attrs:
            self._check_attribute(node, attr, store=False)
            if attr.startswith("_"):
                self.error(node, f'class patterns may not match private attribute "{attr}"')
        node.patterns = [self.visit(p) for p in node.patterns]
        node.kwd_patterns = [self.visit(p) for p in node.kwd_patterns]
        return node

    def visit_MatchStar(self, node: ast.MatchStar) -> ast.AST:
        self.check_name(node, node.name)
        return node

    def visit_MatchAs(self, node: ast.MatchAs) -> ast.AST:
        self.check_name(node, node.name)
        return self.node_contents_visit(node)

    def visit_MatchOr(self, node: ast.MatchOr) -> ast.AST:
        return self.node_contents_visit(node)

    def visit_Module(self, node: ast.Module) -> ast.AST:
        node = super().visit_Module(node)  # type: ignore[assignment]
        # RestrictedPython strips the value of a statement it refused (`await x`).
        if node.body and isinstance(node.body[-1], ast.Expr) and getattr(node.body[-1], "value", None) is not None:
            last = node.body[-1]
            assign = ast.Assign(targets=[ast.Name(id=RESULT_NAME, ctx=ast.Store())], value=last.value)
            node.body[-1] = ast.copy_location(assign, last)
            ast.fix_missing_locations(assign)
        return node
