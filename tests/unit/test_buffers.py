"""worker/buffers.py: which buffers hold object references (numpy's arrays of objects
export their pointers as a buffer), and the checked C methods that write into buffers."""

from __future__ import annotations

import io
import struct

import pytest

from src.worker.buffers import checked_writer, holds_references
from src.worker.refusal import SecurityError


@pytest.mark.parametrize("buffer", [b"abc", bytearray(8), memoryview(bytearray(8)).cast("B"), memoryview(b"xy")])
def test_plain_bytes_hold_no_references(buffer: object) -> None:
    assert holds_references(buffer) is False


@pytest.mark.parametrize("value", [1, "text", object(), None])
def test_what_is_no_buffer_holds_no_references(value: object) -> None:
    assert holds_references(value) is False


def test_the_writers_still_write_into_plain_buffers() -> None:
    target = bytearray(8)
    checked_writer(io.BytesIO(b"abcd").readinto, "readinto")(target)
    checked_writer(io.BytesIO.readinto, "readinto")(io.BytesIO(b"ef"), target)
    checked_writer(struct.Struct("<H").pack_into, "pack_into")(target, 6, 7)
    assert bytes(target) == b"efcd\x00\x00\x07\x00"


def test_other_names_and_values_are_left_as_they_are() -> None:
    method = io.BytesIO().read
    assert checked_writer(method, "read") is method


numpy = pytest.importorskip("numpy")


@pytest.mark.parametrize(
    "make",
    [
        lambda: numpy.zeros(2, dtype=object),
        lambda: numpy.zeros(2, dtype=[("name", "O"), ("n", "i8")]),
        lambda: numpy.zeros(4, dtype=object)[::2],
        lambda: memoryview(numpy.zeros(2, dtype=object)),
    ],
)
def test_arrays_of_objects_and_their_views_hold_references(make: object) -> None:
    assert holds_references(make()) is True  # type: ignore[operator]


def test_a_cast_of_a_view_of_references_is_refused() -> None:
    view = memoryview(numpy.zeros(1, dtype=object))
    with pytest.raises(SecurityError):
        checked_writer(view.cast, "cast")("B")


def test_a_numeric_array_with_a_field_named_with_an_o_holds_none() -> None:
    assert holds_references(numpy.zeros(1, dtype=[("Open", "f8")])) is False
