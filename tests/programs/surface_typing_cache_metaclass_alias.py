# Tries: collide with an entry of typing's subscription cache (a forged __hash__) so that
# its __eq__ receives type[Any], whose call is the real type. Must: fail, never printing ESCAPED.
import typing, abc
M64 = (1 << 64) - 1
P1 = 11400714785074694791
P2 = 14029467366897019727
P5 = 2870177450012600261
def rotr(x, r):
    return ((x >> r) | (x << (64 - r))) & M64
def first_lane(h, second, n):
    # invert CPython's tuple hash (xxHash-style) for a 2-tuple, given the second item's hash
    acc = (h & M64)
    acc = (acc - (n ^ (P5 ^ 3527539))) & M64
    inv1 = pow(P1, -1, 1 << 64)
    inv2 = pow(P2, -1, 1 << 64)
    acc = (acc * inv1) & M64
    acc = rotr(acc, 31)
    acc = (acc - (second & M64) * P2) & M64
    acc = (acc * inv1) & M64
    acc = rotr(acc, 31)
    acc = (acc - P5) & M64
    lane = (acc * inv2) & M64
    return lane - (1 << 64) if lane >= (1 << 63) else lane
# typing.Type[int] hashes as hash((type, (int,))): recover hash(type)
h_type = first_lane(hash(typing.Type[int]), hash((int,)), 2)
target = h_type ^ hash((typing.Any,))   # hash(type[typing.Any]) = hash(type) ^ hash(args)
got = []
class P:
    def __hash__(self):
        return target
    def __eq__(self, other):
        got.append(other)
        return False
try:
    typing.Union[P(), typing.Callable[..., typing.Any]]
except Exception as e:
    print("err", e)
print(got)
if got:
    alias = got[0]
    T = alias(int)            # the real builtins.type
    Meta = alias(abc.ABC)     # the real ABCMeta
    print(T, Meta, T is type)
    C = T("C", (), {"__getattribute__": lambda s, n: 42})
    print(C().anything)
    print("ESC" + "APED")
