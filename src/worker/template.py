"""The template ("zygote"): a small, clean process that forks one worker per execution.

It is spawned by the API server with an empty environment (never forked from it, so it
holds no token, no sockets, no server state), imports RestrictedPython and the allowed
modules once, freezes its heap, and then only forks. Each fork runs exactly one program
and exits, so nothing survives from one execution to the next.

Wire protocol with the API server:

* stdin: one frame with the TemplateConfig, then EOF.
* the control socket (descriptor number in the last command-line argument): a unix
  socket. Each message is one byte ``b"S"`` carrying three descriptors (SCM_RIGHTS):
  the worker's stdout pipe, stderr pipe and channel socket.
* stdout: one ``protocol.EVENT`` record per event: "spawned" (pid) in request order, and
  "exited" (pid, wait status, CPU ms) when a worker that did not exit cleanly is reaped.
  A clean exit (status 0: the worker wrote its reply) is not reported; the server has
  already read the reply and needs nothing more.
"""

from __future__ import annotations

import gc
import importlib
import os
import selectors
import signal
import socket
import sys
from types import CodeType

from ..protocol import EVENT, EVENT_EXITED, EVENT_SPAWNED, HEADER, TemplateConfig, decode_body, frame_length
from . import child
from .guards import INTERNAL_LAZY_IMPORTS
from .hardening import detach_process_group, die_with_parent
from .modules import ModuleProxy, build_proxies
from .runner import compile_program

#: Compiled once here; each worker rehearses it before its job (see child.rehearse).
#: Deliberately small: the path every job takes (namespace, print, final expression,
#: result conversion). A bigger rehearsal takes faults on pages most jobs never touch,
#: which costs throughput under load for little latency gain.
_REHEARSAL = """\
values = [n * n for n in range(3)]
print(values, len(values))
{"values": values, "ok": True, "name": "rehearsal", "ratio": 0.5}
"""


def _read_config() -> TemplateConfig:
    data = sys.stdin.buffer.read()
    length = frame_length(data[: HEADER.size], 1 << 20)
    config = decode_body(data[HEADER.size : HEADER.size + length])
    return TemplateConfig(allowed_imports=list(config["allowed_imports"]))


def _emit(kind: bytes, pid: int, status: int = 0, cpu_ms: int = 0) -> None:
    os.write(1, EVENT.pack(kind, pid, status, cpu_ms))


def _fork_worker(
    fds: list[int], devnull: int, proxies: dict[str, ModuleProxy], allowed: frozenset[str], rehearsal: CodeType | None
) -> int:
    pid = os.fork()
    if pid:
        return pid
    # In the worker. Anything that goes wrong before serve() ends the process.
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.set_wakeup_fd(-1)
        die_with_parent()
        detach_process_group()
        stdout_fd, stderr_fd, channel_fd = fds
        os.dup2(devnull, 0)
        os.dup2(stdout_fd, 1)
        os.dup2(stderr_fd, 2)
        os.dup2(channel_fd, child.CHANNEL_FD)
        for fd in (0, 1, 2, child.CHANNEL_FD):
            os.set_inheritable(fd, True)
        # Everything else the template holds (control socket, event pipe, selector,
        # wake-up pipe, the descriptors just received) is closed here.
        os.closerange(child.CHANNEL_FD + 1, 1 << 16)
        child.serve(proxies, allowed, rehearsal)
    finally:
        os._exit(child.EXIT_INTERNAL_ERROR)  # serve() never returns; anything else is a bug


def main(control_fd: int) -> None:
    die_with_parent()
    config = _read_config()
    allowed = frozenset(config["allowed_imports"])
    proxies = build_proxies(sorted(allowed))
    for name in INTERNAL_LAZY_IMPORTS:
        importlib.import_module(name)
    rehearsal, _ = compile_program(_REHEARSAL)  # also pulls in the compiler's lazy imports
    gc.collect()
    gc.freeze()  # keep forked workers from touching (and copying) the template's heap

    devnull = os.open(os.devnull, os.O_RDONLY)
    control = socket.socket(fileno=control_fd)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    selector = selectors.DefaultSelector()
    selector.register(control, selectors.EVENT_READ, "control")
    selector.register(wake_r, selectors.EVENT_READ, "wake")
    while True:
        for key, _ in selector.select():
            if key.data == "wake":
                os.read(wake_r, 4096)
                _reap()
                continue
            try:
                msg, fds, _flags, _addr = socket.recv_fds(control, 1, 3)
            except InterruptedError:
                continue
            if not msg:
                return  # the API server closed the control socket: shut down
            if len(fds) != 3:
                for fd in fds:
                    os.close(fd)
                continue
            pid = _fork_worker(fds, devnull, proxies, allowed, rehearsal)
            for fd in fds:
                os.close(fd)
            _emit(EVENT_SPAWNED, pid)
            _reap()


def _reap() -> None:
    while True:
        try:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if status != 0:
            _emit(EVENT_EXITED, pid, status, int((usage.ru_utime + usage.ru_stime) * 1000))
