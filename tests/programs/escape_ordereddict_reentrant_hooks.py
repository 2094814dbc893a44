# Tries: clear an OrderedDict from a hook that its own C code calls while it walks or looks
# up its nodes: == (gh-119004), copy() of a subclass (gh-142734), pop / move_to_end / del
# (gh-142637). The last three are open upstream in every version. Attack pass 65 turned ==
# and copy() into full escapes (its programs a03, a09). Must: every operation ends with a
# Python answer or exception (the pure-Python OrderedDict: KeyError, RuntimeError), never a
# crash; an ordinary OrderedDict (an LRU cache over it, ==, copy, pop) works as in CPython.
import collections

armed = {"on": False}
target = {"od": None}


class Key:
    def __init__(self, n):
        self.n = n

    def __hash__(self):
        return self.n % 3

    def __eq__(self, other):
        if armed["on"]:
            armed["on"] = False
            target["od"].clear()
        return type(other) is Key and self.n == other.n


def attempt(operation):
    od = collections.OrderedDict((Key(i), i) for i in range(20))
    other = collections.OrderedDict((Key(i), i) for i in range(20))
    target["od"] = od
    armed["on"] = True
    try:
        operation(od, other)
        return "ran"
    except Exception as e:  # noqa: BLE001 - any Python exception is the expected outcome
        return type(e).__name__
    finally:
        armed["on"] = False


def delete(od, other):
    del od[Key(5)]


outcome = [
    attempt(lambda od, other: od.pop(Key(5))),
    attempt(lambda od, other: od.move_to_end(Key(5))),
    attempt(delete),
]


class Copied(collections.OrderedDict):
    def __setitem__(self, key, value):
        if armed["on"] and key == 3:
            armed["on"] = False
            original.clear()
        super().__setitem__(key, value)


original = Copied((i, i) for i in range(5))
armed["on"] = True
try:
    original.copy()
    outcome.append("ran")
except Exception as e:  # noqa: BLE001
    outcome.append(type(e).__name__)
lru = collections.OrderedDict()
for key in [1, 2, 1, 3, 4, 1]:
    lru[key] = str(key)
    lru.move_to_end(key)
    if len(lru) > 3:
        lru.popitem(last=False)
same = lru == collections.OrderedDict(lru.copy()) and lru.pop(3) == "3"
[outcome, list(lru.items()), same]
