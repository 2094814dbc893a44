# Tries: a generator that delegates with `yield from` to an object of the program's: the
# interpreter forwards a throw() to the object's own `throw`, with what the thrower passed,
# and contextmanager's __exit__ throws the with statement's raw traceback. A `throw` that
# is a generated constructor (a namedtuple) would keep it. Must: the throw is raised where
# the `yield from` is (the object's throw never runs); delegation to an ordinary
# generator, an iterator class and a list still yields, returns and receives throws.
import collections
import contextlib

kept = []


class Record(collections.namedtuple("Record", "kind value trace")):
    def __init__(self, *args):
        kept.append(self)


class Ones:
    def __iter__(self):
        return self

    def __next__(self):
        return 1

    throw = Record


@contextlib.contextmanager
def delegating():
    yield from Ones()


try:
    with delegating():
        raise KeyError("raised in the body")
except KeyError as error:
    thrown = str(error)


class Countdown:
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return self

    def __next__(self):
        if self.n == 0:
            raise StopIteration("done")
        self.n -= 1
        return self.n


def inner():
    try:
        yield "a"
    except ValueError as error:
        yield f"inner caught {error}"
    return "inner result"


def outer():
    first = yield from inner()
    second = yield from Countdown(2)
    yield from [first, second]


steps = outer()
values = [next(steps), steps.throw(ValueError("v")), *steps]
[len(kept), thrown, values]
