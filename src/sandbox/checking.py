"""Where programs are checked: one process, a bounded line, deadlines, a bounded cache.

Checking a program (parse, policy pass, RestrictedPython's transformer, compile) is
C code that holds the GIL for as long as the program is large (one to two seconds for
the largest accepted, 50 000 syntax nodes of match cases or of many-parameter
functions, measured on a loaded 2-core machine; some shapes far longer), and it comes
before the admission queue. So:

* it runs in **a process of its own** (src/sandbox/checker_client.py), never in the API
  process: the event loop never waits for a parse or a compile, whatever its shape, a
  burst of large programs costs one core, and a check is really stopped at its budget
  (the child is killed) instead of running on in a thread nobody can stop;
* programs are checked **one at a time**, the clients waiting taking turns round-robin
  (fair_line.py: a client that sends many large programs delays another by one check,
  not by all of them), each client's own in arrival order; at most ``limit`` wait or
  are being checked, at most half of them one client's (429 ``queue_full`` beyond),
  each waits at most ``timeout_s`` for its turn (429 ``queue_timeout``), like the
  executions' own queue;
* a program whose own check takes longer than ``budget_s``, or that the checker dies on
  twice, is refused (400, rule ``uncheckable``): that is the program's doing, and
  sending it again would cost the same;
* verdicts are kept by the source's digest and the client (agents re-send the same
  snippets, and a client re-sending one large program must not cost the checker each
  time), bounded by count and by the bytes of their bytecode. Per client: a verdict kept
  for anyone would answer another client's program faster, telling it that the same text
  was sent recently (attack pass 90, N4).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict

from ..errors import Overloaded, QueueTimeout, SandboxUnavailable
from ..language.validation import PreparedProgram, SourcePolicy, Violation
from .checker_client import Checker, CheckerCannotStart, CheckerCrashed, CheckerProcess, CheckTooSlow
from .fair_line import FairLine

log = logging.getLogger(__name__)

#: Verdicts kept at most, and the bytecode they may hold in all.
CACHE_ENTRIES = 256
CACHE_BYTES = 16 * 1024 * 1024
#: How long one program's own check may take. The slowest accepted shapes measured take
#: about 4 s on a loaded 2-core machine; ordinary programs a few milliseconds.
CHECK_BUDGET_S = 15.0
_SMALLER = "send a smaller or simpler program (fewer statements, less nesting, shorter literals)"


class ProgramChecker:
    def __init__(
        self,
        policy: SourcePolicy,
        *,
        limit: int,
        timeout_s: float,
        max_code_bytes: int,
        retry_after_s: int = 1,
        budget_s: float = CHECK_BUDGET_S,
        checker: Checker | None = None,
    ) -> None:
        self.policy = policy
        self.limit = limit
        self.timeout_s = timeout_s
        self.budget_s = budget_s
        self.retry_after_s = retry_after_s
        self.checker: Checker = checker if checker is not None else CheckerProcess(policy, max_code_bytes)
        self._line = FairLine()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending = 0
        #: Programs of each client waiting or being checked.
        self._pending_of: dict[str, int] = {}
        self._cache: OrderedDict[bytes, PreparedProgram] = OrderedDict()
        self._cache_bytes = 0

    @property
    def pending(self) -> int:
        """Programs waiting for their turn or being checked (a check whose caller left
        still counts until it is done)."""
        return self._pending

    @property
    def cached_bytes(self) -> int:
        return self._cache_bytes

    @property
    def per_client_limit(self) -> int:
        return max(1, self.limit // 2)

    async def prepare(self, code: str, client: str = "") -> PreparedProgram:
        """The validator's verdict on ``code``, sent by ``client`` (who takes turns with
        the others). Raises Overloaded, QueueTimeout or SandboxUnavailable (the checker
        cannot be started)."""
        key = _digest(client, code)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        if self._pending >= self.limit:
            raise Overloaded(f"{self._pending} programs are waiting to be checked; retry later", self.retry_after_s)
        mine = self._pending_of.get(client, 0)
        if mine >= self.per_client_limit:
            raise Overloaded(
                f"{mine} of this client's programs are waiting to be checked; retry later", self.retry_after_s
            )
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # futures belong to one loop (tests start several)
            self._loop, self._line = loop, FairLine()
        self._pending += 1
        self._pending_of[client] = mine + 1
        try:
            async with asyncio.timeout(self.timeout_s):
                await self._line.wait_turn(client)
        except TimeoutError:
            self._done(client)
            raise QueueTimeout(
                f"the program could not be checked within {self.timeout_s:g} s; retry later", self.retry_after_s
            ) from None
        except BaseException:
            self._done(client)
            raise
        # Once its turn has come a check runs to its end even if the caller leaves: the
        # child is mid-exchange, and the verdict is cached for the caller's retry.
        checking = asyncio.ensure_future(self._check_in_turn(code, key, client))
        checking.add_done_callback(_retrieve)
        return await asyncio.shield(checking)

    def _done(self, client: str) -> None:
        self._pending -= 1
        left = self._pending_of[client] - 1
        if left:
            self._pending_of[client] = left
        else:
            del self._pending_of[client]

    async def _check_in_turn(self, code: str, key: bytes, client: str) -> PreparedProgram:
        try:
            # Checked meanwhile (a copy that was ahead of this one in the line)?
            cached = self._cache.get(key)
            prepared = cached if cached is not None else await self._check(code)
        finally:
            self._line.release()
            self._done(client)
        if not _uncheckable(prepared):
            self._remember(key, prepared)  # nothing if it was cached
        return prepared

    async def _check(self, code: str) -> PreparedProgram:
        for attempt in (1, 2):
            try:
                return await self.checker.check(code, self.budget_s)
            except CheckTooSlow:
                message = f"checking the program took longer than {self.budget_s:g} s"
                return PreparedProgram([Violation(None, "uncheckable", message, _SMALLER)])
            except CheckerCannotStart as exc:
                log.error("the program checker cannot be started: %s", exc)
                raise SandboxUnavailable("the program checker cannot be started", self.retry_after_s) from None
            except CheckerCrashed as exc:
                # Once may be the checker's bad luck (killed from outside); twice in a row
                # on the same program is the program.
                log.warning("the program checker failed (attempt %d): %s", attempt, exc)
        message = "the checker stopped twice while checking the program (out of memory, or a crash)"
        return PreparedProgram([Violation(None, "uncheckable", message, _SMALLER)])

    async def start(self) -> None:
        """Start the checker now rather than on the first program (which would wait for
        it); a checker that cannot start is logged here and retried on that program."""
        try:
            await self.checker.start()
        except CheckerCannotStart as exc:
            log.error("the program checker cannot be started: %s", exc)

    async def stop(self) -> None:
        await self.checker.stop()

    def _remember(self, key: bytes, prepared: PreparedProgram) -> None:
        if key in self._cache:
            return
        self._cache[key] = prepared
        self._cache_bytes += len(prepared.bytecode or b"")
        while len(self._cache) > CACHE_ENTRIES or self._cache_bytes > CACHE_BYTES:
            _, evicted = self._cache.popitem(last=False)
            self._cache_bytes -= len(evicted.bytecode or b"")


def _digest(client: str, code: str) -> bytes:
    digest = hashlib.sha256(client.encode("utf-8", "surrogatepass"))
    digest.update(b"\0")
    digest.update(code.encode("utf-8", "surrogatepass"))
    return digest.digest()


def _uncheckable(prepared: PreparedProgram) -> bool:
    """A verdict that depends on the moment (the machine's load, a crash): not kept."""
    return any(v.rule == "uncheckable" for v in prepared.violations)


def _retrieve(task: asyncio.Future[PreparedProgram]) -> None:
    """A check whose caller left: its outcome is nobody's, and not an error to log."""
    if not task.cancelled():
        task.exception()
