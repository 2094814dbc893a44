"""The service's side of working directories: a client that leaves while its directory is
being made leaves no directory behind (attack pass 91, F2), whatever the moment."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from src.metrics import ExecutorMetrics
from src.sandbox.admission import AdmissionGate
from src.sandbox.pool import ExecutionPool
from src.sandbox.workdirs import DecodedFile, WorkDirectories, WorkDirectory
from src.service import ExecutionService
from tests.support.server import make_settings


class HeldWorkDirectories(WorkDirectories):
    """Makes its directories only once the test lets it (a slow disk, deterministically)."""

    def __init__(self, files_root: Path) -> None:
        super().__init__(files_root)
        self.entered = threading.Event()
        self.release = threading.Event()
        self.made = threading.Event()

    def create(self, files: Sequence[DecodedFile]) -> WorkDirectory:
        self.entered.set()
        assert self.release.wait(10)
        try:
            return super().create(files)
        finally:
            self.made.set()


def _left(workdirs: WorkDirectories) -> list[Path]:
    return list(workdirs.root.iterdir())


def test_a_directory_made_after_its_client_left_is_removed(tmp_path: Path) -> None:
    workdirs = HeldWorkDirectories(tmp_path)
    workdirs.start()
    settings = make_settings()
    service = ExecutionService(
        settings,
        ExecutionPool([], 0),
        AdmissionGate(1, 1, queue_timeout_s=1),
        ExecutorMetrics(CollectorRegistry()),
        workdirs,
    )

    async def scenario() -> None:
        making = asyncio.ensure_future(service.working_directory([DecodedFile("a/b.txt", b"x")]))
        await asyncio.to_thread(workdirs.entered.wait, 10)
        making.cancel()  # the client left while the directory was being made
        with pytest.raises(asyncio.CancelledError):
            await making
        workdirs.release.set()
        await asyncio.to_thread(workdirs.made.wait, 10)
        for _ in range(500):  # bounded: the removal runs in a thread once the directory exists
            if not _left(workdirs):
                return
            await asyncio.sleep(0.01)

    try:
        asyncio.run(scenario())
        assert _left(workdirs) == []
    finally:
        workdirs.stop()
