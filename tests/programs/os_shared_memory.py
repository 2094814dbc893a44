# Tries: leave a System V shared memory segment for the next request's worker.
# Must: be stopped by seccomp alone; work with every OS layer off.
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
shmid = libc.shmget(0x5EED, 4096, 0o1000 | 0o600)
assert shmid >= 0, f"shmget: errno {ctypes.get_errno()}"
libc.shmctl(shmid, 0, None)
