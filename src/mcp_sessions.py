"""Sessions for MCP clients: ``start_session``, ``end_session``, and ``run_python``'s
``session_id``.

An agent keeps state across tool calls by starting a session and passing its id to
``run_python``: no plumbing of its own beyond one string. The session belongs to the
token the MCP request carried (over stdio, to whoever started the process); a call that
reaches a replica that does not hold the session is passed on to the one that does over
its HTTP API (sessions/peers.py), with the caller's own token.
"""

from __future__ import annotations

import contextvars
import json

from .api.audit import AuditRecord
from .api.front import ExecutionFront
from .errors import SandboxUnavailable, SessionEnded, SessionNotFound
from .schemas import ExecuteRequest, ExecuteResponse, SessionCreated
from .sessions.peers import OwnerUnreachable
from .sessions.registry import SESSION_ID, SessionRegistry, owner_of

#: The token of the MCP request being served (set by the HTTP front, api/mcp_http.py); None
#: over stdio. Held for the request only: it decides whose sessions the call may use, and
#: goes with a call passed on to the replica that holds the session. Never logged.
CALLER_TOKEN: contextvars.ContextVar[str | None] = contextvars.ContextVar("mcp_caller_token", default=None)
#: Who owns the sessions started over stdio: the one user of that process.
STDIO_OWNER = "stdio"


def caller_owner() -> str:
    token = CALLER_TOKEN.get()
    return owner_of(token) if token is not None else STDIO_OWNER


async def start(sessions: SessionRegistry) -> SessionCreated:
    """A new session for the caller (the refusals of SessionRegistry.create)."""
    _, created = await sessions.create(caller_owner())
    return created


async def end(sessions: SessionRegistry, session_id: str, client_ip: str) -> None:
    """End the caller's session (SessionNotFound, SessionEnded)."""
    if SESSION_ID.fullmatch(session_id) is None:
        raise SessionNotFound
    if not sessions.holds(session_id):
        forwarded = await _forwarded(sessions, session_id, "DELETE", f"/sessions/{session_id}", b"", client_ip)
        if forwarded is not None:
            return
    await sessions.delete(sessions.find(session_id, caller_owner()))


async def run(
    sessions: SessionRegistry,
    front: ExecutionFront,
    session_id: str,
    request: ExecuteRequest,
    *,
    request_id: str,
    audit: AuditRecord,
    client_ip: str,
) -> ExecuteResponse:
    """One call of the caller's session, here or on the replica that holds it."""
    if SESSION_ID.fullmatch(session_id) is None:
        raise SessionNotFound  # never looked up, never audited (attack pass 99: 400 KB lines)
    audit.session_id = session_id
    if not sessions.holds(session_id):
        body = request.model_dump_json().encode()
        answer = await _forwarded(sessions, session_id, "POST", f"/sessions/{session_id}/execute", body, client_ip)
        if answer is not None:
            reply = ExecuteResponse.model_validate_json(answer)
            return front.answered(reply, audit)
    session = sessions.find(session_id, caller_owner())
    return await front.execute_in_session(sessions, session, request, request_id, audit)


async def _forwarded(  # noqa: PLR0917 - the request as it is passed on
    sessions: SessionRegistry, session_id: str, method: str, path: str, body: bytes, client_ip: str
) -> bytes | None:
    """The body of the holding replica's 2xx answer; None when no other replica holds the
    session (the caller then gets this replica's 404). Its refusals raised as this
    replica's own. ``client_ip``: who asked (charged here: the holder charges nothing)."""
    token = CALLER_TOKEN.get()
    peers = sessions.peers
    if peers is None or token is None:
        return None
    url = await peers.owner(session_id, owner_of(token))
    if url is None:
        return None
    headers = {"x-executor-token": token, "content-type": "application/json"}
    try:
        status, _, content = await peers.forward(url, method, path, headers, body, client_ip)
    except OwnerUnreachable as exc:
        if exc.gone:
            raise SessionEnded("killed", "the replica that held it is gone") from exc
        raise SandboxUnavailable("the replica that holds this session does not answer", retry_after_s=5) from exc
    if status < 300:
        return content
    if status == 404:
        raise SessionNotFound
    detail = _detail(content)
    if status == 410:
        why = detail.partition("(")[2].partition(")")[0] or "killed"
        raise SessionEnded(why, detail.partition("): ")[2] or detail)
    raise SandboxUnavailable(f"the replica that holds this session refused the call: {detail}", retry_after_s=5)


def _detail(content: bytes) -> str:
    try:
        detail = json.loads(content).get("detail", "")
    except (ValueError, AttributeError):
        return "no detail"
    return detail if isinstance(detail, str) else json.dumps(detail)[:500]
