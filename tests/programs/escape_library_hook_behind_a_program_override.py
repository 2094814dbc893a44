# Tries: a library class's private hook, overridden with a def by a program class B(Lib),
# then given a C callable by a value the check compared only with B: lent by another
# program base with no library base of its own (class X(A, B): X's MRO puts A's value
# first), or set in the body of a subclass of B. pprint's _format gets the worker's
# stream; ExitStack's _push_cm_exit gets closing.__exit__ raw. Must: each refused (every
# library class of every base's MRO that defines the name counts); def overrides at
# every level keep working.
import contextlib
import functools
import pprint

got = []


def outcome(action):
    try:
        action()
    except Exception as error:  # noqa: BLE001
        return type(error).__name__
    return "done"


class A:
    _format = functools.partial(max, key=got.append)


class B(pprint.PrettyPrinter):
    def _format(self, obj, stream, *rest):
        stream.write(repr(obj))


def lent_past_the_override():
    class X(A, B):
        pass

    X().pformat([1, 2])


def set_below_the_override():
    class Y(B):
        _format = functools.partial(max, key=got.append)

    Y().pformat([1, 2])


class Hooks:
    _push_cm_exit = functools.partial(max, key=got.append)


class Base(contextlib.ExitStack):
    def _push_cm_exit(self, cm, cm_exit):
        return None


def exit_stack():
    class S(Hooks, Base):
        pass

    with S() as stack:
        stack.enter_context(contextlib.closing(object()))


class Deeper(B):
    def _format(self, obj, stream, *rest):
        stream.write("<" + repr(obj) + ">")


[[outcome(lent_past_the_override), outcome(set_below_the_override), outcome(exit_stack)], got, Deeper().pformat([1])]
