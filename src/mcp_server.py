"""The sandbox as an MCP server (official SDK, ``mcp``): the same pipeline as /execute.

Tools:

* ``run_python(code, context?, timeout_s?)``: runs the code through ExecutionService,
  exactly as POST /execute does (validation, FIFO admission, a fresh confined worker).
  The result has a short text summary for the model and ``structuredContent`` equal to
  the /execute response. A program that raised or hit a limit is ``isError: true`` with
  its error; code the validator refuses is a tool error that lists every violation with
  its line and a hint, never a protocol error.
* ``sandbox_info()``: the allowed modules and the limits, also the resource
  ``sandbox://info``, so that an agent can look before it writes code.

Served over Streamable HTTP at /mcp in the service's own FastAPI app (stateless, JSON
answers: any replica can answer any request), and over stdio by ``python -m
src.mcp_stdio``. On HTTP the caller authenticates as on /execute (``X-Executor-Token``,
or ``Authorization: Bearer``), shares its rate-limit budget with /execute, and is
counted and audited with ``transport="mcp"``.
"""

from __future__ import annotations

import asyncio
import contextvars
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import ValidationError

from . import __version__
from .api.front import Caller, ExecutionFront, unless_client_leaves
from .errors import CodeRejected, ExecutorError, InvalidRequest, RateLimited
from .log_config import REQUEST_ID
from .schemas import ExecuteRequest, ExecuteResponse
from .settings import Settings

#: Who is calling, set by the HTTP front (McpFront) for the tool to audit and limit; None
#: over stdio, where the caller is whoever started the process.
CALLER: contextvars.ContextVar[Caller | None] = contextvars.ContextVar("mcp_caller", default=None)
#: Set by the HTTP front when the client that made the request disconnects before its
#: answer; None over stdio.
CLIENT_GONE: contextvars.ContextVar[asyncio.Event | None] = contextvars.ContextVar("mcp_client_gone", default=None)
#: What run_python answers to a client that left (nobody reads it; it is for the SDK).
ABANDONED_TEXT = "the client disconnected before the answer; the execution was stopped"
SUMMARY_CHARS = 2000


def sandbox_info(settings: Settings) -> dict[str, Any]:
    return {
        "language": "Python 3.11, run with RestrictedPython in a fresh, confined process per call",
        "allowed_modules": sorted(settings.allowed_imports),
        "limits": {
            "default_timeout_s": settings.execution_timeout_s,
            "max_timeout_s": settings.max_timeout_s,
            "memory_mb": settings.max_memory_mb,
            "max_code_bytes": settings.max_code_bytes,
            "max_stdout_bytes": settings.max_stdout_bytes,
            "max_stderr_bytes": settings.max_stderr_bytes,
            "max_result_bytes": settings.max_result_bytes,
        },
        "returning_a_value": "the value of the last expression statement (else the global `_`) comes back "
        "as `result`, converted to JSON; print() goes to `stdout`",
        "not_available": "files, network, subprocesses, threads, eval/exec, attributes starting with _, "
        "modules outside allowed_modules; nothing persists between calls",
    }


def tool_description(settings: Settings) -> str:
    modules = ", ".join(sorted(settings.allowed_imports))
    return (
        "Run Python 3.11 code in a fresh sandboxed process and get its stdout, stderr and result.\n"
        "- The value of the last expression comes back as `result` (JSON): end the code with an expression, "
        "like a notebook cell. print() output comes back as `stdout`.\n"
        "- `context` (optional object): its keys become global variables (identifiers not starting with _).\n"
        f"- Limits: {settings.execution_timeout_s:g} s by default (timeout_s up to {settings.max_timeout_s:g}), "
        f"{settings.max_memory_mb} MB memory, output truncated past "
        f"{settings.max_stdout_bytes // 1024} KiB.\n"
        f"- Importable modules: {modules}. Nothing else: no files, network, subprocesses, threads, "
        "eval/exec, or names/attributes starting with an underscore.\n"
        "- Nothing persists between calls: define what you need in each call.\n"
        "- Refused code comes back as an error listing each problem with its line and a hint."
    )


def _summary(reply: ExecuteResponse) -> str:
    parts: list[str] = []
    if reply.error is not None:
        where = f" (line {reply.error.line})" if reply.error.line else ""
        parts.append(f"{reply.error.type}{where}: {reply.error.message}")
    if reply.limit is not None:
        parts.append(f"stopped by the {reply.limit} limit")
    if reply.stdout:
        parts.append("stdout:\n" + reply.stdout[:SUMMARY_CHARS] + ("…" if len(reply.stdout) > SUMMARY_CHARS else ""))
    if reply.stderr and reply.error is None:
        parts.append("stderr:\n" + reply.stderr[:SUMMARY_CHARS])
    if reply.result is not None:
        parts.append(f"result: {str(reply.result)[:SUMMARY_CHARS]}")
    if not parts:
        parts.append("ran successfully, with no output and no result")
    return "\n".join(parts)


def _tool_error(text: str, **structured: Any) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=text)], structured_content=structured or None, is_error=True
    )


def _refusal(exc: ExecutorError) -> CallToolResult:
    if isinstance(exc, CodeRejected):
        lines = [v.as_detail()["message"] for v in exc.violations]
        return _tool_error(
            "The code was refused before running:\n" + "\n".join(f"- {line}" for line in lines),
            violations=[v.as_detail() for v in exc.violations],
        )
    retry = (exc.headers or {}).get("Retry-After")
    hint = f" Retry in {retry} s." if retry else ""
    text = f"{exc.detail}.{hint}" if isinstance(exc.detail, str) else str(exc.detail)
    if isinstance(exc, RateLimited):
        return _tool_error(text, retry_after_s=exc.retry_after_s)
    return _tool_error(text)


def _arguments(
    code: str, context: dict[str, Any] | None, timeout_s: float | None, settings: Settings
) -> ExecuteRequest:
    """The tool's arguments as an /execute request; InvalidRequest when they do not fit."""
    try:
        return ExecuteRequest.model_validate(
            {"code": code, "context": context or {}, "timeout_s": timeout_s},
            context={"max_context_depth": settings.max_context_depth},
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False))
        raise InvalidRequest(f"Invalid arguments: {problems}") from exc


def build_mcp(
    front: ExecutionFront,
    settings: Settings,
    rate_limit: Callable[[Caller], int | None] | None = None,
    lifespan: Callable[[MCPServer[Any]], AbstractAsyncContextManager[Any]] | None = None,
) -> MCPServer[Any]:
    """``rate_limit(caller)``: None when the caller may run one more execution, else the
    seconds to wait (the HTTP transport passes the /execute budgets; stdio has none).
    ``lifespan``: stdio only; over HTTP the service's own lifespan runs the pool."""
    mcp: MCPServer[Any] = MCPServer(
        lifespan=lifespan,
        # No subscriptions/listen streams: nothing here changes, and each would hold a
        # connection open for as long as the client likes.
        subscriptions=False,
        name="python-sandbox",
        title="Sandboxed Python",
        version=__version__,
        instructions="Runs Python code in a fresh, isolated sandbox. Call sandbox_info first to see the "
        "allowed modules and limits, then run_python.",
    )

    @mcp.tool(
        name="run_python",
        title="Run Python",
        description=tool_description(settings),
        annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False, idempotent_hint=False),
    )
    async def run_python(
        code: str, context: dict[str, Any] | None = None, timeout_s: float | None = None
    ) -> CallToolResult:
        caller = CALLER.get()
        audit = front.audit(caller, "mcp")
        try:
            if caller is not None and rate_limit is not None:
                wait = rate_limit(caller)
                if wait is not None:
                    raise RateLimited("Rate limit exceeded", wait)
            request = _arguments(code, context, timeout_s, settings)
            execution = front.execute(request, REQUEST_ID.get() or uuid.uuid4().hex, audit)
            gone = CLIENT_GONE.get()
            reply = await (execution if gone is None else unless_client_leaves(gone.wait(), execution))
        except ExecutorError as exc:
            front.refused(exc, "mcp", audit)
            return _refusal(exc)
        if reply is None:
            front.abandoned(audit)
            return _tool_error(ABANDONED_TEXT)
        return CallToolResult(
            content=[TextContent(type="text", text=_summary(reply))],
            structured_content=reply.model_dump(mode="json"),
            is_error=not reply.success,
        )

    @mcp.tool(
        name="sandbox_info",
        title="What the sandbox allows",
        description="The modules run_python may import, its limits, and how results come back.",
        annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False, idempotent_hint=True),
    )
    def describe() -> dict[str, Any]:
        return sandbox_info(settings)

    @mcp.resource(
        "sandbox://info",
        name="sandbox-info",
        title="What the sandbox allows",
        description="The modules run_python may import, its limits, and how results come back.",
        mime_type="application/json",
    )
    def info_resource() -> dict[str, Any]:
        return sandbox_info(settings)

    return mcp
