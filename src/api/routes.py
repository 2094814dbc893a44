"""POST /execute, GET /livez and GET /health: thin handlers, no sandbox logic here.

The routes are built per application (``build_router``), since their rate limits come
from that application's settings and limiter.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from slowapi import Limiter
from starlette.requests import ClientDisconnect

from ..offload import parse_sized
from ..schemas import ErrorResponse, ExecuteRequest, ExecuteResponse, HealthResponse
from ..settings import Settings
from .audit import AuditRecord
from .auth import Authorized, SettingsDep
from .body import parse_request, read_body
from .front import CLIENT_CLOSED_REQUEST, Caller, ExecutionFront, caller_token, unless_client_leaves
from .health import HealthMonitor
from .openapi_examples import error_responses
from .rate_limit import client_ip, exempt, set_limit_headers, token_key


async def get_front(request: Request) -> ExecutionFront:
    front: ExecutionFront = request.app.state.front
    return front


async def get_monitor(request: Request) -> HealthMonitor:
    monitor: HealthMonitor = request.app.state.monitor
    return monitor


FrontDep = Annotated[ExecutionFront, Depends(get_front)]
MonitorDep = Annotated[HealthMonitor, Depends(get_monitor)]


async def _client_gone(request: Request) -> None:
    """Returns when the client has closed the connection (the body is already read, so
    the next ASGI message can only be the disconnect)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def audit_record(request: Request) -> AuditRecord:
    """The request's audit record, made on first use (by the route or an error handler)."""
    record: AuditRecord | None = getattr(request.state, "audit", None)
    if record is None:
        front: ExecutionFront = request.app.state.front
        caller = Caller.presenting(request.client.host if request.client else None, caller_token(request.headers))
        record = front.audit(caller, "http", started=request.state.started)
        request.state.audit = record
    return record


def _request_schema() -> dict[str, Any]:
    """The body as the OpenAPI document describes it (the route reads it itself, within
    its size limit, so FastAPI does not know it)."""
    schema = ExecuteRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    content = {"application/json": {"schema": schema}}
    return {"requestBody": {"required": True, "content": content}}


def build_router(settings: Settings, limiter: Limiter) -> APIRouter:
    router = APIRouter()

    @router.post(
        "/execute",
        response_model=ExecuteResponse,
        openapi_extra=_request_schema(),
        responses=error_responses(ErrorResponse),
    )
    @limiter.limit(settings.rate_limit_execute_per_token, key_func=token_key)
    @limiter.limit(settings.rate_limit_execute_per_ip, key_func=client_ip)
    async def execute(request: Request, _: Authorized, settings: SettingsDep, front: FrontDep) -> Response:
        """Run Python in a fresh sandboxed process.

        The token is checked before the body is read, so an unauthenticated caller learns
        nothing about the schema. Returns 200 whenever the code ran, even if it raised or
        hit a limit (``success: false`` with ``error`` / ``limit``).
        """
        audit = audit_record(request)
        try:
            body = await read_body(request, settings.max_body_bytes, settings.body_timeout_s)
        except ClientDisconnect:
            # The client left while sending: an ordinary event, answered to no one.
            front.abandoned(audit)
            return Response(status_code=CLIENT_CLOSED_REQUEST)
        content_type = request.headers.get("content-type", "")
        payload = await parse_sized(len(body), parse_request, body, content_type, settings.max_context_depth)
        reply = await unless_client_leaves(
            _client_gone(request), front.execute(payload, request.state.request_id, audit)
        )
        if reply is None:
            # Nobody is waiting for the answer any more: the worker was killed and its slot
            # (or queue place) given to the next request.
            front.abandoned(audit)
            return Response(status_code=CLIENT_CLOSED_REQUEST)
        # Serialized here, once: returning the model would make FastAPI validate it again.
        return set_limit_headers(Response(reply.model_dump_json(), media_type="application/json"), request)

    @router.get("/livez")
    @exempt(limiter)
    async def livez(request: Request) -> Response:
        """Liveness: the process answers HTTP. Constant and cheap (also the benchmark's
        floor); /health is the one that proves the sandbox works."""
        return Response(b'{"status":"alive"}', media_type="application/json")

    @router.get("/health", response_model=HealthResponse, responses={503: {"model": HealthResponse}})
    @exempt(limiter)
    async def health(request: Request, monitor: MonitorDep) -> Response:
        """200 when healthy or degraded, 503 when unhealthy; no token needed."""
        status, checks = monitor.report()
        body: dict[str, Any] = {"status": status, "checks": checks, "layers": monitor.layers()}
        return JSONResponse(body, status_code=503 if status == "unhealthy" else 200)

    return router
