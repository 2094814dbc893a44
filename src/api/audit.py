"""The audit log: one JSON line per /execute request, on the ``executor.audit`` logger.

It says who asked (client IP, token fingerprint), what (SHA-256 and size of the code,
the names of the context keys) and what came of it (outcome, limit or refusal reason,
HTTP status, duration, bytes of output). Never the code, a context value or the token:
the fingerprint is the first 16 hex digits of the token's SHA-256, enough to tell
callers apart and useless to an attacker.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from ..schemas import Outcome, Transport

log = logging.getLogger("executor.audit")
MAX_AUDITED_KEYS = 50
MAX_AUDITED_KEY_CHARS = 64


def token_fingerprint(token: str | None) -> str | None:
    if not token:
        return None
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()[:16]


@dataclass
class AuditRecord:
    """Filled in as the request goes through the pipeline, written once at the end."""

    client_ip: str | None
    token_fingerprint: str | None
    transport: Transport
    #: ``time.perf_counter()`` when the request arrived: the line's duration_ms counts from it.
    started: float
    code_sha256: str | None = None
    code_bytes: int | None = None
    context_keys: list[str] = field(default_factory=list)
    #: How many input files the request sent (their paths and contents are not logged).
    input_files: int = 0
    #: The session the execution ran in (POST /sessions/{id}/execute), or None.
    session_id: str | None = None
    written: bool = False

    @property
    def client(self) -> str:
        """Who asked, as the checker's line tells clients apart: the token and the address."""
        return f"{self.token_fingerprint or '-'}@{self.client_ip or '-'}"

    def describe_code(self, code: str, context: dict[str, Any], input_files: int = 0) -> None:
        data = code.encode("utf-8", "surrogatepass")
        self.code_sha256 = hashlib.sha256(data).hexdigest()
        self.code_bytes = len(data)
        # Bounded in number and length: a request with thousands of keys, or with long
        # ones, must not make a megabyte log line.
        keys = sorted(
            key if len(key) <= MAX_AUDITED_KEY_CHARS else key[:MAX_AUDITED_KEY_CHARS] + "…" for key in context
        )
        if len(keys) > MAX_AUDITED_KEYS:
            keys = [*keys[:MAX_AUDITED_KEYS], f"... {len(keys) - MAX_AUDITED_KEYS} more"]
        self.context_keys = keys
        self.input_files = input_files

    def write(self, *, status: int, outcome: Outcome, **details: Any) -> None:
        """Log the line (once: a request refused after it ran is not logged twice)."""
        duration_ms = (time.perf_counter() - self.started) * 1000
        if self.written:
            return
        self.written = True
        log.info(
            "execution",
            extra={
                "client_ip": self.client_ip,
                "token_fingerprint": self.token_fingerprint,
                "code_sha256": self.code_sha256,
                "code_bytes": self.code_bytes,
                "context_keys": self.context_keys,
                "input_files": self.input_files,
                "session_id": self.session_id,
                "transport": self.transport,
                "status": status,
                "outcome": outcome,
                "duration_ms": round(duration_ms, 3),
                **details,
            },
        )
