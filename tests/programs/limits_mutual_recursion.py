# Tries: exhaust the stack through two functions calling each other without end.
# Must: RecursionError on line 4 or 6 (either call can be the one that overflows).
def a(n):
    return b(n)
def b(n):
    return a(n + 1)
a(0)
