"""The MCP endpoint's HTTP front: authentication, caller identity, then the SDK's
Streamable HTTP transport (stateless, JSON answers).

The token is checked exactly as on /execute (front.check_token: ``X-Executor-Token``
or ``Authorization: Bearer <token>``, the MCP clients' usual way), before the MCP layer
sees anything, so an unauthenticated caller cannot even list the tools. A refusal is a
JSON-RPC error to the refused request, not an HTTP 401: see
``McpFront._refuse_before_mcp`` for why.

The body is then read here as /execute reads it (api/body.read_body: 413 past
EXECUTOR_MAX_BODY_BYTES, 408 past EXECUTOR_BODY_TIMEOUT_S, a client that leaves while
sending is answered nothing) and handed to the SDK whole. After it, this front watches
the connection: a client that leaves before its answer sets CLIENT_GONE, and the
run_python call it made is stopped and audited as abandoned.

The SDK's DNS-rebinding protection (a Host allow-list) is off: it protects local servers
that accept requests without credentials, while every request here must carry the
token, which a rebinding web page does not have, and the service runs under whatever
host name its deployment gives it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from types import SimpleNamespace

from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect, Request
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import ExecutorError
from ..mcp_server import CALLER, CLIENT_GONE
from ..mcp_sessions import CALLER_TOKEN
from ..settings import Settings
from .body import read_body
from .front import CLIENT_CLOSED_REQUEST, Caller, ExecutionFront, check_token, presented_token
from .middleware import HttpMiddleware

MCP_PATH = "/mcp"
_ROUTE = SimpleNamespace(path=MCP_PATH)


class McpFront(HttpMiddleware):
    def __init__(self, app: ASGIApp, settings: Settings, front: ExecutionFront) -> None:
        super().__init__(app)
        self.settings = settings
        self.front = front

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        scope["route"] = _ROUTE  # the HTTP metrics' route label, refusals included (a plain Route sets none)
        try:
            token = presented_token(headers)
            check_token(self.settings, token)
        except ExecutorError as exc:
            # Not an execution yet (the MCP method is unknown): counted, not audited.
            self.front.refused(exc, "mcp", None)
            await self._refuse_before_mcp(scope, receive, send, exc)
            return
        try:
            body = await read_body(Request(scope, receive), self.settings.max_body_bytes, self.settings.body_timeout_s)
        except ExecutorError as exc:
            self.front.refused(exc, "mcp", None)
            await _refuse(send, exc.status_code, _jsonrpc_error(None, exc), _headers(exc))
            return
        except ClientDisconnect:
            # Sent to no one (the connection is gone): the status the HTTP metrics record.
            await _refuse(send, CLIENT_CLOSED_REQUEST, b"", {})
            return
        client = scope.get("client")
        gone = asyncio.Event()
        answered = False
        delivered = False

        async def receive_body() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await gone.wait()
            return {"type": "http.disconnect"}

        async def send_noting_the_end(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                answered = True
            await send(message)

        async def watch() -> None:
            # The body is read: the next message is the disconnect, or the end of the answer.
            while (await receive())["type"] != "http.disconnect":
                pass
            if not answered:
                gone.set()

        watcher = asyncio.create_task(watch(), name="mcp-client-watch")
        caller_reset = CALLER.set(Caller.presenting(client[0] if client else None, token))
        token_reset = CALLER_TOKEN.set(token)
        gone_reset = CLIENT_GONE.set(gone)
        try:
            await self.app(scope, receive_body, send_noting_the_end)
        finally:
            CLIENT_GONE.reset(gone_reset)
            CALLER_TOKEN.reset(token_reset)
            CALLER.reset(caller_reset)
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    async def _refuse_before_mcp(self, scope: Scope, receive: Receive, send: Send, exc: ExecutorError) -> None:
        """Answer a request refused for its token (or for the service's lack of one) as a
        JSON-RPC error to that request, at HTTP 200 when the body is a request.

        Measured with the clients themselves (docs/mcp.md, "Authentication failures"): a
        401 sends every OAuth-capable client (mcp-remote, the TypeScript SDK with an auth
        provider, MCP Inspector) into OAuth discovery and dynamic registration that can
        only fail, since the token is a shared secret and not OAuth; any status of 400 or
        more makes the Python SDK 1.x raise ``HTTPStatusError`` without the body, so its
        users never see why. A JSON-RPC error at 200 is shown, message and all, by the
        Python SDK 1.x and 2.x, the TypeScript SDK and mcp-remote. The refusal is still
        counted as ``executor_rejections_total{reason="auth"}``.
        """
        request_id: str | int | None = None
        with contextlib.suppress(ExecutorError, ClientDisconnect, ValueError, RecursionError):
            # The body is read only to answer the request by its id, and only as far as a
            # request with a bad token deserves: parsing a caller's megabytes on the event
            # loop before it has shown a token would cost everyone else's latency.
            limit = min(self.settings.max_body_bytes, UNAUTHENTICATED_BODY_BYTES)
            raw = await read_body(Request(scope, receive), limit, self.settings.body_timeout_s)
            message = json.loads(raw)
            if isinstance(message, dict) and "method" in message and isinstance(message.get("id"), str | int):
                request_id = message["id"]
        # Anything but a request (a notification, a batch, no JSON) has no id to answer:
        # 403, which no client takes for a call to start OAuth, as 401 would be.
        status = 200 if request_id is not None else 403
        await _refuse(send, status, _jsonrpc_error(request_id, exc), _headers(exc))


#: The most of an unauthenticated request's body read to find its JSON-RPC id (a
#: tools/call with a program is larger, and is answered 403 without the id).
UNAUTHENTICATED_BODY_BYTES = 64 * 1024

#: JSON-RPC error code of a request refused before the MCP layer: in the range JSON-RPC
#: leaves to servers, away from the codes the SDKs give their own meanings (-32000,
#: -32001, -32002, -32042). ``data.status`` is the HTTP status /execute would answer.
REFUSED_CODE = -32030


def _jsonrpc_error(request_id: str | int | None, exc: ExecutorError) -> bytes:
    detail = exc.detail if isinstance(exc.detail, str) else "the request was refused"
    message = detail[:1].upper() + detail[1:].rstrip(".") + "."
    error = {"code": REFUSED_CODE, "message": message, "data": {"status": exc.status_code}}
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "error": error}).encode()


def _headers(exc: ExecutorError) -> dict[bytes, bytes]:
    return {k.lower().encode(): v.encode() for k, v in (exc.headers or {}).items()}


async def _refuse(send: Send, status: int, body: bytes, extra: dict[bytes, bytes]) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *extra.items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def mcp_route(mcp: MCPServer, settings: Settings, front: ExecutionFront) -> Route:
    """The /mcp route for the service's app. Call ``mcp.session_manager.run()`` in the
    app's lifespan."""
    sdk_app = mcp.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,
        json_response=True,
        max_request_body_size=settings.max_body_bytes,  # read (and limited) by McpFront first
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    (endpoint,) = [r for r in sdk_app.routes if isinstance(r, Route) and r.path == MCP_PATH]
    handler: Callable[[Scope, Receive, Send], Awaitable[None]] = endpoint.app
    # POST only: stateless JSON answers leave GET (an event stream that could never carry
    # anything here, but holds a connection open forever) and DELETE (no session) useless.
    return Route(MCP_PATH, endpoint=McpFront(handler, settings, front), methods=["POST"])
