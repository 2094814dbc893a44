"""Rate limits with slowapi: per token fingerprint and per client IP, per route.

Counters live in ``EXECUTOR_RATE_LIMIT_STORAGE_URI``: ``memory://`` (this process) or
``redis://…``, which several replicas share, so a caller gets one budget whichever
replica answers; what happens while Redis is unreachable is limit_storage's
(``EXECUTOR_RATE_LIMIT_FAIL_MODE``). The sliding-window-counter strategy: close to
exact, two counters per key, cheap on Redis.

The limits of /execute are checked after authentication and before the body is read:
an unauthenticated request costs a header lookup and a constant-time compare and is
answered 401 without touching the budget of anyone; an authenticated one is counted
against its token and its IP. A 429 carries Retry-After and X-RateLimit-Limit,
-Remaining and -Reset; so does every answer within the limits.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from limits import parse_many
from slowapi import Limiter
from slowapi.errors import RateLimitExceeded

from ..errors import ExecutorError
from ..settings import Settings
from .audit import token_fingerprint
from .front import caller_token
from .limit_storage import limiter_storage_uri

log = logging.getLogger(__name__)

#: slowapi's scope for the limits of POST /execute (its key style is the URL path).
EXECUTE_SCOPE = "/execute"

F = TypeVar("F", bound=Callable[..., Any])


def client_ip(request: Request) -> str:
    """The client address as uvicorn reports it: the peer, or the X-Forwarded-For value
    when the peer is listed in --forwarded-allow-ips (uvicorn's default trusts
    127.0.0.1; the image turns proxy headers off). Behind a proxy, list exactly the
    proxy, so that no client can choose its own address."""
    return f"ip:{request.client.host if request.client else 'unknown'}"


def token_key(request: Request) -> str:
    return f"token:{token_fingerprint(caller_token(request.headers)) or 'none'}"


def build_limiter(settings: Settings) -> Limiter:
    redis = not settings.rate_limit_storage_uri.startswith("memory://")
    return Limiter(
        key_func=client_ip,
        storage_uri=limiter_storage_uri(settings.rate_limit_storage_uri),
        storage_options={"fail_mode": settings.rate_limit_fail_mode} if redis else {},
        strategy="sliding-window-counter",
        # Headers are set here (set_limit_headers), once: slowapi's own injection appends
        # them once per decorator, and puts Retry-After on every answer.
        headers_enabled=False,
        enabled=settings.rate_limits_enabled,
        key_prefix="executor",
        # An outage is limit_storage.FailoverStorage's to handle (and to show), not
        # slowapi's own fallback, which switches silently and checks back rarely.
        in_memory_fallback_enabled=False,
    )


def exempt(limiter: Limiter) -> Callable[[F], F]:
    """``limiter.exempt`` with its type kept (slowapi's decorator is untyped)."""

    def mark(func: F) -> F:
        return cast(F, limiter.exempt(func))  # type: ignore[no-untyped-call]

    return mark


def _execute_limits(settings: Settings, fingerprint: str | None, ip: str | None) -> list[tuple[Any, tuple[str, ...]]]:
    """The limits on executions and their storage keys, as slowapi keys them for POST
    /execute: (prefix, key, route)."""
    # The per-IP limit first, as slowapi checks the route's limits (its innermost decorator
    # first): a caller refused by its IP limit spends nothing of the token's budget, which
    # every caller of that token shares.
    return [
        (item, ("executor", key, EXECUTE_SCOPE))
        for text, key in (
            (settings.rate_limit_execute_per_ip, f"ip:{ip or 'unknown'}"),
            (settings.rate_limit_execute_per_token, f"token:{fingerprint or 'none'}"),
        )
        for item in parse_many(text)
    ]


def set_limit_headers(response: Response, request: Request, *, exceeded: bool = False) -> Response:
    """X-RateLimit-Limit, -Remaining and -Reset (epoch seconds) of the binding limit: on a
    429 the one exceeded, otherwise the one with the fewest requests left. Retry-After on
    a 429."""
    limiter: Limiter = request.app.state.limiter
    current = getattr(request.state, "view_rate_limit", None)
    if current is None or not limiter.enabled:
        return response
    try:
        if exceeded:
            item, args = current
            reset_at, remaining = limiter.limiter.get_window_stats(item, *args)
        else:
            settings: Settings = request.app.state.settings
            fingerprint = token_fingerprint(caller_token(request.headers))
            address = request.client.host if request.client else None
            stats = [
                (limiter.limiter.get_window_stats(item, *args), item)
                for item, args in _execute_limits(settings, fingerprint, address)
            ]
            (reset_at, remaining), item = min(stats, key=lambda entry: entry[0][1])
    except Exception:  # noqa: BLE001 - the storage may be unreachable; the answer stands without headers
        return response
    response.headers["X-RateLimit-Limit"] = str(item.amount)
    response.headers["X-RateLimit-Remaining"] = str(remaining)
    response.headers["X-RateLimit-Reset"] = str(math.ceil(reset_at))
    if exceeded:
        response.headers["Retry-After"] = str(max(1, math.ceil(reset_at - time.time())))
    return response


def rate_limited_response(request: Request, exc: RateLimitExceeded) -> Response:
    """429 with the contract's error shape, Retry-After and the X-RateLimit-* headers."""
    response: Response = JSONResponse({"detail": f"rate limit exceeded: {exc.detail}; retry later"}, status_code=429)
    response = set_limit_headers(response, request, exceeded=True)
    if "Retry-After" not in response.headers:
        response.headers["Retry-After"] = "1"
    return response


def hit_execute_limits(limiter: Limiter, settings: Settings, fingerprint: str | None, ip: str | None) -> int | None:
    """Count one execution asked for outside a FastAPI route (the MCP tool) against the
    same two budgets as POST /execute, under the same storage keys as slowapi uses for
    that route: one budget per token and per IP, whichever transport spends it.
    Returns None when within the limits, else the seconds until the exceeded one resets."""
    if not limiter.enabled:
        return None
    try:
        for item, args in _execute_limits(settings, fingerprint, ip):
            if not limiter.limiter.hit(item, *args):
                reset_at, _ = limiter.limiter.get_window_stats(item, *args)
                return max(1, math.ceil(reset_at - time.time()))
    except ExecutorError:
        raise  # the storage's refusal (fail closed)
    except Exception:
        log.exception("rate-limit check failed; an MCP execution was let through")
    return None
