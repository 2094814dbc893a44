# Tries: a bare raise in a hook library code calls from its own except clause raises the
# library's exception: singledispatch looks up the real type in its registry and calls
# a registered ABC's __subclasshook__ while handling KeyError(<real type>). except* then
# wraps it in a group, and a match pattern star-captures its args, holding the real type
# for map(operator.call, ...). Must: the exception passes the membrane before the bare
# raise (its args hold the stand-in, which refuses to build); a bare raise in the
# program's own handler still re-raises its exception.
import abc
import functools
import operator


class A(abc.ABC):
    @classmethod
    def __subclasshook__(cls, C):
        raise


@functools.singledispatch
def f(x):
    return "base"


f.register(A, lambda x: "A")
held = []
try:
    f(int)
except* KeyError as group:
    match group:
        case BaseExceptionGroup(exceptions=(KeyError(args=[*captured]),)):
            held = captured
try:
    list(map(operator.call, held, ["K"], [()], [{}]))
    refused = None
except TypeError as error:
    refused = type(error).__name__


def again():
    try:
        raise ValueError("mine")
    except ValueError:
        raise


try:
    again()
except ValueError as error:
    ordinary = str(error)
[refused, ordinary]
