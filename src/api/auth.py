"""require_token: 503 when no token is configured, 401 when the header is missing or wrong.

The comparison is ``hmac.compare_digest`` on bytes, so its time does not depend on how
much of a guess was right. The token is accepted only from the X-Executor-Token header
(never a query string or cookie, which end up in logs), never logged and never echoed.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from ..errors import SandboxUnavailable, Unauthorized
from ..settings import Settings

# Dependencies are `async def` on purpose: FastAPI runs plain `def` dependencies in a
# thread pool, a thread hand-off per dependency per request on the hot path.

TOKEN_HEADER = "X-Executor-Token"  # noqa: S105 - a header name, not a secret
_token_header = APIKeyHeader(name=TOKEN_HEADER, auto_error=False, description="the service's shared secret")


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def require_token(settings: SettingsDep, provided: Annotated[str | None, Depends(_token_header)]) -> None:
    if not settings.token_configured or settings.api_token is None:
        raise SandboxUnavailable("the service has no API token configured", retry_after_s=30)
    expected = settings.api_token.get_secret_value().encode("utf-8")
    given = (provided or "").encode("utf-8", "surrogateescape")
    if not hmac.compare_digest(given, expected):
        raise Unauthorized("missing or invalid X-Executor-Token")


Authorized = Annotated[None, Depends(require_token)]
