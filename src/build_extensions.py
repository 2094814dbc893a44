"""Build the worker's C extensions in place, next to their sources.

    python -m src.build_extensions

- ``worker/interpreter_repairs/*.c`` (``_repairs``): repairs of memory-safety bugs in the interpreter's C code
  (repairs.py). A security layer ("interpreter_repairs"): without it the service reports
  the layer missing and, by default, refuses to run programs.
- ``worker/_output.c``: the worker's output streams, written out by a signal handler at a
  deadline, at the CPU limit or at a crash, also in the middle of a long C call. Without it
  the streams are io's, and such a program's buffered output is lost.
- ``worker/_fastguards.c``: the guards' common cases in C (fastguards.py). A speed-up:
  without it the guards run in pure Python, with the same answers, more slowly.

scripts/serve, scripts/test and the image run it. setuptools does the compiling (the
interpreter's own flags and headers, no hand-written compiler line); with no compiler or
no setuptools the build is skipped with a note."""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
_WITHOUT = "the interpreter repairs are missing (the service refuses to run programs) and the guards run in pure Python"


def extension_table() -> list[dict[str, Any]]:
    """pyproject.toml's ``[[tool.setuptools.ext-modules]]``: the one list of them, which
    the wheel's build reads too."""
    with (ROOT / "pyproject.toml").open("rb") as f:
        return list(tomllib.load(f)["tool"]["setuptools"]["ext-modules"])


def build() -> bool:
    """Build every extension; whether all were built."""
    try:
        from setuptools import Distribution, Extension  # type: ignore[import-untyped]  # noqa: PLC0415
    except ImportError:
        print(f"extensions: setuptools is missing; {_WITHOUT}", file=sys.stderr)
        return False
    extensions = [
        Extension(
            entry["name"],
            entry["sources"],
            depends=entry.get("depends", []),
            extra_compile_args=entry.get("extra-compile-args", []),
        )
        for entry in extension_table()
    ]
    distribution = Distribution({"name": "sandboxed-executor-extensions", "ext_modules": extensions})
    command = distribution.get_command_obj("build_ext")
    command.inplace = True
    command.build_temp = str(ROOT / "build" / "extensions")
    os.chdir(ROOT)  # in place: relative to the checkout's root, where the package src is
    try:
        command.ensure_finalized()
        command.run()
    except Exception as exc:  # noqa: BLE001 - a compiler's failure of any kind means: not built
        print(f"extensions: not built ({exc}); {_WITHOUT}", file=sys.stderr)
        return False
    return True


if __name__ == "__main__":
    # --require: a build that fails is an error (CI, the image), not a weaker service.
    sys.exit(1 if not build() and "--require" in sys.argv[1:] else 0)
