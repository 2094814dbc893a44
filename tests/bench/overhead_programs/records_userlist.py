# Records kept as tuples that share a list, read through UserList and UserDict, and an
# error carrying a list re-raised many times.
import collections

tags = list(range(2000))
records = collections.UserList((i, tags) for i in range(4000))
by_id = collections.UserDict((i, (i * 3, tags)) for i in range(4000))
total = 0
for ident, shared in records:
    total += ident + len(shared)
for i in range(4000):
    total += by_id[i][0]
batch = ValueError("bad batch", tags)
caught = 0
for _ in range(2000):
    try:
        raise batch
    except ValueError as error:
        caught += len(error.args[1])
[total, caught]
