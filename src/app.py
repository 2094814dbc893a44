"""create_app(settings): the FastAPI application, fully built from the settings passed in.

Nothing is read from the environment here (main.py does that), so tests build apps
with their own settings and their own metrics registry.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from fastapi_offline import FastAPIOffline
from mcp.server.mcpserver import MCPServer
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from slowapi import Limiter
from slowapi.errors import RateLimitExceeded
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from . import __version__
from .api.collector import tune_garbage_collector
from .api.front import UNCONFIGURED_DETAIL, ExecutionFront
from .api.health import HealthMonitor
from .api.limit_storage import StorageWatch
from .api.mcp_http import mcp_route
from .api.middleware import (
    DOCS_ASSETS_PATH,
    SECURITY_HEADERS,
    STRICT_CSP,
    HttpMetricsMiddleware,
    RequestIdMiddleware,
    SecurityHeadersMiddleware,
)
from .api.openapi_examples import add_examples
from .api.rate_limit import build_limiter, exempt, hit_execute_limits, rate_limited_response
from .api.routes import audit_record, build_router
from .api.session_routes import SESSION_EXECUTE_PATH, build_session_router
from .api.shutdown import Drain
from .data_tier import data_modules
from .errors import ExecutorError, InvalidRequest, RateLimited, ShuttingDown
from .log_config import REQUEST_ID
from .mcp_server import build_mcp
from .metrics import ExecutorMetrics
from .sandbox.admission import AdmissionGate
from .sandbox.pool import ExecutionPool
from .sandbox.process_protection import make_undumpable
from .sandbox.workdirs import WorkDirectories
from .service import ExecutionService
from .sessions.peers import SessionPeers
from .sessions.registry import TOMBSTONE_S, SessionRegistry
from .settings import Settings

log = logging.getLogger(__name__)

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


@dataclass(frozen=True)
class Components:
    """Everything one application is made of, built from its settings."""

    settings: Settings
    metrics: ExecutorMetrics
    pool: ExecutionPool
    #: The data tier's pool (data_tier.py); None when the tier is off or not installed.
    data_pool: ExecutionPool | None
    gate: AdmissionGate
    service: ExecutionService
    front: ExecutionFront
    monitor: HealthMonitor
    drain: Drain
    limiter: Limiter
    storage: StorageWatch
    mcp: MCPServer[Any]
    sessions: SessionRegistry


def build_components(
    settings: Settings, registry: CollectorRegistry, disabled_layers: frozenset[str] = frozenset()
) -> Components:
    metrics = ExecutorMetrics(registry)
    gate = AdmissionGate(
        settings.max_concurrent_executions, settings.max_queued_executions, queue_timeout_s=settings.queue_timeout_s
    )
    workdirs = WorkDirectories(settings.files_root)
    pool = ExecutionPool(
        sorted(settings.allowed_imports),
        settings.prefork_workers,
        busy=lambda: gate.saturated,
        disabled_layers=disabled_layers,
        hang_timeout_s=settings.template_hang_timeout_s,
        files_root=str(workdirs.root),
    )
    data = data_modules(settings)
    data_pool = (
        ExecutionPool(
            sorted(settings.allowed_imports | data),
            settings.data_prefork_workers,
            busy=lambda: gate.saturated,
            disabled_layers=disabled_layers,
            hang_timeout_s=settings.template_hang_timeout_s,
            files_root=str(workdirs.root),
        )
        if data
        else None
    )
    service = ExecutionService(settings, pool, gate, metrics, workdirs, data_pool=data_pool)
    front = ExecutionFront(service, metrics)
    drain = Drain()
    sessions = SessionRegistry(settings, service, metrics, _session_peers(settings))
    limiter = build_limiter(settings)
    storage = StorageWatch(limiter.limiter.storage)
    monitor = HealthMonitor(service, settings.self_test_interval_s, drain, storage, sessions)
    metrics.rate_limit_storage_up.set_function(lambda: 1 if storage.reachable else 0)
    metrics.in_flight.set_function(lambda: gate.in_flight)
    metrics.queued.set_function(lambda: gate.queued)
    metrics.checking.set_function(lambda: service.checker.pending)
    metrics.ready_workers.set_function(lambda: pool.ready_workers)
    pool.on_restart(metrics.template_restarts.inc)
    if data_pool is not None:
        data_pool.on_restart(metrics.template_restarts.inc)
    pool.on_hang(metrics.template_hangs.inc)
    metrics.template_responsive.set_function(lambda: 1 if pool.alive and pool.responsive else 0)
    metrics.template_ping.set_function(lambda: (pool.last_ping_ms or 0.0) / 1000)
    # /health must speak about the new template, not the dead one.
    pool.on_restart(monitor.request_self_test)
    drain.on_drain(lambda: gate.close(lambda: ShuttingDown(settings.shutdown_retry_after_s)))
    drain.on_drain(sessions.shut_down)
    mcp = build_mcp(
        front,
        settings,
        lambda caller: hit_execute_limits(limiter, settings, caller.token_fingerprint, caller.client_ip),
        sessions,
    )
    return Components(
        settings, metrics, pool, data_pool, gate, service, front, monitor, drain, limiter, storage, mcp, sessions
    )


def _session_peers(settings: Settings) -> SessionPeers | None:
    """The replicas' shared directory of sessions: with this replica's address, a Redis the
    replicas share (the rate limits') and their own secret, else None (sessions are this
    replica's). Not a client's token: a client could sign what replicas trust (attack pass
    100: the first token signed the forwarding header, and every client held it)."""
    secret = settings.replica_secret.get_secret_value() if settings.replica_secret is not None else ""
    if settings.replica_url is None or settings.rate_limit_storage_uri.startswith("memory://") or not secret:
        return None
    return SessionPeers(
        settings.rate_limit_storage_uri,
        settings.replica_url,
        secret,
        keep_after_end_s=TOMBSTONE_S,
        call_timeout_s=settings.max_timeout_s + settings.queue_timeout_s + 10,
    )


def _lifespan(parts: Components) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        make_undumpable()
        parts.drain.install()
        workdirs = parts.service.workdirs
        try:
            if workdirs is not None:
                workdirs.start()  # before the template: its Landlock rule names the directory
        except OSError:
            log.exception("the executions' working directories could not be made; requests with files get 503")
        try:
            await parts.pool.start()
        except Exception:
            log.exception("the sandbox template could not be started")
        _log_layers(parts.pool, parts.settings)
        if parts.data_pool is not None:
            try:
                await parts.data_pool.start()
            except Exception:
                log.exception("the data tier's template could not be started; its programs get 503")
        await parts.service.checker.start()
        parts.sessions.start()
        await parts.monitor.self_test()
        parts.monitor.start()
        parts.storage.start()
        tune_garbage_collector()
        try:
            async with parts.mcp.session_manager.run():
                yield
        finally:
            parts.drain.begin()  # also when the server stops for another reason than a signal
            await parts.storage.stop()
            await parts.monitor.stop()
            await parts.sessions.stop()
            await parts.pool.stop()  # kills every worker left, then the template
            if parts.data_pool is not None:
                await parts.data_pool.stop()
            await parts.service.checker.stop()
            if workdirs is not None:
                workdirs.stop()
            parts.drain.uninstall()

    return lifespan


#: Request headers a browser may send: the service's own, and those the MCP clients send
#: on /mcp in every protocol version the SDK serves (2025-03-26 to 2026-07-28):
#: MCP-Protocol-Version, Mcp-Session-Id and Last-Event-ID (resumption), then Mcp-Method
#: and Mcp-Name (2026-07-28). Mcp-Param-* headers exist only for tools that declare
#: them, and neither tool here does.
CORS_ALLOW_HEADERS = (
    "Content-Type",
    "Authorization",
    "X-Executor-Token",
    "X-Request-ID",
    "MCP-Protocol-Version",
    "Mcp-Session-Id",
    "Last-Event-ID",
    "Mcp-Method",
    "Mcp-Name",
)


def _add_middleware(app: FastAPI, settings: Settings, metrics: ExecutorMetrics) -> None:
    # Added innermost first: requests pass RequestId, then metrics, then headers, then CORS.
    if settings.cors_allow_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_allow_origins),
            # GET and DELETE only so that a browser MCP client's probe for an event stream
            # (GET /mcp) and its session end (DELETE) get their 405 instead of a failed
            # preflight, which the SDKs take for a network error.
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=list(CORS_ALLOW_HEADERS),
            expose_headers=["X-Request-ID", "Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining"],
            allow_credentials=False,
            max_age=600,
        )
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(HttpMetricsMiddleware, requests=metrics.http_requests, duration=metrics.http_duration)
    app.add_middleware(RequestIdMiddleware)


def _add_error_handlers(app: FastAPI, front: ExecutionFront) -> None:
    """Every refusal of an HTTP request is answered and accounted here, once."""

    def refused(request: Request, exc: ExecutorError) -> None:
        # The matched route, not the raw path: behind --root-path the path has a prefix.
        execution = getattr(request.scope.get("route"), "path", None) in (_EXECUTE_PATH, SESSION_EXECUTE_PATH)
        front.refused(exc, "http", audit_record(request) if execution else None)

    @app.exception_handler(ExecutorError)
    async def executor_error(request: Request, exc: ExecutorError) -> JSONResponse:
        refused(request, exc)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RateLimitExceeded)
    async def rate_limited(request: Request, exc: RateLimitExceeded) -> Response:
        response = rate_limited_response(request, exc)
        refused(request, RateLimited(str(exc.detail), int(response.headers["Retry-After"])))
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette's Allow names the methods of the first route whose path matched;
            # /sessions/{id} is two routes (GET, DELETE): name every method of the path,
            # as the OpenAPI document lists them.
            allowed = _methods_of(request.app, request.url.path.removeprefix(request.scope.get("root_path", "")))
            if allowed:
                headers["Allow"] = ", ".join(allowed)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's default echoes the offending input back; send only where and what.
        detail = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()
        ]
        refused(request, InvalidRequest(detail))
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


def _methods_of(app: FastAPI, path: str) -> list[str]:
    """Every method the API document gives a path (its templates matched as routes are)."""
    methods: set[str] = set()
    for template, operations in app.openapi().get("paths", {}).items():
        regex, _, _ = compile_path(template)
        if regex.match(path):
            methods.update(method.upper() for method in operations)
    return sorted(methods)


def create_app(
    settings: Settings, registry: CollectorRegistry | None = None, *, disabled_layers: frozenset[str] = frozenset()
) -> FastAPI:
    """The application for ``settings``, its metrics on ``registry`` (a fresh one if
    None). ``disabled_layers``: tests only, to serve from workers with OS layers switched
    off (see tests/support); never from a setting."""
    parts = build_components(settings, registry if registry is not None else CollectorRegistry(), disabled_layers)
    _install_log_redaction()
    if not settings.token_configured:
        log.warning("%s; /health is unhealthy and /execute answers 503 until then", UNCONFIGURED_DETAIL)
    options: dict[str, Any] = {
        "title": "Sandboxed Python executor",
        "version": __version__,
        "lifespan": _lifespan(parts),
        "description": "Runs untrusted Python in a fresh, confined worker process per request.",
        "redoc_url": None,
    }
    if settings.docs_enabled:
        # Swagger UI's script and styles come from the fastapi-offline package and are
        # served here (DOCS_ASSETS_PATH), not from a CDN: /docs works without internet,
        # and its CSP (middleware.DOCS_CSP) allows no other origin. validatorUrl None: no
        # badge fetched from swagger.io.
        app = FastAPIOffline(
            docs_url="/docs",
            static_url=DOCS_ASSETS_PATH,
            favicon_url=f"{DOCS_ASSETS_PATH}/favicon.png",
            swagger_ui_parameters={"validatorUrl": None},
            **options,
        )
    else:
        app = FastAPI(docs_url=None, openapi_url=None, **options)
    generate_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = add_examples(generate_openapi(), settings)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend it
    app.state.settings = settings
    app.state.front = parts.front
    app.state.monitor = parts.monitor
    app.state.metrics = parts.metrics
    app.state.limiter = parts.limiter
    app.state.drain = parts.drain
    app.state.sessions = parts.sessions
    _add_middleware(app, settings, parts.metrics)
    app.include_router(build_router(settings, parts.limiter))
    app.include_router(build_session_router(settings, parts.limiter))
    app.router.routes.append(mcp_route(parts.mcp, settings, parts.front))

    @app.get("/metrics", include_in_schema=False)
    @exempt(parts.limiter)
    async def prometheus_metrics(request: Request) -> Response:
        return Response(generate_latest(parts.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    _add_error_handlers(app, parts.front)
    return app
