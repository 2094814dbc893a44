# Tries: contextmanager(f)() forwards the with statement's exception and traceback to
# self.gen.throw without checking that f() made a generator: an object of the program's
# whose throw was a generated constructor (a namedtuple) kept the raw traceback. Must:
# the decorated function must return a generator (TypeError otherwise); an ordinary
# contextmanager still sees the exception.
import collections
import contextlib


class Fake:
    def __iter__(self):
        return self

    def __next__(self):
        return 1

    throw = collections.namedtuple("Kept", "kind value trace")


@contextlib.contextmanager
def fake():
    return Fake()


try:
    with fake():
        raise KeyError("x")
    refused = None
except Exception as error:  # noqa: BLE001
    refused = type(error).__name__

seen = []


@contextlib.contextmanager
def ordinary():
    try:
        yield 1
    except KeyError as error:
        seen.append(str(error))


with ordinary():
    raise KeyError("y")
[refused, seen]
