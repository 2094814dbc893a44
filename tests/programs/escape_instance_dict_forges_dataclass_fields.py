# Tries: vars() of the program's own object is its instance dict, which library code reads
# protocol names through before the class (dataclasses.replace reads
# obj.__dataclass_fields__): forge the field list there, so replace() reads any attribute
# (method wrappers, a library base's private table) with the real getattr; also with
# dict's own methods, which no dict subclass can override (dict.__setitem__(vars(d), ...)).
# Must: SecurityError at the write of the special key through the mapping's methods, and
# nothing written any other way reaches the object; ordinary use of vars() (update,
# json.dumps, a write that shows on the object) keeps working.
import dataclasses
import json
import operator


@dataclasses.dataclass
class D:
    a: int = 1


d = D()
refused = []
for write in (
    lambda: vars(d).__setitem__("__dataclass_fields__", {}),
    lambda: vars(d).update({"__dataclass_fields__": {}}),
    lambda: list(map(operator.setitem, [vars(d)], ["__dataclass_fields__"], [{}])),
    lambda: vars(d).setdefault("__deepcopy__", print),
):
    try:
        write()
        refused.append(None)
    except Exception as error:  # noqa: BLE001
        refused.append(type(error).__name__)
for write in (
    lambda: dict.__setitem__(vars(d), "__dataclass_fields__", {}),
    lambda: dict.update(vars(d), {"__dataclass_fields__": {}}),
    lambda: dict.__init__(vars(d), __dataclass_fields__={}),
):
    write()
vars(d).update(a=5, b=6)
[refused, json.dumps(vars(d)), dataclasses.replace(d).a, d.b, "__dataclass_fields__" in vars(d)]
