"""Turn whatever the program left as its result into a bounded JSON value.

JSON values pass through unchanged (tuples become arrays, ``int``/``str``/``float``
subclasses such as enums become their plain value, mapping keys become strings the way
``json.dumps`` makes them). Anything JSON has no form for is represented, never
dropped and never allowed to crash the reply:

* ``datetime``/``date``/``time`` become ISO 8601 strings, ``Decimal`` and ``UUID`` their
  string, an ``Enum`` member its value (the contract's conversions), each read with the
  base class's own method, so a program subclass runs no code while the reply is built;
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

import datetime
import decimal
import enum
import itertools
import math
import sys
import uuid
from collections.abc import Iterable
from typing import Any

from ..protocol import dumps

MAX_DEPTH = 100
#: The interpreter's limits as this module is imported (before any program runs).
DEFAULT_RECURSION_LIMIT = sys.getrecursionlimit()
DEFAULT_INT_MAX_STR_DIGITS = sys.get_int_max_str_digits()


def clean_text(text: str) -> str:
    """``text`` as an exact str with lone surrogates escaped, so it encodes as UTF-8. The
    str methods are called unbound: a str subclass (what a program's __repr__ may return)
    answers isascii() and encode() as it likes."""
    text = str.__str__(text)
    if str.isascii(text):
        return text
    try:
        str.encode(text, "utf-8")
    except UnicodeEncodeError:
        return str.encode(text, "utf-8", "backslashreplace").decode("utf-8")
    return text


def class_name(value: object) -> str:
    """The name of ``value``'s class as an exact ``str``: a class's ``__name__`` may be a
    ``str`` subclass of the program's, whose methods (``__format__``) would run while the
    reply is built, and raise."""
    name = type.__dict__["__name__"].__get__(type(value))
    return str.__str__(name) if isinstance(name, str) else "object"


def safe_repr(value: object) -> str:
    try:
        return clean_text(repr(value))
    except BaseException:  # noqa: BLE001 - a user __repr__ may raise anything, SystemExit included
        return f"<unrepresentable {class_name(value)}>"


#: The least a dict entry spends (its key's quotes, colon and comma) and a list item (its
#: comma and separator): what bounds how many of a container's items are copied.
_LEAST_PER_ENTRY = 4
_LEAST_PER_ITEM = 2


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
            text = clean_text(str.__str__(key))
        elif key is None or isinstance(key, (bool, int, float)):
            converted = self.scalar(key)
            text = converted if isinstance(converted, str) else _json_text(converted)
        else:
            text = safe_repr(key)
        self.spend(len(text) + 4)  # quotes, colon, comma
        return text

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

    def snapshot(self, iterable: Iterable[Any], least_cost: int) -> list[Any]:
        """The items of a container the budget can reach, copied first (the program's
        methods run while they are converted and may change it). Only those: a copy of a
        whole large container spent the program's memory on items never shown. Each item
        spends at least ``least_cost``, so the budget runs out (and says so) before the
        copy does."""
        return list(itertools.islice(iterable, max(self.budget, 0) // least_cost + 1))

    def convert(self, value: Any, depth: int) -> Any:
        if value is None or isinstance(value, (bool, int, float)):
            self.spend(8)
            return self.scalar(value)
        if isinstance(value, str):
            room = max(self.budget - 2, 0)
            self.spend(len(value) + 2)
            return clean_text(str.__str__(value)[:room])  # over budget: keep the start
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
                    for k, v in self.snapshot(value.items(), _LEAST_PER_ENTRY):
                        if self.truncated:
                            break
                        out[self.key(k)] = self.convert(v, depth + 1)
                    return out
                items = []
                for item in self.snapshot(value, _LEAST_PER_ITEM):
                    if not self.spend(2):
                        break
                    items.append(self.convert(item, depth + 1))
                return items
            finally:
                self.active.discard(marker)
        if isinstance(value, enum.Enum):
            return self.convert(vars(value).get("_value_"), depth + 1)
        text = _as_text(value)
        if text is None:
            text = safe_repr(value)
        self.spend(len(text) + 2)
        return text


_UUID_INT = vars(uuid.UUID)["int"]  # the slot itself: a subclass property cannot answer for it


def _as_text(value: object) -> str | None:
    """The contract's string for a date, time, Decimal or UUID, else None."""
    try:
        if isinstance(value, datetime.datetime):
            return datetime.datetime.isoformat(value)
        if isinstance(value, datetime.date):
            return datetime.date.isoformat(value)
        if isinstance(value, datetime.time):
            return datetime.time.isoformat(value)
        if isinstance(value, decimal.Decimal):
            return decimal.Decimal.__str__(value)
        if isinstance(value, uuid.UUID):
            digits = f"{_UUID_INT.__get__(value):032x}"
            return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"
    except Exception:  # noqa: BLE001 - a program tzinfo may raise anything; then repr() it is
        return None
    return None


def _json_text(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    return repr(value)


def _convert_once(value: Any, budget: int) -> tuple[Any, bool]:
    converter = _Converter(budget)
    try:
        converted = converter.convert(value, 0)
    except RecursionError:
        return safe_repr(value)[:budget], True
    except MemoryError:
        raise
    except BaseException:  # noqa: BLE001 - a result whose own methods (items, __iter__) raise
        return f"<unrepresentable {class_name(value)}>", True
    return converted, converter.truncated


def to_json_value(value: Any, max_bytes: int) -> tuple[Any, bool]:
    """(JSON-safe value, truncated) whose JSON encoding fits in ``max_bytes``.

    The converter's byte count is an estimate (escapes, non-ASCII); if the encoding still
    does not fit, convert again with a smaller budget, so an oversized result keeps its
    shape (the first items, the start of a string) instead of turning into text.
    """
    budget = max_bytes
    # The program's own methods run while its result is converted (items, __iter__,
    # __repr__) and may change the recursion limit or the int/str digit limit: the
    # encoding of what was converted runs under the interpreter's defaults.
    for _ in range(6):
        converted, truncated = _convert_once(value, budget)
        sys.setrecursionlimit(DEFAULT_RECURSION_LIMIT)
        sys.set_int_max_str_digits(DEFAULT_INT_MAX_STR_DIGITS)
        if len(dumps(converted).encode("utf-8", "surrogatepass")) <= max_bytes:
            return converted, truncated
        budget //= 2
    return None, True
