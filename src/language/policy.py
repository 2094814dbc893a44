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
import __future__

import ast
import copy
from typing import Any, cast

import RestrictedPython.transformer
from RestrictedPython.transformer import INSPECT_ATTRIBUTES, RestrictingNodeTransformer

from . import native_attributes, native_calls, temporaries
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


def _load(name: str) -> ast.Name:
    return ast.Name(name, ast.Load())


#: Builtins whose result the C implementation guarantees to be a fresh plain value (a
#: number, a bool, a new str/list/tuple/dict/set, an iterator whose elements are checked
#: when iterated). A call to one of these names, when the program never binds the name,
#: skips the membrane. Not here: anything that returns an element of its argument or the
#: result of a special method (min, max, next, iter, sum, abs, round, reversed ...).
PLAIN_RESULT_BUILTINS = frozenset(
    {"len", "isinstance", "issubclass", "callable", "hash", "id", "bool", "int", "float", "repr", "ascii",
     "format", "chr", "ord", "bin", "hex", "oct", "range", "enumerate", "zip", "list", "tuple", "dict", "set",
     "frozenset", "sorted", "map", "filter", "print", "str"}
)  # fmt: skip


def _bound_names(tree: ast.AST) -> set[str]:
    """Every name the program binds anywhere (so a builtin's name may mean something else)."""
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
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names.update(node.names)
    return names


def _admitted(name: str, *, rebind: bool = True) -> ast.expr:
    """``_type_(name) in _plain_ or (name := _admit_(name)) is name``: true, with ``name``
    rebound to what the membrane admits (the common, plain case costs no call). Without
    ``rebind`` (a lambda inside a comprehension's iterable cannot hold ``:=``), the slow
    part is ``_admit_unchanged_(name)``, which refuses what it cannot pass unchanged."""
    fast = ast.Compare(_call("_type_", _load(name)), [ast.In()], [_load("_plain_")])
    if not rebind:
        return ast.BoolOp(ast.Or(), [fast, _call("_admit_unchanged_", _load(name))])
    slow = ast.Compare(
        ast.NamedExpr(ast.Name(name, ast.Store()), _call("_admit_", _load(name))), [ast.Is()], [_load(name)]
    )
    return ast.BoolOp(ast.Or(), [fast, slow])


def _admitted_value(temporary: str) -> ast.expr:
    """``temporary if _type_(temporary) in _plain_ else _admit_(temporary)``."""
    return ast.IfExp(
        test=ast.Compare(_call("_type_", _load(temporary)), [ast.In()], [_load("_plain_")]),
        body=_load(temporary),
        orelse=_call("_admit_", _load(temporary)),
    )


def _bind_admitted(mapping: dict[str, str]) -> list[ast.stmt]:
    """``name = <the temporary, admitted>`` for each name: the name is bound only to what the
    membrane admits. Binding the name first and checking it after left the raw value bound
    when the check raised and a ``try`` caught it."""
    return [
        ast.Assign(targets=[ast.Name(name, ast.Store())], value=_admitted_value(temporary))
        for name, temporary in mapping.items()
    ]


def _admit_statement(name: str) -> ast.stmt:
    """``if _type_(name) not in _plain_: name = _admit_(name)``."""
    return ast.If(
        test=ast.Compare(_call("_type_", _load(name)), [ast.NotIn()], [_load("_plain_")]),
        body=[ast.Assign(targets=[ast.Name(name, ast.Store())], value=_call("_admit_", _load(name)))],
        orelse=[],
    )


#: Up to this many parameters are checked inline (no call for plain values); more take
#: one call for all of them.
_INLINE_PARAMETER_CHECKS = 3


def _parameters(arguments: ast.arguments) -> list[str]:
    """The parameters a caller fills with one value each (``*args`` and ``**kwargs`` are
    checked element by element, see _admit_parameters)."""
    return [a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)]


def _names_bound_directly(target: ast.AST) -> int | None:
    """0 for a name, n for a tuple or list of n names, None for any other target: what
    ``_admitting_iter_`` takes."""
    if isinstance(target, ast.Name):
        return 0
    if isinstance(target, (ast.Tuple, ast.List)) and target.elts and all(isinstance(e, ast.Name) for e in target.elts):
        return len(target.elts)
    return None


def _target_parts(target: ast.AST, starred: bool = False) -> list[tuple[ast.AST, bool]]:
    """What a target stores into, in Python's order, each with whether it is starred."""
    if isinstance(target, (ast.Tuple, ast.List)):
        return [part for element in target.elts for part in _target_parts(element)]
    if isinstance(target, ast.Starred):
        return _target_parts(target.value, starred=True)
    return [(target, starred)]


def _unpacks(target: ast.AST) -> bool:
    return isinstance(target, (ast.Tuple, ast.List, ast.Starred))


#: What can make cyclic garbage: a call (a constructor, ``a.append(a)``), a store into an
#: attribute or an item (``x.me = x``), a function, class or lambda made, an exception
#: raised or caught (its traceback holds the frame), a ``with`` (``__enter__`` is a call).
_CYCLE_MAKERS = (
    ast.Call, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.Raise, ast.Try,
    ast.TryStar, ast.With,
)  # fmt: skip


_DISPLAYS = (ast.List, ast.Tuple, ast.Set, ast.Dict, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _makes_cycles(node: ast.AST) -> bool:
    if isinstance(node, _CYCLE_MAKERS):
        return True
    if isinstance(node, (ast.Attribute, ast.Subscript)) and not isinstance(node.ctx, ast.Load):
        return True
    # `a += [a]`, `d |= {0: d}`: an in-place operator given a new container (not `n += 1`,
    # `total += x`: arithmetic, in the loops that matter most).
    return isinstance(node, ast.AugAssign) and any(isinstance(part, _DISPLAYS) for part in ast.walk(node.value))


def _may_join_containers(node: ast.AST) -> bool:
    """``l += b``, ``d |= e``: an in-place + or | of something other than a constant may
    add to a container references another one gave it (``b = [l]``). A cycle only when
    the loop also makes containers (a display), else ``total += x`` would pay for it."""
    return (
        isinstance(node, ast.AugAssign)
        and isinstance(node.op, (ast.Add, ast.BitOr))
        and not isinstance(node.value, ast.Constant)
    )


def _loops_that_may_make_cycles(tree: ast.AST) -> set[int]:
    """The ids of the loops (``for``, ``while``) with something in them that can make
    cyclic garbage; a loop of arithmetic and name bindings (``n = n // 2``) makes none.
    One pass, however deep loops nest: a maker marks the loops it is in, innermost first,
    and stops at one already marked (the ones outside it were marked with it); so do the
    two halves of a joined cycle (an in-place + or |, a container display), each in its
    own set, a loop with both being marked."""
    marked: set[int] = set()
    joining: set[int] = set()
    making: set[int] = set()
    loops: list[ast.AST] = []

    def mark(into: set[int]) -> None:
        for loop in reversed(loops):
            if id(loop) in into:
                break
            into.add(id(loop))
            if into is not marked and id(loop) in joining and id(loop) in making:
                marked.add(id(loop))

    # (node, step): "visit" it, "enter" a loop (its iterable seen), "leave" a loop.
    pending: list[tuple[ast.AST, str]] = [(tree, "visit")]
    while pending:
        node, step = pending.pop()
        if step == "leave":
            loops.pop()
            continue
        if step == "enter":
            loops.append(node)
            pending.append((node, "leave"))
            inside = [child for child in ast.iter_child_nodes(node) if child is not getattr(node, "iter", None)]
            pending.extend((child, "visit") for child in inside)
            continue
        if _makes_cycles(node):
            mark(marked)
        elif _may_join_containers(node):
            mark(joining)
        if isinstance(node, _DISPLAYS):
            mark(making)
        if isinstance(node, (ast.For, ast.While)):
            # A for loop's iterable is evaluated once, outside it: its calls (range(n)) are
            # no reason for a safe point in every step.
            pending.append((node, "enter"))
            if isinstance(node, ast.For):
                pending.append((node.iter, "visit"))
            continue
        pending.extend((child, "visit") for child in ast.iter_child_nodes(node))
    return marked


_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_OWN_SCOPES = (*_FUNCTIONS, ast.Lambda, ast.ClassDef)


def _functions_that_may_make_cycles(tree: ast.AST) -> set[int]:
    """The ids of the functions whose own code (nested scopes apart, each made counts)
    can make cyclic garbage without a loop of their own: a display, a call (``l.append(l)``),
    an attribute or item store, a joining ``+=``, a function or class made, an exception
    raised or handled. A recursion (``f(n - 1)`` twice, its results dropped) or an
    operator hook the interpreter calls (the program's ``__add__`` under
    ``sorted(key=...)``) repeats them with no loop, hence no safe point; each call of such
    a function is one. A function of arithmetic on its parameters' attributes
    (``return self.x * other.x``) makes none."""
    found: set[int] = set()
    for function in ast.walk(tree):
        if not isinstance(function, _FUNCTIONS):
            continue
        pending: list[ast.AST] = [*function.body]
        while pending:
            node = pending.pop()
            if isinstance(node, (_DISPLAYS, _OWN_SCOPES)) or _makes_cycles(node) or _may_join_containers(node):
                found.add(id(function))
                break
            pending.extend(ast.iter_child_nodes(node))
    return found


def _pairs_parts_with_values(node: ast.Assign) -> bool:
    """``a, b = b, a`` and ``xs[i], xs[j] = xs[j], xs[i]``: every target a flat tuple of
    names, attributes or items, as long as a tuple display. Each value is an expression the
    guards already saw, so the interpreter may unpack it as it is."""
    value = node.value
    if not isinstance(value, (ast.Tuple, ast.List)) or any(isinstance(e, ast.Starred) for e in value.elts):
        return False
    return all(
        isinstance(target, (ast.Tuple, ast.List))
        and len(target.elts) == len(value.elts)
        and all(isinstance(e, (ast.Name, ast.Attribute, ast.Subscript)) for e in target.elts)
        for target in node.targets
    )


def _capture_names(pattern: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.walk(pattern):
        if isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            names.append(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.append(node.rest)
    return list(dict.fromkeys(names))


#: The features ``from __future__ import ...`` may name (compiler directives; in 3.11 only
#: ``annotations`` changes anything: annotations stay strings).
FUTURE_FEATURES = frozenset(__future__.all_feature_names)


def is_future_statement(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.ImportFrom)
        and node.module == "__future__"
        and not node.level
        and all(alias.name in FUTURE_FEATURES and alias.asname is None for alias in node.names)
    )


def _postpone_annotations(module: ast.Module) -> None:
    """``from __future__ import annotations`` (PEP 563): every annotation is kept as the
    string of its source. The compiler would make that string from the tree the policy
    has rewritten (``list[Node]`` read as ``_getitem_(list, Node)``), so the strings are
    made here, from the program's own tree, as the compiler makes them (a string
    annotation becomes its repr), and the feature is dropped from the statement."""
    futures = [
        statement
        for statement in module.body
        if is_future_statement(statement) and any(alias.name == "annotations" for alias in statement.names)  # type: ignore[attr-defined]
    ]
    if not futures:
        return
    for statement in futures:
        assert isinstance(statement, ast.ImportFrom)
        statement.names = [alias for alias in statement.names if alias.name != "annotations"]
    module.body = [s for s in module.body if not (isinstance(s, ast.ImportFrom) and s in futures and not s.names)]
    for node in ast.walk(module):
        for field in ("annotation", "returns"):
            annotation = getattr(node, field, None)
            if isinstance(annotation, ast.expr):
                setattr(node, field, ast.copy_location(ast.Constant(ast.unparse(annotation)), annotation))


def _located(new: ast.AST, old: ast.AST) -> ast.AST:
    """``new`` (made here) placed at ``old``. The nodes made inside it get theirs from the
    one ``fix_missing_locations`` at the end of visit_Module: a walk per rewrite made a
    program of many match cases cost seconds to check."""
    return ast.copy_location(new, old)


def _with_native_branch(guarded: ast.Call, form: native_calls.Form, temporary: str) -> ast.IfExp:
    """``_getattr_(r, "name")(args)`` -> ``_tmp.name(args) if _type_(_tmp := r) in
    _native_name_ else _getattr_(_tmp, "name")(args)`` (with a constant or a
    comprehension's variable, ``r`` itself in all three places: native_calls.Form)."""
    getattr_call = guarded.func
    assert isinstance(getattr_call, ast.Call)
    receiver, name = getattr_call.args
    assert isinstance(name, ast.Constant)
    if form is native_calls.Form.BIND:
        tested: ast.expr = ast.NamedExpr(ast.Name(temporary, ast.Store()), receiver)
        getattr_call.args[0] = _load(temporary)
        held: ast.expr = _load(temporary)
    else:
        tested, held = copy.deepcopy(receiver), copy.deepcopy(receiver)
    test = ast.Compare(
        left=_call("_type_", tested),
        ops=[ast.In()],
        comparators=[_load(native_calls.table_name(str(name.value)))],
    )
    native = ast.Call(
        func=ast.Attribute(held, str(name.value), ast.Load()),
        args=copy.deepcopy(guarded.args),
        keywords=copy.deepcopy(guarded.keywords),
    )
    branches = ast.IfExp(test=test, body=native, orelse=guarded)
    for new in ast.walk(branches):
        if not hasattr(new, "lineno"):
            ast.copy_location(new, guarded)
    return branches


class SandboxTransformer(RestrictingNodeTransformer):
    def __init__(self, *args: object, names_may_be_rebound: bool = False, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        #: A string for eval/exec: the program may have bound any name (``len = ...``).
        self._names_may_be_rebound = names_may_be_rebound
        #: "module" / "class" / "function" for each enclosing scope.
        self._scopes: list[str] = ["module"]
        #: Names of the enclosing classes, innermost last (for private name mangling).
        self._classes: list[str] = []
        #: Names the program binds somewhere (set by visit_Module).
        self._bound: set[str] = set()
        #: ids of the holder reads visit_Match put into patterns.
        self._hoisted: set[int] = set()
        #: The module's last statement when it is an expression (its value is the result).
        self._result_statement: ast.Expr | None = None
        #: The calls compiled with a native branch (native_calls.sites, set by visit_Module).
        self._native_sites: dict[int, native_calls.Form] = {}
        #: id of each function -> its parameters bound again in its body (set by visit_Module).
        self._rebound_parameters: dict[int, set[str]] = {}
        #: ids of the loops that need a safe point of their own (set by visit_Module).
        self._cycle_loops: set[int] = set()
        #: ids of the functions whose every call is a safe point (set by visit_Module).
        self._cycle_functions: set[int] = set()

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
        if is_future_statement(node):
            return node  # a compiler directive (from __future__ import annotations)
        modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
        for module in modules:
            if any(part.startswith("_") for part in module.split(".")):
                self.error(node, f'"{module}" is a private module and cannot be imported')
        return super().check_import_names(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.AST | list[ast.stmt]:
        """``from json import decoder``: when the module's proxy has no such name, the
        interpreter falls back to ``sys.modules["json.decoder"]``, the real module. So the
        names an import binds are bound to temporaries first, and each name to what the
        membrane admits (a real module is refused, and never left bound)."""
        if is_future_statement(node):
            # Binds a feature name to a string (guards.make_import): nothing to admit, and
            # a future statement must stay the statement it is, first in the module.
            return node
        visited = super().visit_ImportFrom(node)
        return self._admit_imported(cast(ast.ImportFrom, visited))

    def visit_Import(self, node: ast.Import) -> ast.AST | list[ast.stmt]:
        """``import a.b as c`` takes ``b`` from ``a`` as ``from a import b`` does."""
        visited = super().visit_Import(node)
        return self._admit_imported(cast(ast.Import, visited))

    def _admit_imported(self, node: ast.Import | ast.ImportFrom) -> ast.AST | list[ast.stmt]:
        mapping: dict[str, str] = {}
        for alias in node.names:
            if alias.name == "*" or (isinstance(node, ast.Import) and alias.asname is None):
                continue  # `import json` binds what the import guard returned: a proxy
            name = alias.asname or alias.name
            alias.asname = mapping[name] = self.gen_tmp_name()
        if not mapping:
            return node
        return [node, *(cast(ast.stmt, _located(bind, node)) for bind in _bind_admitted(mapping))]

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

        # Computed for the whole program before the policy renames any (a match capture
        # becomes a temporary).
        rebound = self._rebound_parameters.get(id(node), set())
        safe_point = id(node) in self._cycle_functions
        result = self._in_scope("function", node, body)
        assert isinstance(result, ast.FunctionDef)
        checked = self._admit_parameters(result)
        if safe_point:
            # The membrane's entry given a constant: nothing to admit, a counted safe point
            # (guards.collect_at_a_safe_point), after the parameters' checks.
            tick = ast.Expr(_call("_admit_", ast.Constant(None)))
            result.body.insert(checked, cast(ast.stmt, _located(tick, node)))
        native_attributes.rewrite(result, rebound, checked, self.gen_tmp_name)
        self._admit_decorated(result)
        return result

    # ------------------------------------------------------------------ the membrane

    def _admit_parameters(self, node: ast.FunctionDef) -> int:
        """Library code calls the program's functions with values of its own (a key
        function, ``__eq__`` in a cache, ``__exit__``): every parameter passes the
        membrane before the body runs. After a docstring, which must stay first. Returns
        the index of the first statement after the checks."""
        names = _parameters(node.args)
        checks: list[ast.stmt]
        if len(names) <= _INLINE_PARAMETER_CHECKS:
            checks = [cast(ast.stmt, _located(_admit_statement(name), node)) for name in names]
        else:  # one call for many: an inline check is ~15 nodes per name for the validator
            targets = ast.Tuple([ast.Name(name, ast.Store()) for name in names], ast.Store())
            values = _call("_admit_each_", *(_load(name) for name in names))
            checks = [cast(ast.stmt, _located(ast.Assign(targets=[targets], value=values), node))]
        # *args and **kwargs are always a fresh tuple and dict, but what is in them came
        # from the caller (library code calling the program's function) unread.
        if node.args.vararg is not None:
            name = node.args.vararg.arg
            packed = ast.Assign(
                targets=[ast.Name(name, ast.Store())],
                value=ast.Call(_load("_admit_each_"), [ast.Starred(_load(name), ast.Load())], []),
            )
            checks.append(cast(ast.stmt, _located(packed, node)))
        if node.args.kwarg is not None:
            checks.append(cast(ast.stmt, _located(ast.Expr(_call("_admit_values_", _load(node.args.kwarg.arg))), node)))
        first = node.body[0] if node.body else None
        docstring = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
        docstring = docstring and isinstance(first.value.value, str)  # type: ignore[union-attr]
        at = 1 if docstring else 0
        node.body[at:at] = checks
        return at + len(checks)

    def _admit_decorated(self, node: ast.FunctionDef | ast.ClassDef) -> None:
        """What a decorator returns is bound to the name: outermost, the membrane."""
        if node.decorator_list:
            node.decorator_list.insert(0, _located(_load("_admit_"), node.decorator_list[0]))  # type: ignore[arg-type]

    def visit_Call(self, node: ast.Call, *, discarded: bool = False) -> ast.AST:
        """A call's result passes the membrane (``_apply_``, for calls written with
        ``*args``/``**kwargs``, does it itself), except for the builtins whose result is
        plain by construction, and a result the statement throws away (``items.append(x)``).
        ``eval(...)``/``exec(...)`` are the sandbox's (worker/dynamic.py), which run a string
        under the program's own rules: RestrictedPython refuses them by name, so the
        name is hidden from that check and put back."""
        dynamic = node.func if isinstance(node.func, ast.Name) and node.func.id in ("eval", "exec") else None
        if dynamic is not None:
            name = dynamic.id
            dynamic.id = name + "x"  # any ordinary name: RestrictedPython checks it as one
        native = self._native_sites.get(id(node))
        visited = super().visit_Call(node)
        if dynamic is not None:
            dynamic.id = name
        assert isinstance(visited, ast.Call)
        func = visited.func
        plain_result = isinstance(func, ast.Name) and (
            func.id == "_apply_" or (func.id in PLAIN_RESULT_BUILTINS and func.id not in self._bound)
        )
        call: ast.expr = visited
        if native is not None:
            call = _with_native_branch(visited, native, self.gen_tmp_name())
        if discarded or plain_result:
            return call
        return _located(_call("_admit_", call), visited)

    def visit_Yield(self, node: ast.Yield) -> ast.AST:
        """``x = yield``: what the caller sends in passes the membrane."""
        visited = super().visit_Yield(node)
        return _located(_call("_admit_", visited), node)  # type: ignore[arg-type]

    def visit_YieldFrom(self, node: ast.YieldFrom) -> ast.AST:
        """``yield from x`` delegates to ``_yield_from_(x)``: the generator's throw (with
        the raw traceback library code passes it) never reaches a method of the program's
        iterator that does not admit its parameters; what is sent back passes the
        membrane."""
        return _located(_call("_admit_", self._delegating(node)), node)

    def _delegating(self, node: ast.YieldFrom) -> ast.YieldFrom:
        visited = super().visit_YieldFrom(node)
        assert isinstance(visited, ast.YieldFrom)
        visited.value = _located(_call("_yield_from_", visited.value), visited.value)  # type: ignore[assignment]
        return visited

    def visit_Expr(self, node: ast.Expr) -> ast.AST:
        if isinstance(node.value, ast.Yield):  # the value is thrown away
            node.value = self.node_contents_visit(node.value)
            return node
        if isinstance(node.value, ast.YieldFrom):
            node.value = self._delegating(node.value)
            return node
        if isinstance(node.value, ast.Call):
            native = id(node.value) in self._native_sites
            # The module's last expression is kept (the result): its value is admitted.
            discarded = node is not self._result_statement
            node.value = self.visit_Call(node.value, discarded=discarded)  # type: ignore[assignment]
            branches = node.value
            if native and isinstance(branches, ast.IfExp) and node is not self._result_statement:
                # Each branch its own statement: CPython specialises `list.append` only for a
                # call whose result is popped right after it.
                statement = ast.If(
                    test=branches.test, body=[ast.Expr(branches.body)], orelse=[ast.Expr(branches.orelse)]
                )
                return _located(statement, node)
            return node
        return self.node_contents_visit(node)

    def visit_Raise(self, node: ast.Raise) -> ast.AST | list[ast.stmt]:
        """A bare ``raise`` raises the exception being handled, which need not be one the
        program caught: in a function library code calls from its own ``except`` clause,
        it is the library's. ``_admit_handled_()`` passes it through the membrane first."""
        visited = self.node_contents_visit(node)
        if node.exc is not None:
            return visited
        admit = ast.Expr(_call("_admit_handled_"))
        return [cast(ast.stmt, _located(admit, node)), cast(ast.stmt, visited)]

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> ast.AST:
        """``except E as e``: the exception (and so its ``.obj``, ``.args`` ..., read
        through the guards) passes the membrane before the handler runs. The interpreter
        binds a temporary, and ``e`` only what the membrane admits: bound first and checked
        after, the raw exception was a store into the namespace (in an Enum body,
        ``_EnumDict`` took it as a member's value). As the interpreter does for ``e``, the
        name is unbound when the handler ends, however it ends."""
        visited = super().visit_ExceptHandler(node)
        assert isinstance(visited, ast.ExceptHandler)
        if visited.name:
            name, temporary = visited.name, self.gen_tmp_name()
            visited.name = temporary
            bind = ast.Assign(targets=[ast.Name(name, ast.Store())], value=_admitted_value(temporary))
            unbind: list[ast.stmt] = [
                ast.Assign(targets=[ast.Name(name, ast.Store())], value=ast.Constant(None)),
                ast.Delete(targets=[ast.Name(name, ast.Del())]),
            ]
            handler = ast.Try(body=[bind, *visited.body], handlers=[], orelse=[], finalbody=unbind)
            visited.body = [_located(handler, visited)]  # type: ignore[list-item]
        return visited

    def visit_With(self, node: ast.With) -> ast.AST:
        """``with m as x``: what ``m.__enter__()`` returns passes the membrane. A target
        that unpacks (``as (a, b)``) is bound as an assignment's (:meth:`_unpack_into`),
        as the body starts; so that it is bound before any later item is entered, as
        Python does, ``with a as (x, y), b:`` is compiled as ``with a as (x, y): with b:``."""
        split = next(
            (
                i
                for i, item in enumerate(node.items[:-1])
                if item.optional_vars is not None and _unpacks(item.optional_vars)
            ),
            None,
        )
        if split is not None:
            inner = ast.With(items=node.items[split + 1 :], body=node.body, type_comment=None)
            node.items, node.body = node.items[: split + 1], [cast(ast.stmt, _located(inner, node))]
        last = node.items[-1]
        unpacked = last.optional_vars if last.optional_vars is not None and _unpacks(last.optional_vars) else None
        if unpacked is not None:
            last.optional_vars = ast.Name("entered", ast.Store())  # a placeholder the checks accept
        visited = super().visit_With(node)
        assert isinstance(visited, ast.With)
        if unpacked is not None:
            temporary = self.gen_tmp_name()
            visited.items[-1].optional_vars = _located(ast.Name(temporary, ast.Store()), unpacked)  # type: ignore[assignment]
            visited.body[0:0] = self._unpack_into(unpacked, _load(temporary), visited)
        for item in visited.items:
            if item.optional_vars is not None:
                item.context_expr = _located(_call("_admit_context_", item.context_expr), item.context_expr)  # type: ignore[assignment]
        return visited

    def _temporaries(self, names: list[str]) -> dict[str, str]:
        return {name: self.gen_tmp_name() for name in names}

    def _yields_numbers(self, iterable: ast.expr) -> bool:
        """``range(...)``, the builtin: its elements are ints, no check needed."""
        return (
            isinstance(iterable, ast.Call)
            and isinstance(iterable.func, ast.Name)
            and iterable.func.id == "range"
            and "range" not in self._bound
        )

    def visit_For(self, node: ast.For) -> ast.AST:
        """``for x in y``: each value bound to the loop's target passes the membrane
        (iterators hand out whatever their container holds). A name, or a tuple of names,
        is bound from ``_admitting_iter_``, which admits each item (and each value unpacked
        from it) before the interpreter binds it; any other target (``for a, *b``,
        ``for obj.x``, ``for d[k]``) takes each item into temporaries and is bound from
        them, admitted, as the body starts (:meth:`_unpack_into`)."""
        numbers = self._yields_numbers(node.iter)
        if numbers and id(node) not in self._cycle_loops:
            return super().visit_For(node)  # type: ignore[return-value]  # ints, and no safe point needed
        count = 0 if numbers else _names_bound_directly(node.target)  # ints: any target
        if count is not None:
            visited = super().visit_For(node)
            assert isinstance(visited, ast.For)
            visited.iter = cast(
                ast.expr, _located(_call("_admitting_iter_", visited.iter, ast.Constant(count)), visited.iter)
            )
            return visited
        target = node.target
        node.target = ast.Name("item", ast.Store())  # a placeholder the checks accept
        visited = super().visit_For(node)
        assert isinstance(visited, ast.For)
        temporary = self.gen_tmp_name()
        visited.target = _located(ast.Name(temporary, ast.Store()), target)  # type: ignore[assignment]
        visited.iter = cast(ast.expr, _located(_call("_admitting_iter_", visited.iter, ast.Constant(0)), visited.iter))
        visited.body[0:0] = self._unpack_into(target, _load(temporary), visited)
        return visited

    def visit_While(self, node: ast.While) -> ast.AST:
        """``while test:`` becomes ``while _admit_(test):`` where its body may make cyclic
        garbage. The value is one the program already holds (the membrane passes it
        unchanged); the call is the loop's safe point: the job runs with the automatic
        collector off, and a loop whose body calls nothing else that collects
        (``a.append(a)``, ``x.next = y``) would keep every cycle it makes until the memory
        limit (guards.collect_at_a_safe_point). A ``for`` loop's iterator is its safe point
        (``_admitting_iter_``, over ``range`` too where the body may make cycles)."""
        needed = id(node) in self._cycle_loops
        visited = self.node_contents_visit(node)
        assert isinstance(visited, ast.While)
        if needed:
            visited.test = cast(ast.expr, _located(_call("_admit_", visited.test), visited.test))
        return visited

    def visit_comprehension(self, node: ast.comprehension) -> ast.AST:
        """``[... for x in y]``: the same for a comprehension's names, as its first
        condition (a comprehension's variable cannot be rebound: what the membrane would
        replace is refused instead; a starred name's list, each element). A comprehension
        has no statement to store through, so its target may only bind names."""
        parts = _target_parts(node.target)
        names_only = all(isinstance(part, ast.Name) for part, _ in parts)
        if not names_only:
            self.error(
                node.target,
                "a comprehension can only bind names (for x in ..., for k, v in ...); "
                "to store into an attribute or an item, use a for statement",
            )
        numbers = self._yields_numbers(node.iter)
        visited = super().visit_comprehension(node)
        assert isinstance(visited, ast.comprehension)
        if numbers or not names_only:
            return visited
        checks: list[ast.expr] = []
        for part, starred in parts:
            assert isinstance(part, ast.Name)
            if starred:
                checks.append(ast.Call(_load("_admit_unchanged_"), [ast.Starred(_load(part.id), ast.Load())], []))
            else:
                checks.append(_admitted(part.id, rebind=False))
        visited.ifs[0:0] = [cast(ast.expr, _located(check, visited.target)) for check in checks]
        return visited

    def visit_Assign(self, node: ast.Assign) -> ast.AST | list[ast.stmt]:
        """``a, b = x``, ``d[k], *rest = x``: an unpacked value never went through a guard,
        so a target that unpacks is bound through :meth:`_unpack_into`. A chain
        (``a = b, c = x``) evaluates ``x`` once and binds each target in turn, as Python does."""
        if not any(_unpacks(target) for target in node.targets):
            return super().visit_Assign(node)  # type: ignore[return-value]
        if _pairs_parts_with_values(node):
            node.targets = [cast(ast.expr, self.visit(target)) for target in node.targets]
            node.value = cast(ast.expr, self.visit(node.value))
            return node
        value = cast(ast.expr, self.visit(node.value))
        statements: list[ast.stmt] = []
        if len(node.targets) > 1:
            held = self.gen_tmp_name()
            statements.append(ast.Assign(targets=[ast.Name(held, ast.Store())], value=value))
        for target in node.targets:
            source = _load(held) if len(node.targets) > 1 else value
            if _unpacks(target):
                statements.extend(self._unpack_into(target, source, node))
            else:
                statements.append(ast.Assign(targets=[cast(ast.expr, self.visit(target))], value=source))
        if len(node.targets) > 1:
            statements.append(ast.Delete(targets=[ast.Name(held, ast.Del())]))
        return [cast(ast.stmt, _located(statement, node)) for statement in statements]

    def _unpack_into(self, target: ast.expr, value: ast.expr, at: ast.AST) -> list[ast.stmt]:
        """``target = value`` for any target but a name: the interpreter unpacks ``value``
        into temporaries the program cannot name, then each part of the target (a name, an
        attribute, an item), in Python's order, is bound to its value as the membrane
        admits it (a starred part to its list, each element admitted). So neither a name
        nor a container ever holds an unpacked value no guard has seen, and a part that
        reads an earlier one (``i, d[i] = ...``) sees it bound, as in CPython."""
        parts: list[tuple[ast.expr, str, bool]] = []

        def hollow(part: ast.expr, starred: bool = False) -> ast.expr:
            if isinstance(part, (ast.Tuple, ast.List)):
                return type(part)([hollow(element) for element in part.elts], ast.Store())
            if isinstance(part, ast.Starred):
                return ast.Starred(hollow(part.value, starred=True), ast.Store())
            temporary = self.gen_tmp_name()
            parts.append((part, temporary, starred))
            return ast.Name(temporary, ast.Store())

        statements: list[ast.stmt] = [ast.Assign(targets=[hollow(target)], value=value)]
        for part, temporary, starred in parts:
            admitted = _call("_admit_elements_", _load(temporary)) if starred else _admitted_value(temporary)
            statements.append(ast.Assign(targets=[cast(ast.expr, self.visit(part))], value=admitted))
        # The temporaries would keep what they hold alive past a `del` of the names.
        if parts:  # `for [] in [()]` unpacks into nothing
            statements.append(ast.Delete(targets=[ast.Name(temporary, ast.Del()) for _, temporary, _ in parts]))
        return [cast(ast.stmt, _located(statement, at)) for statement in statements]

    def check_function_argument_names(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        self._scopes.append("function")  # arguments are locals of the function
        try:
            super().check_function_argument_names(node)
        finally:
            self._scopes.pop()

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        """``lambda a: body`` becomes ``lambda a: body if <a admitted> else None``: the
        parameters pass the membrane, as a function's do (a lambda has no statements)."""
        visited = self._in_scope("function", node, super().visit_Lambda)
        assert isinstance(visited, ast.Lambda)
        names = _parameters(visited.args)
        checks: list[ast.expr]
        if len(names) <= _INLINE_PARAMETER_CHECKS:
            checks = [_admitted(name, rebind=False) for name in names]
        else:  # one call for many, as for a def: ~9 nodes per name inline
            checks = [ast.Call(_load("_admit_unchanged_"), [_load(name) for name in names], [])]
        if visited.args.vararg is not None:  # lambda *a: every element
            starred = ast.Starred(_load(visited.args.vararg.arg), ast.Load())
            checks.append(ast.Call(_load("_admit_unchanged_"), [starred], []))
        if visited.args.kwarg is not None:  # lambda **k: every value
            values = ast.Call(ast.Attribute(_load(visited.args.kwarg.arg), "values", ast.Load()), [], [])
            checks.append(ast.Call(_load("_admit_unchanged_"), [ast.Starred(values, ast.Load())], []))
        if checks:
            test = checks[0] if len(checks) == 1 else ast.BoolOp(ast.And(), checks)
            visited.body = _located(ast.IfExp(test, visited.body, ast.Constant(None)), visited.body)  # type: ignore[assignment]
        return visited

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        """RestrictedPython rebuilds every class from a template ``class X(metaclass=
        __metaclass__)``, which loses the statement's line (errors raised while building
        the class pointed at line 1) and its keywords (``class F(Flag, boundary=KEEP)``
        silently lost ``boundary``). Put both back; the statement's own ``metaclass=`` goes
        to the class factory as ``_metaclass_``, which accepts ``abc.ABCMeta`` only."""
        for keyword in node.keywords:
            if keyword.arg == "metaclass":
                keyword.arg = "_metaclass_"
        self.check_name(node, node.name)
        # The header (bases, keywords, decorators) runs in the enclosing scope: its names
        # are bound there and its private attribute names mangled with the enclosing
        # class's name, as the compiler does. Visited under this class's name, the guard
        # checked `_Probe__cast` where the interpreter stored `_UserList__cast`.
        bases = [cast(ast.expr, self.visit(base)) for base in node.bases]
        keywords = node.keywords
        for keyword in keywords:
            keyword.value = cast(ast.expr, self.visit(keyword.value))
        decorators = [cast(ast.expr, self.visit(decorator)) for decorator in node.decorator_list]
        node.bases, node.keywords, node.decorator_list = [], [], []
        self._classes.append(node.name)
        try:
            rebuilt = self._in_scope("class", node, super().visit_ClassDef)
        finally:
            self._classes.pop()
        assert isinstance(rebuilt, ast.ClassDef)
        rebuilt.bases, rebuilt.decorator_list = bases, decorators
        # The template's own nodes: the class and its `metaclass=__metaclass__` keyword.
        template_nodes = [rebuilt, *(part for k in rebuilt.keywords for part in (k, k.value))]
        for part in template_nodes:
            ast.copy_location(part, node)
        rebuilt.keywords.extend(k for k in keywords if k.arg != "metaclass")  # the template's own is kept
        self._admit_decorated(rebuilt)
        return rebuilt

    def visit_TryStar(self, node: ast.AST) -> ast.AST:
        """``except* E as eg``: as ``try``; each handler binds its group through
        :meth:`visit_ExceptHandler`, and the group's exceptions are read through the guards."""
        return self.node_contents_visit(node)

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
        """``n += 1`` stays as it is; ``obj.x += 1`` and ``items[k] += 1`` become
        ``_t = obj; _v = _getattr_(_t, "x"); _v += 1; _write_attribute_(_t, "x").x = _v``
        (and the same with a key temporary and ``_getitem_``/``_write_`` for items): each
        operand is evaluated once and in Python's order (the target read, then the value,
        then the operator, then the write through the guard)."""
        target = node.target
        if isinstance(target, ast.Name):
            # Native `n += x`: RestrictedPython routes it through _inplacevar_, a Python
            # call per operation (5x slower loops) that guards nothing here: the operator
            # acts on values the program already holds, exactly as `n = n + x` would.
            self.check_name(target, target.id)
            node.value = self.visit(node.value)
            return node
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
        # The operator itself runs natively on a temporary, as `n += x` does on a name: it
        # acts on a value read through the guard and the program's own operand.
        value_name = self.gen_tmp_name()
        statements += [
            ast.Assign(targets=[ast.Name(value_name, ast.Store())], value=current),
            ast.AugAssign(target=ast.Name(value_name, ast.Store()), op=node.op, value=value),
            ast.Assign(targets=[write_target], value=_load(value_name)),
        ]
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
            if node.attr.startswith("_"):
                # No guard runs here, so no run-time check can tell the program's own
                # private names from a library's, nor __class__ from the real type.
                self.error(node, f'a pattern may only name public attributes, not "{node.attr}"')
            node = node.value
        if isinstance(node, ast.Name):
            self.check_name(node, node.id) if node.id != "__name__" else None

    def visit_Match(self, node: ast.Match) -> ast.AST | list[ast.stmt]:
        """The interpreter reads the dotted names of a pattern (``case Color.RED``, ``case
        {keys.A: v}``, ``case mod.Point(x)``) with no guard, and hands a mapping pattern's
        keys to the subject's own ``get``: each is read through the guards before the
        ``match``, into a holder the patterns read instead (``_tmpN.v0``)."""
        hoisted: list[tuple[ast.expr, str | None]] = []
        holder = self.gen_tmp_name()

        def hoist(expression: ast.expr, checked_by: str | None = None) -> ast.expr:
            self._check_static_reference(expression)
            hoisted.append((expression, checked_by))
            read = ast.Attribute(_load(holder), f"v{len(hoisted) - 1}", ast.Load())
            self._hoisted.add(id(read))
            return _located(read, expression)  # type: ignore[return-value]

        for case in node.cases:
            for pattern in ast.walk(case.pattern):
                if isinstance(pattern, ast.MatchValue) and isinstance(pattern.value, ast.Attribute):
                    pattern.value = hoist(pattern.value)
                elif isinstance(pattern, ast.MatchMapping):
                    pattern.keys = [hoist(k) if isinstance(k, ast.Attribute) else k for k in pattern.keys]
                elif isinstance(pattern, ast.MatchClass) and pattern.patterns:
                    # Positional sub-patterns read what __match_args__ names: checked then.
                    pattern.cls = hoist(pattern.cls, checked_by="_match_class_")
                elif isinstance(pattern, ast.MatchClass) and isinstance(pattern.cls, ast.Attribute):
                    pattern.cls = hoist(pattern.cls)
        visited = self.node_contents_visit(node)
        if not hoisted:
            return visited
        read = []
        for expression, checked_by in hoisted:
            value = cast(ast.expr, self.visit(expression))
            read.append(value if checked_by is None else _call(checked_by, value))
        values = _call("_match_values_", *read)
        assign = _located(ast.Assign(targets=[ast.Name(holder, ast.Store())], value=values), node)
        return [cast(ast.stmt, assign), cast(ast.stmt, visited)]

    def visit_match_case(self, node: ast.match_case) -> ast.AST:
        """The interpreter extracts a pattern's captures without any guard (items,
        attributes named by ``__match_args__``, mapping values). They are captured into
        temporaries, and the guard binds each name to what the membrane admits before the
        program's own guard and the body run: a name is never bound to a raw value, even
        when the membrane refuses one and a ``try`` around the match catches it."""
        visited = self.node_contents_visit(node)
        assert isinstance(visited, ast.match_case)
        mapping = self._temporaries(_capture_names(visited.pattern))
        if not mapping:
            return visited
        for pattern in ast.walk(visited.pattern):
            if isinstance(pattern, (ast.MatchAs, ast.MatchStar)) and pattern.name in mapping:
                pattern.name = mapping[pattern.name]
            elif isinstance(pattern, ast.MatchMapping) and pattern.rest in mapping:
                pattern.rest = mapping[pattern.rest]
        # A non-empty tuple of the bindings: always true.
        # Each capture through _admit_capture_, which also looks inside a captured
        # container: what the interpreter extracted was read without a guard.
        bindings = ast.Tuple(
            [
                ast.NamedExpr(ast.Name(name, ast.Store()), _call("_admit_capture_", _load(temp)))
                for name, temp in mapping.items()
            ],
            ast.Load(),
        )
        checks: list[ast.expr] = [bindings]
        if visited.guard is not None:
            checks.append(visited.guard)
        test = checks[0] if len(checks) == 1 else ast.BoolOp(ast.And(), checks)
        visited.guard = _located(test, visited.pattern)  # type: ignore[assignment]
        return visited

    def visit_MatchValue(self, node: ast.MatchValue) -> ast.AST:
        if id(node.value) in self._hoisted:
            return node  # the holder's attribute: checked where it was hoisted
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
            if isinstance(key, (ast.Attribute, ast.Name)) and id(key) not in self._hoisted:
                self._check_static_reference(key)
        node.patterns = [self.visit(p) for p in node.patterns]
        self.check_name(node, node.rest)
        return node

    def visit_MatchClass(self, node: ast.MatchClass) -> ast.AST:
        if id(node.cls) not in self._hoisted:
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
        _postpone_annotations(node)
        self._bound = _bound_names(node) | (PLAIN_RESULT_BUILTINS if self._names_may_be_rebound else frozenset())
        if node.body and isinstance(node.body[-1], ast.Expr):
            self._result_statement = node.body[-1]  # its value is kept: it stays an expression
        self._native_sites = native_calls.sites(node)
        self._rebound_parameters = native_attributes.rebound_parameters(node)
        self._cycle_loops = _loops_that_may_make_cycles(node)
        self._cycle_functions = _functions_that_may_make_cycles(node)
        node = super().visit_Module(node)  # type: ignore[assignment]
        # RestrictedPython strips the value of a statement it refused (`await x`).
        if node.body and isinstance(node.body[-1], ast.Expr) and getattr(node.body[-1], "value", None) is not None:
            last = node.body[-1]
            assign = ast.Assign(targets=[ast.Name(id=RESULT_NAME, ctx=ast.Store())], value=last.value)
            node.body[-1] = ast.copy_location(assign, last)
        temporaries.release(node)
        ast.fix_missing_locations(node)  # the membrane's checks, made without a location
        return node
