# Tries: free an operand from inside its own special method while C code still holds it
# by a pointer it does not own. Counter.update adds 1 to the count it took from the dict;
# the count's __add__ replaces it in the dict and drops its own last reference, then
# returns NotImplemented, and the interpreter hands the freed count to int's slot (attack
# pass 67 a13). The same shape serves any C caller of a comparison or an operator.
# Must: the program's special methods hold their operands for the call and keep one the
# call left with no other owner (repairs' operands.c), also for methods a library sets on the class
# afterwards (functools.total_ordering): a Python TypeError, never a crash.
import collections
import functools

outcome = []


class Count:
    def __add__(self, other):
        counts["k"] = 0
        del self
        junk = [bytes([1]) * 20 for _ in range(300)]
        return NotImplemented


counts = collections.Counter()
counts["k"] = Count()
try:
    counts.update(["k"])
except TypeError as e:
    outcome.append(type(e).__name__)


@functools.total_ordering
class Rank:
    def __eq__(self, other):
        return NotImplemented

    def __lt__(self, other):
        box.clear()
        del self
        junk = [bytes([1]) * 20 for _ in range(300)]
        return NotImplemented


box = [Rank()]
try:
    outcome.append(box[0] >= 5)
except TypeError as e:
    outcome.append(type(e).__name__)

outcome.append(collections.Counter("abracadabra").most_common(2))
outcome
