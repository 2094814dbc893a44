"""``sandboxed-executor-mcp`` (or ``python -m src.mcp_stdio``): the sandbox as a local MCP
server over stdin/stdout.

For desktop MCP clients that start the sandbox themselves (docs/mcp.md has the client
configuration). The same pipeline as the HTTP service: settings from the
EXECUTOR_* environment (a token is not needed: the client that started this process is
the only caller), the validator, FIFO admission, a template and one fresh confined
worker per call. stdout carries the protocol, so logs go to stderr.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp.server.mcpserver import MCPServer
from prometheus_client import CollectorRegistry

from .api.front import ExecutionFront
from .data_tier import data_modules
from .log_config import configure_logging
from .mcp_server import build_mcp
from .metrics import ExecutorMetrics
from .sandbox.admission import AdmissionGate
from .sandbox.pool import ExecutionPool
from .sandbox.process_protection import make_undumpable
from .sandbox.workdirs import WorkDirectories
from .service import ExecutionService
from .sessions.registry import SessionRegistry
from .settings import load_settings, warn_unknown_variables

log = logging.getLogger(__name__)


def build() -> MCPServer[Any]:
    settings = load_settings()
    configure_logging(settings.log_format)
    warn_unknown_variables(os.environ)
    workdirs = WorkDirectories(settings.files_root)
    pool = ExecutionPool(sorted(settings.allowed_imports), settings.prefork_workers, files_root=str(workdirs.root))
    gate = AdmissionGate(settings.max_concurrent_executions, settings.max_queued_executions)
    metrics = ExecutorMetrics(CollectorRegistry())
    data = data_modules(settings)
    data_pool = (
        ExecutionPool(
            sorted(settings.allowed_imports | data), settings.data_prefork_workers, files_root=str(workdirs.root)
        )
        if data
        else None
    )
    service = ExecutionService(settings, pool, gate, metrics, workdirs, data_pool=data_pool)
    front = ExecutionFront(service, metrics)
    sessions = SessionRegistry(settings, service, metrics)

    @asynccontextmanager
    async def lifespan(server: MCPServer[Any]) -> AsyncIterator[None]:
        make_undumpable()
        try:
            workdirs.start()  # before the template: its Landlock rule names the directory
        except OSError as exc:
            log.warning("no working directories (%s): programs run without files", exc.strerror)
        await pool.start()
        if data_pool is not None:
            await data_pool.start()
        await service.checker.start()
        sessions.start()
        try:
            yield
        finally:
            await sessions.stop()
            await pool.stop()
            if data_pool is not None:
                await data_pool.stop()
            await service.checker.stop()
            workdirs.stop()

    return build_mcp(front, settings, sessions=sessions, lifespan=lifespan)


def main() -> None:
    build().run("stdio")


if __name__ == "__main__":
    main()
