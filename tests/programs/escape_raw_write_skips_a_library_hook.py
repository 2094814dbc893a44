# Tries: object.__setattr__ (the guarded write that skips the class's own hook) on the
# program's subclass of uuid.UUID, whose own __setattr__ keeps UUIDs immutable: it stored
# any int in the slot, and str(u) and u.bytes broke (attack pass 83, F3).
# Must: the library base's hook still refuses (TypeError); a frozen dataclass of the
# program's is still written by object.__setattr__ in __post_init__.
import dataclasses
import uuid
class U(uuid.UUID):
    pass
u = U(int=5)
try:
    object.__setattr__(u, "int", 2 ** 200)
    outcome = "written"
except TypeError as exc:
    outcome = str(exc)
@dataclasses.dataclass(frozen=True)
class R:
    w: int
    area: int = dataclasses.field(init=False)
    def __post_init__(self):
        object.__setattr__(self, "area", self.w * 2)
[outcome, u.int, R(3).area]
