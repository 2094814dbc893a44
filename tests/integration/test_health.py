"""HealthMonitor over a real pool: the status reflects what was observed, not what was hoped.

Each scenario builds the real chain (template process, ExecutionPool, ExecutionService)
inside ``asyncio.run`` and stops it afterwards.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.util
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from prometheus_client import CollectorRegistry

from src.api.health import HealthMonitor, SelfTest, Status
from src.errors import SandboxUnavailable
from src.metrics import ExecutorMetrics
from src.protocol import LAYERS
from src.sandbox.admission import AdmissionGate
from src.sandbox.pool import ExecutionPool
from src.schemas import ExecuteRequest
from src.service import ExecutionService
from src.settings import Settings
from src.worker.isolation import landlock, syscall_filter
from src.worker.isolation.namespaces import enter_network_namespace
from tests.support.jobs import poll_until
from tests.support.server import make_settings

T = TypeVar("T")
Report = tuple[Status, dict[str, Any]]


@asynccontextmanager
async def monitored(
    settings: Settings, interval_s: float = 30.0, disabled_layers: frozenset[str] = frozenset()
) -> AsyncIterator[HealthMonitor]:
    pool = ExecutionPool(sorted(settings.allowed_imports), settings.prefork_workers, disabled_layers=disabled_layers)
    await pool.start()
    gate = AdmissionGate(settings.max_concurrent_executions, settings.max_queued_executions)
    service = ExecutionService(settings, pool, gate, ExecutorMetrics(CollectorRegistry()))
    monitor = HealthMonitor(service, interval_s)
    try:
        yield monitor
    finally:
        await monitor.stop()
        await pool.stop()


def with_monitor(
    scenario: Callable[[HealthMonitor], Awaitable[T]],
    settings: Settings | None = None,
    interval_s: float = 30.0,
    disabled_layers: frozenset[str] = frozenset(),
) -> T:
    async def main() -> T:
        async with monitored(settings or make_settings(), interval_s, disabled_layers) as monitor:
            return await scenario(monitor)

    return asyncio.run(main())


def kill_template(monitor: HealthMonitor) -> None:
    template = monitor.service.pool._template
    assert template is not None and template._proc is not None
    os.kill(template._proc.pid, signal.SIGKILL)


# ---------------------------------------------------------------------- healthy


@dataclass
class Healthy:
    self_test: SelfTest
    report: Report
    layers: dict[str, str]


@pytest.fixture(scope="module")
def healthy() -> Healthy:
    async def scenario(monitor: HealthMonitor) -> Healthy:
        result = await monitor.self_test()
        return Healthy(result, monitor.report(), monitor.layers())

    return with_monitor(scenario)


def test_self_test_passes(healthy: Healthy) -> None:
    assert healthy.self_test.ok is True


def test_self_test_detail_is_ok(healthy: Healthy) -> None:
    assert healthy.self_test.detail == "ok"


def test_passed_self_test_reports_healthy(healthy: Healthy) -> None:
    assert healthy.report[0] == "healthy"


def test_healthy_report_checks(healthy: Healthy) -> None:
    checks = healthy.report[1]
    assert (checks["token_configured"], checks["template_alive"], checks["template_restarts"]) == (True, True, 0)


def test_healthy_report_includes_the_self_test(healthy: Healthy) -> None:
    assert healthy.report[1]["self_test"]["ok"] is True


@pytest.mark.parametrize(
    "layer", ["restricted_python", "process_per_execution", "empty_environment", "rlimits", "descriptor_isolation"]
)
def test_applied_layer_is_active_after_a_passed_self_test(healthy: Healthy, layer: str) -> None:
    assert healthy.layers[layer] == "active"


def _host_offers(layer: str) -> bool:
    if layer == "landlock":
        return landlock.abi_version() > 0
    if layer == "seccomp":
        return syscall_filter.kernel_supports_filters()
    if layer == "network_namespace":
        return _child_can_enter_a_network_namespace()
    if layer == "interpreter_repairs":
        return importlib.util.find_spec("src.worker._repairs") is not None
    return True


def _child_can_enter_a_network_namespace() -> bool:
    """Whether a process of this user may unshare its network (root, or unprivileged
    user namespaces allowed), asked in a forked child so that this process keeps its own."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = 0 if enter_network_namespace() else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


@pytest.mark.parametrize("layer", LAYERS)
def test_os_layer_is_reported_as_the_host_offers_it(healthy: Healthy, layer: str) -> None:
    assert healthy.layers[layer] == ("active" if _host_offers(layer) else "unavailable")


def test_every_reported_state_is_a_known_one(healthy: Healthy) -> None:
    assert set(healthy.layers.values()) <= {"active", "unavailable"}


def test_landlock_abi_is_reported(healthy: Healthy) -> None:
    assert healthy.report[1]["landlock_abi"] == landlock.abi_version()


def test_default_requirement_is_met_here(healthy: Healthy) -> None:
    assert healthy.report[1]["required_layers"] == [
        "interpreter_repairs",
        "landlock",
        "no_new_privs",
        "rlimits",
        "seccomp",
    ]
    assert healthy.report[1]["missing_layers"] == []


# ---------------------------------------------------------------------- required layers


@dataclass
class Weakened:
    status: Status
    checks: dict[str, Any]
    layers: dict[str, str]
    refusal: str | None
    self_test_ok: bool


def run_weakened(required: str, disabled: frozenset[str]) -> Weakened:
    """A pool whose template was told to skip ``disabled`` (as a host without them would)."""

    async def scenario(monitor: HealthMonitor) -> Weakened:
        result = await monitor.self_test()
        status, checks = monitor.report()
        refusal = None
        try:
            await monitor.service.execute(ExecuteRequest(code="print(1)"), "request-id")
        except SandboxUnavailable as exc:
            refusal = str(exc.detail)
        return Weakened(status, checks, monitor.layers(), refusal, result.ok)

    return with_monitor(scenario, settings=make_settings(required_layers=required), disabled_layers=disabled)


@pytest.fixture(scope="module")
def landlock_missing_but_required() -> Weakened:
    return run_weakened("seccomp,landlock", frozenset({"landlock"}))


def test_missing_required_layer_is_unhealthy(landlock_missing_but_required: Weakened) -> None:
    assert landlock_missing_but_required.status == "unhealthy"


def test_missing_required_layer_is_named(landlock_missing_but_required: Weakened) -> None:
    assert landlock_missing_but_required.checks["missing_layers"] == ["landlock"]


def test_missing_required_layer_refuses_executions(landlock_missing_but_required: Weakened) -> None:
    assert landlock_missing_but_required.refusal == "required isolation layers are not active on this host: landlock"


def test_a_layer_left_out_is_never_reported_active(landlock_missing_but_required: Weakened) -> None:
    assert landlock_missing_but_required.layers["landlock"] == "disabled"


def test_sandbox_itself_still_works_without_the_layer(landlock_missing_but_required: Weakened) -> None:
    assert landlock_missing_but_required.self_test_ok is True  # it is the requirement that refuses


def test_missing_layer_that_is_not_required_stays_healthy() -> None:
    weakened = run_weakened("seccomp", frozenset({"network_namespace"}))
    assert (weakened.status, weakened.checks["missing_layers"], weakened.refusal) == ("healthy", [], None)


def test_requiring_nothing_is_allowed() -> None:
    weakened = run_weakened("", frozenset({"seccomp"}))
    assert (weakened.status, weakened.layers["seccomp"], weakened.refusal) == ("healthy", "disabled", None)


# ---------------------------------------------------------------------- unhealthy


def test_no_self_test_yet_is_unhealthy() -> None:
    async def scenario(monitor: HealthMonitor) -> Status:
        return monitor.report()[0]

    assert with_monitor(scenario) == "unhealthy"


def test_layers_are_unknown_before_a_self_test() -> None:
    async def scenario(monitor: HealthMonitor) -> str:
        return monitor.layers()["restricted_python"]

    assert with_monitor(scenario) == "unknown"


@dataclass
class NoToken:
    self_test_ok: bool
    report: Report


@pytest.fixture(scope="module")
def no_token() -> NoToken:
    async def scenario(monitor: HealthMonitor) -> NoToken:
        result = await monitor.self_test()
        return NoToken(result.ok, monitor.report())

    return with_monitor(scenario, settings=make_settings(api_token=None))


def test_sandbox_works_without_a_token(no_token: NoToken) -> None:
    assert no_token.self_test_ok is True


def test_no_token_is_unhealthy(no_token: NoToken) -> None:
    assert no_token.report[0] == "unhealthy"


def test_no_token_is_reported(no_token: NoToken) -> None:
    assert no_token.report[1]["token_configured"] is False


def test_empty_token_is_unhealthy() -> None:
    async def scenario(monitor: HealthMonitor) -> Status:
        await monitor.self_test()
        return monitor.report()[0]

    assert with_monitor(scenario, settings=make_settings(api_token="")) == "unhealthy"


# ---------------------------------------------------------------------- template death


@dataclass
class TemplateDeath:
    while_down: Report
    self_test_while_down: SelfTest | None
    after_restart: Report
    self_test_after_restart: SelfTest


@pytest.fixture(scope="module")
def template_death() -> TemplateDeath:
    async def scenario(monitor: HealthMonitor) -> TemplateDeath:
        pool = monitor.service.pool
        assert (await monitor.self_test()).ok
        kill_template(monitor)
        await poll_until(lambda: not pool.alive)
        while_down = monitor.report()  # before any new self-test
        # The supervisor waits 0.1 s before restarting: a self-test now finds it down,
        # unless the restart already won the race (then it is simply not observed).
        down_test = await monitor.self_test() if not pool.alive else None
        await poll_until(lambda: pool.restarts == 1 and pool.alive)
        after_restart = monitor.report()
        retest = await monitor.self_test()
        return TemplateDeath(while_down, down_test, after_restart, retest)

    return with_monitor(scenario)


def test_dead_template_is_reported(template_death: TemplateDeath) -> None:
    assert template_death.while_down[1]["template_alive"] is False


def test_dead_template_is_unhealthy_before_a_new_self_test(template_death: TemplateDeath) -> None:
    assert template_death.while_down[0] == "unhealthy"


def test_self_test_fails_while_the_template_is_down(template_death: TemplateDeath) -> None:
    if template_death.self_test_while_down is None:
        pytest.skip("the template restarted before the self-test could observe it down")
    assert template_death.self_test_while_down.ok is False


def test_restart_is_counted_in_the_report(template_death: TemplateDeath) -> None:
    assert template_death.after_restart[1]["template_restarts"] == 1


def test_self_test_after_the_restart_passes(template_death: TemplateDeath) -> None:
    assert template_death.self_test_after_restart.detail == "ok"


def test_recently_restarted_sandbox_that_passes_its_self_test_is_degraded() -> None:
    async def scenario(monitor: HealthMonitor) -> Status:
        pool = monitor.service.pool
        await monitor.self_test()
        monitor.report()  # the monitor learns the restart count it starts from
        kill_template(monitor)
        await poll_until(lambda: pool.restarts == 1 and pool.alive)
        assert (await monitor.self_test()).ok
        return monitor.report()[0]

    assert with_monitor(scenario) == "degraded"


# ---------------------------------------------------------------------- staleness and the loop


def test_stale_self_test_is_degraded() -> None:
    async def scenario(monitor: HealthMonitor) -> Status:
        await monitor.self_test()
        assert monitor.last is not None
        # The last self-test, moved four intervals into the past: more than three
        # intervals without a new one, without the test having to wait that long.
        monitor.last = dataclasses.replace(monitor.last, at=monitor.last.at - 4 * monitor.interval_s)
        return monitor.report()[0]

    assert with_monitor(scenario) == "degraded"


def test_background_loop_runs_self_tests() -> None:
    async def scenario(monitor: HealthMonitor) -> bool:
        monitor.start()
        await poll_until(lambda: monitor.last is not None)
        await monitor.stop()
        return monitor.last is not None and monitor.last.ok

    assert with_monitor(scenario, interval_s=0.05) is True
