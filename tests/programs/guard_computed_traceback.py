# Tries: read an exception's __traceback__ with getattr and a literal name.
# Must: SecurityError.
try:
    1 / 0
except Exception as e:
    t = getattr(e, '__traceback__')
