# Tries: watch /tmp with inotify, to see what other processes write there.
# Must: be stopped by seccomp alone; work with every OS layer off.
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init1(0)
assert fd >= 0, f"inotify_init1: errno {ctypes.get_errno()}"
assert libc.inotify_add_watch(fd, b"/tmp", 0xFFF) >= 0, f"inotify_add_watch: errno {ctypes.get_errno()}"
