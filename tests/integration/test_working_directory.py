"""A worker's working directory, seen from a worker whose language guards are gone
(tests/support/unguarded_template.py): the next RestrictedPython escape.

The job's directory is the worker's current directory, and its input files are there to
read and new files to write (within RLIMIT_FSIZE); the directory of another execution
beneath the same root is neither readable nor writable (the worker's own Landlock
domain), and a worker without a directory writes nowhere."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from src.language.catalogue import CATALOGUE
from src.protocol import FileRules, Job
from src.sandbox.pool import ExecutionPool
from src.sandbox.workdirs import DecodedFile, WorkDirectories
from src.worker.isolation import landlock
from tests.support.jobs import job
from tests.support.unguarded_template import ENTRY

needs_landlock = pytest.mark.skipif(landlock.abi_version() < 1, reason="no Landlock on this host")


@dataclass
class Seen:
    """What the scenario saw, for the tests to check."""

    root: Path
    workdir: Path
    replies: dict[str, dict[str, Any]]
    #: The files in the worker's directory after the runs, with their sizes.
    written: list[tuple[str, int]]


RULES: FileRules = {
    "max_files": 8,
    "max_file_bytes": 1024,
    "max_files_bytes": 4096,
    "max_path_chars": 255,
    "max_path_depth": 4,
}


async def _run(pool: ExecutionPool, code: str, workdir: Path | None, context: dict[str, Any]) -> dict[str, Any]:
    ran: Job = job(code, context)
    if workdir is not None:
        ran["workdir"] = str(workdir)
        ran["file_rules"] = RULES
    outcome = await asyncio.wait_for(pool.run(ran, 8, stdout_budget=4096, stderr_budget=4096, flood_factor=4), 30)
    return dict(outcome.reply)


async def _scenario(parent: Path) -> Seen:
    workdirs = WorkDirectories(parent)
    workdirs.start()
    pool = ExecutionPool(sorted(CATALOGUE), 1, template_entry=ENTRY, files_root=str(workdirs.root))
    await pool.start()
    try:
        mine = workdirs.create([DecodedFile("data/in.csv", b"a,b\n1,2\n")])
        theirs = workdirs.create([DecodedFile("secret.txt", b"theirs")])
        other = {"other": str(theirs.path / "secret.txt"), "root": str(workdirs.root)}
        replies = {
            "read own": await _run(
                pool, "import os\nresult = os.getcwd() + '|' + open('data/in.csv').read()", mine.path, other
            ),
            "read other": await _run(pool, "result = open(other).read()", mine.path, other),
            "list root": await _run(pool, "import os\nresult = ','.join(os.listdir(root))", mine.path, other),
            "write own": await _run(pool, "open('out.txt', 'w').write('x')", mine.path, other),
            "write own past the size": await _run(pool, "open('big.bin', 'wb').write(b'x' * 2048)", mine.path, other),
            "write other": await _run(
                pool, "open(other.replace('secret.txt', 'planted.txt'), 'w').write('x')", mine.path, other
            ),
            "no directory, write": await _run(pool, "open('/tmp/planted-by-a-worker', 'w').write('x')", None, other),
            # Attack pass 93: what Landlock does not govern, or counts do not see.
            "truncate read-only": await _run(
                pool, "import os\nos.close(os.open('data/in.csv', os.O_RDONLY | os.O_TRUNC))", mine.path, other
            ),
            "unnamed file": await _run(
                pool, "import os\nos.open('.', os.O_TMPFILE | os.O_WRONLY, 0o600)", mine.path, other
            ),
            "unreadable directory": await _run(pool, "import os\nos.mkdir('hidden', 0o300)", mine.path, other),
            "no directory, read other": await _run(pool, "result = open(other).read()", None, other),
        }
        return Seen(
            workdirs.root,
            mine.path,
            replies,
            sorted(
                (p.relative_to(mine.path).as_posix(), p.stat().st_size) for p in mine.path.rglob("*") if p.is_file()
            ),
        )
    finally:
        await pool.stop()
        workdirs.stop()


@pytest.fixture(scope="module")
def seen(tmp_path_factory: pytest.TempPathFactory) -> Seen:
    return asyncio.run(_scenario(tmp_path_factory.mktemp("files")))


def test_the_worker_runs_in_its_directory_and_reads_its_input_files(seen: Seen) -> None:
    reply = seen.replies["read own"]
    assert reply["error"] is None, reply
    assert reply["result"] == f"{seen.workdir}|a,b\n1,2\n"


@needs_landlock
@pytest.mark.parametrize("attempt", ["read other", "list root", "no directory, read other"])
def test_no_other_executions_directory_can_be_read(seen: Seen, attempt: str) -> None:
    reply = seen.replies[attempt]
    assert reply["success"] is False
    assert reply["error"]["type"] == "PermissionError", reply


def test_it_can_be_written_within_the_size_limit(seen: Seen) -> None:
    assert seen.replies["write own"]["error"] is None, seen.replies["write own"]
    past = seen.replies["write own past the size"]
    assert (past["limit"], past["error"]["type"]) == ("files", "FilesLimitExceeded"), past
    assert seen.written == [("big.bin", RULES["max_file_bytes"]), ("data/in.csv", 8), ("out.txt", 1)]


@needs_landlock
@pytest.mark.parametrize("attempt", ["write other", "no directory, write"])
def test_nothing_else_can_be_written(seen: Seen, attempt: str) -> None:
    reply = seen.replies[attempt]
    assert reply["success"] is False
    assert reply["error"]["type"] == "PermissionError", reply
    assert not Path("/tmp/planted-by-a-worker").exists()


@pytest.mark.parametrize("attempt", ["truncate read-only", "unnamed file", "unreadable directory"])
def test_what_landlock_does_not_govern_the_filter_refuses(seen: Seen, attempt: str) -> None:
    reply = seen.replies[attempt]
    assert reply["success"] is False
    assert reply["error"]["type"] == "PermissionError", reply
