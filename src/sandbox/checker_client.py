"""Client side of the checker process (src/worker/checker.py).

One child process checks programs one at a time; the caller (ProgramChecker) makes sure
of that. The child is spawned the way the template is: a fresh interpreter, isolated
mode, empty environment (no token, nothing of the server's memory). A check that
outlasts its budget kills the child (the next check starts a new one), so a program
whose parse or compile would run for minutes costs its budget and no more.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import sys
from typing import Any, Protocol

from ..language.validation import (
    MAX_VIOLATIONS,
    RULES,
    PreparedProgram,
    SourcePolicy,
    Violation,
    compiled_limit_bytes,
)
from ..protocol import HEADER, ProtocolError, decode_checker_body, encode_frame, frame_length
from .template_client import PROJECT_ROOT

log = logging.getLogger(__name__)

_BOOTSTRAP = (
    "import sys; sys.path.insert(0, sys.argv[1]); from src.worker.checker import main; "
    "main(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))"
)
#: How long the child may take to import the validator and say it is ready.
START_TIMEOUT_S = 30.0
#: The child's address space: the interpreter and RestrictedPython take about 60 MB; the
#: largest accepted program's syntax tree and compiler state a few hundred bytes per
#: source byte at most.
BASE_MEMORY_BYTES = 1024 * 1024 * 1024
MEMORY_BYTES_PER_SOURCE_BYTE = 256


class CheckTooSlow(Exception):
    """The check outlasted its budget; the child was killed."""


class CheckerCrashed(Exception):
    """The child died, or answered something that is not a verdict."""


class CheckerCannotStart(Exception):
    """No child could be started (or it did not announce itself in time)."""


class Checker(Protocol):
    """Where ProgramChecker sends a program; one call at a time."""

    async def start(self) -> None: ...

    async def check(self, code: str, budget_s: float) -> PreparedProgram: ...

    async def stop(self) -> None: ...


def policy_argument(policy: SourcePolicy) -> str:
    """The policy as the child's command line carries it (see checker.policy_from_argument)."""
    return json.dumps(
        {
            "max_ast_nodes": policy.max_ast_nodes,
            "max_ast_depth": policy.max_ast_depth,
            "allowed_imports": sorted(policy.allowed_imports),
        }
    )


def _violation(raw: Any) -> Violation:
    if not isinstance(raw, dict) or set(raw) != {"line", "rule", "message", "hint"}:
        raise ProtocolError("a violation is {line, rule, message, hint}")
    line, rule, message, hint = raw["line"], raw["rule"], raw["message"], raw["hint"]
    if not (line is None or (type(line) is int and line >= 0)) or rule not in RULES:
        raise ProtocolError("a violation's line or rule is not one the validator writes")
    if not isinstance(message, str) or not isinstance(hint, str):
        raise ProtocolError("a violation's message and hint are text")
    return Violation(line, rule, message, hint)


def parse_verdict(raw: Any) -> PreparedProgram:
    """The child's reply as a PreparedProgram. Raises ProtocolError."""
    if not isinstance(raw, dict) or set(raw) != {"violations", "bytecode"}:
        raise ProtocolError("a verdict is {violations, bytecode}")
    violations, encoded = raw["violations"], raw["bytecode"]
    if not isinstance(violations, list) or len(violations) > MAX_VIOLATIONS + 1:
        raise ProtocolError("violations is a bounded list")
    parsed = [_violation(v) for v in violations]
    if encoded is None:
        if not parsed:
            raise ProtocolError("a verdict without violations carries the bytecode")
        return PreparedProgram(parsed)
    if parsed or not isinstance(encoded, str):
        raise ProtocolError("bytecode comes only with no violations, as base64 text")
    try:
        return PreparedProgram([], base64.b64decode(encoded, validate=True))
    except binascii.Error as exc:
        raise ProtocolError("bytecode is not base64") from exc


class CheckerProcess:
    """The checker child, started on first use (or by ``start``) and again after it was
    killed or died. Belongs to the event loop that started it."""

    def __init__(self, policy: SourcePolicy, max_code_bytes: int) -> None:
        self.policy = policy
        # A JSON string escapes a source byte into at most six.
        self.max_request_bytes = 6 * max_code_bytes + 1024
        # Bytecode in base64, or violations that each quote at most the source.
        self.max_reply_bytes = 4 * compiled_limit_bytes(max_code_bytes) + 1024 * 1024
        self.memory_bytes = BASE_MEMORY_BYTES + MEMORY_BYTES_PER_SOURCE_BYTE * max_code_bytes
        self._proc: asyncio.subprocess.Process | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        #: Children started so far (a restart after a kill or a crash is one more).
        self.starts = 0

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    async def start(self) -> None:
        """Spawn the child and wait until it is ready. Raises CheckerCannotStart."""
        self._abandon()
        self._loop = asyncio.get_running_loop()
        try:
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable, "-I", "-B", "-c", _BOOTSTRAP, str(PROJECT_ROOT),
                policy_argument(self.policy), str(self.max_request_bytes), str(self.memory_bytes),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                env={},
                close_fds=True,
            )  # fmt: skip
        except OSError as exc:
            raise CheckerCannotStart(f"spawning the checker failed: {exc.strerror}") from None
        self.starts += 1
        try:
            async with asyncio.timeout(START_TIMEOUT_S):
                ready = await self._read_frame(64)
        except TimeoutError:
            await self._kill()
            raise CheckerCannotStart(f"the checker did not start within {START_TIMEOUT_S:g} s") from None
        except (ProtocolError, asyncio.IncompleteReadError):
            await self._kill()
            raise CheckerCannotStart("the checker exited before it was ready") from None
        if ready != {"ready": True}:
            await self._kill()
            raise CheckerCannotStart("the checker did not announce itself")

    async def check(self, code: str, budget_s: float) -> PreparedProgram:
        """The validator's verdict on ``code``, from the child. Raises CheckTooSlow (the
        child was killed at ``budget_s``) or CheckerCrashed (it died or misbehaved)."""
        if not self._usable():
            await self.start()
        proc = self._proc
        assert proc is not None and proc.stdin is not None
        try:
            proc.stdin.write(encode_frame({"code": code}))
            async with asyncio.timeout(budget_s):
                await proc.stdin.drain()
                reply = await self._read_frame(self.max_reply_bytes)
            return parse_verdict(reply)
        except TimeoutError:
            await self._kill()
            raise CheckTooSlow(f"checking took longer than {budget_s:g} s") from None
        except (ProtocolError, ConnectionError, asyncio.IncompleteReadError) as exc:
            await self._kill()
            raise CheckerCrashed(f"the checker failed: {exc}") from None
        except BaseException:
            # Cancelled mid-exchange: the next frame on the pipe would be this check's.
            await asyncio.shield(self._kill())
            raise

    async def stop(self) -> None:
        if self._proc is not None and self._loop is asyncio.get_running_loop():
            await self._kill()
        self._abandon()

    def _usable(self) -> bool:
        return self._proc is not None and self._proc.returncode is None and self._loop is asyncio.get_running_loop()

    async def _read_frame(self, max_bytes: int) -> Any:
        assert self._proc is not None and self._proc.stdout is not None
        header = await self._proc.stdout.readexactly(HEADER.size)
        return decode_checker_body(await self._proc.stdout.readexactly(frame_length(header, max_bytes)))

    async def _kill(self) -> None:
        proc = self._proc
        self._proc = None
        if proc is None:
            return
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(proc.wait(), 5)

    def _abandon(self) -> None:
        """Forget a child of another event loop (a test's, or a previous server run's),
        killing it without waiting: that loop reaps it, or init does."""
        proc = self._proc
        self._proc = None
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
