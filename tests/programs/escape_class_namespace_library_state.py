# Tries: change what a library metaclass or decorator keeps in the program's class through
# its namespace: the real _member_names_ list of an enum (clear it, then extend the enum),
# the dataclass's own _DataclassParams record (pass 81, F4b, F5).
# Must: the enum and the dataclass are unchanged (the program gets copies).
import dataclasses
import enum
class Color(enum.Enum):
    RED = 1
vars(Color)["_member_names_"].clear()
try:
    class Sub(Color):
        GREEN = 2
    extended = True
except TypeError:
    extended = False
@dataclasses.dataclass(frozen=True)
class Base:
    x: int
params = Base.__dataclass_params__
[extended, len(Color), params is Base.__dataclass_params__, params.frozen]
