# Tries: vars() of the program's own object is its instance dict, which library code reads
# protocol names through before the class (dataclasses.replace reads
# obj.__dataclass_fields__): forge the field list there, so replace() reads any attribute
# (method wrappers, a library base's private table) with the real getattr. Must:
# SecurityError at the write of the special key, by item assignment, update() or C code;
# ordinary use of vars() (update, json.dumps) keeps working.
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
vars(d).update(a=5, b=6)
[refused, json.dumps(vars(d)), dataclasses.replace(d).a]
