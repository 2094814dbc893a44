# A priority-queue scheduler with heapq and tuples.
import heapq

tasks = []
for i in range(8000):
    heapq.heappush(tasks, ((i * 7919) % 1000, i, f"task{i}"))
done = []
clock = 0
while tasks:
    priority, seq, name = heapq.heappop(tasks)
    clock += priority % 5 + 1
    if seq % 10 == 0 and priority < 900:
        heapq.heappush(tasks, (priority + 100, seq + 1, name + "+"))
    else:
        done.append(name)
[len(done), clock, done[:3]]
