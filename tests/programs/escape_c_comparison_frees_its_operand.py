# Tries: free the operand of a C comparison from the program's code it calls. A dict keys
# view compared with the program's set subclass calls its __len__, then walks the view;
# __len__ empties the deque that was the view's only owner (deque.index lends its items
# unheld on 3.11, and a deque subclass's __iter__ can keep the repair's snapshot empty),
# and the walk reads the refilled memory as a view (attack pass 71: a full escape; an
# aware datetime's tzinfo did the same). Must: every C comparison holds its operands
# (repairs' callees.c), and deque's repair takes its snapshot through deque's own iterator
# (repairs' deque.c): __contains__ sees only the view's real keys, and ordinary comparisons
# answer as CPython does.
import collections

seen = []
spray = []


class Queue(collections.deque):
    def __iter__(self):
        return iter(())


class Other(set):
    def __len__(self):
        queue.clear()
        i = 0
        while i < 2000:
            spray.append(bytearray(47))
            i += 1
        return 1

    def __contains__(self, key):
        seen.append(type(key).__name__)
        return True


queue = Queue([{"a": 1}.keys()])
try:
    queue.index(Other())
except ValueError as e:
    pass
[seen, {"a": 1}.keys() == {"a"}, {"a": 1}.items() <= {("a", 1), ("b", 2)}, collections.deque([1, 2]) < collections.deque([1, 3])]
