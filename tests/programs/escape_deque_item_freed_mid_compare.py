# Tries: free a deque's item while deque C code compares it. deque.index compares each
# item by the pointer in its block, holding no reference; the item is a tuple only the
# deque holds, whose first element's __eq__ (the program's) clears the deque: the tuple
# is freed while tuple comparison walks it, the program refills the memory and the walk
# hands its forged content to the program (attack pass 69: a full escape). count, remove
# and `in` walk the same way. index also reads its first block before it converts `start`,
# whose __index__ may empty that block (a second full escape). Must: the four hold the
# deque's items for the call and index converts its bounds first (repairs' deque.c), so the
# walk sees the items it started with (the program gets what it put there) and ordinary
# deque searches give CPython's answers.
import collections

outcome = []
state = {"armed": False}
seen = []


class Clears:
    def __eq__(self, other):
        if state["armed"]:
            state["armed"] = False
            queue.clear()
            refill = [bytes(16) + bytes(151) for _ in range(3000)]
            return True
        return False

    __hash__ = None


class Sees:
    def __eq__(self, other):
        seen.append(type(other).__name__)
        return False

    __hash__ = None


def search(name, queue, probe):
    if name == "in":
        return probe in queue
    return getattr(queue, name)(probe)


marker = object()
for name in ("index", "count", "remove", "in"):
    queue = collections.deque([tuple([Clears(), marker] + [marker] * 19)])
    state["armed"] = True
    probe = tuple([marker, Sees()] + [marker] * 19)
    try:
        outcome.append([name, search(name, queue, probe)])
    except (RuntimeError, ValueError, IndexError) as e:
        outcome.append([name, type(e).__name__])
outcome.append(sorted(set(seen)))

class Start:
    def __index__(self):
        for _ in range(32):
            long_queue.popleft()
        long_queue.extend(range(32))
        refill = [bytes(16) + bytes(151) for _ in range(3000)]
        return 0


long_queue = collections.deque(tuple([Sees()] + [marker] * 20) for _ in range(40))
try:
    outcome.append(long_queue.index(marker, Start()))
except ValueError as e:
    outcome.append(type(e).__name__)

queue = collections.deque(["a", "b", "c", "b"])
queue.remove("b")
outcome.append([queue.index("c"), queue.index("b", -2), queue.count("b"), "a" in queue, "z" in queue, list(queue)])
outcome
