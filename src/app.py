"""create_app(settings): the FastAPI application, fully built from the settings passed in.

Nothing is read from the environment here (main.py does that), so tests build apps
with their own settings and their own metrics registry.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .admission import AdmissionGate
from .errors import (
    CodeRejected,
    ExecutorError,
    InvalidRequest,
    Overloaded,
    PayloadTooLarge,
    SandboxUnavailable,
    Unauthorized,
)
from .executor import ExecutionService
from .health import HealthMonitor
from .metrics import ExecutorMetrics
from .pool import ExecutionPool
from .process_protection import make_undumpable
from .routes import router
from .settings import Settings

log = logging.getLogger(__name__)

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_REJECTION_REASON: dict[type[ExecutorError], str] = {
    Unauthorized: "auth",
    CodeRejected: "validation",
    PayloadTooLarge: "too_large",
    InvalidRequest: "invalid_request",
    Overloaded: "queue_full",
    SandboxUnavailable: "unavailable",
}


class RequestIdMiddleware:
    """Accept a well-formed X-Request-ID or make one; expose it to handlers and echo it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"").decode("latin-1")
        request_id = given if _REQUEST_ID_RE.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        await self.app(scope, receive, send_with_id)


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
    monitor = HealthMonitor(service, settings.self_test_interval_s)
    metrics.in_flight.set_function(lambda: gate.in_flight)
    metrics.queued.set_function(lambda: gate.queued)
    metrics.ready_workers.set_function(lambda: pool.ready_workers)
    pool.busy = lambda: gate.queued > 0 or gate.in_flight >= settings.max_concurrent_executions
    _install_log_redaction()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        make_undumpable()
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
            yield
        finally:
            await monitor.stop()
            await pool.stop()

    app = FastAPI(
        title="Sandboxed Python executor",
        version="0.1.0",
        lifespan=lifespan,
        description="Runs untrusted Python in a fresh, confined worker process per request.",
    )
    app.state.settings = settings
    app.state.service = service
    app.state.monitor = monitor
    app.state.metrics = metrics
    app.add_middleware(RequestIdMiddleware)
    app.include_router(router)

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.exception_handler(ExecutorError)
    async def executor_error(request: Request, exc: ExecutorError) -> JSONResponse:
        reason = next((r for cls, r in _REJECTION_REASON.items() if isinstance(exc, cls)), None)
        if reason is not None:
            metrics.rejections.labels(reason).inc()
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's default echoes the offending input back; send only where and what.
        detail = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()
        ]
        metrics.rejections.labels("invalid_request").inc()
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error in %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"detail": "internal error; the request id is in X-Request-ID"}, status_code=500)

    return app
