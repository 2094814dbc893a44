# Tries: keep a class from inside its own statement (a descriptor's __set_name__, its
# __init_subclass__), make the statement fail on purpose after every check of the members
# ran, then use the abandoned class where no guard looks: C code calls it
# (map(operator.call, box, ...)) to make a "member" of an Enum over functools.partial
# around the sandbox's print (which the membrane hands out only as a crossing) and calls
# that; and a registration into collections.abc.Sequence made by the class's own
# __init_subclass__ outlives the failed statement. Must: calling the abandoned class makes
# nothing (SecurityError), the failed class is not registered, and a class whose statement
# finishes is registered as it asked.
import collections.abc
import enum
import functools
import operator

box = []


class Keep:
    def __set_name__(self, owner, name):
        box.append(owner)

    def __get__(self, instance, owner=None):
        return 0


class Fail:
    def __set_name__(self, owner, name):
        raise ValueError("stop here")

    def __get__(self, instance, owner=None):
        return 0


def double(x):
    return 2 * x


outcome = []
try:

    class Ops(functools.partial, enum.Enum):
        keep = Keep()
        DOUBLE = (double,)
        fail = Fail()

except ValueError as e:
    outcome.append(str(e))
try:
    made = list(map(operator.call, box, [print]))
    outcome.append(list(map(operator.call, made, ["printed through an abandoned class"])))
except Exception as e:
    outcome.append(type(e).__name__)
outcome.append(list(map(len, box)))  # its members are gone too


registered = []


class Registering:
    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        collections.abc.Sequence.register(cls)
        registered.append(cls)
        if cls.__name__ == "Failing":
            raise ValueError("the statement fails after the registration")


try:

    class Failing(Registering):
        def __getitem__(self, i):
            return i

        def __len__(self):
            return 0

except ValueError as e:
    outcome.append(str(e))


class Finished(Registering):
    def __getitem__(self, i):
        return i

    def __len__(self):
        return 0


[
    outcome,
    list(map(issubclass, registered, [collections.abc.Sequence] * 2)),
    isinstance(Finished(), collections.abc.Sequence),
]
