# Tries: make bytearray.__init__ write past its buffer. Given an iterable, the init empties
# the bytearray, then appends each item on a fast path that checks the size against the
# allocation counted from the buffer's start, not from its logical start; the program's
# subclass hands `self` to its own iterator, whose `del self[:k]` moves the logical start k
# bytes on without reallocating, so each later item lands up to k bytes past the buffer:
# the program's bytes over the next block (attack pass 72: a full escape, an empty
# bytearray's header rewritten into one over the address space). Must: while a bytearray's
# own init runs, a slice deletion moves its bytes back to the buffer's start (repairs'
# buffers.c), so the items land inside the buffer: CPython's answer, the neighbours
# untouched, and ordinary inits (any source, any error) give CPython's answers.
outcome = []
neighbours = [bytearray() for _ in range(2000)]


class Moves:
    def __init__(self, target):
        self.target = target
        self.count = 0

    def __iter__(self):
        return self

    def __next__(self):
        self.count += 1
        if self.count == 1:
            self.target.extend(b"x" * 63)
            del self.target[:31]
        if self.count > 40:
            raise StopIteration
        return 0x41


class Buffer(bytearray):
    def __init__(self):
        super().__init__(Moves(self))


made = Buffer()
outcome.append([len(made), bytes(made) == b"x" * 32 + b"A" * 40, all(len(b) == 0 for b in neighbours)])


class Stops:
    def __init__(self):
        self.count = 0

    def __index__(self):
        self.count += 1
        if self.count > 2:
            raise ValueError("third")
        return 66


items = [Stops()] * 5
partial = bytearray(b"old")
try:
    partial.__init__(items)
except ValueError as e:
    outcome.append([str(e), bytes(partial)])


class Size:
    def __index__(self):
        return 3


outcome.append(
    [
        bytes(bytearray(range(65, 70))),
        bytes(bytearray(Size())),
        bytes(bytearray("hé", "utf-8")),
        bytes(bytearray(source=iter([1, 2]))),
        bytes(bytearray(memoryview(b"mv"))),
    ]
)
for bad in ([256], ["a"], 3.5):
    try:
        bytearray(bad)
    except (ValueError, TypeError) as e:
        outcome.append([type(e).__name__, str(e)])
outcome
