# Tries: a match keyword pattern reads `mro` with the real getattr, past the guard that
# hands out a checked cls.mro(): the bound type.mro of the sandbox's alias class returns
# the C GenericAlias class. Must: SecurityError for the held bound method; cls.mro()
# of the program's own class keeps working (a library class's is refused).
G = type(list[int])
try:
    match G:
        case object(mro=m):
            m()
    refused = None
except Exception as error:  # noqa: BLE001
    refused = type(error).__name__
class Number(int):
    pass


[refused, [c.__name__ for c in Number.mro()]]
