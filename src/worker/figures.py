"""The figures a data-tier program leaves open, rendered as PNG images for the reply.

Run by the runner after the program, in the worker, under every limit the program ran
under (rendering calls the program's own formatters and callbacks). Each figure is
checked before it is drawn: a figure larger than ``max_figure_pixels`` at its own dpi is
not drawn at all (a 100000 x 100000 figure would allocate 40 GB); at most
``max_figures`` are rendered, the rest are named on stderr. Every figure is closed after.
"""

from __future__ import annotations

import base64
import io
import struct
import sys
from typing import Any, TextIO

from ..protocol import FIGURE_MEDIA_TYPE, MAX_FIGURES_BYTES, Figure, FigureRules

#: A PNG file's signature and its IHDR chunk's header: the width and height follow.
_PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


def pixel_size(figure: Any, dpi: float | None = None) -> tuple[int, int]:
    """The figure's size in pixels at ``dpi`` (default: its own)."""
    width, height = figure.get_size_inches()
    scale = figure.dpi if dpi is None else dpi
    return max(1, round(width * scale)), max(1, round(height * scale))


def png_size(data: bytes) -> tuple[int, int] | None:
    if len(data) < 24 or not data.startswith(_PNG_HEAD):
        return None
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def render_open_figures(rules: FigureRules, stderr: TextIO) -> list[Figure]:
    """Every open figure as a PNG, in the order they were made; then all are closed. Only
    matplotlib's own Figures are drawn. A MemoryError is the program's memory limit and
    propagates (runner.py); anything else one figure raises is reported and skipped."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is None:
        return []
    from matplotlib.figure import Figure as MatplotlibFigure  # noqa: PLC0415 - imported with pyplot

    numbers = list(pyplot.get_fignums())
    figures: list[Figure] = []
    total = 0
    try:
        for position, number in enumerate(numbers):
            if len(figures) >= rules["max_figures"]:
                left = len(numbers) - position
                stderr.write(f"[sandbox] {left} more open figure(s) not returned: at most {rules['max_figures']}\n")
                break
            try:
                content, size = _drawn(pyplot, number, rules, MatplotlibFigure)
            except MemoryError:
                raise
            except BaseException as exc:  # noqa: BLE001 - the program's formatter, data or settings: reported
                stderr.write(f"[sandbox] figure {number} not returned: {type(exc).__name__}: {exc}\n"[:2000])
                continue
            if total + len(content) > MAX_FIGURES_BYTES:
                stderr.write(
                    f"[sandbox] figure {number} not returned: the figures exceed {MAX_FIGURES_BYTES:,} bytes\n"
                )
                continue
            total += len(content)
            figures.append({"media_type": FIGURE_MEDIA_TYPE, "width": size[0], "height": size[1], "content": content})
    finally:
        pyplot.close("all")
    return figures


def _drawn(pyplot: Any, number: int, rules: FigureRules, figure_class: Any) -> tuple[str, tuple[int, int]]:
    """Figure ``number`` as base64 PNG text and its size; raises ValueError when it is not
    one to draw (not a Figure, not finite, over the pixel limit)."""
    figure: Any = pyplot.figure(number)
    if type(figure) is not figure_class:
        raise ValueError("not a matplotlib Figure")
    dpi = figure.dpi
    if not isinstance(dpi, (int, float)) or not 0 < dpi <= 10_000:
        raise ValueError(f"its dpi is {dpi!r}")
    width, height = pixel_size(figure)
    if width * height > rules["max_figure_pixels"]:
        raise ValueError(f"{width} x {height} pixels is more than {rules['max_figure_pixels']:,}")
    buffer = io.BytesIO()
    # Its own dpi, tight bounding box off: the size just checked is the size drawn.
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches=None)
    data = buffer.getvalue()
    size = png_size(data)
    if size is None or size[0] * size[1] > rules["max_figure_pixels"]:
        raise ValueError("the image drawn is not a PNG within the limit")
    return base64.b64encode(data).decode("ascii"), size
