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

from RestrictedPython.transformer import RestrictingNodeTransformer

#: Where the final expression's value is stored. Not an identifier: unreachable from code.
RESULT_NAME = "<result>"
#: The file name compiled code carries; the runner keeps only frames from this file.
SOURCE_FILENAME = "<code>"


class SandboxTransformer(RestrictingNodeTransformer):
    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        """RestrictedPython rebuilds every class from a template ``class X(metaclass=
        __metaclass__)``, which loses the statement's line (errors raised while building
        the class pointed at line 1) and its keywords (``class F(Flag, boundary=KEEP)``
        silently lost ``boundary``). Put both back; ``metaclass=`` stays refused."""
        keywords = node.keywords
        rebuilt = super().visit_ClassDef(node)
        assert isinstance(rebuilt, ast.ClassDef)
        rebuilt.keywords.extend(k for k in keywords if k.arg != "metaclass")
        for part in ast.walk(rebuilt):
            if part is rebuilt or any(part is k or part is k.value for k in rebuilt.keywords[:1]):
                ast.copy_location(part, node)
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
