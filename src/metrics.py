"""Every metric the service exports, registered on an injected CollectorRegistry so tests
read them from a private registry (``registry.get_sample_value(...)``).

Names carry the ``executor_`` prefix and base units (seconds, bytes). Labels are
bounded, each vocabulary defined once where it belongs: ``outcome`` one of
schemas.OUTCOMES, ``transport`` one of schemas.TRANSPORTS, ``reason`` one of
errors.REJECTION_REASONS (the error tree) or, on connections,
api.connections.CONNECTION_CUTS, ``kind`` one of protocol.LIMIT_KINDS,
``stream`` stdout/stderr/result, ``route`` a route template (or ``unmatched``),
``method`` an HTTP method, ``status`` an HTTP status, a session's end ``reason`` one of
schemas.SESSION_ENDS.

One process per container is the design (the pool, the admission queue and its FIFO
order are this process's state; scale out with replicas), so prometheus-client's
multiprocess mode is not needed: each replica is one scrape target. Running uvicorn
with ``--workers N`` would split the pool and the queue N ways, and is not supported.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from .api.connections import CONNECTION_CUTS, ConnectionCut
from .errors import REJECTION_REASONS
from .protocol import LIMIT_KINDS
from .schemas import OUTCOMES, SESSION_ENDS, TRANSPORTS

#: Buckets that resolve a few milliseconds (the common case) up to the largest timeout.
LATENCY_BUCKETS_S = (
    0.001,
    0.002,
    0.004,
    0.008,
    0.016,
    0.032,
    0.064,
    0.128,
    0.256,
    0.512,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)
STREAMS = ("stdout", "stderr", "result", "files")


class ExecutorMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.executions = Counter(
            "executor_executions",
            "Execution requests by outcome: ran (success, error, limit) or refused (rejected)",
            ["outcome", "transport"],
            registry=registry,
        )
        self.duration = Histogram(
            "executor_execution_duration_seconds",
            "Wall-clock time of an execution in its worker",
            buckets=LATENCY_BUCKETS_S,
            registry=registry,
        )
        self.queue_wait = Histogram(
            "executor_queue_wait_seconds",
            "Time a request waited for an execution slot",
            buckets=LATENCY_BUCKETS_S,
            registry=registry,
        )
        self.in_flight = Gauge("executor_executions_in_flight", "Executions running now", registry=registry)
        self.queued = Gauge("executor_executions_queued", "Requests waiting for a slot", registry=registry)
        self.checking = Gauge(
            "executor_programs_checking", "Programs waiting to be checked or being checked", registry=registry
        )
        self.rejections = Counter(
            "executor_rejections",
            "Requests refused before running, by reason",
            ["reason", "transport"],
            registry=registry,
        )
        self.limits_hit = Counter("executor_limits_hit", "Executions stopped by a limit", ["kind"], registry=registry)
        self.ready_workers = Gauge("executor_ready_workers", "Workers forked ahead of demand", registry=registry)
        self.template_restarts = Counter(
            "executor_template_restarts", "Times the template process was restarted", registry=registry
        )
        self.template_hangs = Counter(
            "executor_template_hangs",
            "Times the template left a fork or a liveness ping unanswered past its bound and was killed",
            registry=registry,
        )
        self.template_responsive = Gauge(
            "executor_template_responsive",
            "1 while the template is alive and answers its liveness pings, else 0",
            registry=registry,
        )
        self.template_ping = Gauge(
            "executor_template_ping_seconds",
            "Round trip of the template's last answered liveness ping",
            registry=registry,
        )
        self.truncations = Counter(
            "executor_output_truncations",
            "Executions whose output went past its budget, by stream",
            ["stream"],
            registry=registry,
        )
        self.http_requests = Counter(
            "executor_http_requests",
            "HTTP requests by route template, method and status",
            ["route", "method", "status"],
            registry=registry,
        )
        self.http_duration = Histogram(
            "executor_http_request_duration_seconds",
            "Time from the request's arrival to the end of its answer",
            ["route", "method"],
            buckets=LATENCY_BUCKETS_S,
            registry=registry,
        )
        self.rate_limit_storage_up = Gauge(
            "executor_rate_limit_storage_up",
            "1 while the rate-limit storage answers (always for memory://), 0 while it is unreachable",
            registry=registry,
        )
        self.connections_closed = Counter(
            "executor_connections_closed",
            "Connections the server closed because the client was too slow or sent too much, by reason",
            ["reason"],
            registry=registry,
        )
        self.connections_open = Gauge("executor_connections_open", "HTTP connections open now", registry=registry)
        self.connections_refused = Counter(
            "executor_connections_refused",
            "Requests answered 503 by the server itself because the connection limit was reached",
            registry=registry,
        )
        for cut in CONNECTION_CUTS:
            self.connections_closed.labels(cut)
        for transport in TRANSPORTS:
            for outcome in OUTCOMES:
                self.executions.labels(outcome, transport)
            for reason in REJECTION_REASONS:
                self.rejections.labels(reason, transport)
        for kind in LIMIT_KINDS:
            self.limits_hit.labels(kind)
        for stream in STREAMS:
            self.truncations.labels(stream)
        self.sessions_active = Gauge("executor_sessions_active", "Sessions open now", registry=registry)
        self.sessions_started = Counter("executor_sessions_started", "Sessions opened", registry=registry)
        self.sessions_ended = Counter(
            "executor_sessions_ended", "Sessions ended, by why (schemas.SessionEnd)", ["reason"], registry=registry
        )
        for why in SESSION_ENDS:
            self.sessions_ended.labels(why)


class ConnectionMetrics:
    """The protocol's reports (api.connections.ConnectionObserver) as metrics."""

    def __init__(self, metrics: ExecutorMetrics) -> None:
        self.metrics = metrics

    def opened(self) -> None:
        self.metrics.connections_open.inc()

    def lost(self) -> None:
        self.metrics.connections_open.dec()

    def cut(self, reason: ConnectionCut) -> None:
        self.metrics.connections_closed.labels(reason).inc()

    def refused(self) -> None:
        self.metrics.connections_refused.inc()
