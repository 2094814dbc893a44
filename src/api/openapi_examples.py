"""The examples /docs and /openapi.json show for POST /execute: a real request, its real
answer, and each refusal as the service words it.

The refusals that do not depend on a request's sizes (400, 401, 422, 503) are computed by
the code that answers them, so an example cannot drift from the answer; the tests send
each example request to a real server and compare.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from limits import parse_many
from pydantic import SecretStr

from ..errors import ExecutorError, Overloaded, PayloadTooLarge, RateLimited, RequestTimeout, SandboxUnavailable
from ..language.validation import SourcePolicy, prepare_program
from ..settings import Settings
from .body import parse_request
from .front import UNCONFIGURED_DETAIL, check_token

EXAMPLE_REQUEST: dict[str, Any] = {
    "code": "import math\nprint(math.pi)\nsum(range(n))",
    "context": {"n": 10},
    "timeout_s": 2,
}
EXAMPLE_ANSWER: dict[str, Any] = {
    "request_id": "6f0c2a9e4b1d4c7f8e2a5b3c9d0e1f2a",
    "success": True,
    "result": 45,
    "stdout": "3.141592653589793\n",
    "stderr": "",
    "truncated": {"stdout": False, "stderr": False, "result": False},
    "error": None,
    "limit": None,
    "files": [],
    "figures": [],
    "duration_ms": 1.9,
}
EXAMPLE_ERROR_ANSWER: dict[str, Any] = {
    **EXAMPLE_ANSWER,
    "success": False,
    "result": None,
    "stdout": "",
    "stderr": 'Traceback (most recent call last):\n  File "<code>", line 1, in <module>\n    1 / 0\n     ~~^~~\n'
    "ZeroDivisionError: division by zero\n",
    "error": {"type": "ZeroDivisionError", "message": "division by zero", "line": 1},
}
#: The requests the refusal examples answer (the tests send them).
REFUSED_CODE = "import socket\nsocket.socket()"
WRONG_TYPE_BODY = b'{"code": 42}'

_DESCRIPTIONS = {
    400: "the code was rejected before running; `detail` lists each violation with its line, rule and hint",
    401: "missing or wrong token (X-Executor-Token or Authorization: Bearer), or two different tokens",
    408: "the request body did not arrive within EXECUTOR_BODY_TIMEOUT_S; the connection is closed",
    413: "body or code larger than the configured limit",
    422: "body does not match the schema; `detail` lists where and why",
    429: "execution queue full or rate limit exceeded; see Retry-After",
    503: "no token configured, the sandbox cannot run code, or the service is shutting down; see Retry-After",
}


def _refusal_of(check: Callable[[], object]) -> ExecutorError:
    try:
        check()
    except ExecutorError as exc:
        return exc
    raise AssertionError("the example request was not refused")  # pragma: no cover - a bug in this module


def refusal_examples(settings: Settings) -> dict[int, dict[str, dict[str, Any]]]:
    """Named examples of ``{"detail": ...}`` per status code."""
    policy = SourcePolicy(settings.max_ast_nodes, settings.max_ast_depth, settings.allowed_imports)
    violations = prepare_program(REFUSED_CODE, policy).violations
    invalid = _refusal_of(lambda: parse_request(WRONG_TYPE_BODY, "application/json", settings.max_context_depth))
    # With a token configured, whether or not this service has one yet: the example is
    # the answer to a wrong token, not to a missing configuration (that is the 503's).
    configured = settings.model_copy(update={"api_token": SecretStr("the-configured-token")})
    unauthorized = _refusal_of(lambda: check_token(configured, "not-the-token"))
    limit = settings.max_body_bytes

    def example(summary: str, exc: ExecutorError) -> dict[str, Any]:
        return {"summary": summary, "value": {"detail": exc.detail}}

    return {
        400: {
            "import-os": {
                "summary": "import outside the allow-list",
                "value": {"detail": [v.as_detail() for v in violations]},
            }
        },
        401: {"wrong-token": example("a wrong token", unauthorized)},
        413: {
            "body": example(
                "body over the limit", PayloadTooLarge(f"request body is {limit + 1} bytes; the limit is {limit}")
            )
        },
        408: {
            "slow-body": example(
                "a body still arriving after the limit",
                RequestTimeout(f"the request body did not arrive within {settings.body_timeout_s:g} s"),
            )
        },
        422: {"wrong-type": example('{"code": 42}', invalid)},
        429: {
            "queue-full": example(
                "every slot busy and the queue full",
                Overloaded(f"the execution queue is full ({settings.max_queued_executions} waiting); retry later", 1),
            ),
            "rate-limited": example(
                "the caller's rate limit",
                RateLimited(
                    f"rate limit exceeded: {parse_many(settings.rate_limit_execute_per_token)[0]}; retry later", 1
                ),
            ),
        },
        503: {"no-token": example("no token configured", SandboxUnavailable(UNCONFIGURED_DETAIL))},
    }


#: What the session routes answer besides those (docs/sessions.md).
_SESSION_DESCRIPTIONS = {
    404: "no such session: it never existed, or it belongs to another token",
    410: "the session ended; `detail` says why: `the session ended (idle): ...` (idle, lifetime, executions, "
    "deleted, killed, shutdown, or the limit that stopped a call: timeout, cpu, memory, output, files)",
    429: "too many sessions open (for the token or the service), too many calls waiting for this session, or a "
    "rate limit; see Retry-After",
}


def error_responses(model: Any, session: bool = False) -> dict[int | str, dict[str, Any]]:
    """FastAPI ``responses=`` for the refusals of POST /execute (their examples are added
    by ``add_examples``), and with ``session`` those of the session routes."""
    descriptions = {**_DESCRIPTIONS, **(_SESSION_DESCRIPTIONS if session else {})}
    return {
        status: {"description": description, "model": model} for status, description in sorted(descriptions.items())
    }


def add_examples(document: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """Put the examples into a generated OpenAPI document and return it.

    Added after generation because FastAPI drops ``null`` values from what it generates,
    and ``"error": null`` is part of a real answer.
    """
    operation = document["paths"]["/execute"]["post"]
    operation["requestBody"]["content"]["application/json"]["examples"] = {
        "compute": {"summary": "print, a context value, and the last expression as result", "value": EXAMPLE_REQUEST},
        "raise": {"summary": "a program that raises: still a 200, with error", "value": {"code": "1 / 0"}},
    }
    answers = {
        200: {
            "compute": {"summary": "the answer to the compute request", "value": EXAMPLE_ANSWER},
            "raise": {"summary": "the answer to the raising program", "value": EXAMPLE_ERROR_ANSWER},
        },
        **refusal_examples(settings),
    }
    for status, named in answers.items():
        operation["responses"][str(status)]["content"]["application/json"]["examples"] = named
    return document
