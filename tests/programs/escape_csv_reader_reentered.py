# Tries: re-enter a csv reader (csv.reader, and DictReader through it) from its own input
# iterator: the inner next() hands its row out and drops the reader's field list, and the
# outer parse then appends to nothing: a NULL dereference that kills the worker (gh-157379,
# open upstream; attack pass 65: a20). Must: the re-entry raises ValueError (every reader
# reads its input through a generator, which cannot be re-entered), never a crash;
# ordinary readers give CPython's rows.
import csv
import io


class Lines:
    def __init__(self, quoted):
        self.n = 0
        self.quoted = quoted
        self.target = None

    def __iter__(self):
        return self

    def __next__(self):
        self.n += 1
        if self.n > 6:
            raise StopIteration
        if self.n == 2:
            next(self.target)
        return '"a,b",c,"' + "x" * (self.n * 50) + '"\r\n' if self.quoted else "a,b\r\n"


outcome = []
for make in (lambda lines: csv.reader(lines), lambda lines: csv.DictReader(lines, fieldnames=["p", "q"])):
    lines = Lines(True)
    lines.target = make(lines)
    try:
        list(lines.target)
        outcome.append("ran")
    except ValueError:
        outcome.append("ValueError")
rows = list(csv.reader(io.StringIO('a,"b,c"\r\n1,2\r\n')))
records = list(csv.DictReader(["x,y", "1,2"]))
[outcome, rows, records]
