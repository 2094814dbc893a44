# Tries: functools.partialmethod.__get__ stores what the descriptor's result is bound to
# in the partial it returns (result.__self__ = new_func.__self__): with a descriptor of
# the program's that returns an offered builtin function, that is the function's real
# module (sys.getsizeof.__self__ is sys). Must: the partial holding a real module in its
# attributes is refused when the program reads it; a partialmethod over the program's own
# method keeps working (its __self__ is the program's instance).
import functools
import sys


class Gives:
    def __get__(self, obj, cls=None):
        return sys.getsizeof


class Holder:
    size = functools.partialmethod(Gives())

    def scale(self, factor, value):
        return factor * value

    double = functools.partialmethod(scale, 2)


try:
    Holder().size
    outcome = "read"
except Exception as e:
    outcome = type(e).__name__
[outcome, Holder().double(21)]
