# Tries: fork twenty children from a worker whose language guards are gone.
# Must: be stopped by seccomp alone; work with every OS layer off.
import os
for _ in range(20):
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
