"""The API process's garbage collector, tuned for what the process does.

The event loop builds and drops large JSON trees: request bodies (a context of a
megabyte holds hundreds of thousands of values), worker replies, answers. With the
default thresholds a collection starts every 700 new containers, and the older
generations it reaches are traversed whole, including every object the process made
while starting (the application, the libraries, the MCP server): parsing one megabyte of
small lists took 0.4 s of the loop, nine tenths of it in the collector.

So, once started: what exists is moved out of the collector's reach (``gc.freeze``: it
lives as long as the process anyway), and a young collection waits for 50 000 new
containers. Cycles (rare here: the trees are acyclic) are still collected, later.
"""

from __future__ import annotations

import gc

#: New containers between two young collections (CPython's default: 700).
YOUNG_COLLECTION_EVERY = 50_000


def tune_garbage_collector() -> None:
    """Call once the process has started: what it holds then is never garbage."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_EVERY, middle, old)
