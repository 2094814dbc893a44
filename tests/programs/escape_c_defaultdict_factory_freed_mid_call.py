# Tries: free a C defaultdict's factory while its __missing__ calls it. The C __missing__
# calls default_factory by the pointer in the object, unowned; a factory whose own code
# sets default_factory to None (here the bound sort of a list nothing else holds, whose
# items' __lt__ does it) frees itself and its list mid-call (pass 67: a full escape). The
# sandbox's own defaultdict holds its factory, but the C class was reachable as that
# class's base and through typing.DefaultDict (attack pass 76: a crash the program
# controls). Must: the C __missing__ holds its factory for the call (repairs'
# defaultdict.c), so the sort finishes on live objects and the store gives CPython's
# answer, by every route (the library class's __mro__ is refused now); ordinary
# defaultdicts work.
import collections
import typing

outcome = []


class Unsets:
    def __lt__(self, other):
        if d.default_factory is not None:
            d.default_factory = None
            junk = [bytearray(40) for _ in range(200)]
        return False


routes = [typing.DefaultDict]
try:
    routes.append(collections.defaultdict.__mro__[1])
except Exception as error:  # noqa: BLE001
    outcome.append(type(error).__name__)
for make in routes:
    d = make([Unsets(), Unsets(), Unsets()].sort)
    outcome.append([d["k"], d.default_factory, len(d)])
counts = collections.defaultdict(int)
for word in "a b a c a".split():
    counts[word] += 1
outcome.append(sorted(counts.items()))
outcome
