# Tries: free the item json's C encoder hands to default=. The encoder walks the program's
# list by borrowed pointers and calls default with an item it cannot encode, holding no
# reference (check_circular=False); default=tuple/list/sorted call the item's __iter__
# and dict its keys() (the program's), which empty the list and drop the item, then use
# the item again: the program's refill, read as an object of class P, reaches P.__len__
# or P.__getitem__ as self (attack pass 68: two full escapes, one through a method that
# is no special method at all). Must: default is called through a frame that holds the
# item (library_guards.guard_json_encoder_default), so no call ever receives anything
# but the live item, and json answers as CPython does for it.
import json
import struct


class P:
    __slots__ = ()

    def __len__(self):
        received.append(type(self).__name__)
        return 0

    def __getitem__(self, key):
        received.append(type(self).__name__)
        return 0


received = []
spray = []
header = bytes(16) + struct.pack("<QQ", 1 << 40, id(P)) + bytes(40)


def refill():
    i = 0
    while i < 300:
        spray.append(bytearray(header))
        i += 1


class S:
    __slots__ = ("a", "b", "c", "d", "e", "f")

    def __iter__(self):
        items.clear()
        del self
        refill()
        return iter(())

    def keys(self):
        items.clear()
        del self
        refill()
        return ["k"]

    def __getitem__(self, key):
        return 0


answers = []
for default in (tuple, list, sorted, dict):
    items = [S()]
    answers.append(json.dumps(items, default=default, check_circular=False))
answers.append(json.dumps({"when": (2024, 1)}, default=str, sort_keys=True))
[answers, received]
