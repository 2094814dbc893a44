"""require_token: the FastAPI dependency that admits a request to /execute.

503 when no token is configured, 401 when the token is missing or wrong, or when
``X-Executor-Token`` and ``Authorization: Bearer`` are both sent and differ (see
front.check_token). The token is accepted only from those headers (never a query
string or cookie, which end up in logs), never logged and never echoed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from ..settings import Settings
from .front import TOKEN_HEADER, check_token, presented_token

# Dependencies are `async def` on purpose: FastAPI runs plain `def` dependencies in a
# thread pool, a thread hand-off per dependency per request on the hot path.

# Declared for the OpenAPI document (two alternative security schemes); the values are
# read from the headers by presented_token, which also refuses two different tokens.
_token_header = APIKeyHeader(name=TOKEN_HEADER, auto_error=False, description="the service's shared secret")
_bearer = HTTPBearer(auto_error=False, description="the same secret, as MCP clients send it")


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def require_token(
    request: Request,
    settings: SettingsDep,
    _header: Annotated[str | None, Depends(_token_header)],
    _bearer_credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    check_token(settings, presented_token(request.headers))


Authorized = Annotated[None, Depends(require_token)]
