# Tries: swap a functools.partial's state while its call runs. partial_call calls pto->fn by
# a borrowed pointer; a key function, called by the list.sort the partial calls, runs
# copy.copy of another partial of the program's subclass whose __new__ returns the running
# one, and partial.__setstate__ replaces fn with len: the bound sort method and the list it
# is sorting are freed while the sort runs (double free; attack pass 90, F1).
# Must: no crash; the copy is refused and the sort finishes.
import copy
import functools

made = []


class P(functools.partial):
    def __new__(cls, *args, **kwargs):
        if made:
            return made[0]
        return super().__new__(cls, *args, **kwargs)


other = P(len)
outcome = []


def key(x):
    if not outcome:
        try:
            copy.copy(other)
            outcome.append("swapped")
        except Exception as error:  # a refusal is the expected outcome
            outcome.append(type(error).__name__)
    return x


numbers = list(range(50, 0, -1))
victim = P(numbers.sort, key=key)
made.append(victim)
victim()
made.clear()
[outcome, numbers[:3]]
