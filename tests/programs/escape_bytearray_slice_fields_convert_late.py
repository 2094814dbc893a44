# Tries: make bytearray write through an address it read before the program's code ran.
# A slice store reads the buffer's address, then converts the slice's start, stop and
# step (the program's __index__, which grows the bytearray and frees that buffer), and its
# extended form (a step other than 1) writes each byte through the old address: into the
# header of whatever took the freed block (attack pass 75: a full escape). And an item
# deletion from the front, `del self[0]`, moves the logical start as `del self[:1]` does,
# under bytearray's own init (pass 75 again, after pass 72's fix watched slices only).
# Must: the slice's fields are converted before the store (repairs' buffers.c), so the
# bytes land in the bytearray as it is after the program's __index__, and every store
# made while a bytearray's init runs keeps its start where the init counts from; the
# neighbours stay as they were and the answers are CPython's.
outcome = []
target = bytearray(b"A" * 56)
neighbours = []


class Start:
    def __index__(self):
        target.extend(b"G" * 3000)
        neighbours.extend(bytearray(b"\xff" * 56) for _ in range(64))
        return 0


target[Start():23:2] = bytearray(b"Z" * 12)
outcome.append([bytes(target[:24]), len(target), all(n == bytearray(b"\xff" * 56) for n in neighbours)])


class FrontDeletions:
    def __init__(self, target):
        self.target = target
        self.count = 0

    def __iter__(self):
        return self

    def __next__(self):
        self.count += 1
        if self.count == 1:
            self.target.extend(b"x" * 63)
            for _ in range(31):
                del self.target[0]
        if self.count > 40:
            raise StopIteration
        return 0x41


class Buffer(bytearray):
    def __init__(self):
        super().__init__(FrontDeletions(self))


more = [bytearray() for _ in range(200)]
made = Buffer()
outcome.append([len(made), bytes(made) == b"x" * 32 + b"A" * 40, all(len(b) == 0 for b in more)])
data = bytearray(b"0123456789")
data[1:8:3] = b"abc"
del data[::4]
outcome.append(bytes(data))
outcome
