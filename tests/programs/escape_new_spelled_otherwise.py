# Tries: the __new__ rule (its result must be an instance of the class) for every spelling
# the class statement accepts for a hook: a classmethod of a def, a callable instance, and
# those wrapped again; unfenced, copy and UserDict.__copy__ wrote the program's state into
# typing.Type, whose flag then made it the real type() (attack pass 84, F2).
# Must: SecurityError for each spelling, before the class exists; a def still works.
class Maker:
    def __call__(self, cls, *args):
        return cls
def make(cls, *args):
    return cls
spellings = {
    "classmethod(def)": classmethod(make),
    "callable instance": Maker(),
    "staticmethod(instance)": staticmethod(Maker()),
    "classmethod(instance)": classmethod(Maker()),
}
outcomes = {}
for name, hook in spellings.items():
    try:
        class C:
            __new__ = hook
        outcomes[name] = "made"
    except Exception as exc:
        outcomes[name] = type(exc).__name__
class Fine:
    def __new__(cls):
        return super().__new__(cls)
[outcomes, type(Fine()).__name__]
