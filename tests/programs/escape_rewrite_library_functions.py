# Tries: rewrite library functions through library decorators: update_wrapper copies
# the program's function's name, doc and attributes (and the sandbox's trust marker)
# onto json.dumps; abstractmethod flags json.loads. Must: SecurityError.
import functools, json
def mine():
    pass
mine.sandbox_fenced_getattr = True
functools.update_wrapper(json.dumps, mine)
