"""The MCP endpoint's HTTP front: authentication, caller identity, then the SDK's
Streamable HTTP transport (stateless, JSON answers).

The token is accepted as on /execute (``X-Executor-Token``) or as ``Authorization:
Bearer <token>``, the MCP clients' usual way; compared with ``hmac.compare_digest`` on
bytes. A refusal is an HTTP 401 (or 503 without a configured token) before the MCP
layer sees anything, so an unauthenticated caller cannot even list the tools.

The SDK's DNS-rebinding protection (a Host allow-list) is off: it protects local servers
that accept requests without credentials, while every request here must carry the
token, which a rebinding web page does not have, and the service runs under whatever
host name its deployment gives it.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from types import SimpleNamespace

from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ..mcp_server import CALLER, Caller
from ..metrics import ExecutorMetrics
from ..settings import Settings
from .audit import token_fingerprint

MCP_PATH = "/mcp"
_ROUTE = SimpleNamespace(path=MCP_PATH)


def _token_from(headers: dict[bytes, bytes]) -> str | None:
    given = headers.get(b"x-executor-token")
    if given is not None:
        return given.decode("latin-1")
    scheme, _, credentials = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
    if scheme.lower() == "bearer" and credentials:
        return credentials.strip()
    return None


class McpFront:
    def __init__(self, app: ASGIApp, settings: Settings, metrics: ExecutorMetrics) -> None:
        self.app = app
        self.settings = settings
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        token = _token_from(headers)
        expected = self.settings.api_token.get_secret_value() if self.settings.api_token is not None else ""
        if not expected:
            await _refuse(send, 503, "the service has no API token configured", {b"retry-after": b"30"})
            self.metrics.rejections.labels("unavailable", "mcp").inc()
            return
        if token is None or not hmac.compare_digest(token.encode("utf-8", "surrogateescape"), expected.encode()):
            await _refuse(send, 401, "missing or invalid token (X-Executor-Token or Authorization: Bearer)",
                          {b"www-authenticate": b'Bearer realm="executor"'})  # fmt: skip
            self.metrics.rejections.labels("auth", "mcp").inc()
            return
        client = scope.get("client")
        caller = Caller(client[0] if client else None, token_fingerprint(token))
        scope["route"] = _ROUTE  # for the HTTP metrics' route label (a plain Route sets none)
        reset = CALLER.set(caller)
        try:
            await self.app(scope, receive, send)
        finally:
            CALLER.reset(reset)


async def _refuse(send: Send, status: int, detail: str, extra: dict[bytes, bytes]) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *extra.items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def mcp_route(mcp: MCPServer, settings: Settings, metrics: ExecutorMetrics) -> Route:
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
    return Route(MCP_PATH, endpoint=McpFront(handler, settings, metrics), methods=["POST"])
