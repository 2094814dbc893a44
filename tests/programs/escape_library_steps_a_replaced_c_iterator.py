# Tries: get the C iterator the sandbox replaced through the library code that builds it.
# itertools' C chain (and islice, accumulate, groupby...) frees what an outer step still
# runs in when the program's code re-enters it; the sandbox offers Python equivalents, but
# library modules had bound the C classes at import: Counter.elements() built a C chain over
# a subclass's items(), whose __next__ stepped that chain again and exhausted it, freeing
# the starmap the outer step was running in (attack pass 76, reachable as passes 65 and 67
# made full escapes of it). Must: the library's own bindings name the sandbox's
# replacements (collections, random, statistics, reprlib), so the re-entry raises the
# generator's ValueError, and the library functions that use them answer as CPython does.
import collections
import random
import statistics

log = []
holder = []


class Items:
    def __init__(self):
        self.count = 0

    def __iter__(self):
        return self

    def __next__(self):
        self.count += 1
        if self.count == 1:
            try:
                log.append(["inner", next(holder[0])])
            except StopIteration:
                log.append(["inner", "StopIteration"])
            except ValueError as e:
                log.append(["inner", type(e).__name__])
            return ("a", 1)
        raise StopIteration


class Tally(collections.Counter):
    def items(self):
        return Items()


elements = Tally(a=1).elements()
holder.append(elements)
try:
    log.append(["outer", next(elements)])
except Exception as e:
    log.append(["outer", type(e).__name__])
random.seed(7)
[
    log,
    sorted(collections.Counter("abracadabra").elements()),
    len(random.choices("xyz", weights=[1, 2, 3], k=5)),
    statistics.multimode("aabbbcc"),
]
