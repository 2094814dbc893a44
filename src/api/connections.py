"""Connection deadlines: uvicorn's httptools protocol with the bounds it lacks.

uvicorn bounds how many connections are open and closes an idle keep-alive connection,
but one byte cancels its keep-alive timer, and nothing bounds how long the headers or the
body of a request may take, how large the headers may grow, or how long an answer may
wait for a client that does not read it. Connections are few (``--limit-concurrency``),
so each of these lets a handful of slow clients starve everyone. Here every connection
that is not lost is always in one phase with a deadline, or handing a request to the
application:

* **head**, from the connection's start or the end of the previous answer to the end of
  the next request's headers: ``EXECUTOR_HEADER_TIMEOUT_S``;
* **body**, from the end of the headers to the end of the body:
  ``EXECUTOR_BODY_TIMEOUT_S`` plus ``BODY_GRACE_S``, so that a route that reads its body
  (POST /execute, /mcp) answers its own 408 first. It also bounds the rest of a body
  nobody reads after an early answer (401, 413, 429);
* **application**: the request's own deadlines (queue, worker, run) apply;
* **send**: an answer the client stops reading for ``EXECUTOR_SEND_TIMEOUT_S`` is
  dropped (the transport's buffer is full and has not drained); so is, earlier, the
  answer of the connection that stopped reading first when the answers waiting in all
  connections pass ``max_unsent_bytes`` (``_shed_backlog``);
* **closing**: a connection the server closed (``Connection: close``, HTTP/1.0, a 400 or
  431, the keep-alive timer, shutdown) with an answer still buffered has
  ``EXECUTOR_SEND_TIMEOUT_S`` to deliver it. Every close passes through the transport
  this protocol hands uvicorn (``_CloseReporting``), whoever calls it.

Whatever the phase, a request's line and headers are at most ``MAX_HEAD_BYTES`` in at most
``MAX_HEAD_FIELDS`` fields (431, or
the connection aborted when an answer is in progress): the bytes of the next request
count from their first byte, also while the current one is still being answered.
Trailer fields of a chunked body are dropped: uvicorn would add them to the request's
headers, where a token or an X-Forwarded-For could be smuggled in after the proxy. Chunk
framing, extensions and trailers count against ``MAX_HEAD_BYTES`` between two chunks (the
parser holds an unfinished line whole, and copies it on every read).

At most ``max_connections`` connections are served at once (uvicorn's own limit is not
used). A request that arrives whole when every place is taken closes the connection that
has waited longest for a request it has not finished sending (an idle keep-alive
connection, a head or body still arriving, the unread rest of a body after an early
answer) and is served in its place: a place held by a client that sends nothing is worth
less than a request ready to run, so clients that open hundreds of connections and send
a byte now and then cannot keep out one that sends its request. Only when every place
holds a request being served does a request get a 503 with ``Retry-After`` (and the
connection closes); the probes (``PROBE_PATHS``) are answered even then, so that clients
holding every place cannot make an orchestrator restart a healthy service.

A connection past a deadline is aborted (whatever is buffered for it is dropped) and
counted in ``executor_connections_closed_total{reason}``. Open connections are
``executor_connections_open``; a request uvicorn answers itself with a 503 because the
connection limit is reached (the application never sees it) is counted in
``executor_connections_refused_total``.

Pipelining is not served: a request whose head arrives before the previous request is
over (its body read, its answer out of this server's buffer) is read and dropped, and
the connection closes after that answer (RFC 9112, 9.3.2: a client that pipelines
retries on a new connection). uvicorn would queue it and stop reading, and then watch
only the newest request for a disconnect, so an execution whose client left would run to
its end. Reading on means a departure is still seen. Bytes that do not parse while an
answer is in progress are treated the same way (uvicorn would write its 400 into the
middle of that answer).

No request leaves this protocol for another one (``ws="none"``), and a request that asks
for an upgrade (``Connection: upgrade``: WebSocket, h2c) gets a 400 and a closed
connection: the parser would skip its body and parse that body as the next request.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Protocol, cast, get_args

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

#: Why the server closed a connection: the ``reason`` label of
#: ``executor_connections_closed_total``.
ConnectionCut = Literal[
    "header_timeout", "headers_too_large", "body_timeout", "send_timeout", "send_backlog", "evicted"
]
CONNECTION_CUTS: tuple[ConnectionCut, ...] = get_args(ConnectionCut)

#: Request line and headers together (nginx's default allows 32 KiB, h11's 16 KiB): far
#: above what any client of this service sends, far below what would cost memory.
MAX_HEAD_BYTES = 64 * 1024
#: Header fields in one request (Apache's LimitRequestFields default): each is a Python
#: callback here and an entry every middleware scans, so 64 KiB of empty fields (13 000)
#: cost the event loop 13 ms per request, before any token is checked. Clients send 10
#: to 20, proxies add a few.
MAX_HEAD_FIELDS = 100
#: What the parser holds of one header line besides its name and value (": ", CRLF).
_HEADER_LINE_OVERHEAD = 4
#: Framing allowed for each boundary the parser reports within one read (a chunk's size
#: line, extensions and CRLFs), before the rest counts as an unfinished line.
FRAMING_PER_BOUNDARY = 256
#: Added to the body deadline here, so that the route's own 408 (which starts counting a
#: little later, after authentication) wins the race.
BODY_GRACE_S = 2.0

#: The order in which connections started waiting for a request (ties are impossible,
#: unlike with the loop's clock).
_WAITING_ORDER = itertools.count()

#: Answered even past the connection limit: what orchestrators and load balancers poll.
PROBE_PATHS = frozenset({b"/livez", b"/health"})

_TOO_LARGE = (
    STATUS_LINE[431] + b"content-type: text/plain; charset=utf-8\r\ncontent-length: 31\r\n"
    b"connection: close\r\n\r\nRequest headers are too large.\n"
)
_UPGRADE_REFUSED = (
    STATUS_LINE[400] + b"content-type: text/plain; charset=utf-8\r\ncontent-length: 55\r\n"
    b"connection: close\r\n\r\nProtocol upgrades are not served; send it without one.\n"
)
_TOO_MANY_CONNECTIONS = (
    STATUS_LINE[503] + b"content-type: text/plain; charset=utf-8\r\ncontent-length: 41\r\n"
    b"retry-after: 1\r\nconnection: close\r\n\r\nToo many connections are open; retry soon.\n"
)


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout_s: float
    body_timeout_s: float
    send_timeout_s: float
    max_connections: int
    #: Bytes of answers waiting, in all connections together, for clients that do not
    #: read them (see _shed_backlog).
    max_unsent_bytes: int = 256 * 1024 * 1024


class ConnectionObserver(Protocol):
    """What the protocol reports (to metrics)."""

    def opened(self) -> None: ...
    def lost(self) -> None: ...
    def cut(self, reason: ConnectionCut) -> None:
        """Closed by the server past one of the limits."""

    def refused(self) -> None:
        """A request answered 503 at the connection limit."""


def guarded_protocol(limits: ConnectionLimits, observer: ConnectionObserver) -> type[HttpToolsProtocol]:
    """The protocol class to give uvicorn (``Config(http=...)``) for these limits."""

    class Guarded(GuardedHttpToolsProtocol):
        pass

    Guarded.limits = limits
    Guarded.observer = observer
    Guarded.stalled = {}
    return Guarded


class _CloseReporting:
    """The connection's transport, reporting each ``close()`` to the protocol: uvicorn
    closes transports from several places (its request cycle, keep-alive timer, 400
    answer, shutdown) without telling the protocol."""

    __slots__ = ("_on_close", "_transport")

    def __init__(self, transport: asyncio.Transport, on_close: Callable[[], None]) -> None:
        self._transport = transport
        self._on_close = on_close

    def close(self) -> None:
        self._transport.close()
        self._on_close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    limits: ClassVar[ConnectionLimits]
    observer: ClassVar[ConnectionObserver]
    #: This server's connections whose answer waits for the client, in the order they
    #: stopped reading (a dict as an ordered set).
    stalled: ClassVar[dict[GuardedHttpToolsProtocol, None]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._phase_timer: asyncio.TimerHandle | None = None
        self._send_timer: asyncio.TimerHandle | None = None
        self._reading_head = True
        self._body_done = False
        self._closing = False  # closed by the server; what is buffered may still go out
        self._aborted = False
        self._lost = False
        self._discarding = False  # what the client still sends is read and dropped
        self._parser_failed = False
        # The head being parsed: its URL and header bytes as the parser reports them
        # (exact, but only once each piece is complete; _loose_bytes covers the rest).
        self._in_head = False
        self._head_fields_bytes = 0
        self._head_fields = 0
        self._head_too_large = False
        # Bytes that are neither body nor a finished head's fields (a head still arriving,
        # chunk framing and extensions, trailers), since the last boundary the parser
        # reported (end of a head, a chunk, a message). The parser holds an unfinished
        # line whole, so this bounds what it holds.
        self._loose_bytes = 0
        self._boundaries = 0
        self._body_bytes_this_read = 0
        self._head_bytes_this_read = 0
        self.waiting_since = next(_WAITING_ORDER)

    # ------------------------------------------------------------------ phases

    def _start_head(self) -> None:
        self._reading_head = True
        self._body_done = False
        self.waiting_since = next(_WAITING_ORDER)
        self._arm(self.limits.header_timeout_s, "header_timeout")

    def _arm(self, delay_s: float, reason: ConnectionCut) -> None:
        self._disarm()
        self._phase_timer = self.loop.call_later(delay_s, self._cut, reason)

    def _disarm(self) -> None:
        if self._phase_timer is not None:
            self._phase_timer.cancel()
            self._phase_timer = None

    def _cut(self, reason: ConnectionCut) -> None:
        if self._lost or self._aborted:
            return
        self.observer.cut(reason)
        answering = self.cycle is not None and not self.cycle.response_complete
        if reason == "headers_too_large" and not self._closing and not answering:
            self._answer_and_close(_TOO_LARGE)
        else:
            self._aborted = True
            self.stalled.pop(self, None)
            self.transport.abort()

    def _answer_and_close(self, answer: bytes) -> None:
        """A fixed answer of our own, the connection's last: it then has the closing
        phase's deadline, and whatever the client still sends is dropped."""
        self._discarding = True
        self.transport.write(answer)
        self.transport.close()

    @property
    def _serving(self) -> bool:
        """Whether a request may still be read and served on this connection."""
        return not (self._closing or self._aborted or self._lost)

    def _closed_by_server(self) -> None:
        """The transport was closed: what it still buffers has the send deadline to go."""
        if self._lost or self._closing:
            return
        self._closing = True
        self._reading_head = False
        self._arm(self.limits.send_timeout_s, "send_timeout")

    # ------------------------------------------------------------------ transport events

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(cast(asyncio.Transport, _CloseReporting(transport, self._closed_by_server)))
        self.observer.opened()
        self._start_head()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._lost:
            self.observer.lost()
        self._lost = True
        self.stalled.pop(self, None)
        self._disarm()
        if self._send_timer is not None:
            self._send_timer.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self._serving or self._parser_failed:
            return
        boundaries = self._boundaries
        self._body_bytes_this_read = self._head_bytes_this_read = 0
        super().data_received(data)
        loose = max(0, len(data) - self._body_bytes_this_read - self._head_bytes_this_read)
        crossed = self._boundaries - boundaries
        if crossed:
            # Only what follows the last boundary is still held, and where that boundary
            # fell in this read is not reported: the framing of the chunks completed in it
            # (a size line and two CRLFs each) is allowed for, the rest counts. A body of
            # many small chunks in one read is not a long line.
            self._loose_bytes = max(0, loose - crossed * FRAMING_PER_BOUNDARY)
        else:
            self._loose_bytes += loose
        if self._loose_bytes > MAX_HEAD_BYTES and self._serving:
            self._cut("headers_too_large")

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._send_timer is None:
            self._send_timer = self.loop.call_later(self.limits.send_timeout_s, self._cut, "send_timeout")
        self.stalled[self] = None
        self._shed_backlog()

    def resume_writing(self) -> None:
        super().resume_writing()
        self.stalled.pop(self, None)
        if self._send_timer is not None:
            self._send_timer.cancel()
            self._send_timer = None
        self._next_request_may_start()

    def _shed_backlog(self) -> None:
        """The send deadline bounds how long an answer waits for its client, not how much
        of it waits: an answer is written whole (up to ~14 MB with the default limits,
        output of control characters escaped sixfold), so a few hundred clients that ask
        and do not read would hold gigabytes in this process until their deadlines. Past
        ``max_unsent_bytes`` in all, the connections that stopped reading first are
        dropped, until the rest fits."""
        waiting = sum(other.transport.get_write_buffer_size() for other in self.stalled)
        while waiting > self.limits.max_unsent_bytes and self.stalled:
            first = next(iter(self.stalled))
            del self.stalled[first]
            waiting -= first.transport.get_write_buffer_size()
            first.drop("send_backlog")

    # ------------------------------------------------------------------ parser events

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_fields_bytes = 0
        self._head_fields = 0
        self._head_too_large = False

    def on_url(self, url: bytes) -> None:
        if self._count_head_bytes(len(url)):
            super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._in_head or self._head_too_large:
            return  # a trailer field (never a header of the request), or a head refused already
        self._head_fields += 1
        if self._head_fields > MAX_HEAD_FIELDS:
            self._head_too_large = True
            return
        if self._count_head_bytes(len(name) + len(value) + _HEADER_LINE_OVERHEAD):
            super().on_header(name, value)

    def _count_head_bytes(self, count: int) -> bool:
        """Whether the head is still within its size; keeps nothing of a head beyond it."""
        self._head_fields_bytes += count
        self._head_too_large = self._head_too_large or self._head_fields_bytes > MAX_HEAD_BYTES
        return not self._head_too_large

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._boundaries += 1
        self._head_bytes_this_read += self._head_fields_bytes
        if self.parser.should_upgrade():
            # llhttp stops reading the body of a request that asks to upgrade, and what
            # follows would be parsed as a new request (smuggled past a proxy). No
            # upgrade is served here (no WebSocket, no h2c): refused.
            if self._serving and self._reading_head:
                self._answer_and_close(_UPGRADE_REFUSED)
            elif self._serving:
                self._discard_pipelined()
            self._discarding = True
            return
        if not self._serving:
            self._discarding = True  # the rest of this read is parsed, and dropped
            return
        if self._head_too_large:
            self._discarding = True
            self._cut("headers_too_large")
            return
        if not self._reading_head:
            self._discard_pipelined()
            return
        if self._over_connection_limit():
            self.observer.refused()
            self._answer_and_close(_TOO_MANY_CONNECTIONS)
            return
        super().on_headers_complete()
        self._reading_head = False
        self._body_done = False
        self._arm(self.limits.body_timeout_s + BODY_GRACE_S, "body_timeout")

    def _discard_pipelined(self) -> None:
        """The previous request is not over: this one is read and dropped, and the
        answer in progress (or still in the buffer) is the connection's last."""
        self._discarding = True
        if self.cycle is None or self.cycle.response_complete:
            self.transport.close()  # its answer is written; what is buffered has the closing deadline
        else:
            self.cycle.keep_alive = False

    def _over_connection_limit(self) -> bool:
        limit = self.limits.max_connections
        if len(self.connections) <= limit and len(self.tasks) < limit:  # counts this one
            return False
        try:
            if httptools.parse_url(self.url).path in PROBE_PATHS:
                return False
        except httptools.HttpParserInvalidURLError:
            return True
        return not self._evict_longest_waiting()

    @property
    def waiting_for_a_request(self) -> bool:
        """Holding a place without a request to serve: its head or body still arriving
        (also the unread rest of a body after an early answer), or idle between requests."""
        return self._serving and not self._body_done

    def drop(self, reason: ConnectionCut) -> None:
        """Close this connection for another's sake (a place, memory), whatever is buffered."""
        self._cut(reason)

    def _evict_longest_waiting(self) -> bool:
        """Close the connection that has waited longest for its request, to serve this one
        in its place; False when every other place holds a request being served."""
        waiting = [
            other
            for other in self.connections
            if other is not self and isinstance(other, GuardedHttpToolsProtocol) and other.waiting_for_a_request
        ]
        if not waiting:
            return False
        min(waiting, key=lambda other: other.waiting_since).drop("evicted")
        return True

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to bytes that do not parse; while an answer is in progress,
        those bytes are dropped like a pipelined request instead."""
        self._parser_failed = True
        if self.cycle is not None and not self.cycle.response_complete and not self._closing:
            self._discard_pipelined()
            return
        super().send_400_response(msg)

    def on_chunk_header(self) -> None:
        self._boundaries += 1

    def on_chunk_complete(self) -> None:
        self._boundaries += 1

    def on_body(self, body: bytes) -> None:
        self._body_bytes_this_read += len(body)
        if not self._discarding:
            super().on_body(body)

    def on_message_complete(self) -> None:
        self._boundaries += 1
        if self._discarding:
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
        if self._reading_head or self._closing or self._lost or self.cycle is None:
            return
        if self._body_done and self.cycle.response_complete and not self.flow.write_paused:
            self._start_head()
