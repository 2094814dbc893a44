"""Connection deadlines: uvicorn's httptools protocol with the bounds it lacks.

uvicorn bounds how many connections are open and closes an idle keep-alive connection,
but one byte cancels its keep-alive timer, and nothing bounds how long the headers or the
body of a request may take, how large the headers may grow, or how long an answer may
wait for a client that does not read it. Connections are few (``--limit-concurrency``),
so each of these lets a handful of slow clients starve everyone. Here every connection
is always in one phase with a deadline, or handing a request to the application:

* **head**, from the connection's start or the end of the previous answer to the end of
  the next request's headers: ``EXECUTOR_HEADER_TIMEOUT_S``, and at most
  ``MAX_HEAD_BYTES`` of request line and headers (431 beyond);
* **body**, from the end of the headers to the end of the body:
  ``EXECUTOR_BODY_TIMEOUT_S`` plus ``BODY_GRACE_S``, so that a route that reads its body
  (POST /execute, /mcp) answers its own 408 first. It also bounds the rest of a body
  nobody reads after an early answer (401, 413, 429);
* **application**: the request's own deadlines (queue, worker, run) apply;
* **send**: an answer the client stops reading for ``EXECUTOR_SEND_TIMEOUT_S`` is
  dropped (the transport's buffer is full and has not drained).

A connection past a deadline is aborted (whatever is buffered for it is dropped) and
counted in ``executor_connections_closed_total{reason}``.

Pipelining is not served: a request that arrives before the answer to the previous one
is dropped and the connection closes after that answer (RFC 9112, 9.3.2: a client that
pipelines retries on a new connection). uvicorn would queue it, and then watch only the
newest request for a disconnect, so an execution whose client left would run to its end.

WebSocket upgrades are refused by the server configuration (``ws="none"``), so no
request leaves this protocol for another one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, get_args

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

#: Why the server closed a connection: the ``reason`` label of
#: ``executor_connections_closed_total``.
ConnectionCut = Literal["header_timeout", "headers_too_large", "body_timeout", "send_timeout"]
CONNECTION_CUTS: tuple[ConnectionCut, ...] = get_args(ConnectionCut)

#: Request line and headers together (nginx's default allows 32 KiB, h11's 16 KiB): far
#: above what any client of this service sends, far below what would cost memory.
MAX_HEAD_BYTES = 64 * 1024
#: Added to the body deadline here, so that the route's own 408 (which starts counting a
#: little later, after authentication) wins the race.
BODY_GRACE_S = 2.0

_TOO_LARGE = (
    STATUS_LINE[431] + b"content-type: text/plain; charset=utf-8\r\ncontent-length: 31\r\n"
    b"connection: close\r\n\r\nRequest headers are too large.\n"
)


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout_s: float
    body_timeout_s: float
    send_timeout_s: float


def guarded_protocol(limits: ConnectionLimits, on_cut: Callable[[ConnectionCut], None]) -> type[HttpToolsProtocol]:
    """The protocol class to give uvicorn (``Config(http=...)``) for these limits;
    ``on_cut(reason)`` is called for each connection closed past one of them."""

    class Guarded(GuardedHttpToolsProtocol):
        pass

    Guarded.limits = limits
    Guarded.on_cut = staticmethod(on_cut)
    return Guarded


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    limits: ClassVar[ConnectionLimits]
    on_cut: ClassVar[Callable[[ConnectionCut], None]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._phase_timer: asyncio.TimerHandle | None = None
        self._send_timer: asyncio.TimerHandle | None = None
        self._reading_head = True
        self._head_bytes = 0
        self._body_done = False
        self._dropping_pipelined = False

    # ------------------------------------------------------------------ phases

    def _start_head(self) -> None:
        self._reading_head = True
        self._head_bytes = 0
        self._body_done = False
        self._arm(self.limits.header_timeout_s, "header_timeout")

    def _arm(self, delay_s: float, reason: ConnectionCut) -> None:
        self._disarm()
        self._phase_timer = self.loop.call_later(delay_s, self._cut, reason)

    def _disarm(self) -> None:
        if self._phase_timer is not None:
            self._phase_timer.cancel()
            self._phase_timer = None

    def _cut(self, reason: ConnectionCut) -> None:
        if self.transport.is_closing():
            return
        type(self).on_cut(reason)
        if reason == "headers_too_large":
            self.transport.write(_TOO_LARGE)
            self.transport.close()
        else:
            self.transport.abort()

    # ------------------------------------------------------------------ transport events

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._send_timer is not None:
            self._send_timer.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._reading_head:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._reading_head and self._head_bytes > MAX_HEAD_BYTES:
            self._cut("headers_too_large")

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._send_timer is None:
            self._send_timer = self.loop.call_later(self.limits.send_timeout_s, self._cut, "send_timeout")

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._send_timer is not None:
            self._send_timer.cancel()
            self._send_timer = None
        self._next_request_may_start()

    # ------------------------------------------------------------------ parser events

    def on_headers_complete(self) -> None:
        if self.cycle is not None and not self.cycle.response_complete:
            # Pipelined: dropped; the answer in progress is the connection's last.
            self._dropping_pipelined = True
            self.cycle.keep_alive = False
            self.flow.pause_reading()
            return
        super().on_headers_complete()
        self._reading_head = False
        self._arm(self.limits.body_timeout_s + BODY_GRACE_S, "body_timeout")

    def on_body(self, body: bytes) -> None:
        if not self._dropping_pipelined:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._dropping_pipelined:
            return
        super().on_message_complete()
        self._body_done = True
        self._disarm()  # the application's own deadlines apply while it works
        self._next_request_may_start()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._next_request_may_start()

    def _next_request_may_start(self) -> None:
        """Start the head phase of the next request once this one is over: its body read
        to the end (else the body deadline still runs, also after an early answer) and
        its answer out of our buffer (else the send deadline runs)."""
        if self._reading_head or self.transport.is_closing() or self.cycle is None:
            return
        if self._body_done and self.cycle.response_complete and not self.flow.write_paused:
            self._start_head()
