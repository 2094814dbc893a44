# Text processing with str methods and collections.Counter.
from collections import Counter

words = ["alpha", "Beta", "gamma", "delta", "Epsilon", "zeta", "eta", "theta"]
lines = [" ".join(words[(i + j) % 8] for j in range(12)) + ("." if i % 2 else "!") for i in range(3000)]
counts = Counter()
lengths = []
capitalised = 0
for line in lines:
    clean = line.rstrip(".!").lower()
    tokens = clean.split()
    counts.update(tokens)
    lengths.append(len(clean))
    capitalised += sum(1 for t in line.split() if t[0].isupper())
[counts.most_common(3), max(lengths), capitalised]
