# Tries: re-enter an itertools iterator from the program's __next__ while the iterator's own
# next() is running. zip_longest's cleanup then frees the chain that the outer call is still
# running on (gh-142732, open upstream in every version). Attack pass 65 refilled the
# freed chain with bytes and got a fake bytearray back in the zip's result: a full escape
# (its program a15). The same class: itertools.count with a step whose __radd__ calls
# next() (gh-154670). Must: each re-entry raises (ValueError: the sandbox's zip_longest and
# count over a step of the program's are generators, which cannot be re-entered). No crash,
# no forged object; ordinary zip_longest and count give CPython's answers.
import itertools


class Reenter:
    def __init__(self):
        self.target = None

    def __iter__(self):
        return self

    def __next__(self):
        target, self.target = self.target, None
        if target is None:
            raise StopIteration
        next(target, None)
        raise StopIteration


outcome = []
driver = Reenter()
driver.target = itertools.zip_longest(itertools.chain(driver), itertools.repeat(None))
try:
    next(driver.target)
    outcome.append("ran")
except Exception as e:  # noqa: BLE001 - today StopIteration, after the chain was freed under it
    outcome.append(type(e).__name__)


class Step:
    armed = True

    def __index__(self):
        return 1

    def __radd__(self, other):
        if Step.armed:
            Step.armed = False
            next(counter)
        return other + 1


counter = itertools.count(1 << 100, Step())
try:
    next(counter)
    next(counter)  # the step's addition
    outcome.append("ran")
except Exception as e:  # noqa: BLE001
    outcome.append(type(e).__name__)
ordinary = [
    list(itertools.zip_longest("ab", [1, 2, 3], fillvalue="-")),
    list(itertools.islice(itertools.count(2, 3), 3)),
    list(itertools.islice(itertools.count(0.5), 2)),
]
[outcome, ordinary]
