"""The execution front's accounting and audit record, in-process (src/api/front.py,
src/api/audit.py, src/log_config.py): each refusal counted once under its reason, audit
lines bounded, text logs that still carry the audit fields."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
from prometheus_client import CollectorRegistry

from src.api.audit import MAX_AUDITED_KEY_CHARS, AuditRecord
from src.api.front import audited_error_type
from src.app import create_app
from src.log_config import TextFormatter
from tests.support.server import make_settings


def test_long_context_keys_are_cut_in_the_audit_line() -> None:
    record = AuditRecord(client_ip=None, token_fingerprint=None, transport="http", started=0.0)
    record.describe_code("1", {"k" * 20_000: 1, "short": 2})
    assert record.context_keys == ["k" * MAX_AUDITED_KEY_CHARS + "…", "short"]


async def _post_with_a_wrong_token(registry: CollectorRegistry, root_path: str) -> httpx.Response:
    # The lifespan (template, workers) is not started: the token is refused before.
    app = create_app(make_settings(), registry)
    transport = httpx.ASGITransport(app=app, root_path=root_path)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.post(root_path + "/execute", json={"code": "1"}, headers={"X-Executor-Token": "wrong"})


@pytest.mark.parametrize("root_path", ["", "/api"])
def test_a_refused_execution_is_counted_once_under_any_root_path(root_path: str) -> None:
    registry = CollectorRegistry()
    response = asyncio.run(_post_with_a_wrong_token(registry, root_path))
    assert response.status_code == 401
    labels = {"outcome": "rejected", "transport": "http"}
    assert registry.get_sample_value("executor_executions_total", labels) == 1.0
    assert registry.get_sample_value("executor_rejections_total", {"reason": "auth", "transport": "http"}) == 1.0


def test_text_log_lines_carry_the_audit_fields() -> None:
    record = logging.LogRecord("executor.audit", logging.INFO, __file__, 1, "execution", None, None)
    record.request_id = "r-1"
    record.outcome = "rejected"
    record.status = 401
    line = TextFormatter().format(record)
    assert line.endswith("INFO executor.audit [r-1] execution outcome='rejected' status=401")


@pytest.mark.parametrize(
    ("name", "audited"),
    [
        pytest.param("ZeroDivisionError", "ZeroDivisionError", id="builtin"),
        pytest.param("SecurityError", "SecurityError", id="sandbox-refusal"),
        pytest.param("TimeoutError", "TimeoutError", id="limit"),
        pytest.param("ctx-secret-value", "<program exception>", id="program-named"),
        pytest.param("ValueError\u2028forged", "<program exception>", id="line-separator"),
    ],
)
def test_only_exception_names_the_program_cannot_choose_reach_the_audit_log(name: str, audited: str) -> None:
    # A program names its own exception classes (E.__name__ = secret): any such name
    # could carry a context value into the audit log.
    assert audited_error_type(name) == audited
