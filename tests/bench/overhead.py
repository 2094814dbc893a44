"""Interpretive overhead: how much slower than plain CPython ordinary programs run in the
sandbox, their answers checked against CPython's.

    .venv/bin/python -m tests.bench.overhead                      # starts its own uvicorn
    .venv/bin/python -m tests.bench.overhead --json out.json      # also write the results
    .venv/bin/python -m tests.bench.overhead --url http://127.0.0.1:8030 --token "$TOKEN"
    .venv/bin/python -m tests.bench.overhead --cases DIR          # another set of programs

Each program of ``tests/bench/overhead_programs`` (tens of milliseconds of ordinary code:
classes, closures, dataclasses, comprehensions, str methods, json, heapq, enum and match)
runs in plain CPython in this process (compiled once, fresh globals each run, the final
expression statement kept as the result) and through ``POST /execute``, best of
``--repeat`` each, interleaved so that load on the machine hits both alike. The ratio
service/CPython is the overhead: it includes the service's fixed cost per request (a few
milliseconds), which is why the programs take tens of milliseconds. A case whose answer
differs from CPython's is wrong, whatever its time.

Last line: ``overhead: geomean G.GGx, worst W.WWx (case), C/N correct``. Exit status 0
when every answer is correct, 1 when one is not, 2 when the service could not be started
or reached. No threshold on the ratios: the issue tracker holds the targets.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.bench.bench import StartError, UsageError, own_server, parse_target, wait_for_livez

PROGRAMS = Path(__file__).resolve().parent / "overhead_programs"


def as_json(value: Any) -> Any:
    """The JSON form the contract gives a value (tuples become arrays, keys strings)."""
    return json.loads(json.dumps(value, default=repr))


def compile_with_result(code: str) -> Any:
    tree = ast.parse(code)
    last = tree.body[-1] if tree.body else None
    if isinstance(last, ast.Expr):
        tree.body.pop()
        tree.body.append(ast.copy_location(ast.Assign([ast.Name("__result__", ast.Store())], last.value), last))
    ast.fix_missing_locations(tree)
    return compile(tree, "<case>", "exec")


def cpython_once(compiled: Any) -> tuple[float, Any]:
    namespace: dict[str, Any] = {"__name__": "__main__"}
    start = time.perf_counter()
    exec(compiled, namespace)  # the benchmark's own programs
    return time.perf_counter() - start, as_json(namespace.get("__result__"))


def service_once(url: str, token: str, code: str, timeout_s: float) -> tuple[float, Any, str | None]:
    body = json.dumps({"code": code, "timeout_s": timeout_s}).encode()
    request = urllib.request.Request(  # a loopback URL given by the caller
        f"{url}/execute", data=body, headers={"Content-Type": "application/json", "X-Executor-Token": token}
    )
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout_s + 10) as response:
            reply = json.loads(response.read())
    except urllib.error.HTTPError as error:
        return time.perf_counter() - start, None, f"HTTP {error.code}"
    elapsed = time.perf_counter() - start
    if reply.get("error"):
        return elapsed, None, f"{reply['error'].get('type')}: {reply['error'].get('message')}"
    return elapsed, reply.get("result"), None


def measure(url: str, token: str, cases: Sequence[Path], repeat: int, timeout_s: float) -> list[dict[str, Any]]:
    rows = []
    for path in cases:
        code = path.read_text()
        compiled = compile_with_result(code)
        native, sandboxed = math.inf, math.inf
        expected: Any = None
        got: Any = None
        problem: str | None = None
        for _ in range(repeat):
            seconds, expected = cpython_once(compiled)
            native = min(native, seconds)
            seconds, got, problem = service_once(url, token, code, timeout_s)
            sandboxed = min(sandboxed, seconds)
            if problem is not None:
                break
        correct = problem is None and got == expected
        rows.append(
            {
                "case": path.stem,
                "cpython_ms": round(native * 1000, 2),
                "service_ms": round(sandboxed * 1000, 2),
                "ratio": round(sandboxed / native, 3),
                "correct": correct,
                "problem": problem or (None if correct else f"answer {got!r} != CPython's {expected!r}"),
            }
        )
    return rows


def summary(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    ratios = [row["ratio"] for row in rows]
    worst = max(rows, key=lambda row: row["ratio"])
    return {
        "geomean": round(math.exp(sum(math.log(r) for r in ratios) / len(ratios)), 3),
        "worst": worst["ratio"],
        "worst_case": worst["case"],
        "correct": sum(row["correct"] for row in rows),
        "cases": len(rows),
    }


def report(rows: Sequence[dict[str, Any]], totals: dict[str, Any]) -> None:
    print(f"{'case':<18} {'cpython ms':>11} {'service ms':>11} {'ratio':>7}")
    for row in rows:
        mark = "" if row["correct"] else f"   WRONG: {row['problem']}"
        print(f"{row['case']:<18} {row['cpython_ms']:>11.1f} {row['service_ms']:>11.1f} {row['ratio']:>6.2f}x{mark}")
    print(
        f"overhead: geomean {totals['geomean']:.2f}x, worst {totals['worst']:.2f}x ({totals['worst_case']}), "
        f"{totals['correct']}/{totals['cases']} correct"
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running service (default: start one on a free loopback port)")
    parser.add_argument("--token", help="its token (with --url)")
    parser.add_argument("--cases", type=Path, default=PROGRAMS, help="a directory of programs (*.py)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each program on each side (best is kept)")
    parser.add_argument("--timeout-s", type=float, default=30.0, help="timeout_s of each execution")
    parser.add_argument("--json", type=Path, help="also write the rows and the summary here")
    args = parser.parse_args(argv)
    if (args.url is None) != (args.token is None):
        parser.error("--url and --token go together")
    if not 1 <= args.repeat <= 50:
        parser.error("--repeat must be between 1 and 50")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cases = sorted(args.cases.glob("*.py"))
    if not cases:
        print(f"no programs in {args.cases}", file=sys.stderr)
        return 2
    try:
        if args.url is not None:
            host, port = parse_target(args.url)
            wait_for_livez(host, port, None, timeout_s=10)
            rows = measure(args.url.rstrip("/"), args.token, cases, args.repeat, args.timeout_s)
        else:
            with own_server(max_concurrent=1, max_queued=4) as server:
                wait_for_livez(server.host, server.port, server.process, timeout_s=60)
                url = f"http://{server.host}:{server.port}"
                rows = measure(url, server.token, cases, args.repeat, args.timeout_s)
    except (StartError, UsageError, OSError) as error:
        print(f"the service could not be used: {error}", file=sys.stderr)
        return 2
    totals = summary(rows)
    report(rows, totals)
    if args.json is not None:
        args.json.write_text(json.dumps({"rows": rows, "summary": totals}, indent=2) + "\n")
    return 0 if totals["correct"] == totals["cases"] else 1


if __name__ == "__main__":
    sys.exit(main())
