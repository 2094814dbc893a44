# Tries: rename a dataclass field to __reduce_ex__, so that asdict()/replace() read it
# with the real getattr from the program's instance (copyreg.__newobj__, __dict__ ...).
# Must: SecurityError: library objects (a Field) are read-only.
import dataclasses
@dataclasses.dataclass
class D:
    a: int
dataclasses.fields(D)[0].name = "__reduce_ex__"
dataclasses.asdict(D(1))
