"""``python -m src.mcp_stdio``: the sandbox as a local MCP server over stdin/stdout.

For desktop MCP clients that start the sandbox themselves (see the README for the
client configuration). The same pipeline as the HTTP service: settings from the
EXECUTOR_* environment (a token is not needed: the client that started this process is
the only caller), the validator, FIFO admission, a template and one fresh confined
worker per call. stdout carries the protocol, so logs go to stderr.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp.server.mcpserver import MCPServer
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from .log_config import configure_logging
from .mcp_server import build_mcp
from .metrics import ExecutorMetrics
from .sandbox.admission import AdmissionGate
from .sandbox.pool import ExecutionPool
from .sandbox.process_protection import make_undumpable
from .service import ExecutionService
from .settings import Settings


def build() -> MCPServer[Any]:
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors())
        sys.stderr.write(f"invalid configuration, refusing to start: {problems}\n")
        raise SystemExit(2) from None
    configure_logging(settings.log_format)
    pool = ExecutionPool(sorted(settings.allowed_imports), settings.prefork_workers)
    gate = AdmissionGate(settings.max_concurrent_executions, settings.max_queued_executions)
    service = ExecutionService(settings, pool, gate, ExecutorMetrics(CollectorRegistry()))

    @asynccontextmanager
    async def lifespan(server: MCPServer[Any]) -> AsyncIterator[None]:
        make_undumpable()
        await pool.start()
        try:
            yield
        finally:
            await pool.stop()

    return build_mcp(service, settings, lifespan=lifespan)


def main() -> None:
    build().run("stdio")


if __name__ == "__main__":
    main()
