"""The ExecutorError tree: one HTTP status per class, Retry-After where a retry helps,
and details that never carry more than the message they were given."""

from __future__ import annotations

import pytest

from src.errors import (
    REJECTION_REASONS,
    CodeRejected,
    ExecutorError,
    InvalidRequest,
    Overloaded,
    PayloadTooLarge,
    RateLimited,
    RequestRejected,
    RequestTimeout,
    SandboxUnavailable,
    ShuttingDown,
    Unauthorized,
)
from src.language.validation import Violation

STATUS = [
    pytest.param(CodeRejected([Violation(1, "syntax", "SyntaxError: invalid syntax")]), 400, id="code-rejected"),
    pytest.param(Unauthorized("missing or invalid X-Executor-Token"), 401, id="unauthorized"),
    pytest.param(PayloadTooLarge("too big"), 413, id="payload-too-large"),
    pytest.param(InvalidRequest([{"loc": ["body"], "msg": "bad", "type": "x"}]), 422, id="invalid-request"),
    pytest.param(Overloaded("queue full", 1), 429, id="overloaded"),
    pytest.param(RateLimited("rate limit exceeded", 3), 429, id="rate-limited"),
    pytest.param(RequestTimeout("the body did not arrive"), 408, id="request-timeout"),
    pytest.param(SandboxUnavailable("no token"), 503, id="sandbox-unavailable"),
    pytest.param(ShuttingDown(5), 503, id="shutting-down"),
]

#: Each refusal and the reason it is counted and audited under.
REASONS = [
    pytest.param(CodeRejected, "validation", id="validation"),
    pytest.param(Unauthorized, "auth", id="auth"),
    pytest.param(PayloadTooLarge, "too_large", id="too-large"),
    pytest.param(InvalidRequest, "invalid_request", id="invalid-request"),
    pytest.param(RequestTimeout, "body_timeout", id="body-timeout"),
    pytest.param(RateLimited, "rate_limited", id="rate-limited"),
    pytest.param(Overloaded, "queue_full", id="queue-full"),
    pytest.param(SandboxUnavailable, "unavailable", id="unavailable"),
    pytest.param(ShuttingDown, "shutting_down", id="shutting-down"),
]


@pytest.mark.parametrize(("cls", "reason"), REASONS)
def test_each_refusal_carries_its_reason(cls: type[ExecutorError], reason: str) -> None:
    assert cls.reason == reason


def _concrete(cls: type[ExecutorError]) -> list[type[ExecutorError]]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_concrete(sub))
    return found


def test_the_reasons_are_exactly_those_of_the_error_tree() -> None:
    # The metric's label set is REJECTION_REASONS: a new refusal class without a reason
    # of its own, or a reason no class uses, would be a label that lies.
    leaves = [cls for cls in _concrete(ExecutorError) if cls is not RequestRejected]
    assert sorted(cls.reason for cls in leaves) == sorted(REJECTION_REASONS)


def test_rate_limited_sets_retry_after() -> None:
    assert RateLimited("rate limit exceeded", 7).headers == {"Retry-After": "7"}


@pytest.mark.parametrize(("error", "status"), STATUS)
def test_status_code(error: ExecutorError, status: int) -> None:
    assert error.status_code == status


@pytest.mark.parametrize(("error", "status"), STATUS)
def test_every_error_is_an_executor_error(error: ExecutorError, status: int) -> None:
    assert isinstance(error, ExecutorError)


@pytest.mark.parametrize(
    "cls", [CodeRejected, Unauthorized, PayloadTooLarge, InvalidRequest, Overloaded], ids=lambda c: c.__name__
)
def test_client_errors_are_request_rejected(cls: type[ExecutorError]) -> None:
    assert issubclass(cls, RequestRejected)


def test_sandbox_unavailable_is_not_the_callers_fault() -> None:
    assert not issubclass(SandboxUnavailable, RequestRejected)


def test_overloaded_sets_retry_after() -> None:
    assert Overloaded("queue full", 3).headers == {"Retry-After": "3"}


def test_sandbox_unavailable_sets_retry_after() -> None:
    assert SandboxUnavailable("restarting", retry_after_s=30).headers == {"Retry-After": "30"}


def test_sandbox_unavailable_retry_after_defaults_to_one_second() -> None:
    assert SandboxUnavailable("restarting").headers == {"Retry-After": "1"}


@pytest.mark.parametrize(
    "error",
    [Unauthorized("no"), PayloadTooLarge("big"), InvalidRequest("bad")],
    ids=["unauthorized", "payload-too-large", "invalid-request"],
)
def test_errors_without_a_retry_have_no_headers(error: ExecutorError) -> None:
    assert error.headers is None


def test_retry_after_is_per_instance() -> None:
    first, second = Overloaded("a", 1), Overloaded("b", 9)
    assert (first.headers, second.headers) == ({"Retry-After": "1"}, {"Retry-After": "9"})


def test_string_detail_is_the_message() -> None:
    assert str(PayloadTooLarge("request body is 5000 bytes; the limit is 1024")) == (
        "request body is 5000 bytes; the limit is 1024"
    )


def test_structured_detail_does_not_become_the_message() -> None:
    assert str(InvalidRequest([{"loc": ["body", "code"], "msg": "x", "type": "y"}])) == "InvalidRequest"


def test_code_rejected_detail_lists_every_violation() -> None:
    violations = [
        Violation(1, "import", "import of 'os' is not allowed", "allowed modules: json"),
        Violation(3, "forbidden_name", "'open' is not available in the sandbox"),
    ]
    assert CodeRejected(violations).detail == [
        {
            "line": 1,
            "rule": "import",
            "message": "Line 1: import of 'os' is not allowed. Hint: the allowed modules are listed in this violation's hint.",
            "hint": "allowed modules: json",
        },
        {
            "line": 3,
            "rule": "forbidden_name",
            "message": "Line 3: 'open' is not available in the sandbox.",
            "hint": "",
        },
    ]


def test_code_rejected_keeps_the_violations() -> None:
    violations = [Violation(2, "syntax", "SyntaxError: invalid syntax")]
    assert CodeRejected(violations).violations == violations


DETAIL_MESSAGES = [
    pytest.param(Violation(4, "async", "no async"), "Line 4: no async.", id="with-line"),
    pytest.param(Violation(None, "too_many_nodes", "too big"), "too big.", id="without-line"),
    pytest.param(Violation(2, "import", "nope.", "use json"), "Line 2: nope. Hint: use json.", id="single-period"),
]


@pytest.mark.parametrize(("violation", "message"), DETAIL_MESSAGES)
def test_violation_detail_message(violation: Violation, message: str) -> None:
    assert violation.as_detail()["message"] == message


def test_a_slow_body_closes_its_connection() -> None:
    assert RequestTimeout("the body did not arrive").headers == {"Connection": "close"}
