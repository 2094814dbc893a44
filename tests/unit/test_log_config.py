"""JSON log lines carry the request id of the request that wrote them, and nothing else
of it unless asked."""

from __future__ import annotations

import json
import logging

from src.log_config import REQUEST_ID, RequestIdFilter, json_formatter


def render(message: str, **extra: object) -> dict[str, object]:
    record = logging.LogRecord("executor.test", logging.INFO, __file__, 1, message, None, None)
    for key, value in extra.items():
        setattr(record, key, value)
    RequestIdFilter().filter(record)
    line: dict[str, object] = json.loads(json_formatter().format(record))
    return line


def test_a_line_is_one_json_object_with_the_standard_fields() -> None:
    line = render("hello")
    assert (line["message"], line["level"], line["logger"]) == ("hello", "INFO", "executor.test")
    assert line["timestamp"]


def test_the_request_id_of_the_current_request_is_added() -> None:
    token = REQUEST_ID.set("req-42")
    try:
        assert render("inside")["request_id"] == "req-42"
    finally:
        REQUEST_ID.reset(token)
    assert render("outside")["request_id"] is None


def test_extra_fields_are_fields_and_colour_copies_are_dropped() -> None:
    line = render("execution", outcome="success", color_message="\x1b[36mexecution\x1b[0m")
    assert line["outcome"] == "success"
    assert "color_message" not in line


def test_audited_context_keys_are_bounded() -> None:
    from src.api.audit import MAX_AUDITED_KEYS, AuditRecord

    record = AuditRecord(client_ip=None, token_fingerprint=None, transport="http", started=0.0)
    record.describe_code("1", {f"k{i:03}": i for i in range(MAX_AUDITED_KEYS + 10)})
    assert len(record.context_keys) == MAX_AUDITED_KEYS + 1
    assert record.context_keys[-1] == "... 10 more"


def uvicorn_access_record(path_with_query: str) -> logging.LogRecord:
    """A record shaped as uvicorn's access logger makes it (uvicorn/protocols/http)."""
    return logging.getLogger("uvicorn.access").makeRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:50000", "GET", path_with_query, "1.1", 200),
        None,
    )


def test_access_log_line_never_shows_a_query_string() -> None:
    from src.app import _RedactQuery

    record = uvicorn_access_record("/health?token=secret123&x=1")
    assert _RedactQuery().filter(record) is True
    assert record.getMessage() == '127.0.0.1:50000 - "GET /health?[redacted] HTTP/1.1" 200'


def test_access_log_line_without_a_query_string_is_unchanged() -> None:
    from src.app import _RedactQuery

    record = uvicorn_access_record("/health")
    assert _RedactQuery().filter(record) is True
    assert record.getMessage() == '127.0.0.1:50000 - "GET /health HTTP/1.1" 200'
