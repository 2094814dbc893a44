"""The service's own errors, and the one place that maps them to HTTP status codes.

::

    ExecutorError                  catch to handle anything the service refuses
    ├── RequestRejected            the request is at fault (4xx); the caller may fix it
    │   ├── CodeRejected           400  syntax error, forbidden construct, limits of the AST
    │   ├── Unauthorized           401  missing or wrong X-Executor-Token
    │   ├── PayloadTooLarge        413  body or code over the configured size
    │   ├── InvalidRequest         422  body does not match the schema
    │   └── Overloaded             429  execution queue full (Retry-After set)
    └── SandboxUnavailable         503  no token configured, or the sandbox cannot run code
        └── ShuttingDown           503  the service is draining (SIGTERM); Retry-After set

What the user's program does (raise, hit a limit) is never one of these: it is data in
a 200 reply. Unknown exceptions are logged with their traceback and answered with a
fixed message; ``str(exc)`` of an unknown exception is never sent to a client.
"""

from __future__ import annotations

from typing import Any

from .language.validation import Violation


class ExecutorError(Exception):
    status_code = 500
    headers: dict[str, str] | None = None

    def __init__(self, detail: Any) -> None:
        super().__init__(detail if isinstance(detail, str) else type(self).__name__)
        self.detail = detail


class RequestRejected(ExecutorError):
    status_code = 400


class CodeRejected(RequestRejected):
    status_code = 400

    def __init__(self, violations: list[Violation]) -> None:
        super().__init__([v.as_detail() for v in violations])
        self.violations = violations


class Unauthorized(RequestRejected):
    status_code = 401


class PayloadTooLarge(RequestRejected):
    status_code = 413


class InvalidRequest(RequestRejected):
    status_code = 422


class Overloaded(RequestRejected):
    status_code = 429

    def __init__(self, detail: str, retry_after_s: int) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(retry_after_s)}


class SandboxUnavailable(ExecutorError):
    status_code = 503

    def __init__(self, detail: str, retry_after_s: int = 1) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(retry_after_s)}


class ShuttingDown(SandboxUnavailable):
    def __init__(self, retry_after_s: int) -> None:
        super().__init__("the service is shutting down; retry on another replica", retry_after_s)
