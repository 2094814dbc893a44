"""Programs run in-process by the worker's own ``run_job``: real RestrictedPython, real
guards, real module proxies, but no fork and no OS layer. The unit tests of the language
layer use these helpers (one copy, one argument order: the code first).
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from src.language.catalogue import CATALOGUE
from src.language.data_catalogue import DATA_CATALOGUE
from src.protocol import ErrorInfo, Job, Limits, WorkerReply
from src.worker import data_setup, fastguards
from src.worker.guards import INTERNAL_LAZY_IMPORTS
from src.worker.library_guards import build_proxies
from src.worker.proxies import ModuleProxy
from src.worker.runner import run_job

Proxies = dict[str, ModuleProxy]

#: Every catalogue module is importable in these tests (the widest policy the service allows).
ALLOWED = frozenset(CATALOGUE)
#: With the data tier's modules too (data_proxies).
DATA_ALLOWED = ALLOWED | DATA_CATALOGUE.keys()

#: The limits a job carries; only the converter and error budgets matter in-process.
LIMITS: Limits = {
    "memory_mb": 256,
    "cpu_s": 5,
    "max_open_files": 16,
    "max_result_bytes": 65536,
    "max_error_chars": 2000,
}

PROGRAMS = Path(__file__).resolve().parent.parent / "programs"


def catalogue_proxies() -> Proxies:
    """The worker's view of the catalogue, prepared the way the template prepares it
    (the lazily imported internals first, then one proxy per allowed module)."""
    for name in INTERNAL_LAZY_IMPORTS:
        importlib.import_module(name)
    return build_proxies(sorted(CATALOGUE))


def data_proxies() -> Proxies:
    """The data template's view: numpy, pandas and matplotlib imported and warmed as the
    template does it (worker/data_setup.py), then every proxy. It changes the process for
    good (the libraries' classes sealed, their attributes ruled): only for processes of
    their own (tests/integration/test_data_tier.py runs these in a subprocess)."""
    for name in INTERNAL_LAZY_IMPORTS:
        importlib.import_module(name)
    data_setup.prepare(DATA_ALLOWED)
    return build_proxies(sorted(DATA_ALLOWED))


@dataclass(frozen=True)
class Outcome:
    """What one program did: the worker's reply and what it printed."""

    reply: WorkerReply
    stdout: str
    stderr: str

    @property
    def error(self) -> ErrorInfo:
        """The error; fails the test when the program succeeded."""
        assert self.reply["error"] is not None, self.reply
        return self.reply["error"]

    @property
    def result(self) -> Any:
        """The result; fails the test when the program raised."""
        assert self.reply["error"] is None, self.reply["error"]
        return self.reply["result"]

    @property
    def error_type(self) -> str | None:
        error = self.reply["error"]
        return None if error is None else error["type"]


def run(code: str, proxies: Proxies, context: dict[str, Any] | None = None, **limits: int) -> Outcome:
    """Run ``code`` as the worker would, with ``limits`` overriding LIMITS."""
    job: Job = {"code": code, "context": context or {}, "limits": {**LIMITS, **limits}}  # type: ignore[typeddict-item]
    if "numpy" in proxies:
        job["figure_rules"] = {"max_figures": 8, "max_figure_pixels": 4_000_000}
    stdout, stderr = io.StringIO(), io.StringIO()
    try:
        reply = run_job(job, stdout, stderr, proxies, DATA_ALLOWED if "numpy" in proxies else ALLOWED)
    finally:
        gc.enable()  # a job turns the collector off for its worker's life; this process goes on
    return Outcome(reply, stdout.getvalue(), stderr.getvalue())


def program(name: str) -> str:
    """The source of ``tests/programs/<name>.py``: a hostile program kept as a file."""
    return (PROGRAMS / f"{name}.py").read_text()


@contextlib.contextmanager
def guard_mode(*, pure: bool) -> Iterator[None]:
    """Jobs started inside run with the pure-Python guards (``pure``) or the C ones."""
    previous = os.environ.pop(fastguards.PURE_PYTHON_VARIABLE, None)
    if pure:
        os.environ[fastguards.PURE_PYTHON_VARIABLE] = "1"
    try:
        yield
    finally:
        os.environ.pop(fastguards.PURE_PYTHON_VARIABLE, None)
        if previous is not None:
            os.environ[fastguards.PURE_PYTHON_VARIABLE] = previous
