# Tries: free a property's getter or setter while the property calls it. property's C code
# calls its accessor by a pointer it does not own, and a subclass of the program's (or
# abc.abstractproperty) can re-run property.__init__ on the live descriptor from inside
# the call: the accessor (a partial over a list's bound method) is freed, and the list
# method goes on writing into freed memory. Attack pass 67 made the getter route a full
# escape (a11, a11b). Must: every accessor is held for its call (repairs' descriptors.c),
# and a property's accessors are set once (pass 86 swapped them after the sandbox's
# check), so each route runs to its end: no crash, no forged object.
import abc
import functools

outcome = []


class L(list):
    pass


class Prop(property):
    def reset(self):
        try:
            super().__init__(None)
        except TypeError:
            outcome.append("reset refused")


class AbstractProp(abc.abstractproperty):
    def reset(self):
        try:
            super().__init__(None)
        except TypeError:
            outcome.append("reset refused")


class Feeds:
    """The getter's argument: the iterator list.extend drives, which resets the property."""

    steps = 0

    def __iter__(self):
        return self

    def __next__(self):
        Feeds.steps += 1
        if Feeds.steps in (1, 3):
            Feeds.prop.reset()
            junk = [bytes([1]) * 45 for _ in range(300)]
            return 7
        raise StopIteration


for kind in (Prop, AbstractProp):
    Feeds.steps = 0
    Feeds.prop = kind(functools.partial(L().extend))  # the list's only owner: the partial
    Feeds.p = Feeds.prop
    outcome.append([Feeds().p, Feeds.steps])


class Index:
    def __index__(self):
        Index.prop.reset()
        junk = [bytes([1]) * 45 for _ in range(300)]
        return 0


Index.prop = Prop(None, functools.partial(L().insert))
Index.p = Index.prop
Index().p = "stored"
junk = [bytes([2]) * 45 for _ in range(3000)]
outcome.append("set")


class Plain:
    @property
    def twice(self):
        return 2 * self.n

    @twice.setter
    def twice(self, value):
        self.n = value // 2


plain = Plain()
plain.twice = 10
outcome.append([plain.n, plain.twice])
outcome
