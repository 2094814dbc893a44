# Tries: make the membrane's check of a holder (a library object that keeps a callable and
# calls it later, judged by what it holds) recurse forever with ordinary code: holders built
# with a method bound to themselves (a decoder whose object_hook is self.hook, a matcher whose
# isjunk is self.junk, a defaultdict whose factory is its own method, a printer that is its
# own stream; attack pass 66). Must: each works as in CPython (what leads back to a holder
# being judged passes there), never a RecursionError.
import difflib
import json

class Dec(json.JSONDecoder):
    def __init__(self):
        super().__init__(object_hook=self.hook)
    def hook(self, d):
        return sorted(d)

class Matcher(difflib.SequenceMatcher):
    def __init__(self, a, b):
        super().__init__(self.junk, a, b)
    def junk(self, c):
        return c == " "

# The same family before 8978aa6: a defaultdict subclass whose factory is its own method.
import collections
class Counts(collections.defaultdict):
    def __init__(self):
        super().__init__(self.zero)
    def zero(self):
        return 0

class Enc(json.JSONEncoder):
    def __init__(self):
        super().__init__(default=self.fallback)
    def fallback(self, o):
        return str(o)

import pprint
class Collecting(pprint.PrettyPrinter):      # a printer that is its own stream
    def __init__(self):
        self.parts = []
        super().__init__(stream=self)
    def write(self, text):
        self.parts.append(text)

def collecting():
    c = Collecting()
    c.pprint([1, 2])
    return "".join(c.parts)

def counts():
    c = Counts()
    c["a"] += 1
    return dict(c)

out = []
for make in (lambda: Dec().decode('{"b": 1, "a": 2}'), lambda: Matcher("a b", "ab").ratio(), counts,
             lambda: Enc().encode({1, 2}), collecting):
    try:
        out.append(make())
    except RecursionError as e:
        out.append("RecursionError: " + str(e)[:60])
out
