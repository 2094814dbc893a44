# Tries: free a list's items or array from a hook while list C code still uses them.
# (1) list comparison: the final compare gets borrowed items, and a reflected __gt__ that
#     empties the list frees the left item during the call (gh-120298).
# (2) extended-slice assignment: the slice is computed on the old size, then the program's
#     iterator empties the list, and the store writes past the new array (gh-120384).
# Attack pass 65 turned both into full escapes (its programs a05, a07) on the 3.11
# interpreter. Must: as with the 2024 fixes, which the sandbox puts into 3.11's list
# (repairs' lists.c), (1) gives a Python answer with no use of freed
# memory and (2) raises ValueError; never a crash.
outcome = []


class Left(int):
    pass


class Right(Left):
    def __eq__(self, other):
        return False

    def __hash__(self):
        return 1

    def __gt__(self, other):
        left.clear()
        del other
        return NotImplemented

    def __lt__(self, other):
        return True


left = [Left(1 << int("350"))]
right = [Right(5)]
try:
    outcome.append(left < right)
except Exception as e:  # noqa: BLE001
    outcome.append(type(e).__name__)


class Shrinks:
    def __init__(self, target):
        self.target = target

    def __iter__(self):
        yield from range(10)
        self.target.clear()


numbers = list(range(10))
try:
    numbers[::-1] = Shrinks(numbers)
    outcome.append(("assigned", len(numbers)))
except ValueError:
    outcome.append("ValueError")
outcome
