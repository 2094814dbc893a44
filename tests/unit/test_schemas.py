"""ExecuteRequest: the POST /execute body as the contract defines it, parsed from JSON text."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from src.protocol import encode_frame
from src.schemas import ExecuteRequest, ExecuteResponse


def parse(body: str | dict[str, Any], max_context_depth: int | None = None) -> ExecuteRequest:
    text = body if isinstance(body, str) else json.dumps(body)
    context = None if max_context_depth is None else {"max_context_depth": max_context_depth}
    return ExecuteRequest.model_validate_json(text, context=context)


def error_types(body: str | dict[str, Any], max_context_depth: int | None = None) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        parse(body, max_context_depth)
    return [e["type"] for e in caught.value.errors()]


def nested_list(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


# ---------------------------------------------------------------------- accepted


def test_full_request_is_accepted() -> None:
    request = parse({"code": "print(n)", "context": {"n": 5, "xs": [1, {"a": None}]}, "timeout_s": 2.0})
    assert request == ExecuteRequest(code="print(n)", context={"n": 5, "xs": [1, {"a": None}]}, timeout_s=2.0)


def test_code_alone_gets_empty_context() -> None:
    assert parse({"code": "x"}).context == {}


def test_code_alone_gets_no_timeout() -> None:
    assert parse({"code": "x"}).timeout_s is None


def test_integer_timeout_is_accepted_as_seconds() -> None:
    assert parse({"code": "x", "timeout_s": 2}).timeout_s == 2.0


def test_null_timeout_means_the_default() -> None:
    assert parse({"code": "x", "timeout_s": None}).timeout_s is None


def test_non_ascii_identifier_is_a_valid_context_key() -> None:
    assert parse({"code": "x", "context": {"größe": 1}}).context == {"größe": 1}


def test_context_within_the_depth_limit_is_accepted() -> None:
    assert parse({"code": "x", "context": {"a": nested_list(3)}}, max_context_depth=10).context == {"a": [[[1]]]}


def test_default_depth_limit_accepts_moderate_nesting() -> None:
    assert parse({"code": "x", "context": {"a": nested_list(20)}}).context["a"] == nested_list(20)


# ---------------------------------------------------------------------- refused

REFUSED = [
    pytest.param({"code": "x", "language": "python"}, "extra_forbidden", id="unknown-field"),
    pytest.param({}, "missing", id="code-missing"),
    pytest.param({"code": 5}, "string_type", id="code-number"),
    pytest.param({"code": ["print(1)"]}, "string_type", id="code-list"),
    pytest.param({"code": None}, "string_type", id="code-null"),
    pytest.param({"code": "x", "context": [1]}, "dict_type", id="context-list"),
    pytest.param({"code": "x", "context": "n=5"}, "dict_type", id="context-string"),
    pytest.param({"code": "x", "context": {"a-b": 1}}, "value_error", id="context-key-not-identifier"),
    pytest.param({"code": "x", "context": {"1a": 1}}, "value_error", id="context-key-leading-digit"),
    pytest.param({"code": "x", "context": {"": 1}}, "value_error", id="context-key-empty"),
    pytest.param({"code": "x", "context": {"a b": 1}}, "value_error", id="context-key-space"),
    pytest.param({"code": "x", "context": {"class": 1}}, "value_error", id="context-key-keyword"),
    pytest.param({"code": "x", "context": {"None": 1}}, "value_error", id="context-key-None"),
    pytest.param({"code": "x", "context": {"_x": 1}}, "value_error", id="context-key-underscore"),
    pytest.param({"code": "x", "context": {"__builtins__": {}}}, "value_error", id="context-key-builtins"),
    pytest.param({"code": "x", "timeout_s": 0}, "greater_than", id="timeout-zero"),
    pytest.param({"code": "x", "timeout_s": -1.5}, "greater_than", id="timeout-negative"),
    pytest.param('{"code": "x", "timeout_s": NaN}', "finite_number", id="timeout-nan"),
    pytest.param('{"code": "x", "timeout_s": Infinity}', "finite_number", id="timeout-infinity"),
    pytest.param('{"code": "x", "timeout_s": 1e999}', "finite_number", id="timeout-overflow"),
    pytest.param({"code": "x", "timeout_s": "2"}, "float_type", id="timeout-string"),
    pytest.param({"code": "x", "timeout_s": True}, "float_type", id="timeout-bool"),
    pytest.param('{"code": "x"', "json_invalid", id="truncated-json"),
    pytest.param("[1, 2]", "model_type", id="body-not-an-object"),
]


@pytest.mark.parametrize(("body", "error_type"), REFUSED)
def test_invalid_body_is_refused(body: str | dict[str, Any], error_type: str) -> None:
    assert error_types(body) == [error_type]


def test_reserved_context_key_message_says_why() -> None:
    with pytest.raises(ValidationError, match="starts with '_'; such names are reserved"):
        parse({"code": "x", "context": {"_secret": 1}})


def test_context_deeper_than_the_limit_is_refused() -> None:
    assert error_types({"code": "x", "context": {"a": nested_list(5)}}, max_context_depth=3) == ["value_error"]


def test_context_depth_refusal_names_the_limit() -> None:
    with pytest.raises(ValidationError, match="nested more than 3 deep"):
        parse({"code": "x", "context": {"a": nested_list(5)}}, max_context_depth=3)


def test_default_depth_limit_refuses_deep_nesting() -> None:
    assert error_types({"code": "x", "context": {"a": nested_list(40)}}) == ["value_error"]


def test_deep_nesting_in_dicts_counts_too() -> None:
    value: Any = 1
    for _ in range(10):
        value = {"k": value}
    assert error_types({"code": "x", "context": {"a": value}}, max_context_depth=5) == ["value_error"]


def test_very_deep_context_is_refused_without_recursion() -> None:
    # Far past any limit: the JSON parser refuses it (its own recursion limit) before the depth
    # walk runs, so it is a 422 and never a RecursionError in this process.
    body = '{"code": "x", "context": {"a": ' + "[" * 5000 + "]" * 5000 + "}}"
    with pytest.raises(ValidationError):
        parse(body)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_number_in_context_is_refused(literal: str) -> None:
    with pytest.raises(ValidationError):
        parse('{"code": "x", "context": {"a": ' + literal + "}}")


def test_accepted_context_can_be_sent_to_a_worker() -> None:
    """What the schema accepts must survive the worker protocol's strict JSON encoding."""
    request = parse({"code": "x", "context": {"n": 5, "s": "é", "xs": [1.5, None, True, {"k": []}]}})
    assert encode_frame(request.context)[4:] == b'{"n":5,"s":"\xc3\xa9","xs":[1.5,null,true,{"k":[]}]}'


# ---------------------------------------------------------------------- response


def test_response_refuses_an_unknown_limit_kind() -> None:
    reply = {
        "request_id": "r",
        "success": False,
        "result": None,
        "stdout": "",
        "stderr": "",
        "truncated": {"stdout": False, "stderr": False, "result": False},
        "error": None,
        "limit": "disk",
        "duration_ms": 1.0,
    }
    with pytest.raises(ValidationError):
        ExecuteResponse.model_validate(reply)
