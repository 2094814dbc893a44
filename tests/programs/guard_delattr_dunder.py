# Tries: delete an instance's __dict__ with delattr().
# Must: SecurityError.
class A:
    pass
a = A()
delattr(a, '__dict__')
