"""The compile-time half of the sandbox policy: RestrictedPython's transformer, extended.

RestrictingNodeTransformer already rewrites attribute access, subscripts, iteration,
unpacking, augmented assignment and print into calls to the guards in guards.py, and
refuses private names, ``exec``/``eval`` calls, async code and any node type it has no
rule for (default deny). This subclass adds what the service needs on top:

* class statements keep their line number and keyword arguments;
* the value of a final expression statement is kept (``RESULT_NAME``), the way an
  interactive interpreter shows it; the name is not a valid identifier, so user code
  can neither read nor overwrite it.
"""

from __future__ import annotations

import ast

import RestrictedPython.transformer
from RestrictedPython.transformer import RestrictingNodeTransformer

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


class SandboxTransformer(RestrictingNodeTransformer):
    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        """RestrictedPython rebuilds every class from a template ``class X(metaclass=
        __metaclass__)``, which loses the statement's line (errors raised while building
        the class pointed at line 1) and its keywords (``class F(Flag, boundary=KEEP)``
        silently lost ``boundary``). Put both back; ``metaclass=`` stays refused."""
        keywords = node.keywords
        rebuilt = super().visit_ClassDef(node)
        assert isinstance(rebuilt, ast.ClassDef)
        # The template's own nodes: the class and its `metaclass=__metaclass__` keyword.
        template_nodes = [rebuilt, *(part for k in rebuilt.keywords for part in (k, k.value))]
        for part in template_nodes:
            ast.copy_location(part, node)
        rebuilt.keywords.extend(k for k in keywords if k.arg != "metaclass")
        return rebuilt

    def visit_Module(self, node: ast.Module) -> ast.AST:
        node = super().visit_Module(node)  # type: ignore[assignment]
        # RestrictedPython strips the value of a statement it refused (`await x`).
        if node.body and isinstance(node.body[-1], ast.Expr) and getattr(node.body[-1], "value", None) is not None:
            last = node.body[-1]
            assign = ast.Assign(targets=[ast.Name(id=RESULT_NAME, ctx=ast.Store())], value=last.value)
            node.body[-1] = ast.copy_location(assign, last)
            ast.fix_missing_locations(assign)
        return node
