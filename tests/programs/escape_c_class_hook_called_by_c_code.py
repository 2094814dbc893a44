# Tries: call a C class's __class_getitem__, bound to the program's subclass, from C code
# (map), so that the exact C alias it makes lands in a list without passing the membrane:
# iterating that alias yields a starred alias of the exact C class, outside GuardedAlias's
# rules (attack passes 60 and 64: a raw value library holders were then fed); and unpack
# collections.abc.Callable[...], the library's own subclass of the C alias (pass 63).
# Must: what the hook returns passes the membrane whoever calls it (unpacking it is refused
# as for any alias the program holds), the library's alias cannot be unpacked either;
# P[int], calling the hook and Callable[...] in annotations keep working.
import collections
import collections.abc
import itertools
import operator


class P(list):
    pass


class Q(collections.deque):
    pass


outcomes = []
for hook in (P.__class_getitem__, Q.__class_getitem__):
    made = list(map(hook, [int]))
    try:
        list(itertools.chain.from_iterable(made))
        outcomes.append("unpacked")
    except TypeError as error:
        outcomes.append(str(error))
    outcomes.append(str(operator.call(hook, str)))
try:
    list(collections.abc.Callable[[int], str])
    outcomes.append("unpacked")
except TypeError as error:
    outcomes.append(str(error))
outcomes.append(str(collections.abc.Callable[[int], str]))
[outcomes, str(P[int]), P[int]([1, 2]), list(map(operator.call, map(P.__class_getitem__, [int]), [[3]]))]
