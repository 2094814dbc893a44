"""ExecutorMetrics: the STYLE.md families, on a private registry, zero before anything happens."""

from __future__ import annotations

import prometheus_client
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from src.errors import REJECTION_REASONS
from src.metrics import STREAMS, ExecutorMetrics
from src.protocol import LIMIT_KINDS
from src.schemas import OUTCOMES


@pytest.fixture
def metrics(registry: CollectorRegistry) -> ExecutorMetrics:
    return ExecutorMetrics(registry)


FAMILIES = [
    pytest.param("executor_executions", "counter", id="executions"),
    pytest.param("executor_execution_duration_seconds", "histogram", id="duration"),
    pytest.param("executor_queue_wait_seconds", "histogram", id="queue-wait"),
    pytest.param("executor_executions_in_flight", "gauge", id="in-flight"),
    pytest.param("executor_executions_queued", "gauge", id="queued"),
    pytest.param("executor_rejections", "counter", id="rejections"),
    pytest.param("executor_limits_hit", "counter", id="limits-hit"),
    pytest.param("executor_ready_workers", "gauge", id="ready-workers"),
    pytest.param("executor_template_restarts", "counter", id="template-restarts"),
    pytest.param("executor_output_truncations", "counter", id="truncations"),
    pytest.param("executor_http_requests", "counter", id="http-requests"),
    pytest.param("executor_http_request_duration_seconds", "histogram", id="http-duration"),
]


@pytest.mark.parametrize(("name", "kind"), FAMILIES)
def test_family_is_registered_with_its_type(
    metrics: ExecutorMetrics, registry: CollectorRegistry, name: str, kind: str
) -> None:
    types = {family.name: family.type for family in registry.collect()}
    assert types.get(name) == kind


@pytest.mark.parametrize(
    "name",
    ["executor_executions_total", "executor_rejections_total", "executor_limits_hit_total"],
)
def test_counters_are_exposed_with_total_suffix(
    metrics: ExecutorMetrics, registry: CollectorRegistry, name: str
) -> None:
    assert f"\n{name}{{".encode() in generate_latest(registry)


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_every_outcome_starts_at_zero(metrics: ExecutorMetrics, registry: CollectorRegistry, outcome: str) -> None:
    assert registry.get_sample_value("executor_executions_total", {"outcome": outcome, "transport": "http"}) == 0.0


@pytest.mark.parametrize("reason", REJECTION_REASONS)
def test_every_rejection_reason_starts_at_zero(
    metrics: ExecutorMetrics, registry: CollectorRegistry, reason: str
) -> None:
    assert registry.get_sample_value("executor_rejections_total", {"reason": reason, "transport": "http"}) == 0.0


@pytest.mark.parametrize("kind", LIMIT_KINDS)
def test_every_limit_kind_starts_at_zero(metrics: ExecutorMetrics, registry: CollectorRegistry, kind: str) -> None:
    assert registry.get_sample_value("executor_limits_hit_total", {"kind": kind}) == 0.0


def test_limit_kinds_are_the_contracts() -> None:
    assert LIMIT_KINDS == ("timeout", "memory", "cpu", "output", "files")


def test_execution_outcome_counts(metrics: ExecutorMetrics, registry: CollectorRegistry) -> None:
    metrics.executions.labels("success", "http").inc()
    metrics.executions.labels("success", "http").inc()
    metrics.executions.labels("error", "http").inc()
    assert registry.get_sample_value("executor_executions_total", {"outcome": "success", "transport": "http"}) == 2.0


def test_other_outcomes_are_not_touched(metrics: ExecutorMetrics, registry: CollectorRegistry) -> None:
    metrics.executions.labels("success", "http").inc()
    assert registry.get_sample_value("executor_executions_total", {"outcome": "limit", "transport": "http"}) == 0.0


def test_rejection_count(metrics: ExecutorMetrics, registry: CollectorRegistry) -> None:
    metrics.rejections.labels("queue_full", "http").inc()
    assert registry.get_sample_value("executor_rejections_total", {"reason": "queue_full", "transport": "http"}) == 1.0


def test_limit_hit_count(metrics: ExecutorMetrics, registry: CollectorRegistry) -> None:
    metrics.limits_hit.labels("timeout").inc()
    assert registry.get_sample_value("executor_limits_hit_total", {"kind": "timeout"}) == 1.0


def test_duration_is_observed_in_seconds(metrics: ExecutorMetrics, registry: CollectorRegistry) -> None:
    metrics.duration.observe(0.003)
    assert registry.get_sample_value("executor_execution_duration_seconds_sum") == pytest.approx(0.003)


@pytest.mark.parametrize(("le", "count"), [("0.002", 0.0), ("0.004", 1.0), ("+Inf", 1.0)])
def test_duration_buckets_resolve_milliseconds(
    metrics: ExecutorMetrics, registry: CollectorRegistry, le: str, count: float
) -> None:
    metrics.duration.observe(0.003)
    assert registry.get_sample_value("executor_execution_duration_seconds_bucket", {"le": le}) == count


def test_queue_wait_count(metrics: ExecutorMetrics, registry: CollectorRegistry) -> None:
    metrics.queue_wait.observe(0.5)
    metrics.queue_wait.observe(0.01)
    assert registry.get_sample_value("executor_queue_wait_seconds_count") == 2.0


def test_in_flight_gauge_reads_its_function(metrics: ExecutorMetrics, registry: CollectorRegistry) -> None:
    metrics.in_flight.set_function(lambda: 3)
    assert registry.get_sample_value("executor_executions_in_flight") == 3.0


def test_queued_gauge(metrics: ExecutorMetrics, registry: CollectorRegistry) -> None:
    metrics.queued.set(5)
    assert registry.get_sample_value("executor_executions_queued") == 5.0


def test_template_restarts_counter(metrics: ExecutorMetrics, registry: CollectorRegistry) -> None:
    metrics.template_restarts.inc()
    assert registry.get_sample_value("executor_template_restarts_total") == 1.0


def test_two_instances_on_two_registries_do_not_collide() -> None:
    first, second = CollectorRegistry(), CollectorRegistry()
    ExecutorMetrics(first).executions.labels("error", "http").inc()
    ExecutorMetrics(second)
    assert second.get_sample_value("executor_executions_total", {"outcome": "error", "transport": "http"}) == 0.0


def test_global_registry_is_not_used(metrics: ExecutorMetrics) -> None:
    assert (
        prometheus_client.REGISTRY.get_sample_value(
            "executor_executions_total", {"outcome": "success", "transport": "http"}
        )
        is None
    )


def test_same_registry_twice_is_refused(metrics: ExecutorMetrics, registry: CollectorRegistry) -> None:
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        ExecutorMetrics(registry)


@pytest.mark.parametrize("stream", STREAMS)
def test_every_truncation_stream_starts_at_zero(
    metrics: ExecutorMetrics, registry: CollectorRegistry, stream: str
) -> None:
    assert registry.get_sample_value("executor_output_truncations_total", {"stream": stream}) == 0.0


def test_rejected_is_an_outcome_and_rate_limited_a_reason() -> None:
    assert "rejected" in OUTCOMES
    assert {"auth", "validation", "too_large", "rate_limited", "queue_full"} <= set(REJECTION_REASONS)
