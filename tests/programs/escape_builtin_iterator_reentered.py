# Tries: re-enter a builtin iterator from the code its own step runs. iter(f, sentinel)
# calls f and compares with the sentinel through pointers in the iterator it does not own,
# and clears both when it ends: re-entered from f (or from the comparison), it frees the
# callable while it still runs (attack pass 67 a14, a15: full escapes). iter(obj) over an
# object with only __getitem__ releases the sequence when an IndexError ends it, once in the
# re-entered step and once more in the outer one: the program's object is freed while the
# program still holds it. Must: a step of either refuses to be re-entered while it runs
# (RuntimeError, repairs' iterators.c), and ordinary uses of both give CPython's answers.
import functools

outcome = []


class L(list):
    pass


class Feeds:
    steps = 0

    def __iter__(self):
        return self

    def __next__(self):
        Feeds.steps += 1
        if Feeds.steps == 1:
            try:
                next(calls, None)
            except RuntimeError as e:
                outcome.append(type(e).__name__)
            return 1
        raise StopIteration


calls = iter(functools.partial(L().extend, Feeds()), None)
outcome.append(next(calls, "done"))


class Seq:
    depth = 0

    def __getitem__(self, i):
        Seq.depth += 1
        if Seq.depth == 1:
            try:
                next(items)
            except RuntimeError as e:
                outcome.append(type(e).__name__)
        raise IndexError


seq = Seq()
items = iter(seq)
outcome.append(list(items))
junk = [bytes(40) for _ in range(1000)]
outcome.append(type(seq).__name__)


class Squares:
    def __getitem__(self, i):
        if i >= 4:
            raise IndexError
        return i * i


lines = iter(["a", "b", "", "c"])
outcome.append([list(Squares()), list(iter(lines.__next__, "")), 9 in Squares()])
outcome
