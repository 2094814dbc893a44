# Tries: every use of the name `print` other than a call compiles to a read of the
# sandbox's Printer method, which no guard saw: the program held a method bound to an
# object holding the worker's real stdout. Must: the method's object stays out of reach
# (SecurityError), and print as a value works as a function (a dispatch table, map).
p = print
handlers = {"show": print}
handlers["show"]("hi")
list(map(print, [1, 2]))
try:
    getattr(p, "__" + "self__")
    refused = None
except Exception as error:  # noqa: BLE001
    refused = type(error).__name__
refused
