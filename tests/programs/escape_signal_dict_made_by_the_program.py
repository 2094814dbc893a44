# Tries: call the class of a decimal context's flags. _decimal makes that class at import
# and it is named after its metaclass's module ("abc.SignalDict"), an offered module's
# name, so the membrane approved it by that name; called, it made a signal dict with no
# signal words, and decimal.Context(flags=d) read through a NULL pointer (attack pass 80:
# the worker crashed). Must: the class is a stand-in the program cannot call; contexts'
# flags and traps work as before, and isinstance() with the class still answers.
import decimal

outcome = []
kind = type(decimal.getcontext().flags)
try:
    made = kind()
    decimal.Context(flags=made)
    outcome.append("made")
except Exception as e:
    outcome.append(type(e).__name__)
context = decimal.Context(prec=5, traps=[decimal.DivisionByZero])
context.flags[decimal.Inexact] = True
outcome.append([context.flags[decimal.Inexact], context.traps[decimal.DivisionByZero], len(context.traps) > 5])
outcome.append(isinstance(context.flags, kind))
outcome.append(str(context.divide(decimal.Decimal(1), decimal.Decimal(3))))
outcome
