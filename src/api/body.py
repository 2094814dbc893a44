"""The body of POST /execute: read within its size limit, then parsed against the schema.

Both raise the service's refusals (PayloadTooLarge 413, InvalidRequest 422) with a
message that says where and why, never the input itself.
"""

from __future__ import annotations

import asyncio

from fastapi import Request
from pydantic import ValidationError

from ..errors import InvalidRequest, PayloadTooLarge, RequestTimeout
from ..schemas import ExecuteRequest


async def read_body(request: Request, max_bytes: int, timeout_s: float) -> bytes:
    """The body, refused with 413 as soon as it is known to be too large (from
    Content-Length before reading, or while streaming a chunked body), and with 408 when
    it has not all arrived within ``timeout_s`` (a client that stalls must not hold a
    connection, of which there are few, forever). Raises starlette's ClientDisconnect
    when the client leaves first."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(f"request body is {declared} bytes; the limit is {max_bytes}")
    body = bytearray()
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in request.stream():
                body += chunk
                if len(body) > max_bytes:
                    raise PayloadTooLarge(f"request body exceeds the {max_bytes}-byte limit")
    except TimeoutError:
        raise RequestTimeout(f"the request body did not arrive within {timeout_s:g} s") from None
    return bytes(body)


def parse_request(body: bytes, content_type: str, max_context_depth: int) -> ExecuteRequest:
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type != "application/json":
        raise InvalidRequest(
            [
                {
                    "loc": ["header", "content-type"],
                    "msg": "Content-Type must be application/json",
                    "type": "content_type",
                }
            ]
        )
    try:
        return ExecuteRequest.model_validate_json(body, context={"max_context_depth": max_context_depth})
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        raise InvalidRequest(
            [{"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in errors]
        ) from exc
