"""The session routes (docs/sessions.md): thin handlers over sessions/registry.py.

``POST /sessions`` (201), ``POST /sessions/{id}/execute`` (the /execute answer),
``GET /sessions/{id}`` and ``DELETE /sessions/{id}`` (204). Every one needs the token, and
a session answers only the token that made it (any other gets 404, as an unknown id does).
A request for a session another replica holds is passed on to it (sessions/peers.py).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import ValidationError
from slowapi import Limiter
from starlette.requests import ClientDisconnect

from ..errors import InvalidRequest, RateLimited, SandboxUnavailable, SessionEnded
from ..offload import parse_sized
from ..schemas import ErrorResponse, ExecuteResponse, SessionCreated, SessionRequest, SessionState
from ..sessions.peers import FORWARDED_HEADER, OwnerUnreachable, SessionPeers
from ..sessions.registry import SESSION_ID, Session, SessionRegistry, owner_of
from ..settings import Settings
from .audit import token_fingerprint
from .auth import Authorized, SettingsDep
from .body import parse_request, read_body
from .front import CLIENT_CLOSED_REQUEST, ExecutionFront, caller_token, presented_token
from .openapi_examples import error_responses
from .rate_limit import hit_execute_limits
from .routes import _request_schema, audit_record

#: The path of a session's calls, as the error handlers recognise an execution request.
SESSION_EXECUTE_PATH = "/sessions/{session_id}/execute"

SessionId = Annotated[str, Path(description="the id POST /sessions gave")]


async def get_sessions(request: Request) -> SessionRegistry:
    sessions: SessionRegistry = request.app.state.sessions
    return sessions


SessionsDep = Annotated[SessionRegistry, Depends(get_sessions)]


def _owner(request: Request) -> str:
    token = presented_token(request.headers)
    assert token is not None  # the Authorized dependency ran first
    return owner_of(token)


async def _elsewhere(
    request: Request, sessions: SessionRegistry, session_id: str, body: bytes = b""
) -> Response | None:
    """The answer of the replica that holds the session, when another one does; None when
    the request is this replica's to answer."""
    peers: SessionPeers | None = sessions.peers
    if peers is None or sessions.holds(session_id) or _forwarded_for(request, sessions) is not None:
        return None
    if SESSION_ID.fullmatch(session_id) is None:
        return None
    url = await peers.owner(session_id, _owner(request))
    if url is None:
        return None
    headers = dict(request.headers.items())
    headers["x-request-id"] = request.state.request_id  # one id for the request on both replicas
    client_ip = request.client.host if request.client else "unknown"
    try:
        status, headers, content = await peers.forward(url, request.method, request.url.path, headers, body, client_ip)
    except OwnerUnreachable as exc:
        if exc.gone:
            raise SessionEnded("killed", "the replica that held it is gone") from exc
        raise SandboxUnavailable("the replica that holds this session does not answer", retry_after_s=5) from exc
    return Response(content, status_code=status, headers=headers)


def _forwarded_for(request: Request, sessions: SessionRegistry) -> str | None:
    """The client a replica of this service passed this request on for (its signed header:
    that replica charged the client's budgets), or None for a client's own request."""
    value = request.headers.get(FORWARDED_HEADER)
    if value is None or sessions.peers is None:
        return None
    return sessions.peers.forwarded_client(value, request.url.path)


def build_session_router(settings: Settings, limiter: Limiter) -> APIRouter:
    router = APIRouter(tags=["sessions"])
    responses = error_responses(ErrorResponse, session=True)
    optional_body = {
        "requestBody": {
            "required": False,
            "content": {"application/json": {"schema": SessionRequest.model_json_schema()}},
        }
    }

    def spend_execution(request: Request) -> None:
        """Count one execution against the budgets /execute and MCP's run_python share
        (not a budget of the session route's own, nor one per session id)."""
        address = request.client.host if request.client else None
        wait = hit_execute_limits(limiter, settings, token_fingerprint(caller_token(request.headers)), address)
        if wait is not None:
            raise RateLimited("Rate limit exceeded", wait)

    @router.post(
        "/sessions", status_code=201, response_model=SessionCreated, responses=responses, openapi_extra=optional_body
    )
    async def create_session(request: Request, _: Authorized, settings: SettingsDep, sessions: SessionsDep) -> Response:
        """Start a session: a worker process of its own whose globals and working directory
        carry over from one call to the next. The body is optional: ``{}``, or
        ``{"data_libraries": false}`` for a session without numpy, pandas and matplotlib."""
        try:
            body = await read_body(request, settings.max_body_bytes, settings.body_timeout_s)
        except ClientDisconnect:
            return Response(status_code=CLIENT_CLOSED_REQUEST)
        asked = _session_request(body)
        spend_execution(request)
        _session, created = await sessions.create(_owner(request), asked.data_libraries)
        return Response(created.model_dump_json(), status_code=201, media_type="application/json")

    @router.post(
        SESSION_EXECUTE_PATH,
        response_model=ExecuteResponse,
        openapi_extra=_request_schema(),
        responses=responses,
    )
    async def execute_in_session(
        request: Request, session_id: SessionId, _: Authorized, settings: SettingsDep, sessions: SessionsDep
    ) -> Response:
        """Run Python in the session: the /execute body and answer. Calls of one session run
        one at a time, in arrival order. A call stopped by a limit ends the session (the
        answer says which limit; the next call gets 410)."""
        audit = audit_record(request)
        audit.session_id = session_id if SESSION_ID.fullmatch(session_id) else None
        front: ExecutionFront = request.app.state.front
        try:
            body = await read_body(request, settings.max_body_bytes, settings.body_timeout_s)
        except ClientDisconnect:
            front.abandoned(audit)
            return Response(status_code=CLIENT_CLOSED_REQUEST)
        on_behalf_of = _forwarded_for(request, sessions)
        if on_behalf_of is not None:
            audit.client_ip = on_behalf_of  # the replica that passed it on charged the client
        else:
            spend_execution(request)  # here, whichever replica holds the session
        forwarded = await _elsewhere(request, sessions, session_id, body)
        if forwarded is not None:
            audit.written = True  # the replica that runs it counts and audits it
            return forwarded
        session: Session = sessions.find(session_id, _owner(request))
        content_type = request.headers.get("content-type", "")
        payload = await parse_sized(len(body), parse_request, body, content_type, settings.max_context_depth)
        # Not cancelled when the client leaves: a call cut short would leave the session's
        # worker mid-program; it finishes within its own deadline and the answer is dropped.
        reply = await front.execute_in_session(sessions, session, payload, request.state.request_id, audit)
        return Response(reply.model_dump_json(), media_type="application/json")

    @router.get("/sessions/{session_id}", response_model=SessionState, responses=responses)
    async def session_state(request: Request, session_id: SessionId, _: Authorized, sessions: SessionsDep) -> Response:
        """When the session began, was last used and ends, its calls so far and its memory."""
        forwarded = await _elsewhere(request, sessions, session_id)
        if forwarded is not None:
            return forwarded
        found: Session = sessions.find(session_id, _owner(request))
        return Response(sessions.state(found).model_dump_json(), media_type="application/json")

    @router.delete("/sessions/{session_id}", status_code=204, responses=responses)
    async def delete_session(request: Request, session_id: SessionId, _: Authorized, sessions: SessionsDep) -> Response:
        """End the session now: its worker is stopped (a running call with it) and its
        files removed. Later calls get 410 ``deleted``."""
        forwarded = await _elsewhere(request, sessions, session_id)
        if forwarded is not None:
            return forwarded
        await sessions.delete(sessions.find(session_id, _owner(request)))
        return Response(status_code=204)

    return router


def _session_request(body: bytes) -> SessionRequest:
    if not body.strip():
        return SessionRequest()
    try:
        return SessionRequest.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        raise InvalidRequest(
            [{"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in errors]
        ) from None
