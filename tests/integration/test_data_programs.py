"""Ordinary analysis programs (tests/programs/data/) give in the sandbox what plain CPython
gives with the same libraries: the same stdout, the same result, the same files (text
compared byte for byte, images by their size) and as many figures as CPython leaves open.

CPython runs each in a subprocess of this interpreter (tests/support/cpython_run.py); the
sandbox in a worker of the real data template."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("numpy")
pytest.importorskip("pandas")
pytest.importorskip("matplotlib")

from src.language.catalogue import CATALOGUE
from src.language.data_catalogue import DATA_CATALOGUE
from src.protocol import Job
from src.sandbox.pool import ExecutionPool
from src.sandbox.workdirs import DecodedFile, WorkDirectories
from tests.support.jobs import job

PROGRAMS = Path(__file__).resolve().parents[1] / "programs" / "data"
ROOT = Path(__file__).resolve().parents[2]
NAMES = sorted(path.stem for path in PROGRAMS.glob("*.py"))
#: Input files by program.
INPUTS: dict[str, dict[str, bytes]] = {
    "json_round_trip": {
        "events.json": b'[{"kind": "login", "when": "2025-05-01T08:15:00"}, '
        b'{"kind": "login", "when": "2025-05-01T17:40:00"}, {"kind": "error", "when": "2025-05-02T03:05:00"}]'
    },
}


def _files(directory: Path) -> dict[str, Any]:
    """Each file: its text, or a PNG's size."""
    seen: dict[str, Any] = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            name = path.relative_to(directory).as_posix()
            seen[name] = list(struct.unpack(">II", data[16:24])) if data.startswith(b"\x89PNG") else data.decode()
    return seen


def _cpython(name: str, directory: Path) -> dict[str, Any]:
    for file, content in INPUTS.get(name, {}).items():
        (directory / file).write_bytes(content)
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg", "MPLCONFIGDIR": str(directory / ".mpl")}
    ran = subprocess.run(
        [sys.executable, "-m", "tests.support.cpython_run", str(PROGRAMS / f"{name}.py")],
        cwd=directory,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    shutil.rmtree(directory / ".mpl", ignore_errors=True)  # matplotlib's cache: not the program's
    answer: dict[str, Any] = json.loads(ran.stdout)
    answer["files"] = _files(directory)
    return answer


async def _sandboxed(root: Path) -> dict[str, dict[str, Any]]:
    workdirs = WorkDirectories(root)
    workdirs.start()
    pool = ExecutionPool(sorted(CATALOGUE.keys() | DATA_CATALOGUE.keys()), 1, files_root=str(workdirs.root))
    await pool.start()
    answers: dict[str, dict[str, Any]] = {}
    try:
        for name in NAMES:
            directory = workdirs.create([DecodedFile(f, c) for f, c in INPUTS.get(name, {}).items()])
            ran: Job = job((PROGRAMS / f"{name}.py").read_text(encoding="utf-8"))
            ran["limits"]["memory_mb"] = 1024
            ran["workdir"] = str(directory.path)
            ran["file_rules"] = {
                "max_files": 16,
                "max_file_bytes": 1 << 20,
                "max_files_bytes": 4 << 20,
                "max_path_chars": 255,
                "max_path_depth": 4,
            }
            ran["figure_rules"] = {"max_figures": 8, "max_figure_pixels": 4_000_000}
            outcome = await asyncio.wait_for(
                pool.run(ran, 30, stdout_budget=1 << 16, stderr_budget=1 << 16, flood_factor=4), 60
            )
            reply = outcome.reply
            answers[name] = {
                "stdout": outcome.stdout.text(),
                "stderr": outcome.stderr.text(),
                "error": reply["error"],
                "result": reply["result"],
                "figures": len(reply.get("figures", [])),
                "files": _files(directory.path),
            }
            WorkDirectories.remove(directory)
    finally:
        await pool.stop()
        workdirs.stop()
    return answers


@pytest.fixture(scope="module")
def sandboxed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    return asyncio.run(_sandboxed(tmp_path_factory.mktemp("sandboxed")))


def test_there_are_programs() -> None:
    assert len(NAMES) >= 8


@pytest.mark.parametrize("name", NAMES)
def test_the_sandbox_answers_as_cpython(
    name: str, sandboxed: dict[str, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    expected = _cpython(name, tmp_path_factory.mktemp(name))
    got = sandboxed[name]
    assert got["error"] is None, (got["error"], got["stderr"])
    assert got["stdout"] == expected["stdout"]
    assert got["result"] == expected["result"]
    assert got["files"] == expected["files"]
    assert got["figures"] == expected["figures"]


def test_the_programs_leave_figures_open_and_files_behind(sandboxed: dict[str, dict[str, Any]]) -> None:
    """The comparison above is not empty-handed: figures and files do come back."""
    assert sandboxed["dataframe_plot_accessor"]["figures"] == 1
    assert sandboxed["subplots_saved_and_open"]["files"]["panel.png"] == [360, 150]
