# Tries: outlive its deadline by cancelling the worker's alarm (the worker stage refuses
# that) and ignoring SIGALRM. Must: still die with the process that runs the pool.
import signal, time
try:
    signal.alarm(0)
except OSError:
    pass
signal.signal(signal.SIGALRM, signal.SIG_IGN)
time.sleep(30)
