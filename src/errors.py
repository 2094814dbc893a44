"""The service's own errors, and the one place that maps them to HTTP status codes.

::

    ExecutorError                  catch to handle anything the service refuses
    ├── RequestRejected            the request is at fault (4xx); the caller may fix it
    │   ├── CodeRejected           400  validation     syntax error, forbidden construct, AST limits
    │   ├── Unauthorized           401  auth           missing or wrong token
    │   ├── PayloadTooLarge        413  too_large      body or code over the configured size
    │   ├── RequestTimeout         408  body_timeout   the body did not arrive in time (connection closed)
    │   ├── InvalidRequest         422  invalid_request body does not match the schema
    │   ├── SessionNotFound        404  session_unknown no such session for this token
    │   ├── SessionEnded           410  session_ended  the session ended; ``detail`` says why
    │   ├── RateLimited            429  rate_limited   the caller's rate limit (Retry-After set)
    │   └── Overloaded             429  queue_full     execution queue full (Retry-After set)
    │       ├── QueueTimeout       429  queue_timeout  no slot came free within EXECUTOR_QUEUE_TIMEOUT_S
    │       ├── TooManySessions    429  session_limit  as many sessions open as allowed (Retry-After set)
    │       └── SessionBusy        429  session_busy   the session's call queue is full (Retry-After set)
    └── SandboxUnavailable         503  unavailable    no token configured, or the sandbox cannot run code
        ├── ShuttingDown           503  shutting_down  the service is draining (SIGTERM); Retry-After set
        └── LimitsUnavailable      503  limits_unavailable  the rate-limit storage is unreachable and
                                                       EXECUTOR_RATE_LIMIT_FAIL_MODE is closed

The middle column is each class's ``reason``: the label of
``executor_rejections_total{reason}`` and of the audit log, so the vocabulary of
refusals is this tree (``REJECTION_REASONS``). What the user's program does (raise, hit
a limit) is never one of these: it is data in a 200 reply. Unknown exceptions are
logged with their traceback and answered with a fixed message; ``str(exc)`` of an
unknown exception is never sent to a client.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, get_args

from .language.validation import Violation, violation_details

RejectionReason = Literal[
    "auth",
    "validation",
    "too_large",
    "body_timeout",
    "invalid_request",
    "rate_limited",
    "queue_full",
    "queue_timeout",
    "session_unknown",
    "session_ended",
    "session_limit",
    "session_busy",
    "unavailable",
    "shutting_down",
    "limits_unavailable",
]
REJECTION_REASONS: tuple[RejectionReason, ...] = get_args(RejectionReason)


class ExecutorError(Exception):
    status_code: ClassVar[int] = 500
    reason: ClassVar[RejectionReason] = "unavailable"

    def __init__(self, detail: Any, retry_after_s: int | None = None) -> None:
        super().__init__(detail if isinstance(detail, str) else type(self).__name__)
        self.detail = detail
        #: Seconds after which a retry may succeed: the Retry-After header, when set.
        self.retry_after_s = retry_after_s

    @property
    def headers(self) -> dict[str, str] | None:
        return None if self.retry_after_s is None else {"Retry-After": str(self.retry_after_s)}


class RequestRejected(ExecutorError):
    status_code: ClassVar[int] = 400
    reason: ClassVar[RejectionReason] = "invalid_request"


class CodeRejected(RequestRejected):
    status_code: ClassVar[int] = 400
    reason: ClassVar[RejectionReason] = "validation"

    def __init__(self, violations: list[Violation]) -> None:
        super().__init__(violation_details(violations))
        self.violations = violations


class Unauthorized(RequestRejected):
    status_code: ClassVar[int] = 401
    reason: ClassVar[RejectionReason] = "auth"


class PayloadTooLarge(RequestRejected):
    status_code: ClassVar[int] = 413
    reason: ClassVar[RejectionReason] = "too_large"


class RequestTimeout(RequestRejected):
    status_code: ClassVar[int] = 408
    reason: ClassVar[RejectionReason] = "body_timeout"

    @property
    def headers(self) -> dict[str, str] | None:
        # The rest of the body may still arrive: the connection cannot carry another
        # request, so it is closed after the answer.
        return {"Connection": "close"}


class InvalidRequest(RequestRejected):
    status_code: ClassVar[int] = 422
    reason: ClassVar[RejectionReason] = "invalid_request"


class RateLimited(RequestRejected):
    status_code: ClassVar[int] = 429
    reason: ClassVar[RejectionReason] = "rate_limited"


class Overloaded(RequestRejected):
    status_code: ClassVar[int] = 429
    reason: ClassVar[RejectionReason] = "queue_full"


class QueueTimeout(Overloaded):
    reason: ClassVar[RejectionReason] = "queue_timeout"


class TooManySessions(Overloaded):
    reason: ClassVar[RejectionReason] = "session_limit"


class SessionBusy(Overloaded):
    reason: ClassVar[RejectionReason] = "session_busy"


class SessionNotFound(RequestRejected):
    status_code: ClassVar[int] = 404
    reason: ClassVar[RejectionReason] = "session_unknown"

    def __init__(self) -> None:
        super().__init__("no such session (it never existed, or it belongs to another token)")


class SessionEnded(RequestRejected):
    status_code: ClassVar[int] = 410
    reason: ClassVar[RejectionReason] = "session_ended"

    def __init__(self, why: str, message: str) -> None:
        super().__init__(f"the session ended ({why}): {message}")
        #: The session's end reason (schemas.SessionEnd).
        self.why = why


class SandboxUnavailable(ExecutorError):
    status_code: ClassVar[int] = 503
    reason: ClassVar[RejectionReason] = "unavailable"

    def __init__(self, detail: str, retry_after_s: int = 1) -> None:
        super().__init__(detail, retry_after_s)


class ShuttingDown(SandboxUnavailable):
    reason: ClassVar[RejectionReason] = "shutting_down"

    def __init__(self, retry_after_s: int) -> None:
        super().__init__("the service is shutting down; retry on another replica", retry_after_s)


class LimitsUnavailable(SandboxUnavailable):
    reason: ClassVar[RejectionReason] = "limits_unavailable"
