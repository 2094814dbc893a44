# Tries: make the reply's error line (and its reporter) the program's choice: a list subclass
# whose __iter__ a string defined (a string's frames are not the program's lines) raises a
# MemoryError+SyntaxError of the program's while the result is converted; the reporter fell
# back to the exception's own filename/lineno, comparing them with the program's __eq__
# (a SystemExit from there became the sandbox's own error) (attack pass 82, F3).
# Must: the program's error with no line (no frame of the program ran), never line 31337.
import sys
class E(MemoryError, SyntaxError):
    def __init__(self, *args):
        SyntaxError.__init__(self, *args)
class Name:
    def __eq__(self, other):
        sys.exit("SystemExit from __eq__, inside the runner's reporter")
    __hash__ = None
g = {"E": E, "Name": Name}
exec("""
class R(list):
    def __iter__(self):
        raise E("boom", ("<code>", 31337, 1, "text"))
""", g)
g["R"]([1, 2])
