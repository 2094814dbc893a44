# Tries: a match keyword pattern reads `format` off a str with the real getattr, past the
# attribute guard that swaps in the checked formatter: the real bound str.format resolves
# "{0.__globals__}" with the real getattr. Must: the held method is the checked one, so
# the field is refused; an ordinary field formatted through it keeps working.
def f():
    return 1


match "{0.__globals__}":
    case str(format=fmt):
        try:
            fmt(f)
            refused = None
        except Exception as error:  # noqa: BLE001
            refused = type(error).__name__
match "{name}-{0}":
    case str(format=fmt):
        ordinary = fmt(7, name="x")
[refused, ordinary]
