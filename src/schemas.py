"""The HTTP API (docs/api.md) as pydantic models. Unknown fields are refused."""

from __future__ import annotations

import keyword
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationInfo, field_validator

from .protocol import LimitKind, dumps, json_shape_problem

#: What came of an execution request: it ran (success, error, limit), was refused before
#: running (rejected), or its client left before the answer and it was stopped (abandoned).
Outcome = Literal["success", "error", "limit", "rejected", "abandoned"]
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)
#: How the execution was asked for: POST /execute, or the MCP tool run_python.
Transport = Literal["http", "mcp"]
TRANSPORTS: tuple[Transport, ...] = get_args(Transport)
#: Why a session ended: a call stopped by a limit (LimitKind: its worker was killed), or
#: not called for the idle timeout, past its lifetime or its number of calls, deleted by
#: its client, its worker killed from outside or crashed, or the service shutting down.
SessionEnd = Literal[LimitKind, "idle", "lifetime", "executions", "deleted", "killed", "shutdown"]
SESSION_ENDS: tuple[SessionEnd, ...] = tuple(
    arg for part in get_args(SessionEnd) for arg in (get_args(part) or (part,))
)  # fmt: skip


def _check_values(values: dict[str, Any], max_depth: int) -> None:
    """Refuse context values nested deeper than ``max_depth`` containers, and NaN/Infinity
    (the JSON parser accepts them, but they are not JSON and the worker protocol is).
    The context itself is one level above its values."""
    problem = json_shape_problem(values, max_depth + 1)
    if problem == "not_finite":
        raise ValueError("context values must be finite numbers (no NaN or Infinity)")
    if problem == "too_deep":
        raise ValueError(f"context values are nested more than {max_depth} deep")


def _check_text(values: dict[str, Any]) -> None:
    """Refuse text that is not Unicode (a lone surrogate, ``"\\ud800"``). The strict JSON
    parser refuses it already; a request parsed by another one (MCP's) may hold it, and
    the worker reads its job as strict UTF-8. One encoding, in C: no walk."""
    try:
        dumps(values).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("context text must be valid Unicode (it holds a lone surrogate)") from None


#: How a file's content travels in JSON: text as it is, any bytes as base64.
FileEncoding = Literal["utf-8", "base64"]


class InputFile(BaseModel):
    """A file placed in the program's working directory before it runs. The path's rules
    and the limits are the settings' (sandbox/input_files.py checks them: 422 or 413)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    path: str = Field(description='relative path inside the working directory, "/"-separated, no ".."')
    content: str = Field(description="the file's content: text, or base64 when encoding is base64")
    encoding: FileEncoding = Field(default="utf-8", description='"utf-8" (default) or "base64"')


class ExecuteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    code: str = Field(description="UTF-8 Python source")
    context: dict[str, JsonValue] = Field(
        default_factory=dict, description="JSON values bound as global names before the code runs"
    )
    timeout_s: float | None = Field(
        default=None, gt=0, allow_inf_nan=False, description="wall-clock limit; at most the configured maximum"
    )
    files: list[InputFile] = Field(
        default_factory=list, description="input files, placed in the program's working directory before it runs"
    )

    @field_validator("context")
    @classmethod
    def _context_names(cls, value: dict[str, JsonValue], info: ValidationInfo) -> dict[str, JsonValue]:
        for name in value:
            if not name.isidentifier() or keyword.iskeyword(name):
                raise ValueError(f"context key {name[:64]!r} is not a Python identifier")
            if name.startswith("_"):
                raise ValueError(f"context key {name[:64]!r} starts with '_'; such names are reserved")
        _check_values(value, (info.context or {}).get("max_context_depth", 32))
        if info.mode == "python":
            _check_text(value)
        return value


class Truncated(BaseModel):
    stdout: bool
    stderr: bool
    result: bool


class OutputFile(BaseModel):
    """A file the program created or changed in its working directory."""

    path: str
    size: int
    encoding: FileEncoding
    content: str
    media_type: str
    #: The file is listed without its content (past the answer's budget, or the limits).
    truncated: bool = False


class Figure(BaseModel):
    """A figure the program left open, rendered (the data tier; none without it)."""

    media_type: str
    width: int
    height: int
    content: str


class ExecutionError(BaseModel):
    type: str
    message: str
    line: int | None


class ExecuteResponse(BaseModel):
    request_id: str
    success: bool
    result: JsonValue
    stdout: str
    stderr: str
    truncated: Truncated
    error: ExecutionError | None
    limit: LimitKind | None
    files: list[OutputFile] = Field(default_factory=list)
    figures: list[Figure] = Field(default_factory=list)
    duration_ms: float

    @property
    def outcome(self) -> Outcome:
        if self.success:
            return "success"
        return "limit" if self.limit is not None else "error"


class HealthResponse(BaseModel):
    status: Literal["healthy", "degraded", "unhealthy"]
    checks: dict[str, Any]
    layers: dict[str, str]


class ErrorResponse(BaseModel):
    """Every refusal (4xx) and 503: what was wrong. A string, or for 400 and 422 a list
    of objects (400: line, rule, message, hint; 422: loc, msg, type)."""

    detail: str | list[dict[str, Any]]


class SessionRequest(BaseModel):
    """``POST /sessions``: the body is optional (``{}`` or none at all)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    data_libraries: bool | None = Field(
        default=None,
        description="run the session in the data tier's template (numpy, pandas, matplotlib); default: when the "
        "tier is on",
    )


class SessionLimits(BaseModel):
    """What a session may do, as its settings give it."""

    idle_timeout_s: float
    lifetime_s: float
    max_executions: int
    memory_mb: int
    max_queued_calls: int
    #: Per call, as for /execute.
    timeout_s: float
    max_timeout_s: float


class SessionCreated(BaseModel):
    session_id: str
    #: ISO 8601 (UTC): when the session ends by its lifetime at the latest.
    expires_at: str
    data_libraries: bool
    limits: SessionLimits


class SessionState(BaseModel):
    session_id: str
    created_at: str
    last_used_at: str
    expires_at: str
    #: When it ends if not called again before (the idle timeout), at most ``expires_at``.
    idle_expires_at: str
    executions: int
    #: The worker's resident memory now, in bytes (null when it cannot be read).
    memory_bytes: int | None
    data_libraries: bool
    #: Whether a call is running now, and how many wait behind it.
    running: bool
    queued_calls: int
