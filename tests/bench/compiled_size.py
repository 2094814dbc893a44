"""How much larger than its source ordinary Python compiles: the evidence behind
``COMPILED_BYTES_PER_SOURCE_BYTE`` (src/language/validation.py).

    .venv/bin/python -m tests.bench.compiled_size              # this interpreter's library
    .venv/bin/python -m tests.bench.compiled_size DIR [DIR ...]

For every ``*.py`` file under the directories: the marshalled size of a plain
``compile`` per source byte, and, for the files of at most 256 KiB the validator
accepts, of the program it prepares (RestrictedPython's transform included); for every
file, the validator's estimate of what constant folding builds. Prints the median, the
99th percentile and the largest ratios, and every file the compiled-size limit refuses
(there should be none that is not built to blow up).
"""

from __future__ import annotations

import ast
import marshal
import statistics
import sys
import sysconfig
import warnings
from pathlib import Path

from src.language.catalogue import CATALOGUE
from src.language.validation import SourcePolicy, compiled_limit_bytes, folded_bytes, prepare_program

#: Generous shape limits, so that only the compiled size can refuse a file here.
POLICY = SourcePolicy(max_ast_nodes=1_000_000, max_ast_depth=200, allowed_imports=frozenset(CATALOGUE))
MAX_SOURCE_BYTES = 256 * 1024


def _report(name: str, ratios: list[tuple[float, int, str]]) -> None:
    if not ratios:
        print(f"{name}: no files")
        return
    ratios.sort()
    values = [ratio for ratio, _, _ in ratios]
    p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
    print(f"{name}: {len(values)} files, median {statistics.median(values):.2f}, p99 {p99:.2f}, max {values[-1]:.2f}")
    for ratio, size, path in ratios[-3:]:
        print(f"    {ratio:.2f}  {size:>7} B  {path}")


def main(roots: list[Path]) -> None:
    plain: list[tuple[float, int, str]] = []
    prepared: list[tuple[float, int, str]] = []
    folding: list[tuple[float, int, str]] = []
    refused: list[str] = []
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            try:
                source = path.read_text("utf-8")
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    code = compile(source, str(path), "exec", dont_inherit=True)
            except (OSError, UnicodeDecodeError, SyntaxError, ValueError, RecursionError, MemoryError):
                continue
            size = len(source.encode("utf-8"))
            if size < 200:  # a docstring and an import: the ratio of nearly nothing
                continue
            plain.append((len(marshal.dumps(code)) / size, size, str(path)))
            estimate = folded_bytes(ast.parse(source))
            folding.append((estimate / size, size, str(path)))
            if estimate > compiled_limit_bytes(size):
                refused.append(str(path))
            if size > MAX_SOURCE_BYTES:
                continue
            result = prepare_program(source, POLICY)
            if any(v.rule == "too_large_compiled" for v in result.violations) and str(path) not in refused:
                refused.append(str(path))
            if result.bytecode is not None:
                prepared.append((len(result.bytecode) / size, size, str(path)))
    _report("plain compile", plain)
    _report("accepted by the validator", prepared)
    _report("constant folding (estimate)", folding)
    print(f"refused for their compiled size: {len(refused)}")
    for name_of_file in refused:
        print(f"    {name_of_file}")


if __name__ == "__main__":
    main([Path(arg) for arg in sys.argv[1:]] or [Path(sysconfig.get_paths()["stdlib"])])
