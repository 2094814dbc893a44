"""Turn whatever the program left as its result into a bounded JSON value.

JSON values pass through unchanged (tuples become arrays, ``int``/``str``/``float``
subclasses such as enums become their plain value, mapping keys become strings the way
``json.dumps`` makes them). Anything JSON has no form for is represented, never
dropped and never allowed to crash the reply:

* a value without a JSON form (set, complex, bytes, a class instance ...) becomes its
  ``repr()`` as a string, e.g. ``"{1, 2, 3}"``;
* NaN and the infinities become the strings ``"nan"``, ``"inf"``, ``"-inf"``;
* a container that contains itself becomes ``"[...]"`` / ``"{...}"`` at the repeat;
* nesting deeper than ``MAX_DEPTH`` becomes ``"..."``;
* an int too long to print becomes ``"<int with N bits>"``;
* lone surrogates in strings are escaped (``"\\ud800"``), so the reply stays UTF-8.

The conversion stops once the output would exceed the byte budget, and says so.
"""

from __future__ import annotations

import math
from typing import Any

MAX_DEPTH = 100


def clean_text(text: str) -> str:
    """``text`` with lone surrogates escaped, so it encodes as UTF-8."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def safe_repr(value: object) -> str:
    try:
        return clean_text(repr(value))
    except Exception:  # noqa: BLE001 - a user __repr__ may raise anything
        return f"<unrepresentable {type(value).__name__}>"


class _Converter:
    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.truncated = False
        self.active: set[int] = set()

    def spend(self, n: int) -> bool:
        self.budget -= n
        if self.budget < 0:
            self.truncated = True
        return not self.truncated

    def key(self, key: object) -> str:
        if isinstance(key, str):
            return clean_text(str.__str__(key))
        if key is None or isinstance(key, (bool, int, float)):
            converted = self.scalar(key)
            return converted if isinstance(converted, str) else _json_text(converted)
        return safe_repr(key)

    def scalar(self, value: Any) -> Any:
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int):
            plain = int(value)
            if plain.bit_length() > 13_000:  # ~4000 digits: past the int->str limit
                return f"<int with {plain.bit_length()} bits>"
            return plain
        plain_float = float(value)
        if math.isfinite(plain_float):
            return plain_float
        return "nan" if math.isnan(plain_float) else ("inf" if plain_float > 0 else "-inf")

    def convert(self, value: Any, depth: int) -> Any:
        if value is None or isinstance(value, (bool, int, float)):
            self.spend(8)
            return self.scalar(value)
        if isinstance(value, str):
            self.spend(len(value) + 2)
            return clean_text(str.__str__(value)) if self.budget >= 0 else ""
        if depth >= MAX_DEPTH:
            return "..."
        if isinstance(value, (list, tuple, dict)):
            marker = id(value)
            if marker in self.active:
                return "{...}" if isinstance(value, dict) else "[...]"
            self.active.add(marker)
            try:
                if isinstance(value, dict):
                    out: dict[str, Any] = {}
                    for k, v in list(value.items()):
                        if not self.spend(4):
                            break
                        out[self.key(k)] = self.convert(v, depth + 1)
                    return out
                items = []
                for item in list(value):
                    if not self.spend(2):
                        break
                    items.append(self.convert(item, depth + 1))
                return items
            finally:
                self.active.discard(marker)
        text = safe_repr(value)
        self.spend(len(text) + 2)
        return text


def _json_text(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    return repr(value)


def to_json_value(value: Any, max_bytes: int) -> tuple[Any, bool]:
    """(JSON-safe value, truncated). Roughly ``max_bytes`` of output at most."""
    converter = _Converter(max_bytes)
    try:
        converted = converter.convert(value, 0)
    except RecursionError:
        return safe_repr(value)[:max_bytes], True
    return converted, converter.truncated
