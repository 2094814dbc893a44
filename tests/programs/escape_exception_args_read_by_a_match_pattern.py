# Tries: singledispatch raises KeyError(cls) over whatever it was handling (the real
# `type` for a class's class); `e.args` is checked element by element when read as an
# attribute, but a match keyword pattern (`case KeyError(args=[*xs])`) reads args with
# the real getattr, as do super(LookupError, e).args and an alias forwarding the name.
# Must: whatever route reads them, the args are what the membrane admits (for a
# function's class, the stand-in type(g) gives, not the raw constructor).
import abc
import functools
import operator


class A(abc.ABC):
    @classmethod
    def __subclasshook__(cls, other):
        return NotImplemented if other.__name__ in ("A", "B") else True


class B(abc.ABC):
    @classmethod
    def __subclasshook__(cls, other):
        return NotImplemented if other.__name__ in ("A", "B") else True


@functools.singledispatch
def f(x):
    return 0


f.register(A, lambda x: 1)
f.register(B, lambda x: 2)


def g():
    pass


caught = None
try:
    f(g)
except RuntimeError as error:
    match error.__context__:
        case KeyError(args=[*xs]):
            caught = xs
        case _:
            caught = []
# Compared in C code, where no guard reads the list's element.
list(map(operator.is_, caught, [type(g)]))
