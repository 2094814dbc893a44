# Higher-order functions: closures, lambdas, functions passed around.
def make_scaler(k):
    def scale(x):
        return x * k

    return scale


def compose(f, g):
    return lambda x: f(g(x))


def counter():
    count = 0

    def bump(step=1):
        nonlocal count
        count += step
        return count

    return bump


pipeline = compose(make_scaler(3), lambda x: x + 1)
bump = counter()
total = 0
for i in range(60000):
    total += pipeline(i) % 7
    if i % 3 == 0:
        bump()
[total, bump(0)]
