# Tries: read what a library generated for the program's class out of its namespace
# (vars(P), P.__dict__, a Formatter field over it), where it was the raw function rather
# than the UnboundMethod getattr gives, and run it with a self the library never made: the
# dataclass __init__ sets json.JSONEncoder.default (attack pass 81, F1: the first link of a
# chain to the real type and eval); the generated __repr__ reads any attribute of print.
# Must: SecurityError each time, and json.JSONEncoder keeps its own default.
import dataclasses
import json
import string
@dataclasses.dataclass
class P:
    default: object = None
def mine(self, o):
    return "changed"
refused = []
routes = [
    lambda: vars(P)["__init__"],
    lambda: P.__dict__["__init__"],
    lambda: string.Formatter().get_field("0.__dict__[__init__]", (P,), {})[0],
]
for route in routes:
    try:
        route()(json.JSONEncoder, mine)
    except Exception as exc:
        refused.append(type(exc).__name__)
try:
    vars(P)["__repr__"](print)
except Exception as exc:
    refused.append(type(exc).__name__)
try:
    json.dumps(object())
except TypeError:
    refused.append("default kept")
refused
