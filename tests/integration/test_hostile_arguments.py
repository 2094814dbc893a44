"""The mutable C types the program holds, driven through every public method and operator
with arguments whose every hook mutates the receiver mid-call, in an interpreter with the
repairs and the debug allocator (which aborts on a write past a buffer or a use of freed
memory). The family test for C code that keeps state of its own object (a buffer, a size,
an item pointer, an invariant set at its start) across a call into the program: pass 71's
bytearray item store and pass 72's bytearray init were members, each a full escape.

One interpreter per type, every method in turn (a failure names the last one driven); the
hooks clear the receiver, delete from its front (by a slice, item by item, by pop), grow
it, re-run its __init__, and refill freed memory with bytes of their own. Slices whose
start, stop or step is such a hook are read, stored and deleted too (pass 75: a
bytearray's extended-slice store wrote through the address it had read first)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from src.worker import repairs
from tests.support.server import PROJECT_ROOT

pytestmark = pytest.mark.skipif(not repairs.available(), reason="the repairs' extension is not built here")

#: Each type as the program makes it, full enough that mutating it frees memory.
RECEIVERS = {
    "bytearray": "bytearray(b'A' * 200)",
    "list": "[object() for _ in range(100)]",
    "dict": "{i: object() for i in range(100)}",
    "set": "set(range(100))",
    "deque": "collections.deque(range(100))",
    "BytesIO": "io.BytesIO(b'A' * 200)",
    "StringIO": "io.StringIO('A' * 200)",
    "defaultdict": "collections.defaultdict(list, {i: [i] for i in range(100)})",
    "Counter": "collections.Counter(range(100))",
    "Context": "decimal.Context(prec=30)",
    "memoryview": "memoryview(bytearray(b'A' * 200))",
}

#: The operators driven besides the public methods.
OPERATORS = [
    "__init__",
    "__setitem__",
    "__getitem__",
    "__delitem__",
    "__contains__",
    "__iadd__",
    "__imul__",
    "__mul__",
    "__add__",
    "__eq__",
    "__lt__",
    "__mod__",
]

_DRIVER = """
import collections, decimal, io, sys
from src.worker import repairs
assert repairs.apply()
repairs.hold_new_types()
MAKE = {make!r}
OPERATORS = {operators!r}
junk = []

def mutate(receiver, kind):
    try:
        if kind == 0 and hasattr(receiver, "clear"):
            receiver.clear()
        elif kind == 1:
            if isinstance(receiver, (bytearray, list)):
                del receiver[: len(receiver) // 3]
            elif isinstance(receiver, collections.deque):
                for _ in range(min(len(receiver), 40)):
                    receiver.popleft()
        elif kind == 2:
            if isinstance(receiver, bytearray):
                receiver.extend(b"G" * 100000)
            elif isinstance(receiver, (list, collections.deque)):
                receiver.extend(range(5000))
            elif isinstance(receiver, dict):
                receiver.update((i, i) for i in range(1000, 6000))
            elif isinstance(receiver, set):
                receiver.update(range(1000, 6000))
            elif isinstance(receiver, io.BytesIO):
                receiver.write(b"G" * 100000)
            elif isinstance(receiver, io.StringIO):
                receiver.write("G" * 100000)
        elif kind == 3:
            type(receiver).__init__(receiver)
        elif kind == 4:  # the front deleted item by item: a slice deletion inside CPython
            for _ in range(min(len(receiver), 31)):
                del receiver[0]
        elif kind == 5:
            receiver[0:1] = receiver[0:0]
        elif kind == 6:
            for _ in range(min(len(receiver), 31)):
                receiver.pop(0)
    except Exception:
        pass
    for i in range(50):
        junk.append(bytearray(b"\\xff" * (16 * (i % 16 + 1))))

def neighbours_intact():
    '''The bytes the hooks allocated after mutating the receiver are still their own:
    a write through an address read before the mutation lands in them.'''
    for buffer in junk:
        if buffer.count(0xFF) != len(buffer):
            print("a neighbour was written", file=sys.stderr, flush=True)
            raise SystemExit(3)
    junk.clear()

class Hooks:
    def __init__(self, receiver, kind):
        self.receiver, self.kind, self.calls = receiver, kind, 0
    def _mutate(self):
        self.calls += 1
        if self.calls < 3:
            mutate(self.receiver, self.kind)
    def __index__(self): self._mutate(); return 3
    def __int__(self): self._mutate(); return 3
    def __float__(self): self._mutate(); return 3.0
    def __len__(self): self._mutate(); return 2
    def __length_hint__(self): self._mutate(); return 0
    def __iter__(self): self._mutate(); return iter([1, 2, 3])
    def __eq__(self, other): self._mutate(); return False
    def __lt__(self, other): self._mutate(); return False
    def __hash__(self): self._mutate(); return 7
    def __bool__(self): self._mutate(); return True
    def __str__(self): self._mutate(); return "h"
    __repr__ = __str__
    def __getitem__(self, i):
        self._mutate()
        if i > 3:
            raise IndexError
        return 65
    def __contains__(self, x): self._mutate(); return False

class Items:
    '''An iterator only: it mutates the receiver between items.'''
    def __init__(self, receiver, kind):
        self.receiver, self.kind, self.count = receiver, kind, 0
    def __iter__(self):
        return self
    def __next__(self):
        self.count += 1
        if self.count in (40, 80):
            mutate(self.receiver, self.kind)
        if self.count > 300:
            raise StopIteration
        return self.count % 200

KINDS = range(7)
names = [n for n in dir(eval(MAKE)) if not n.startswith("_") or n in OPERATORS]
for name in names:
    if name in ("close", "detach"):
        continue
    print("driving", name, file=sys.stderr, flush=True)
    for kind in KINDS:
        for count in (1, 2, 3):
            for shape in range(4):
                receiver = eval(MAKE)
                plain = b"AB" if isinstance(receiver, (bytearray, io.BytesIO)) else 1
                hostile = Items if shape == 3 else Hooks
                arguments = [
                    hostile(receiver, kind) if shape == 3 or (j + shape) % 2 == 0 else plain for j in range(count)
                ]
                try:
                    getattr(receiver, name)(*arguments)
                except Exception:
                    pass
                neighbours_intact()
# Slices whose start, stop or step is the hostile object, read, stored and deleted.
print("driving slices", file=sys.stderr, flush=True)
for kind in KINDS:
    for step in (1, 2, -1, -3):
        for field in range(3):
            for action in range(3):
                receiver = eval(MAKE)
                plain = [3, 23, step]
                parts = list(plain)
                parts[field] = Hooks(receiver, kind)  # whose __index__ answers 3
                plain[field] = 3
                count = len(range(*plain))
                value = bytearray(b"Z" * count) if isinstance(receiver, (bytearray, memoryview)) else [0] * count
                try:
                    if action == 0:
                        receiver[slice(*parts)]
                    elif action == 1:
                        receiver[slice(*parts)] = value
                    else:
                        del receiver[slice(*parts)]
                except Exception:
                    pass
                neighbours_intact()
print("ok", len(names))
"""


@pytest.mark.parametrize("kind", sorted(RECEIVERS))
def test_every_method_survives_arguments_that_mutate_its_receiver(kind: str) -> None:
    driver = _DRIVER.format(make=RECEIVERS[kind], operators=OPERATORS)
    environment = {**os.environ, "PYTHONMALLOC": "debug", "PYTHONPATH": str(PROJECT_ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", driver],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        env=environment,
        check=False,
    )
    driven = [line for line in done.stderr.splitlines() if line.startswith("driving ")]
    fatal = [line for line in done.stderr.splitlines() if "Fatal" in line or "Error" in line][:2]
    assert done.returncode == 0 and done.stdout.startswith("ok"), (done.returncode, driven[-1:], fatal)
