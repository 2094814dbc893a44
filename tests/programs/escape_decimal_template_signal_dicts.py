# Tries: decimal's templates (DefaultContext is copied into every new context) changed
# through what attribute writes do not see: their signal dicts (a subscript store,
# update(), operator.setitem) and their own clear_traps()/clear_flags(). Must: the
# library's templates stay as they were (a new Context still traps division by zero);
# the program holds copies it may change; attribute writes on them stay refused;
# ordinary context use works.
import decimal
import operator


def outcome(action):
    try:
        action()
    except Exception as error:  # noqa: BLE001
        return type(error).__name__
    return "done"


decimal.DefaultContext.traps[decimal.DivisionByZero] = False
decimal.DefaultContext.traps.update({decimal.InvalidOperation: False})
operator.setitem(decimal.DefaultContext.traps, decimal.Overflow, False)
decimal.BasicContext.clear_traps()
decimal.ExtendedContext.clear_flags()


def set_prec():
    decimal.DefaultContext.prec = 3


def divide_in_a_new_context():
    decimal.Context().divide(decimal.Decimal(1), decimal.Decimal(0))


decimal.getcontext().prec = 6
with decimal.localcontext() as local:
    local.prec = 3
    third = str(decimal.Decimal(1) / decimal.Decimal(3))

[
    outcome(set_prec),
    outcome(divide_in_a_new_context),
    str(decimal.Decimal(1) / decimal.Decimal(7)),
    third,
    decimal.Context(prec=5).prec,
]
