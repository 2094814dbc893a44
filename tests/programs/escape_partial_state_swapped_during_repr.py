# Tries: swap a functools.partial's arguments while its repr walks them. partial_repr takes
# the tuple's length once and re-reads pto->args on every step; copy.copy of another
# partial of the program's subclass, whose __new__ returns the partial being printed (an
# existing instance, which the fence on __new__ accepts), runs partial.__setstate__ on it
# from inside an item's __repr__, and the loop reads past the end of the shorter tuple
# (gh-144475). With the tuple placed before a bytes object of the program's, the words read
# there are pointers it chose: a full escape of the language layer (attack pass 90, F1).
# Must: no crash, and the victim's repr shows its own arguments (or the copy is refused).
import copy
import functools

made = []


class P(functools.partial):
    def __new__(cls, *args, **kwargs):
        if made:
            return made[0]
        return super().__new__(cls, *args, **kwargs)


class Swapper:
    def __repr__(self):
        try:
            copy.copy(other)
            return "swapped"
        except Exception as error:  # a refusal is a fine outcome
            return type(error).__name__


other = P(len, 9)
victim = P(print, Swapper(), *range(200))
made.append(victim)
text = repr(victim)
made.clear()
[text[:40], len(victim.args)]
