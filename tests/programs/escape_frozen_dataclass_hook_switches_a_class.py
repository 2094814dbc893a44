# Tries: the __setattr__ a frozen dataclass generates ends in object.__setattr__ for an
# instance of a subclass, with any name: held (vars(F), F.__setattr__, q.__setattr__) it
# switched the program's object into a library class (__class__ = json.JSONEncoder), after
# which the native attribute paths treated a library instance as the program's (pass 81, F4).
# Must: refused on every route (the namespace shows the hook by its repr only: a TypeError
# when called; SecurityError otherwise); ordinary writes through the hook still work.
import dataclasses
import json
@dataclasses.dataclass(frozen=True)
class F:
    x: int
class Q(F):
    pass
q = Q(1)
outcomes = []
for attempt in (
    lambda: vars(F)["__setattr__"](q, "__class__", json.JSONEncoder),
    lambda: F.__setattr__(q, "__class__", json.JSONEncoder),
    lambda: q.__setattr__("__class__", json.JSONEncoder),
    lambda: q.__setattr__("__dict__", {}),
):
    try:
        attempt()
        outcomes.append("done")
    except Exception as exc:
        outcomes.append(type(exc).__name__)
q.__setattr__("note", 1)
[outcomes, type(q).__name__, q.note]
