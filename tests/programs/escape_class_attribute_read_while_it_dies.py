# Tries: read a class attribute back while its old value is being freed. Storing or
# deleting a class attribute releases the old value inside the dict store, before the
# class's attribute cache (and the interpreter's per-instruction caches) are invalidated;
# the cache lends the value by a borrowed pointer. A suspended generator held by the old
# value runs its `finally` as the value dies; there `C.attr` was a cache hit that handed
# out the dying tuple, whose memory the program then refilled (attack pass 75: a full
# escape). Must: the old value is released only after the store has invalidated the
# caches (repairs' operands.c), so the `finally` sees the class as it now is: the new
# value, or no attribute after a deletion; ordinary class attributes work.
outcome = []


def reader(kind, seen):
    try:
        yield 1
    finally:
        try:
            seen.append(kind.attr if len(seen) % 2 == 0 else kind().attr)
        except AttributeError as e:
            seen.append(type(e).__name__)


for deleting in (False, True):
    for instance_read in (False, True):

        class C:
            pass

        seen = [] if not instance_read else [None]
        g = reader(C, seen)
        next(g)
        C.attr = tuple([7] * 20 + [g])
        g = None
        C.attr
        C().attr
        if deleting:
            del C.attr
        else:
            C.attr = 0
        outcome.append(seen[-1])


class Counter:
    count = 0


for _ in range(3):
    Counter.count += 1
outcome.append(Counter.count)
outcome
