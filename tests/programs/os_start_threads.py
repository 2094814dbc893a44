# Tries: start twenty threads (each a clone() the worker never needs).
# Must: be stopped by seccomp alone; work with every OS layer off.
import threading
import time
threads = [threading.Thread(target=lambda: None) for _ in range(20)]
for t in threads:
    t.start()
for t in threads:
    t.join()
