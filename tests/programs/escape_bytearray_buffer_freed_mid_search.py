# Tries: free a bytearray's buffer while its own method reads it. find, count, index,
# rfind, rindex, startswith, endswith and `in` take the buffer's address, then convert
# their bounds, whose __index__ (the program's) clears the bytearray: the search runs over
# freed memory that the program refilled (attack pass 67 a19); `%` reads its format the
# same way (a20). Must: the methods hold an export of the buffer for the call
# (_repairs.c), so the clear raises BufferError, and ordinary searches give CPython's
# answers.
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
outcome
