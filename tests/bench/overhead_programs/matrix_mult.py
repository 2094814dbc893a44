# Nested lists: matrix product and transpose.
n = 60
a = [[(i * j + 1) % 11 for j in range(n)] for i in range(n)]
b = [[(i + 2 * j) % 7 for j in range(n)] for i in range(n)]
bt = [list(col) for col in zip(*b)]
c = [[sum(x * y for x, y in zip(row, col)) for col in bt] for row in a]
[c[0][0], c[n - 1][n - 1], sum(map(sum, c))]
