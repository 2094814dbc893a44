"""A template whose workers run programs with plain ``exec``: no RestrictedPython, no
guards, the real builtins, ``import os`` allowed.

Test-only: it lives in tests/, the service never imports it, and neither a setting nor
a request can select it (only code that builds an ExecutionPool with
``template_entry=ENTRY`` can). It stands for "the next RestrictedPython escape": what a
program can do once the language layer is gone, so that the tests can show what each
OS layer stops on its own.
"""

from __future__ import annotations

import builtins
from typing import Any, TextIO

from src.protocol import Job, WorkerReply
from src.worker import template
from src.worker.runner import Environment

ENTRY = "tests.support.unguarded_template"


def run_unguarded(job: Job, stdout: TextIO, stderr: TextIO, environment: Environment) -> WorkerReply:
    """Run ``job["code"]`` as ordinary Python. The result is the global ``result`` when it
    is a string, an int, a bool or None; an exception is the error, as in the service."""
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    namespace.update(job["context"])
    try:
        exec(compile(job["code"], "<unguarded>", "exec"), namespace)  # the point of this module
    except BaseException as exc:  # noqa: BLE001 - the program's failure is the data
        return {
            "success": False,
            "result": None,
            "result_truncated": False,
            "error": {"type": type(exc).__name__, "message": str(exc)[:2000], "line": None},
            "limit": None,
        }
    result = namespace.get("result")
    if not isinstance(result, str | int | bool | None):
        result = repr(result)[:2000]
    return {"success": True, "result": result, "result_truncated": False, "error": None, "limit": None}


def main(control_fd: int) -> None:
    template.main(control_fd, runner=run_unguarded)
