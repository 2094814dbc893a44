"""Work proportional to a request's size, off the event loop.

Parsing and checking a megabyte of JSON (a request's context, a worker's reply) is C and
Rust code that holds the interpreter for tens of milliseconds. On the event loop every
other request, /livez included, waits behind each such parse: a few clients sending large
bodies back to back kept /livez waiting for seconds. In a thread of its own the loop
waits at most for the one call in progress (the interpreter lock changes hands between
two calls), whatever the number of large inputs queued behind it.

One thread: large inputs are parsed one at a time, so they cost at most one core of the
API process however many arrive, and small ones are handled inline (a thread hop costs
more than parsing a few kilobytes), never queued behind a large one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

#: Inputs up to this size are parsed on the event loop (a millisecond or less).
INLINE_BYTES = 64 * 1024

_P = ParamSpec("_P")
_T = TypeVar("_T")

_large_inputs = ThreadPoolExecutor(max_workers=1, thread_name_prefix="large-input")


async def parse_sized(size: int, parse: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """``parse(*args, **kwargs)``: inline when the input is at most INLINE_BYTES, else in
    the large-input thread. Exceptions propagate as from a direct call."""
    if size <= INLINE_BYTES:
        return parse(*args, **kwargs)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_large_inputs, lambda: parse(*args, **kwargs))
