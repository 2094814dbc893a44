# Tries: run code of the program's inside a C operation of the interpreter, between the
# release of an object and the end of the operation that released it. A suspended
# generator's `finally` (and `close()` of an io class of the program's) runs when the
# object's last reference goes, wherever that is: a class attribute store released the
# old value before the type's attribute cache forgot it, and the `finally` read the dying
# value back (attack pass 75: a full escape); a dict update, a bounded deque's extend and
# a dict deletion release items in the middle of their work too. Must: those finalizers
# wait until the operation is over (repairs' finalizers.c), so each sees the operation
# done; ordinary code around generators and context managers behaves as in CPython.
import collections
import contextlib
import io

seen = []


def holder(label, probe):
    try:
        yield 1
    finally:
        seen.append([label, probe()])


def held(label, probe):
    g = holder(label, probe)
    next(g)
    return g


# A dict update that replaces a value: CPython runs the finally after the first key.
d = {"a": None}
d["a"] = held("dict.update", lambda: sorted(d))
d.update({"a": 1, "b": 2, "c": 3})

# A bounded deque drops its oldest item at each append of an extend.
q = collections.deque(maxlen=1)
q.append(held("deque.extend", lambda: list(q)))
q.extend([1, 2, 3])

# A class attribute store, read back through the class and an instance.
class C:
    pass


C.attr = (held("class store", lambda: [C.attr, C().attr]),)
C.attr
C.attr = 0


# An io class of the program's, closed when the last reference goes.
class Report(io.StringIO):
    def close(self):
        seen.append(["close", sorted(box)])
        super().close()


box = {"r": Report()}
box.update({"r": None, "s": 2})

# Ordinary code: a generator left by `break` closes before the next call of the
# program's runs (a call of a builtin is not a safe point of the pure-Python guards);
# a context manager's exit and an exhausted generator are as before.
ordinary = []


def count():
    return len(ordinary)


def steps():
    try:
        yield 1
        yield 2
    finally:
        ordinary.append("closed")


for step in steps():
    break
after = count()
ordinary.append(after)


@contextlib.contextmanager
def scope():
    ordinary.append("enter")
    try:
        yield
    finally:
        ordinary.append("exit")


with scope():
    ordinary.append("body")
ordinary.append(sum(steps()))
[seen, ordinary]
