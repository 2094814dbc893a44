# Tries: statistics.mean derives the result's class from the data with the real type():
# for a class given as data (with a numeric protocol of the program's) it returns the
# real metaclass of what __truediv__ returns. Called directly the result passes the
# membrane at the call; called by map() it went into a list unseen, and map(operator.call,
# ...) built classes from a dict with it. Must: the library function's result passes the
# membrane inside the call, so map() gets the sandbox's stand-in, which refuses to build;
# ordinary means through map() keep working.
import abc
import operator
import statistics


class V(abc.ABC):
    pass


class Q:
    def __radd__(self, other):
        return self

    def is_finite(self):
        return False

    def __truediv__(self, other):
        return V


class X:
    @staticmethod
    def as_integer_ratio():
        return (Q(), None)


made = list(map(statistics.mean, [[X]]))
try:
    list(map(operator.call, made, ["K"], [(object,)], [{}]))
    refused = None
except TypeError as error:
    refused = type(error).__name__
[refused, list(map(statistics.mean, [[1, 2, 3], [4.0, 5.0]]))]
