"""The program's result becomes a bounded JSON value, never an exception."""

from __future__ import annotations

import decimal
import enum
import fractions
import json
import math
import tracemalloc
from typing import Any

import pytest

from src.worker.jsonsafe import MAX_DEPTH, clean_text, safe_repr, to_json_value

BUDGET_BYTES = 65536


class Colour(enum.IntEnum):
    RED = 1


class Name(enum.StrEnum):
    ADA = "ada"


class Ratio(float):
    pass


class BrokenRepr:
    def __repr__(self) -> str:
        raise ValueError("no repr for you")


class Point:
    def __repr__(self) -> str:
        return "Point(1, 2)"


def convert(value: Any) -> Any:
    result, _truncated = to_json_value(value, BUDGET_BYTES)
    return result


def nested_lists(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


def depth_of(value: Any) -> int:
    """How many lists are nested inside each other at the front of ``value``."""
    depth = 0
    while isinstance(value, list):
        depth += 1
        value = value[0] if value else None
    return depth


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(None, None, id="none"),
        pytest.param(True, True, id="bool"),
        pytest.param(42, 42, id="int"),
        pytest.param(-1.5, -1.5, id="float"),
        pytest.param("héllo", "héllo", id="str"),
        pytest.param([1, "a", None], [1, "a", None], id="list"),
        pytest.param({"a": {"b": [1]}}, {"a": {"b": [1]}}, id="dict"),
        pytest.param((1, (2, 3)), [1, [2, 3]], id="tuple-becomes-list"),
        pytest.param([], [], id="empty-list"),
        pytest.param({}, {}, id="empty-dict"),
    ],
)
def test_json_values_pass_through(value: Any, expected: Any) -> None:
    assert convert(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param({1, 2, 3}, "{1, 2, 3}", id="set"),
        pytest.param(frozenset(), "frozenset()", id="frozenset"),
        pytest.param(1 + 2j, "(1+2j)", id="complex"),
        pytest.param(b"ab", "b'ab'", id="bytes"),
        pytest.param(fractions.Fraction(1, 3), "Fraction(1, 3)", id="fraction"),
        pytest.param(Point(), "Point(1, 2)", id="instance"),
        pytest.param(range(3), "range(0, 3)", id="range"),
    ],
)
def test_values_without_json_form_become_their_repr(value: Any, expected: str) -> None:
    assert convert(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(math.nan, "nan", id="nan"),
        pytest.param(math.inf, "inf", id="inf"),
        pytest.param(-math.inf, "-inf", id="minus-inf"),
    ],
)
def test_non_finite_floats_become_strings(value: float, expected: str) -> None:
    assert convert(value) == expected


@pytest.mark.parametrize(
    ("value", "expected_type"),
    [
        pytest.param(Colour.RED, int, id="int-enum"),
        pytest.param(Name.ADA, str, id="str-enum"),
        pytest.param(Ratio(0.5), float, id="float-subclass"),
    ],
)
def test_scalar_subclasses_become_their_plain_type(value: Any, expected_type: type) -> None:
    assert type(convert(value)) is expected_type


def test_int_enum_becomes_its_value() -> None:
    assert convert(Colour.RED) == 1


def test_self_referencing_list_marks_the_repeat() -> None:
    value: list[Any] = [1]
    value.append(value)
    assert convert(value) == [1, "[...]"]


def test_self_referencing_dict_marks_the_repeat() -> None:
    value: dict[str, Any] = {"a": 1}
    value["self"] = value
    assert convert(value) == {"a": 1, "self": "{...}"}


def test_shared_but_not_cyclic_value_is_converted_each_time() -> None:
    shared = [1, 2]
    assert convert([shared, shared]) == [[1, 2], [1, 2]]


def test_nesting_past_max_depth_is_cut_with_an_ellipsis() -> None:
    result = convert(nested_lists(MAX_DEPTH + 50))
    assert depth_of(result) == MAX_DEPTH


def test_nesting_within_max_depth_is_kept() -> None:
    assert depth_of(convert(nested_lists(MAX_DEPTH - 1))) == MAX_DEPTH - 1


def test_int_too_long_to_print_is_described_by_its_size() -> None:
    assert convert(10**5000) == "<int with 16610 bits>"


def test_long_but_printable_int_stays_an_int() -> None:
    assert convert(10**1000) == 10**1000


def test_lone_surrogate_in_string_is_escaped() -> None:
    assert convert("a\ud800b") == "a\\ud800b"


def test_converted_string_with_lone_surrogate_encodes_as_utf8() -> None:
    text: str = convert(["\udfff"])[0]
    assert text.encode("utf-8") == b"\\udfff"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param({1: "a"}, {"1": "a"}, id="int-key"),
        pytest.param({1.5: "a"}, {"1.5": "a"}, id="float-key"),
        pytest.param({True: "a"}, {"true": "a"}, id="bool-key"),
        pytest.param({None: "a"}, {"null": "a"}, id="none-key"),
        pytest.param({math.nan: "a"}, {"nan": "a"}, id="nan-key"),
        pytest.param({(1, 2): "a"}, {"(1, 2)": "a"}, id="tuple-key"),
        pytest.param({Colour.RED: "a"}, {"1": "a"}, id="int-enum-key"),
        pytest.param({Name.ADA: "a"}, {"ada": "a"}, id="str-enum-key"),
        pytest.param({"\ud800": "a"}, {"\\ud800": "a"}, id="surrogate-key"),
    ],
)
def test_mapping_keys_become_strings(value: dict[Any, Any], expected: dict[str, Any]) -> None:
    assert convert(value) == expected


def test_repr_that_raises_is_described_not_propagated() -> None:
    assert convert(BrokenRepr()) == "<unrepresentable BrokenRepr>"


def test_safe_repr_of_ordinary_object_is_its_repr() -> None:
    assert safe_repr(Point()) == "Point(1, 2)"


def test_clean_text_keeps_valid_non_ascii_text() -> None:
    assert clean_text("日本 ✓") == "日本 ✓"


def test_every_converted_value_is_json_serialisable() -> None:
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    value = [{1, 2}, math.nan, cyclic, 10**5000, "\ud800", BrokenRepr(), {(1,): Colour.RED}]
    text = json.dumps(convert(value), ensure_ascii=False, allow_nan=False)
    assert isinstance(text.encode("utf-8"), bytes)


def test_value_within_budget_is_not_truncated() -> None:
    assert to_json_value(list(range(100)), BUDGET_BYTES) == (list(range(100)), False)


def test_long_list_over_budget_is_cut_and_flagged() -> None:
    _result, truncated = to_json_value(list(range(100_000)), 1000)
    assert truncated is True


def test_long_list_over_budget_keeps_a_prefix() -> None:
    result, _truncated = to_json_value(list(range(100_000)), 1000)
    assert result == list(range(len(result)))


def test_long_list_over_budget_stays_near_the_budget() -> None:
    result, _truncated = to_json_value(list(range(100_000)), 1000)
    assert len(json.dumps(result)) <= 1000


def test_string_over_budget_is_flagged() -> None:
    _result, truncated = to_json_value("x" * 2000, 1000)
    assert truncated is True


def test_string_over_budget_keeps_its_start() -> None:
    result, _truncated = to_json_value("x" * 2000, 1000)
    assert isinstance(result, str) and 900 <= len(result) <= 1000 and set(result) == {"x"}


def test_big_dict_over_budget_is_flagged() -> None:
    _result, truncated = to_json_value({str(i): i for i in range(10_000)}, 1000)
    assert truncated is True


def test_dates_decimals_uuids_and_enum_members_take_the_contracts_forms() -> None:
    import datetime
    import enum
    import uuid

    class Color(enum.Enum):
        RED = 1
        PAIR = (1, 2)

    values = [
        datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
        datetime.date(2024, 1, 2),
        datetime.time(3, 4),
        decimal.Decimal("1.50"),
        uuid.UUID(int=5),
        Color.RED,
        Color.PAIR,
    ]
    assert to_json_value(values, 10_000) == (
        [
            "2024-01-02T03:04:05+00:00",
            "2024-01-02",
            "03:04:00",
            "1.50",
            "00000000-0000-0000-0000-000000000005",
            1,
            [1, 2],
        ],
        False,
    )


def test_a_subclass_runs_no_code_while_its_date_or_uuid_is_converted() -> None:
    import datetime
    import uuid

    calls: list[str] = []

    class Day(datetime.date):
        def isoformat(self) -> str:
            calls.append("isoformat")
            return "forged"

    class Id(uuid.UUID):
        def __str__(self) -> str:
            calls.append("str")
            return "forged"

    assert to_json_value([Day(2024, 1, 2), Id(int=1)], 10_000)[0] == [
        "2024-01-02",
        "00000000-0000-0000-0000-000000000001",
    ]
    assert calls == []


@pytest.mark.parametrize(
    "container",
    [
        pytest.param({i: i for i in range(300_000)}, id="dict"),
        pytest.param(list(range(300_000)), id="list"),
        pytest.param(tuple(range(300_000)), id="tuple"),
    ],
)
def test_a_large_result_costs_memory_for_what_fits_not_for_all_of_it(container: Any) -> None:
    """The converter copies a container before converting it (the program's methods may
    change it meanwhile), but only the items the budget can reach: a program that finished
    within its memory was answered with the memory limit when its large result was copied
    whole (attack pass 85)."""
    tracemalloc.start()
    try:
        converted, truncated = to_json_value(container, 1_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert truncated and 0 < len(converted) < 300
    assert peak < 200_000  # a whole copy: ~2.4 MB of pointers, ~20 MB of pairs
