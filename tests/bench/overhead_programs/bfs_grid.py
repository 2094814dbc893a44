# Breadth-first search over a grid with collections.deque.
from collections import deque

size = 120
walls = {(x, y) for x in range(size) for y in range(size) if (x * 7 + y * 13) % 11 == 0 and (x, y) != (0, 0)}
start, goal = (0, 0), (size - 1, size - 1)
walls.discard(goal)
distance = {start: 0}
queue = deque([start])
while queue:
    x, y = queue.popleft()
    for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        nxt = (x + dx, y + dy)
        if 0 <= nxt[0] < size and 0 <= nxt[1] < size and nxt not in walls and nxt not in distance:
            distance[nxt] = distance[(x, y)] + 1
            queue.append(nxt)
[distance.get(goal), len(distance)]
