# Tries: hand enum's functional API names that pass the check on the first iteration and
# add __reduce_ex__ on the second. Must: build the enum from what was checked: ["A"].
import enum
class Names:
    def __init__(self):
        self.calls = 0
    def __iter__(self):
        self.calls += 1
        if self.calls == 1:
            return iter([('A', 1)])
        return iter([('A', 1), ('__reduce_ex__', 1)])
E = enum.Enum('E', Names())
[m.name for m in E]
