# Index-heavy loops over a list.
limit = 300000
sieve = [True] * (limit + 1)
sieve[0] = sieve[1] = False
i = 2
while i * i <= limit:
    if sieve[i]:
        for j in range(i * i, limit + 1, i):
            sieve[j] = False
    i += 1
primes = [n for n, is_prime in enumerate(sieve) if is_prime]
gaps = {}
for p, q in zip(primes, primes[1:]):
    gaps[q - p] = gaps.get(q - p, 0) + 1
[len(primes), primes[-1], max(gaps), gaps[2]]
