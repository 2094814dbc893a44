# Tries: use a decimal context after it is freed. A context's signal dicts (traps, flags)
# hold a raw pointer into it and no reference, so `decimal.Context().traps` outlives the
# context: reading it reads the freed block, writing it sets bits in whatever the program
# put there (attack pass 68: a full escape). And an operation holds the current context by
# a pointer it does not own while it reads a Fraction's numerator (the program's
# property), which may setcontext() another one and free it: the operation then writes
# its status into freed memory. Must: a dying context gives the signal dicts still held a
# word of their own, and comparisons hold the current context (repairs' decimal.c), so the
# signal dicts keep answering, the operation raises InvalidOperation into the
# new current context as CPython would, and the program's bytes stay as it made them.
import decimal
import fractions

outcome = []
traps = decimal.Context().traps
refill = [bytes(60) for _ in range(400)]
outcome.append([traps[decimal.DivisionByZero], traps[decimal.Overflow], traps[decimal.Inexact]])
traps[decimal.Inexact] = True
traps[decimal.Rounded] = True
outcome.append([len([b for b in refill if b != bytes(60)]), traps[decimal.Inexact]])

decimal.setcontext(decimal.Context(prec=5))
spare = []


class Third(fractions.Fraction):
    @property
    def numerator(self):
        decimal.setcontext(decimal.Context())
        spare.extend(bytes(60) for _ in range(400))
        return 1

    @property
    def denominator(self):
        return 3


try:
    outcome.append(decimal.Decimal("NaN") < Third(1, 3))
except decimal.InvalidOperation as e:
    outcome.append(type(e).__name__)
outcome.append(len([b for b in spare if b != bytes(60)]))

with decimal.localcontext() as ctx:
    ctx.prec = 6
    outcome.append(str(decimal.Decimal(1) / decimal.Decimal(7)))
outcome.append(str((decimal.Decimal("19.99") * 3).quantize(decimal.Decimal("0.01"))))
outcome
