"""Build the C half of the attribute guard (``worker/_fastguards.c``) in place, next to its source.

    python -m src.build_fastguards

scripts/serve, scripts/test and the image run it. setuptools does the compiling (the
interpreter's own flags and headers, no hand-written compiler line); with no compiler or
no setuptools the build is skipped with a note, and the guards run in pure Python, with the
same answers and more slowly (fastguards.py)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "worker" / "_fastguards.c"


def build() -> bool:
    try:
        from setuptools import Distribution, Extension  # type: ignore[import-untyped]  # noqa: PLC0415
    except ImportError:
        print("fastguards: setuptools is missing; the guards run in pure Python", file=sys.stderr)
        return False
    extension = Extension(
        "src.worker._fastguards", [str(SOURCE.relative_to(ROOT))], extra_compile_args=["-O2", "-Wall", "-Werror"]
    )
    distribution = Distribution({"name": "sandboxed-executor-fastguards", "ext_modules": [extension]})
    command = distribution.get_command_obj("build_ext")
    command.inplace = True
    command.build_temp = str(ROOT / "build" / "fastguards")
    os.chdir(ROOT)  # in place: relative to the checkout's root, where the package src is
    try:
        command.ensure_finalized()
        command.run()
    except Exception as exc:  # noqa: BLE001 - a compiler's failure of any kind means: pure Python
        print(f"fastguards: not built ({exc}); the guards run in pure Python", file=sys.stderr)
        return False
    return True


if __name__ == "__main__":
    # --require: a build that fails is an error (CI), not a slower service.
    sys.exit(1 if not build() and "--require" in sys.argv[1:] else 0)
