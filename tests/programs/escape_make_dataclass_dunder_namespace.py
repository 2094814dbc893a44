# Tries: give a dataclass built by make_dataclass a __getattr__ through its namespace dict.
# Must: SecurityError.
import dataclasses
def g(self, name):
    return 1
dataclasses.make_dataclass('D', ['a'], namespace={'__getattr__': g})
