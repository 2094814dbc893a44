# Tries: have functools.update_wrapper copy a library function's __globals__ onto its own
# function, by naming the attribute in updated=. Must: SecurityError.
import functools, uuid
def h():
    pass
functools.update_wrapper(h, uuid.uuid4, assigned=(), updated=('__globals__',))
