# Tries: smuggle __getattribute__ into make_dataclass's namespace under a str subclass
# whose startswith() lies. Must: SecurityError.
import dataclasses
class S(str):
    def startswith(self, p):
        return False
def g(self, n):
    return 1
dataclasses.make_dataclass('D', ['a'], namespace={S('__getattribute__'): g})
