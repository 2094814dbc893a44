"""create_app(settings): the FastAPI application, fully built from the settings passed in.

Nothing is read from the environment here (main.py does that), so tests build apps
with their own settings and their own metrics registry.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from slowapi.errors import RateLimitExceeded

from .api.health import HealthMonitor
from .api.mcp_http import mcp_route
from .api.middleware import (
    SECURITY_HEADERS,
    STRICT_CSP,
    HttpMetricsMiddleware,
    RequestIdMiddleware,
    SecurityHeadersMiddleware,
)
from .api.rate_limit import build_limiter, exempt, hit_execute_limits, rate_limited_response
from .api.routes import audit_record, build_router
from .api.shutdown import Drain
from .errors import (
    CodeRejected,
    ExecutorError,
    InvalidRequest,
    Overloaded,
    PayloadTooLarge,
    SandboxUnavailable,
    ShuttingDown,
    Unauthorized,
)
from .log_config import REQUEST_ID
from .mcp_server import build_mcp
from .metrics import ExecutorMetrics
from .sandbox.admission import AdmissionGate
from .sandbox.pool import ExecutionPool
from .sandbox.process_protection import make_undumpable
from .service import ExecutionService
from .settings import Settings

log = logging.getLogger(__name__)

#: Most specific first: ShuttingDown is a SandboxUnavailable.
_REJECTION_REASON: tuple[tuple[type[ExecutorError], str], ...] = (
    (Unauthorized, "auth"),
    (CodeRejected, "validation"),
    (PayloadTooLarge, "too_large"),
    (InvalidRequest, "invalid_request"),
    (Overloaded, "queue_full"),
    (ShuttingDown, "shutting_down"),
    (SandboxUnavailable, "unavailable"),
)
_EXECUTE_PATH = "/execute"


class _RedactQuery(logging.Filter):
    """uvicorn's access log prints the full path; a token sent in a query string by
    mistake must not land in the logs, so the query is cut off."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], args[2].partition("?")[0] + "?[redacted]", *args[3:])
        return True


def _install_log_redaction() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _RedactQuery) for f in access.filters):
        access.addFilter(_RedactQuery())


def _log_layers(pool: ExecutionPool, settings: Settings) -> None:
    """Say at start-up what the host gave us, so that running weaker is never silent."""
    announced = pool.layers
    if announced is None:
        return
    status = announced.status()
    log.info("isolation layers: %s", ", ".join(f"{name}={state}" for name, state in status.items()))
    unavailable = sorted(name for name, state in status.items() if state == "unavailable")
    missing = sorted(settings.required_layers - announced.active)
    if missing:
        log.error(
            "required isolation layers are not available on this host: %s; /execute will answer 503 "
            "(EXECUTOR_REQUIRED_LAYERS)",
            ", ".join(missing),
        )
    elif unavailable:
        log.warning("isolation layers this host does not offer: %s", ", ".join(unavailable))


def create_app(
    settings: Settings, registry: CollectorRegistry | None = None, *, pool: ExecutionPool | None = None
) -> FastAPI:
    """``pool``: tests only, to serve from a pool built with layers switched off (see
    tests/support); the service builds its own from the settings."""
    registry = registry if registry is not None else CollectorRegistry()
    metrics = ExecutorMetrics(registry)
    if pool is None:
        pool = ExecutionPool(sorted(settings.allowed_imports), settings.prefork_workers)
    gate = AdmissionGate(settings.max_concurrent_executions, settings.max_queued_executions)
    service = ExecutionService(settings, pool, gate, metrics)
    drain = Drain()
    monitor = HealthMonitor(service, settings.self_test_interval_s, drain)
    limiter = build_limiter(settings)
    metrics.in_flight.set_function(lambda: gate.in_flight)
    metrics.queued.set_function(lambda: gate.queued)
    metrics.ready_workers.set_function(lambda: pool.ready_workers)
    pool.busy = lambda: gate.queued > 0 or gate.in_flight >= settings.max_concurrent_executions
    drain.on_drain(lambda: gate.close(lambda: ShuttingDown(settings.shutdown_retry_after_s)))
    mcp = build_mcp(
        service,
        settings,
        lambda caller: hit_execute_limits(limiter, settings, caller.token_fingerprint, caller.client_ip),
    )
    _install_log_redaction()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        make_undumpable()
        drain.install()
        try:
            await pool.start()
        except Exception:
            log.exception("the sandbox template could not be started")
        _log_layers(pool, settings)

        def on_restart() -> None:
            metrics.template_restarts.inc()
            monitor.request_self_test()  # /health must speak about the new template, not the dead one

        pool.on_restart = on_restart
        await monitor.self_test()
        monitor.start()
        try:
            async with mcp.session_manager.run():
                yield
        finally:
            drain.begin()  # also when the server stops for another reason than a signal
            await monitor.stop()
            await pool.stop()  # kills every worker left, then the template
            drain.uninstall()

    app = FastAPI(
        title="Sandboxed Python executor",
        version="0.1.0",
        lifespan=lifespan,
        description="Runs untrusted Python in a fresh, confined worker process per request.",
        docs_url="/docs" if settings.docs_enabled else None,
        redoc_url=None,
        openapi_url="/openapi.json" if settings.docs_enabled else None,
    )
    app.state.settings = settings
    app.state.service = service
    app.state.monitor = monitor
    app.state.metrics = metrics
    app.state.limiter = limiter
    app.state.drain = drain
    # Added innermost first: requests pass RequestId, then metrics, then headers, then CORS.
    if settings.cors_allow_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_allow_origins),
            allow_methods=["POST"],
            # Authorization and MCP-Protocol-Version: browser MCP clients call /mcp with them.
            allow_headers=["Content-Type", "X-Executor-Token", "X-Request-ID", "Authorization", "MCP-Protocol-Version"],
            expose_headers=["X-Request-ID", "Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining"],
            allow_credentials=False,
            max_age=600,
        )
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(HttpMetricsMiddleware, requests=metrics.http_requests, duration=metrics.http_duration)
    app.add_middleware(RequestIdMiddleware)
    app.include_router(build_router(settings, limiter))
    app.router.routes.append(mcp_route(mcp, settings, metrics))

    @app.get("/metrics", include_in_schema=False)
    @exempt(limiter)
    async def prometheus_metrics(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    def refused(request: Request, reason: str, status: int) -> None:
        """Count a refusal, and audit it when it was an execution request."""
        metrics.rejections.labels(reason, "http").inc()
        if request.url.path == _EXECUTE_PATH:
            metrics.executions.labels("rejected", "http").inc()
            started = getattr(request.state, "started", time.perf_counter())
            audit_record(request).write(
                status=status,
                outcome="rejected",
                reason=reason,
                duration_ms=(time.perf_counter() - started) * 1000,
            )

    @app.exception_handler(ExecutorError)
    async def executor_error(request: Request, exc: ExecutorError) -> JSONResponse:
        reason = next((r for cls, r in _REJECTION_REASON if isinstance(exc, cls)), "unavailable")
        refused(request, reason, exc.status_code)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RateLimitExceeded)
    async def rate_limited(request: Request, exc: RateLimitExceeded) -> Response:
        refused(request, "rate_limited", 429)
        return rate_limited_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's default echoes the offending input back; send only where and what.
        detail = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()
        ]
        refused(request, "invalid_request", 422)
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        # Starlette answers this one outside the middleware stack: the request id and the
        # security headers are added here, and the id is put back on the log line.
        request_id = getattr(request.state, "request_id", None) or uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)
        try:
            log.error("unhandled error in %s %s", request.method, request.url.path, exc_info=exc)
        finally:
            REQUEST_ID.reset(token)
        headers = {name.decode(): value.decode() for name, value in (*SECURITY_HEADERS, STRICT_CSP)}
        headers["X-Request-ID"] = request_id
        return JSONResponse(
            {"detail": "internal error; the request id is in X-Request-ID"}, status_code=500, headers=headers
        )

    return app
