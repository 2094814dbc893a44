# Tries: free an object while C code formats it. list's repr formats each item by the
# pointer in the list (it does not hold the item), and slice's repr reads its start, stop
# and step before it formats the start: a start whose __repr__ (the program's) clears the
# list frees the slice and its stop, and slice's repr formats the freed stop, whose memory
# the program refilled with a forged object (attack pass 72: a full escape). An
# exception's str and repr lend `args[0]` the same way, and the program can replace the
# args of its own exception class from inside it. Must: every repr and str of the interpreter's C types holds its
# object for the call (repairs' callees.c), so the slice outlives the clear and its
# stop is formatted as it was, and ordinary reprs give CPython's answers.
outcome = []
holder = []


class Clears:
    def __repr__(self):
        holder.clear()
        refill = [bytes(300) for _ in range(200)]
        return "start"


stop = "s" * 300
holder.append(slice(Clears(), stop))
del stop
text = repr(holder)
outcome.append([text[:14], len(text), text.endswith("s', None)]")])


class Rewrites:
    def __init__(self, error):
        self.error = error

    def __repr__(self):
        self.error.args = ()
        refill = [bytes(300) for _ in range(200)]
        return "rewritten"


class Missing(KeyError):
    pass


class Invalid(ValueError):
    pass


error = Missing()
error.args = (slice(Rewrites(error), "k" * 300),)
outcome.append(len(str(error)))
error = Invalid()
error.args = (slice(Rewrites(error), "v" * 300),)
outcome.append(len(repr(error)))

outcome.append(
    [
        repr([1, "a", (2, None), {3: [4]}, slice(1, 2, 3)]),
        str(KeyError("k")),
        repr(ValueError("v", 1)),
        str({1, 2}),
        repr(range(3)),
        f"{[1.5]!s}",
    ]
)
outcome
