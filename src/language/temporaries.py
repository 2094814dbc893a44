"""Temporaries let go once the statements that use them are done.

The policy holds intermediate values in temporaries (``_tmp3``: a native store's value, a
native call's receiver, the object an augmented assignment writes back to). Left bound,
each kept its value alive until the function returned, or for the whole job at module
level: ``p.data = big; p.data = None`` kept ``big``, and a second allocation of the same
size hit the memory limit where CPython's would not. So after the last module-level
statement that uses a temporary, the temporary is bound to None. Every temporary is bound
again before its next use (by the statement group that made it, or as the walrus in the
expression that reads it), so the release changes nothing the program can see.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from .names import is_temporary

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def release(tree: ast.Module) -> None:
    """Insert the releases into the module's body, after the outermost statement holding
    a temporary's last use (a loop's temporaries are bound again in each step, and let go
    once the loop is done). A function's temporaries die with its call; the one that
    holds a value a statement stores (``p.x = big``) is let go by that statement
    (native_attributes), releasing the others in every call cost method-heavy code
    several percent."""
    _release_in(tree.body)


def _names_in(statement: ast.AST) -> Iterator[ast.Name]:
    """The temporaries' names in ``statement``, not inside a nested function or class."""
    pending: list[ast.AST] = [statement]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Name) and is_temporary(node.id):
            yield node
        if node is not statement and isinstance(node, _SCOPES):
            continue
        pending.extend(ast.iter_child_nodes(node))


def _release_in(block: list[ast.stmt]) -> None:
    stored: set[str] = set()
    last_use: dict[str, int] = {}
    for index, statement in enumerate(block):
        for node in _names_in(statement):
            last_use[node.id] = index
            if not isinstance(node.ctx, ast.Load):
                stored.add(node.id)
    after: dict[int, list[str]] = {}
    for name in sorted(stored):
        index = last_use[name]
        if not isinstance(block[index], ast.Raise):  # the only statement a module's body ends at
            after.setdefault(index, []).append(name)
    for index in sorted(after, reverse=True):
        names = after[index]
        targets: list[ast.expr] = [ast.Name(name, ast.Store()) for name in names]
        release = ast.copy_location(ast.Assign(targets=targets, value=ast.Constant(None)), block[index])
        block.insert(index + 1, release)
