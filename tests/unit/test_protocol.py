"""The wire format between the API process and a worker: frames, bodies and reply checks."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from src.protocol import (
    HEADER,
    MAX_JOB_BYTES,
    ProtocolError,
    WorkerReply,
    decode_body,
    encode_frame,
    frame_length,
    json_shape_problem,
    parse_reply,
)
from tests.support.inprocess import LIMITS

GOOD_REPLY: WorkerReply = {
    "success": True,
    "result": [1, "two", {"three": 3.0}],
    "result_truncated": False,
    "error": None,
    "limit": None,
}


def reply_with(**fields: Any) -> dict[str, Any]:
    """GOOD_REPLY with some fields replaced."""
    message: dict[str, Any] = dict(GOOD_REPLY)
    message.update(fields)
    return message


def failed_reply(error: object, limit: object = None) -> dict[str, Any]:
    return reply_with(success=False, result=None, error=error, limit=limit)


# --------------------------------------------------------------------------- frames


@pytest.mark.parametrize(
    "message",
    [
        pytest.param({"code": "print(1)", "context": {}, "limits": {"memory_mb": 256}}, id="job"),
        pytest.param(GOOD_REPLY, id="reply"),
        pytest.param({"text": "héllo wörld ✓ 日本"}, id="non-ascii"),
        pytest.param([None, True, False, 0, -1, 1.5, "", [], {}], id="every-json-kind"),
        pytest.param({"big": 10**200}, id="big-int"),
    ],
)
def test_encode_then_decode_round_trips(message: Any) -> None:
    frame = encode_frame(message)
    assert decode_body(frame[HEADER.size :]) == message


def test_encode_frame_header_announces_body_length() -> None:
    frame = encode_frame({"a": "é"})
    assert frame_length(frame[: HEADER.size], 1 << 20) == len(frame) - HEADER.size


def test_encode_frame_writes_utf8_not_ascii_escapes() -> None:
    frame = encode_frame({"a": "é"})
    assert frame[HEADER.size :] == '{"a":"é"}'.encode()


@pytest.mark.parametrize(
    "message",
    [
        pytest.param({"x": math.nan}, id="nan"),
        pytest.param({"x": math.inf}, id="inf"),
        pytest.param({"x": {1, 2}}, id="set"),
        pytest.param({"x": object()}, id="object"),
    ],
)
def test_encode_frame_refuses_values_json_has_no_form_for(message: Any) -> None:
    with pytest.raises((ValueError, TypeError)):
        encode_frame(message)


def test_frame_length_accepts_exactly_the_limit() -> None:
    assert frame_length(HEADER.pack(1000), 1000) == 1000


def test_frame_length_refuses_one_byte_over_the_limit() -> None:
    with pytest.raises(ProtocolError, match="exceeds"):
        frame_length(HEADER.pack(1001), 1000)


def test_frame_length_refuses_a_job_larger_than_max_job_bytes() -> None:
    with pytest.raises(ProtocolError, match="exceeds"):
        frame_length(HEADER.pack(MAX_JOB_BYTES + 1), MAX_JOB_BYTES)


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"\x00\x00\x01", id="three-bytes"),
        pytest.param(b"\x00\x00\x00\x01\x00", id="five-bytes"),
    ],
)
def test_frame_length_refuses_a_header_of_the_wrong_size(header: bytes) -> None:
    with pytest.raises(ProtocolError, match="truncated"):
        frame_length(header, 1 << 20)


# --------------------------------------------------------------------------- bodies


def test_decode_body_parses_utf8_json() -> None:
    assert decode_body('{"a": ["é", 1]}'.encode()) == {"a": ["é", 1]}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"a": "\xff"}', id="invalid-utf8"),
        pytest.param(b'"\xed\xa0\x80"', id="encoded-lone-surrogate"),
        pytest.param(b'{"a": 1', id="unterminated-json"),
        pytest.param(b"", id="empty"),
        pytest.param(b"not json", id="not-json"),
        pytest.param(b'{"a": 1} trailing', id="trailing-data"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="nested-too-deep"),
    ],
)
def test_decode_body_refuses_malformed_bodies_with_protocol_error(body: bytes) -> None:
    with pytest.raises(ProtocolError):
        decode_body(body)


# --------------------------------------------------------------------------- replies


def test_parse_reply_accepts_a_successful_reply() -> None:
    assert parse_reply(dict(GOOD_REPLY), LIMITS) == GOOD_REPLY


def test_parse_reply_accepts_a_failed_reply_with_error_and_line() -> None:
    error = {"type": "ValueError", "message": "boom", "line": 3}
    assert parse_reply(failed_reply(error), LIMITS)["error"] == error


def test_parse_reply_accepts_a_limit_without_error() -> None:
    assert parse_reply(failed_reply(None, limit="memory"), LIMITS)["limit"] == "memory"


def test_parse_reply_accepts_an_error_without_line() -> None:
    error = {"type": "MemoryError", "message": "too big", "line": None}
    assert parse_reply(failed_reply(error, limit="memory"), LIMITS)["error"] == error


def test_parse_reply_drops_fields_that_are_not_in_the_schema() -> None:
    parsed = parse_reply(reply_with(extra="smuggled"), LIMITS)
    assert set(parsed) == {"success", "result", "result_truncated", "error", "limit"}


def test_parse_reply_drops_extra_fields_of_the_error() -> None:
    error = {"type": "ValueError", "message": "boom", "line": 1, "traceback": "/work/secret.py"}
    assert parse_reply(failed_reply(error), LIMITS)["error"] == {"type": "ValueError", "message": "boom", "line": 1}


def test_parse_reply_caps_the_error_type_length() -> None:
    error = {"type": "E" * 1000, "message": "m", "line": None}
    parsed_error = parse_reply(failed_reply(error), LIMITS)["error"]
    assert parsed_error is not None
    assert len(parsed_error["type"]) == 200


@pytest.mark.parametrize(
    "message",
    [
        pytest.param(None, id="null"),
        pytest.param([GOOD_REPLY], id="list"),
        pytest.param("success", id="string"),
        pytest.param(1, id="number"),
        pytest.param({}, id="empty-object"),
        pytest.param(reply_with(success=1), id="success-int"),
        pytest.param(reply_with(success="true"), id="success-string"),
        pytest.param(reply_with(success=None), id="success-null"),
        pytest.param(reply_with(result_truncated=0), id="truncated-int"),
        pytest.param(reply_with(result_truncated=None), id="truncated-null"),
        pytest.param(failed_reply(None, limit="disk"), id="unknown-limit"),
        pytest.param(failed_reply(None, limit=["memory"]), id="limit-list"),
        pytest.param(failed_reply(None, limit={"kind": "memory"}), id="limit-object"),
        pytest.param(failed_reply(None, limit=1), id="limit-int"),
        pytest.param(failed_reply("ValueError: boom"), id="error-string"),
        pytest.param(failed_reply(["ValueError", "boom", 1]), id="error-list"),
        pytest.param(failed_reply({"type": 1, "message": "m", "line": 1}), id="error-type-int"),
        pytest.param(failed_reply({"type": None, "message": "m", "line": 1}), id="error-type-null"),
        pytest.param(failed_reply({"message": "m", "line": 1}), id="error-type-missing"),
        pytest.param(failed_reply({"type": "E", "message": ["m"], "line": 1}), id="error-message-list"),
        pytest.param(failed_reply({"type": "E", "line": 1}), id="error-message-missing"),
        pytest.param(failed_reply({"type": "E", "message": "m", "line": "3"}), id="error-line-string"),
        pytest.param(failed_reply({"type": "E", "message": "m", "line": 3.0}), id="error-line-float"),
        pytest.param(failed_reply({"type": "E", "message": "m", "line": True}), id="error-line-bool"),
        pytest.param(reply_with(success=True, error={"type": "E", "message": "m", "line": 1}), id="success-with-error"),
        pytest.param(reply_with(success=True, limit="timeout"), id="success-with-limit"),
    ],
)
def test_parse_reply_refuses_malformed_replies(message: Any) -> None:
    with pytest.raises(ProtocolError):
        parse_reply(message, LIMITS)


# --------------------------------------------------------------------------- limits of the job
# A worker whose program escaped the language layer writes the reply it likes: every
# limit of the job is applied again to what it claims.


def test_a_result_over_the_limit_is_dropped_and_marked_truncated() -> None:
    over = "x" * LIMITS["max_result_bytes"]  # with its quotes, 2 bytes over
    parsed = parse_reply(reply_with(result=over, result_truncated=False), LIMITS)
    assert (parsed["result"], parsed["result_truncated"]) == (None, True)


def test_a_result_at_the_limit_is_kept() -> None:
    exact = "x" * (LIMITS["max_result_bytes"] - 2)
    parsed = parse_reply(reply_with(result=exact), LIMITS)
    assert (parsed["result"], parsed["result_truncated"]) == (exact, False)


def test_the_result_limit_counts_utf8_bytes() -> None:
    over = "é" * (LIMITS["max_result_bytes"] // 2)  # fewer characters than the limit, more bytes
    assert parse_reply(reply_with(result=[over]), LIMITS)["result"] is None


def test_an_error_message_over_the_limit_is_cut_to_it() -> None:
    error = {"type": "ValueError", "message": "m" * (LIMITS["max_error_chars"] * 3), "line": 1}
    parsed_error = parse_reply(failed_reply(error), LIMITS)["error"]
    assert parsed_error is not None
    assert parsed_error["message"] == "m" * LIMITS["max_error_chars"]


@pytest.mark.parametrize(
    "message",
    [
        pytest.param(reply_with(result="\ud800"), id="lone-surrogate-in-result"),
        pytest.param(failed_reply({"type": "E\udfff", "message": "m", "line": 1}), id="lone-surrogate-in-type"),
        pytest.param(failed_reply({"type": "E", "message": "\ud800", "line": 1}), id="lone-surrogate-in-message"),
    ],
)
def test_a_reply_no_honest_worker_writes_is_refused(message: Any) -> None:
    with pytest.raises(ProtocolError):
        parse_reply(message, LIMITS)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_decode_body_refuses_non_finite_numbers(constant: str) -> None:
    with pytest.raises(ProtocolError):
        decode_body(f'{{"result": {constant}}}'.encode())


def test_a_number_too_large_for_a_float_is_not_json() -> None:
    with pytest.raises(ProtocolError):
        decode_body(b'{"success": true, "result": 1e400}')


def _reference_shape_problem(value: object, limit: int, depth: int = 0) -> str | None:
    """The definition, recursively: a container at depth >= limit is too deep; a float
    must be finite."""
    if isinstance(value, float):
        return None if math.isfinite(value) else "not_finite"
    if isinstance(value, dict | list):
        if depth >= limit:
            return "too_deep"
        problems = {
            _reference_shape_problem(v, limit, depth + 1)
            for v in (value.values() if isinstance(value, dict) else value)
        }
        return "not_finite" if "not_finite" in problems else ("too_deep" if "too_deep" in problems else None)
    return None


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=2), inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(value=_json_values, limit=st.integers(min_value=0, max_value=6))
def test_json_shape_problem_finds_a_problem_when_the_definition_does(value: object, limit: int) -> None:
    """Level by level it may meet a non-finite number before a container that is too deep
    (or the reverse): whether there is a problem, and a non-finite number in a value that
    is not too deep, are what must agree."""
    expected = _reference_shape_problem(value, limit)
    found = json_shape_problem(value, limit)
    assert (found is None) == (expected is None)
    if _reference_shape_problem(value, 10_000) is None:
        assert found == expected


def test_json_shape_problem_walks_a_megabyte_of_containers_without_recursion() -> None:
    deep: list[object] = []
    for _ in range(100_000):
        deep = [deep]
    assert json_shape_problem(deep, 128) == "too_deep"
    assert json_shape_problem([[]] * 349_000, 2) is None
    assert json_shape_problem({"a": [1.0, {"b": math.inf}]}, 10) == "not_finite"
