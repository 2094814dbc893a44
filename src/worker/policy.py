"""The compile-time half of the sandbox policy: RestrictedPython's transformer, extended.

RestrictingNodeTransformer already rewrites attribute access, subscripts, iteration,
unpacking, augmented assignment and print into calls to the guards in guards.py, and
refuses private names, ``exec``/``eval`` calls, async code and any node type it has no
rule for (default deny). This subclass adds what the service needs on top:

* the value of a final expression statement is kept (``RESULT_NAME``), the way an
  interactive interpreter shows it; the name is not a valid identifier, so user code
  can neither read nor overwrite it.
"""

from __future__ import annotations

import ast

from RestrictedPython.transformer import RestrictingNodeTransformer

#: Where the final expression's value is stored. Not an identifier: unreachable from code.
RESULT_NAME = "<result>"
#: The file name compiled code carries; the runner keeps only frames from this file.
SOURCE_FILENAME = "<code>"


class SandboxTransformer(RestrictingNodeTransformer):
    def visit_Module(self, node: ast.Module) -> ast.AST:
        node = super().visit_Module(node)  # type: ignore[assignment]
        if node.body and isinstance(node.body[-1], ast.Expr):
            last = node.body[-1]
            assign = ast.Assign(targets=[ast.Name(id=RESULT_NAME, ctx=ast.Store())], value=last.value)
            node.body[-1] = ast.copy_location(assign, last)
            ast.fix_missing_locations(assign)
        return node
