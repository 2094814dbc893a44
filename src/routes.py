"""POST /execute and GET /health: thin handlers, no sandbox logic here."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from .auth import Authorized, SettingsDep
from .errors import InvalidRequest, PayloadTooLarge
from .executor import ExecutionService
from .health import HealthMonitor
from .schemas import ExecuteRequest, ExecuteResponse, HealthResponse

router = APIRouter()


async def get_service(request: Request) -> ExecutionService:
    service: ExecutionService = request.app.state.service
    return service


async def get_monitor(request: Request) -> HealthMonitor:
    monitor: HealthMonitor = request.app.state.monitor
    return monitor


ServiceDep = Annotated[ExecutionService, Depends(get_service)]
MonitorDep = Annotated[HealthMonitor, Depends(get_monitor)]


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The body, refused with 413 as soon as it is known to be too large: from
    Content-Length before reading, or while streaming a chunked body."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(f"request body is {declared} bytes; the limit is {max_bytes}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise PayloadTooLarge(f"request body exceeds the {max_bytes}-byte limit")
    return bytes(body)


def parse_request(body: bytes, content_type: str, max_context_depth: int) -> ExecuteRequest:
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type != "application/json":
        raise InvalidRequest(
            [
                {
                    "loc": ["header", "content-type"],
                    "msg": "Content-Type must be application/json",
                    "type": "content_type",
                }
            ]
        )
    try:
        return ExecuteRequest.model_validate_json(body, context={"max_context_depth": max_context_depth})
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        raise InvalidRequest(
            [{"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in errors]
        ) from exc


_REQUEST_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": ExecuteRequest.model_json_schema(ref_template="#/components/schemas/{model}")
            }
        },
    }
}


@router.post(
    "/execute",
    response_model=ExecuteResponse,
    openapi_extra=_REQUEST_SCHEMA,
    responses={
        400: {"description": "the code was rejected before running; `detail` lists each violation with its line"},
        401: {"description": "missing or wrong X-Executor-Token"},
        413: {"description": "body or code larger than the configured limit"},
        422: {"description": "body does not match the schema"},
        429: {"description": "execution queue full; see Retry-After"},
        503: {"description": "no token configured, or the sandbox cannot run code"},
    },
)
async def execute(request: Request, _: Authorized, settings: SettingsDep, service: ServiceDep) -> Response:
    """Run Python in a fresh sandboxed process.

    The token is checked before the body is read, so an unauthenticated caller learns
    nothing about the schema. Returns 200 whenever the code ran, even if it raised or
    hit a limit (``success: false`` with ``error`` / ``limit``).
    """
    body = await read_body(request, settings.max_body_bytes)
    payload = parse_request(body, request.headers.get("content-type", ""), settings.max_context_depth)
    reply = await service.execute(payload, request.state.request_id)
    # Serialized here, once: returning the model would make FastAPI validate it again.
    return Response(reply.model_dump_json(), media_type="application/json")


@router.get("/livez")
async def livez() -> Response:
    """Liveness: the process answers HTTP. Constant and cheap (also the benchmark's floor);
    /health is the one that proves the sandbox works."""
    return Response(b'{"status":"alive"}', media_type="application/json")


@router.get("/health", response_model=HealthResponse, responses={503: {"model": HealthResponse}})
async def health(monitor: MonitorDep) -> Response:
    """200 when healthy or degraded, 503 when unhealthy; no token needed."""
    status, checks = monitor.report()
    body: dict[str, Any] = {"status": status, "checks": checks, "layers": monitor.layers()}
    return JSONResponse(body, status_code=503 if status == "unhealthy" else 200)
