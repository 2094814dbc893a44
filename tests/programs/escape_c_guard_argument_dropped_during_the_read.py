# Tries: the C getattr guard kept obj borrowed across the read; itertools.accumulate calls
# getattr(total, name) with its total borrowed, and a property on the total advances the
# accumulate, which drops the total: the guard then handed the freed object on (a double
# free, turned by pass 42 into a bytearray over a bytes header, arbitrary memory access
# and the interpreter's real exec).
# Must: the guard holds its arguments for the read, as a Python frame does: the program
# survives. (itertools.accumulate is now the documentation's Python equivalent, which the
# property cannot re-enter: ValueError, the C guard's read never under a dropped total.)
import itertools


class Obj:
    real = 5

    @property
    def pub(self):
        next(acc)
        return (1, 2)


getattr(1, "pub", None)  # "pub" becomes a known public name: the C fast path
getattr(1, "real", None)


def gen():
    yield Obj()
    yield "pub"
    yield "real"


acc = itertools.accumulate(gen(), getattr)
next(acc)
try:
    second = next(acc)
except ValueError as error:
    second = str(error)
["survived", second]
