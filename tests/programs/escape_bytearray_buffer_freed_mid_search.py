# Tries: free a bytearray's buffer while its own method reads it. find, count, index,
# rfind, rindex, startswith, endswith and `in` take the buffer's address, then convert
# their bounds, whose __index__ (the program's) clears the bytearray: the search runs over
# freed memory that the program refilled (attack pass 67 a19); `%` reads its format the
# same way (a20), and hex its separator's length (pass 68 a02; memoryview.hex too, whose
# separator may release the view). Must: every method that does not resize the bytearray
# (and memoryview's hex, tobytes, cast) holds an export of the buffer for the call
# (repairs' buffers.c), so the clear or release raises BufferError, and ordinary calls give
# CPython's answers. An item store reads the buffer's address before it converts the index
# and the value (pass 71: a full escape): it converts them first, so the store lands in
# the bytearray as it is after the program's __index__.
outcome = []


class Clears:
    def __init__(self, target):
        self.target = target

    def __index__(self):
        self.target.clear()
        junk = [b"x" * 100_000 for _ in range(3)]
        return 0


for name in ("find", "count", "index", "rfind", "rindex", "startswith", "endswith"):
    data = bytearray(b"y" * 100_000)
    try:
        outcome.append([name, getattr(data, name)(b"x", Clears(data))])
    except BufferError as e:
        outcome.append([name, type(e).__name__, len(data)])

class Separator(str):
    def __init__(self, target):
        self.target = target

    def __len__(self):
        self.target.clear()
        junk = [b"x" * 100_000 for _ in range(3)]
        return 1


for name in ("hex", "center", "ljust", "zfill"):
    data = bytearray(b"y" * 100_000)
    argument = Separator(data) if name == "hex" else Clears(data)
    try:
        outcome.append([name, len(getattr(data, name)(argument))])
    except BufferError as e:
        outcome.append([name, type(e).__name__, len(data)])

class Releases(str):
    def __len__(self):
        view.release()
        return 1


view = memoryview(bytearray(b"z" * 100_000))
try:
    outcome.append(len(view.hex(Releases(":"))))
except BufferError as e:
    outcome.append(["memoryview.hex", type(e).__name__])

class Grows:
    def __init__(self, target, result):
        self.target = target
        self.result = result

    def __index__(self):
        self.target.extend(b"z" * 100_000)
        junk = [bytearray(8) for _ in range(100)]
        return self.result


stored = bytearray(b"abcdef")
stored[Grows(stored, 3)] = 65
stored[1] = Grows(stored, 66)
outcome.append([len(stored), bytes(stored[:6])])

data = bytearray(b"%d" + b"A" * 100_000)
try:
    outcome.append((data % Clears(data))[:5])
except BufferError as e:
    outcome.append([type(e).__name__, len(data)])

text = bytearray(b"hello world")
outcome.append(
    [text.find(b"o"), text.count(b"o"), text.index(b"w"), text.rfind(b"o", 0, 6), b"wor" in text, text.endswith(b"ld")]
)
outcome.append(bytearray(b"%d-%s") % (5, b"x"))
outcome.append([text.hex(":"), text.center(15, b"*"), text.split(b" "), text.zfill(12), text.partition(b" ")])
outcome
