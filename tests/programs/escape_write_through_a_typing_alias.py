# Tries: replace a method of collections.Counter by assigning through typing.Counter[str].
# Must: SecurityError.
import typing
def f(self):
    return 1
typing.Counter[str].most_common = f
