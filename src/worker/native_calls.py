"""The worker's half of native method calls (language/native_calls.py): for each method
name the policy may call natively, the exact built-in types for which this process's
``_getattr_`` answers with the built-in method bound to the object, unchanged.

Asked of the guard itself, once per environment: the rules stay in the guards, and a
name the guard wraps (``str.format``) or refuses is simply not native for that type.
"""

from __future__ import annotations

import collections
import re
import types
from collections.abc import Callable
from typing import Any

from ..language.native_calls import METHOD_NAMES, RECEIVER_TYPES, table_name


def _samples() -> dict[type, object]:
    """One instance of each receiver type (the guard's answer depends on the type only:
    none of them has an instance dict)."""
    samples: dict[type, object] = {
        list: [],
        dict: {},
        set: set(),
        frozenset: frozenset(),
        str: "",
        bytes: b"",
        bytearray: bytearray(),
        tuple: (),
        int: 0,
        float: 0.0,
        collections.deque: collections.deque(),
        re.Pattern: re.compile(""),
        re.Match: re.match("", ""),
    }
    assert set(samples) == set(RECEIVER_TYPES), "a receiver type without a sample"
    return samples


def _native_for(guard: Callable[[object, str], Any], sample: object, name: str) -> bool:
    if not isinstance(vars(type(sample)).get(name), types.MethodDescriptorType):
        return False
    try:
        answer = guard(sample, name)
    except Exception:  # noqa: BLE001 - refused, or failing: the guarded branch decides
        return False
    return type(answer) is types.BuiltinMethodType and answer.__self__ is sample and answer == getattr(sample, name)


def native_method_tables(guard: Callable[[object, str], Any]) -> dict[str, frozenset[type]]:
    """The guard globals ``_native_<name>_``, for every name of METHOD_NAMES (the policy
    may emit any of them): the types for which ``guard`` gives the object's own built-in
    method."""
    samples = _samples()
    return {
        table_name(name): frozenset(kind for kind, sample in samples.items() if _native_for(guard, sample, name))
        for name in sorted(METHOD_NAMES)
    }
