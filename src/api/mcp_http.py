"""The MCP endpoint's HTTP front: authentication, caller identity, then the SDK's
Streamable HTTP transport (stateless, JSON answers).

The token is checked exactly as on /execute (front.check_token: ``X-Executor-Token``
or ``Authorization: Bearer <token>``, the MCP clients' usual way). A refusal is an HTTP
401 (or 503 without a configured token) before the MCP layer sees anything, so an
unauthenticated caller cannot even list the tools.

The SDK's DNS-rebinding protection (a Host allow-list) is off: it protects local servers
that accept requests without credentials, while every request here must carry the
token, which a rebinding web page does not have, and the service runs under whatever
host name its deployment gives it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from types import SimpleNamespace

from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.datastructures import Headers
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ..errors import ExecutorError, Unauthorized
from ..mcp_server import CALLER
from ..settings import Settings
from .front import Caller, ExecutionFront, check_token, presented_token
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
        try:
            token = presented_token(headers)
            check_token(self.settings, token)
        except ExecutorError as exc:
            # Not an execution yet (the MCP method is unknown): counted, not audited.
            self.front.refused(exc, "mcp", None)
            extra = {k.lower().encode(): v.encode() for k, v in (exc.headers or {}).items()}
            if isinstance(exc, Unauthorized):
                extra[b"www-authenticate"] = b'Bearer realm="executor"'
            await _refuse(send, exc.status_code, str(exc.detail), extra)
            return
        client = scope.get("client")
        scope["route"] = _ROUTE  # for the HTTP metrics' route label (a plain Route sets none)
        reset = CALLER.set(Caller.presenting(client[0] if client else None, token))
        try:
            await self.app(scope, receive, send)
        finally:
            CALLER.reset(reset)


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
        max_request_body_size=settings.max_body_bytes,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    (endpoint,) = [r for r in sdk_app.routes if isinstance(r, Route) and r.path == MCP_PATH]
    handler: Callable[[Scope, Receive, Send], Awaitable[None]] = endpoint.app
    # POST only: stateless JSON answers leave GET (an event stream that could never carry
    # anything here, but holds a connection open forever) and DELETE (no session) useless.
    return Route(MCP_PATH, endpoint=McpFront(handler, settings, front), methods=["POST"])
