"""The MCP endpoint's HTTP front: authentication, caller identity, then the SDK's
Streamable HTTP transport (stateless, JSON answers).

The token is checked exactly as on /execute (front.check_token: ``X-Executor-Token``
or ``Authorization: Bearer <token>``, the MCP clients' usual way). A refusal is an HTTP
401 (or 503 without a configured token) before the MCP layer sees anything, so an
unauthenticated caller cannot even list the tools.

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

from ..errors import ExecutorError, Unauthorized
from ..mcp_server import CALLER, CLIENT_GONE
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
            body = await read_body(Request(scope, receive), self.settings.max_body_bytes, self.settings.body_timeout_s)
        except ExecutorError as exc:
            # Not an execution yet (the MCP method is unknown): counted, not audited.
            self.front.refused(exc, "mcp", None)
            extra = {k.lower().encode(): v.encode() for k, v in (exc.headers or {}).items()}
            if isinstance(exc, Unauthorized):
                extra[b"www-authenticate"] = b'Bearer realm="executor"'
            await _refuse(send, exc.status_code, str(exc.detail), extra)
            return
        except ClientDisconnect:
            # Sent to no one (the connection is gone): the status the HTTP metrics record.
            await _refuse(send, CLIENT_CLOSED_REQUEST, "the client closed the connection", {})
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
        gone_reset = CLIENT_GONE.set(gone)
        try:
            await self.app(scope, receive_body, send_noting_the_end)
        finally:
            CLIENT_GONE.reset(gone_reset)
            CALLER.reset(caller_reset)
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher


async def _refuse(send: Send, status: int, detail: str, extra: dict[bytes, bytes]) -> None:
    body = json.dumps({"detail": detail}).encode()
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
