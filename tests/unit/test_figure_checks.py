"""The figures a reply carries are read by the API process, not taken on the worker's word
(protocol._checked_figures): a PNG of the size it claims, made of the chunks matplotlib
writes, within the job's pixel limit. And over MCP, only PNG and JPEG files whose headers
declare at most the figure limit are image content (mcp_server.file_contents)."""

from __future__ import annotations

import base64
import binascii
import struct
import zlib
from typing import Any

import pytest

from src.mcp_server import file_contents, image_pixels
from src.protocol import FigureRules, ProtocolError, parse_reply, png_dimensions
from src.schemas import ExecuteResponse, OutputFile, Truncated
from tests.support.inprocess import LIMITS

RULES: FigureRules = {"max_figures": 2, "max_figure_pixels": 10_000}


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", binascii.crc32(kind + data))


def png(width: int, height: int, *extra: bytes) -> bytes:
    header = _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    body = _chunk(b"IDAT", zlib.compress(bytes((width + 1) * min(height, 4))))
    return b"\x89PNG\r\n\x1a\n" + header + b"".join(extra) + body + _chunk(b"IEND", b"")


def _reply(*figures: dict[str, Any]) -> dict[str, Any]:
    return {
        "success": True,
        "result": None,
        "result_truncated": False,
        "error": None,
        "limit": None,
        "figures": list(figures),
    }


def _figure(data: bytes, width: int, height: int) -> dict[str, Any]:
    return {"media_type": "image/png", "width": width, "height": height, "content": base64.b64encode(data).decode()}


def test_a_png_of_the_size_it_claims_is_accepted() -> None:
    reply = parse_reply(_reply(_figure(png(20, 10), 20, 10)), LIMITS, RULES)
    assert [(f["width"], f["height"]) for f in reply["figures"]] == [(20, 10)]


@pytest.mark.parametrize(
    "figure",
    [
        _figure(png(200, 200), 10, 10),  # claims less than it holds
        _figure(png(200, 200), 200, 200),  # over the job's pixel limit
        _figure(
            png(10, 10, _chunk(b"zTXt", b"k\x00\x00" + zlib.compress(b"x" * 1000))), 10, 10
        ),  # a chunk it never writes
        _figure(png(10, 10)[:-12], 10, 10),  # no IEND
        {"media_type": "image/png", "width": 1, "height": 1, "content": "iVBORw0K<svg onload=alert(1)>"},
    ],
)
def test_a_figure_that_is_not_what_it_claims_is_a_protocol_error(figure: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError):
        parse_reply(_reply(figure), LIMITS, RULES)


def test_figures_from_a_job_without_figure_rules_are_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        parse_reply(_reply(_figure(png(2, 2), 2, 2)), LIMITS)


def test_png_dimensions_walks_the_chunks() -> None:
    assert png_dimensions(png(7, 3)) == (7, 3)
    assert png_dimensions(b"GIF89a") is None


def _answer(*files: OutputFile) -> ExecuteResponse:
    return ExecuteResponse.model_construct(
        request_id="r",
        success=True,
        result=None,
        stdout="",
        stderr="",
        truncated=Truncated(stdout=False, stderr=False, result=False),
        error=None,
        limit=None,
        files=list(files),
        figures=[],
        duration_ms=1.0,
    )


def _file(path: str, data: bytes, media_type: str) -> OutputFile:
    content = base64.b64encode(data).decode()
    return OutputFile(path=path, size=len(data), encoding="base64", content=content, media_type=media_type)


def test_an_image_file_past_the_limit_is_a_resource_not_an_image() -> None:
    small, huge = png(10, 10), png(20000, 20000)
    contents = file_contents(_answer(_file("a.png", small, "image/png"), _file("b.png", huge, "image/png")), 10_000)
    assert [content.type for content in contents] == ["image", "resource"]


def test_only_pngs_are_images_to_the_model() -> None:
    """A JPEG's size depends on which of its markers a decoder believes (attack pass 97)."""
    frame = b"\xff\xc0\x00\x11\x08" + struct.pack(">HH", 30, 40) + b"\x03" + b"\x00" * 9
    jpeg = b"\xff\xd8" + b"\xff\xe0\x00\x04ab" + frame + b"\xff\xd9"
    assert image_pixels("image/jpeg", base64.b64encode(jpeg).decode()) is None
    assert image_pixels("image/svg+xml", base64.b64encode(b"<svg/>").decode()) is None
    assert image_pixels("image/png", base64.b64encode(png(3, 4)).decode()) == 12


def test_a_png_with_two_headers_is_not_read() -> None:
    second = _chunk(b"IHDR", struct.pack(">IIBBBBB", 9000, 9000, 8, 0, 0, 0, 0))
    assert png_dimensions(png(10, 10, second)) is None
