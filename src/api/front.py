"""The execution front: what POST /execute and the MCP tool ``run_python`` share.

* who is calling: the token, taken from ``X-Executor-Token`` or ``Authorization:
  Bearer`` and compared with ``hmac.compare_digest`` (``check_token``);
* what came of each request: every execution request ends counted once in
  ``executor_executions_total{outcome, transport}`` and written once to the audit log,
  whether it ran (success, error, limit), was refused (rejected, with its reason from the
  error tree) or was abandoned by its client (``ExecutionFront``).

The transports differ only in how they speak: HTTP answers a refusal with its status
code, MCP with a tool error. Neither counts or audits anything itself.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import hmac
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

from starlette.datastructures import Headers

from ..errors import ExecutorError, SandboxUnavailable, Unauthorized
from ..metrics import ExecutorMetrics
from ..protocol import SERVICE_ERROR_TYPES
from ..schemas import ExecuteRequest, ExecuteResponse, Transport
from ..service import ExecutionService
from ..sessions.registry import Session, SessionRegistry
from ..settings import Settings
from .audit import AuditRecord, token_fingerprint

TOKEN_HEADER = "X-Executor-Token"  # noqa: S105 - a header name, not a secret
UNCONFIGURED_DETAIL = (
    "the service has no API token configured; set EXECUTOR_API_TOKEN (or EXECUTOR_API_TOKEN_FILE) and restart it"
)
#: Status written to the audit log for an execution whose client left before the answer
#: (nginx's "client closed request"); nothing is sent.
CLIENT_CLOSED_REQUEST = 499

T = TypeVar("T")


async def unless_client_leaves(gone: Awaitable[object], work: Awaitable[T]) -> T | None:
    """``work``'s result, or None if ``gone`` (the client left) finishes first; ``work`` is
    then cancelled: an execution nobody will read must not keep a slot or a queue place.
    A refusal raised by ``work`` propagates."""
    task = asyncio.ensure_future(work)
    watch = asyncio.ensure_future(gone)
    try:
        await asyncio.wait((task, watch), return_when=asyncio.FIRST_COMPLETED)
    finally:
        watch.cancel()
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, ExecutorError):
        await task
    return None


def _bearer(headers: Headers) -> str | None:
    scheme, _, credentials = headers.get("authorization", "").partition(" ")
    # HTTP's own whitespace only: str.strip() would also drop U+00A0 and U+0085, letting
    # a value that differs byte for byte from the token (and from X-Executor-Token) in.
    credentials = credentials.strip(" \t")
    return credentials if scheme.lower() == "bearer" and credentials else None


def presented_token(headers: Headers) -> str | None:
    """The token the request carries: ``X-Executor-Token``, or the credentials of
    ``Authorization: Bearer``. None when neither is there.

    An Authorization header with another scheme (Basic, set by a proxy) is not a token
    and is ignored. Raises Unauthorized when a token could be read two ways: both
    headers carrying different tokens, or either header sent twice. Which one the caller
    meant cannot be guessed, and taking the first or the last would let a header added by
    a proxy (or smuggled past it) decide.
    """
    for name in (TOKEN_HEADER, "authorization"):
        if len(headers.getlist(name)) > 1:
            raise Unauthorized(f"the {name} header was sent more than once; send it once")
    header, bearer = headers.get(TOKEN_HEADER), _bearer(headers)
    if header is not None and bearer is not None and not _same(header, bearer):
        raise Unauthorized("X-Executor-Token and Authorization: Bearer carry different tokens; send one")
    return header if header is not None else bearer


def caller_token(headers: Headers) -> str | None:
    """The token to identify the caller by (rate-limit key, audit fingerprint), without
    judging it: never raises, and a request that sent two is known by X-Executor-Token."""
    header = headers.get(TOKEN_HEADER)
    return header if header is not None else _bearer(headers)


def check_token(settings: Settings, presented: str | None) -> None:
    """Raises SandboxUnavailable (503) when the service has no token configured, and
    Unauthorized (401) when ``presented`` is missing or wrong."""
    if not settings.token_configured or settings.api_token is None:
        raise SandboxUnavailable(UNCONFIGURED_DETAIL, retry_after_s=30)
    # Every token compared, whichever matched: the time says nothing about which one.
    matches = [_same(presented, token) for token in settings.accepted_tokens] if presented is not None else []
    if not any(matches):
        raise Unauthorized(f"missing or invalid token: send {TOKEN_HEADER} or Authorization: Bearer")


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison on bytes: its time does not depend on how much of a
    guess was right. Headers arrive as latin-1 text; surrogateescape keeps any byte."""
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape"))


#: Exception names the audit log may carry as they are. A program names its own exception
#: classes (``E.__name__ = secret``), so any other name could carry a context value.
_BUILTIN_EXCEPTIONS = (
    frozenset(
        name for name, value in vars(builtins).items() if isinstance(value, type) and issubclass(value, BaseException)
    )
    | SERVICE_ERROR_TYPES
)


def audited_error_type(name: str) -> str:
    """The name of an exception as the audit log may carry it."""
    return name if name in _BUILTIN_EXCEPTIONS else "<program exception>"


@dataclass(frozen=True)
class Caller:
    """Who asked: the client address and the token's fingerprint (never the token).
    Over stdio there is no network caller: both are None."""

    client_ip: str | None
    token_fingerprint: str | None

    @classmethod
    def presenting(cls, client_ip: str | None, token: str | None) -> Caller:
        return cls(client_ip, token_fingerprint(token))


class ExecutionFront:
    """Runs execution requests through the service and accounts for each one, once."""

    def __init__(self, service: ExecutionService, metrics: ExecutorMetrics) -> None:
        self.service = service
        self.metrics = metrics

    def audit(self, caller: Caller | None, transport: Transport, started: float | None = None) -> AuditRecord:
        """A record for one execution request, started now unless ``started`` (a
        ``time.perf_counter()`` value) says when the request arrived."""
        return AuditRecord(
            client_ip=caller.client_ip if caller else None,
            token_fingerprint=caller.token_fingerprint if caller else None,
            transport=transport,
            started=time.perf_counter() if started is None else started,
        )

    async def execute(self, request: ExecuteRequest, request_id: str, audit: AuditRecord) -> ExecuteResponse:
        """The service's answer, accounted. A refusal (ExecutorError) propagates to the
        transport's one handler, which answers it and calls ``refused``."""
        audit.describe_code(request.code, request.context, len(request.files))
        reply = await self.service.execute(request, request_id, audit.client)
        return self.answered(reply, audit)

    async def execute_in_session(
        self, sessions: SessionRegistry, session: Session, request: ExecuteRequest, request_id: str, audit: AuditRecord
    ) -> ExecuteResponse:
        """A session's call, accounted as an execution that names its session."""
        audit.session_id = session.id
        audit.describe_code(request.code, request.context, len(request.files))
        reply = await sessions.execute(session, request, request_id, audit.client)
        return self.answered(reply, audit)

    def answered(self, reply: ExecuteResponse, audit: AuditRecord) -> ExecuteResponse:
        """Count and audit an execution that ran."""
        self.metrics.executions.labels(reply.outcome, audit.transport).inc()
        audit.write(
            status=200,
            outcome=reply.outcome,
            limit=reply.limit,
            error_type=audited_error_type(reply.error.type) if reply.error else None,
            execution_ms=reply.duration_ms,
            stdout_bytes=len(reply.stdout.encode("utf-8", "surrogatepass")),
            stderr_bytes=len(reply.stderr.encode("utf-8", "surrogatepass")),
            truncated=[name for name, cut in reply.truncated.model_dump().items() if cut],
        )
        return reply

    def refused(self, exc: ExecutorError, transport: Transport, audit: AuditRecord | None) -> None:
        """Count a refusal by its reason. ``audit``: the refused request was an execution
        request (POST /execute, a run_python call), which also counts as an execution with
        outcome ``rejected`` and is audited; None for other requests (an MCP request
        refused before the tool is known)."""
        self.metrics.rejections.labels(exc.reason, transport).inc()
        if audit is None:
            return
        self.metrics.executions.labels("rejected", transport).inc()
        # Over MCP a refusal is a tool error inside a 200 answer.
        audit.write(status=exc.status_code if transport == "http" else 200, outcome="rejected", reason=exc.reason)

    def abandoned(self, audit: AuditRecord) -> None:
        """The client left before the answer; its execution was stopped."""
        self.metrics.executions.labels("abandoned", audit.transport).inc()
        audit.write(status=CLIENT_CLOSED_REQUEST, outcome="abandoned")
