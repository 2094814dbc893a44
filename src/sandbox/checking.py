"""Where programs are checked: one thread, a bounded line, a deadline, a bounded cache.

Checking a program (parse, policy pass, RestrictedPython's transformer, compile) is
pure CPU that holds the GIL for as long as the program is large (one to two seconds
for the largest accepted, 50 000 syntax nodes of match cases or of many-parameter
functions, measured on a loaded 2-core machine), and it comes before the admission
queue. So:

* it runs in **one dedicated thread**, never on the event loop and never in two threads
  at once: the loop gets the GIL back between programs, a burst of large programs costs
  one core, not all of them, and CPython 3.11 before 3.11.8 is kept away from its AST
  race between threads (gh-106905: ``SystemError: AST constructor recursion depth
  mismatch``);
* at most ``limit`` programs wait for it or are being checked (429 ``queue_full``
  beyond), each for at most ``timeout_s`` (429 ``queue_timeout``), like the executions'
  own queue;
* verdicts of small programs are kept (agents re-send the same snippets), bounded by
  count and by the bytes of their bytecode.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from ..errors import Overloaded, QueueTimeout
from ..language.validation import PreparedProgram, SourcePolicy, prepare_program

#: Sources up to this size have their verdict kept.
CACHED_SOURCE_BYTES = 16 * 1024
#: Verdicts kept at most, and the bytecode they may hold in all.
CACHE_ENTRIES = 256
CACHE_BYTES = 16 * 1024 * 1024


class ProgramChecker:
    def __init__(
        self,
        policy: SourcePolicy,
        limit: int,
        timeout_s: float,
        retry_after_s: int = 1,
        check: Callable[[str, SourcePolicy], PreparedProgram] = prepare_program,
    ) -> None:
        self.policy = policy
        self.check = check
        self.limit = limit
        self.timeout_s = timeout_s
        self.retry_after_s = retry_after_s
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="program-checker")
        self._pending = 0
        self._cache: OrderedDict[str, PreparedProgram] = OrderedDict()
        self._cache_bytes = 0

    @property
    def pending(self) -> int:
        """Programs waiting for the thread or being checked (a check whose caller left
        still counts until the thread is done with it)."""
        return self._pending

    @property
    def cached_bytes(self) -> int:
        return self._cache_bytes

    async def prepare(self, code: str) -> PreparedProgram:
        """``check(code, policy)`` (prepare_program). Raises Overloaded or QueueTimeout."""
        cached = self._cache.get(code)
        if cached is not None:
            self._cache.move_to_end(code)
            return cached
        if self._pending >= self.limit:
            raise Overloaded(f"{self._pending} programs are waiting to be checked; retry later", self.retry_after_s)
        loop = asyncio.get_running_loop()
        self._pending += 1
        work = self._thread.submit(self.check, code, self.policy)
        work.add_done_callback(lambda _: self._done_soon(loop))
        try:
            async with asyncio.timeout(self.timeout_s):
                prepared = await asyncio.wrap_future(work)
        except TimeoutError:
            work.cancel()
            raise QueueTimeout(
                f"the program could not be checked within {self.timeout_s:g} s; retry later", self.retry_after_s
            ) from None
        if len(code) <= CACHED_SOURCE_BYTES:
            self._remember(code, prepared)
        return prepared

    def _done_soon(self, loop: asyncio.AbstractEventLoop) -> None:
        """From the checker's thread (or the loop, for a cancelled check): count on the loop."""
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody counts any more
            loop.call_soon_threadsafe(self._done)

    def _done(self) -> None:
        self._pending -= 1

    def _remember(self, code: str, prepared: PreparedProgram) -> None:
        if code in self._cache:
            return
        self._cache[code] = prepared
        self._cache_bytes += len(prepared.bytecode or b"")
        while len(self._cache) > CACHE_ENTRIES or self._cache_bytes > CACHE_BYTES:
            _, evicted = self._cache.popitem(last=False)
            self._cache_bytes -= len(evicted.bytecode or b"")
