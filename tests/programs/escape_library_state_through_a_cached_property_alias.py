# Tries: read a library base's instance state through a cached_property that the program
# named like it (PrettyPrinter's _stream, the worker's stdout), aliased under a public name
# a library reads with the real getattr (Fraction reads numerator from any registered
# Rational and keeps it), then take it out of the tuple a library method returns
# (Fraction.as_integer_ratio held unbound); and hand a member the membrane refuses to C
# code by iterating its Enum class. Must: each step is refused; the program's own cached
# properties, unbound library methods and Enums over partial keep working.
import enum
import fractions
import functools
import numbers
import operator
import pprint


def a_value_the_membrane_refuses():
    """A tuple C code copied out of a list a hook filled: it holds a class whose statement
    failed, which no route may hand the program."""
    kept = []

    class Keep:
        def __set_name__(self, owner, name):
            kept.append(owner)

    class Fail:
        def __set_name__(self, owner, name):
            raise ValueError("abandoned")

    try:

        class Abandoned:
            keep = Keep()
            fail = Fail()

    except RuntimeError:  # the interpreter's wrapping of what __set_name__ raised
        pass
    return tuple(kept)


REFUSED = a_value_the_membrane_refuses()


def outcome(action):
    try:
        action()
    except Exception as error:  # noqa: BLE001
        return type(error).__name__
    return "done"


def never(self):
    return None


cp = functools.cached_property(never)


class P(pprint.PrettyPrinter):
    _stream = cp
    denominator = 1


P.numerator = cp
numbers.Rational.register(P)


def refused_member():
    class E(functools.partial, enum.Enum):
        A = REFUSED

    return list(map(operator.call, E, ["called by a member the membrane refuses"]))


class Report(pprint.PrettyPrinter):
    @functools.cached_property
    def width_in_cm(self):
        return 2.5


def double(x):
    return 2 * x


class Ops(functools.partial, enum.Enum):
    DOUBLE = (double,)


[
    [outcome(lambda: fractions.Fraction(P())), outcome(refused_member)],
    Report().width_in_cm,
    list(fractions.Fraction.as_integer_ratio(fractions.Fraction(1, 3))),
    Ops.DOUBLE(4),
]
