# Tries: run the program's code inside setattr, after its checks and before its store.
# Admitting the value can compare dict keys (the membrane looks for a namespace's
# __builtins__), and a str subclass key with that hash runs its __eq__ there. The __eq__
# defines a class below C that combines it with pprint.PrettyPrinter: the checks had found
# no library class below C, so _stream (PrettyPrinter's state) became a property whose
# setter is a C callable storing the worker's real stdout raw. Must: the store is refused
# (the value is admitted before anything is checked); setattr of an ordinary value works.
import functools
import pprint

state = {"armed": False, "made": None}


class C:
    pass


class S(str):
    def __hash__(self):
        return hash("__builtins__")

    def __eq__(self, other):
        if state["armed"]:
            state["armed"] = False

            class D(C, pprint.PrettyPrinter):
                pass

            state["made"] = D
        return False


box = {}
box[S("k")] = 1
intercept = property(None, functools.partial(dict.setdefault, box))
state["armed"] = True
outcome = []
try:
    setattr(C, "_stream", intercept)
    outcome.append("stored")
except Exception as e:
    outcome.append(type(e).__name__)


class Point:
    pass


p = Point()
setattr(p, "x", 3)
[outcome, state["made"] is not None, p.x]
