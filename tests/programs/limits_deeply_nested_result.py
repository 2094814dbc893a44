# Tries: return a list nested 100 000 deep, to exhaust the stack of the code that
# serialises the result. Must: an answer, with the nesting cut off.
x = []
for i in range(100000):
    x = [x]
x
