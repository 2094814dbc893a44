# Tries: re-state a live functools.partial through copy without a __new__ that returns an
# object twice: the victim is made by another class's allocator (getattr(P, "__new__")), so
# the fenced __new__ of its own class returns it for the first time when copy asks, and
# copy's state lands on a partial that is in use (attack pass 91, F1).
# Must: the copy is refused; the victim keeps its own fields.
import copy
import functools


class P(functools.partial):
    pass


ready = []


class Q(functools.partial):
    def __new__(cls, *args, **kwargs):
        if ready:
            return ready.pop()
        return super().__new__(cls, *args, **kwargs)


other = Q(len, 9)
victim = getattr(P, "__new__")(Q, print, *range(3))
ready.append(victim)
try:
    copy.copy(other)
    outcome = "copied"
except Exception as error:  # the refusal is the expected outcome
    outcome = type(error).__name__
[outcome, victim.func.__name__, len(victim.args)]
