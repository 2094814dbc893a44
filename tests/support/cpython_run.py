"""Run a program as plain CPython does, for comparison with the sandbox: the value of its
last expression statement as the result, what it printed, the files it left and the
figures still open. Invoked as ``python -m tests.support.cpython_run <program>`` in the
program's working directory; prints one JSON object."""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import sys
from typing import Any


def run(source: str) -> dict[str, Any]:
    tree = ast.parse(source)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    assert last is None or isinstance(last, ast.Expr)
    namespace: dict[str, Any] = {"__name__": "__main__"}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(tree, "<program>", "exec"), namespace)
        result = eval(compile(ast.Expression(last.value), "<program>", "eval"), namespace) if last else None
    pyplot = sys.modules.get("matplotlib.pyplot")
    return {
        "stdout": printed.getvalue(),
        "result": json.loads(json.dumps(result)),
        "figures": len(pyplot.get_fignums()) if pyplot is not None else 0,
    }


if __name__ == "__main__":
    os.environ.setdefault("MPLBACKEND", "Agg")
    with open(sys.argv[1], encoding="utf-8") as file:
        print(json.dumps(run(file.read())))
