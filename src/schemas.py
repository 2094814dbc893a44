"""The HTTP contract (../shared/CONTRACT.md) as pydantic models. Unknown fields are refused."""

from __future__ import annotations

import keyword
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationInfo, field_validator

LimitName = Literal["timeout", "memory", "cpu", "output"]


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of a JSON value, walked with a stack; stops counting past ``limit``."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


class ExecuteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    code: str = Field(description="UTF-8 Python source")
    context: dict[str, JsonValue] = Field(
        default_factory=dict, description="JSON values bound as global names before the code runs"
    )
    timeout_s: float | None = Field(
        default=None, gt=0, allow_inf_nan=False, description="wall-clock limit; at most the configured maximum"
    )

    @field_validator("context")
    @classmethod
    def _context_names(cls, value: dict[str, JsonValue], info: ValidationInfo) -> dict[str, JsonValue]:
        for name in value:
            if not name.isidentifier() or keyword.iskeyword(name):
                raise ValueError(f"context key {name[:64]!r} is not a Python identifier")
            if name.startswith("_"):
                raise ValueError(f"context key {name[:64]!r} starts with '_'; such names are reserved")
        max_depth = (info.context or {}).get("max_context_depth", 32)
        if _depth(value, max_depth) > max_depth:
            raise ValueError(f"context values are nested more than {max_depth} deep")
        return value


class Truncated(BaseModel):
    stdout: bool
    stderr: bool
    result: bool


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
    limit: LimitName | None
    duration_ms: float


class HealthResponse(BaseModel):
    status: Literal["healthy", "degraded", "unhealthy"]
    checks: dict[str, Any]
    layers: dict[str, str]
