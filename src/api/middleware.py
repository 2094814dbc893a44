"""Pure ASGI middleware (no BaseHTTPMiddleware: it costs a task and a copy per request).

* RequestIdMiddleware: accept a well-formed X-Request-ID or make one, expose it to
  handlers and to every log line of the request (log_config.REQUEST_ID), echo it.
* SecurityHeadersMiddleware: headers that make a browser treat answers as inert data.
* HttpMetricsMiddleware: requests and latency by route template, method and status.
"""

from __future__ import annotations

import re
import time
import uuid

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..log_config import REQUEST_ID

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class HttpMiddleware:
    """Pure ASGI middleware that acts on HTTP requests only: lifespan and other scopes
    pass through untouched. Subclasses implement ``handle``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


class RequestIdMiddleware(HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        given = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"").decode("latin-1")
        request_id = given if _REQUEST_ID_RE.match(given) else uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["started"] = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        token = REQUEST_ID.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)


#: The answers are JSON for programs. Nothing may be sniffed as HTML, framed, cached
#: (results can be sensitive) or embedded by another origin.
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
STRICT_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
#: Where the interactive docs' script and styles are served from (fastapi-offline's files).
DOCS_ASSETS_PATH = "/docs-assets"
#: The docs page runs Swagger UI: its own script and styles and one inline start-up
#: script, from this origin only (no CDN, no third-party request).
DOCS_CSP = (
    b"content-security-policy",
    b"default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    b"img-src 'self' data:; frame-ancestors 'none'",
)
_DOCS_PATHS = ("/docs",)  # also DOCS_ASSETS_PATH and /docs/oauth2-redirect


class SecurityHeadersMiddleware(HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        extra = [*SECURITY_HEADERS, DOCS_CSP if scope["path"].startswith(_DOCS_PATHS) else STRICT_CSP]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in extra if h[0] not in present)]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class HttpMetricsMiddleware(HttpMiddleware):
    """Labels stay bounded: the route *template* (``/execute``), never the raw path; a
    request that matched no route is ``unmatched``."""

    def __init__(self, app: ASGIApp, requests: Counter, duration: Histogram) -> None:
        super().__init__(app)
        self.requests = requests
        self.duration = duration

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 500  # if the app dies before answering, that is what the client sees

        async def send_and_observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_observe)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope["method"] if scope["method"] in _METHODS else "other"
            self.requests.labels(template, method, str(status)).inc()
            self.duration.labels(template, method).observe(time.perf_counter() - started)


_METHODS = frozenset(("GET", "POST", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"))
