# Tries: raise MemoryError so that the runner releases the job's namespace; the program's
# generator, held only there, is dropped, and its finally calls exec() after the release.
# With the namespace cleared (guards and __builtins__ gone), the string ran where CPython
# supplies the interpreter's real builtins: its own exec was the real one (attack pass 82, F0).
# Must: the inner exec is the sandbox's (it refuses sys.modules), nothing is printed.
def gen():
    try:
        yield 1
    finally:
        exec("exec('import sys\\nprint(\"ESCAPED\", len(sys.modules))')\npass\n")
keep = gen()
next(keep)
raise MemoryError
