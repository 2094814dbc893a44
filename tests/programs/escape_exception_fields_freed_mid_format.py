# Tries: free or retype an exception's fields while its C __str__ formats them. OSError's
# takes the pointers of errno, strerror and filename before it formats the first, and an
# errno whose __str__ rewrites strerror and args (writable on the program's subclass)
# frees the next one mid-format (attack pass 67 a12: a full escape). UnicodeDecodeError's
# reads a byte of its object field as a bytes object's, whatever the field holds (a list:
# a byte past the list) and at a negative start. Must: OSError's fields are held for the
# call and UnicodeDecodeError's object and start are checked (repairs' exceptions.c): a Python answer
# or a Python error, and CPython's strings for ordinary exceptions.
outcome = []


class Number(int):
    def __str__(self):
        error.strerror = None
        error.args = ()
        junk = [bytes([1]) * 45 for _ in range(300)]
        return "1"


class MyOSError(OSError):
    pass


expected = "[Errno 1] %d: 'file'" % (1 << int("350"))
error = MyOSError(Number(1), 1 << int("350"), "file")  # its strerror: owned by the error only
outcome.append(str(error) == expected)


class MyDecodeError(UnicodeDecodeError):
    pass


for value, start in [([0] * 1000, 500), (bytearray(b"abc"), 0), (b"abc", -5)]:
    bad = MyDecodeError("utf-8", b"abc", 0, 1, "bad")
    bad.object = value
    bad.start = start
    bad.end = start + 1
    try:
        outcome.append(str(bad))
    except (TypeError, ValueError) as e:
        outcome.append(type(e).__name__)

outcome.append(
    [
        str(MyOSError(2, "No such file", "a.txt")),
        str(FileNotFoundError(2, "gone")),
        str(MyDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")),
        str(UnicodeDecodeError("ascii", b"ab\xff", 1, 3, "nope")),
    ]
)
outcome
