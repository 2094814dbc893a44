"""The template ("zygote"): a small, clean process that forks one worker per execution.

It is spawned by the API server with an empty environment (never forked from it, so it
holds no token, no sockets, no server state), imports RestrictedPython and the allowed
modules once, freezes its heap, confines itself (hardening.confine_template: the OS
layers every worker inherits), and then only forks. Each fork runs exactly one program
and exits, so nothing survives from one execution to the next.

Wire protocol with the API server:

* stdin: one frame with the TemplateConfig, then EOF.
* the control socket (descriptor number in the last command-line argument): a unix
  socket. Each message is one byte: ``SPAWN`` or ``SPAWN_AND_REHEARSE``, carrying three
  descriptors (SCM_RIGHTS): the worker's stdout pipe, stderr pipe and channel socket; or
  ``PING``, carrying none. Any other message is dropped (its descriptors closed).
* stdout: one ``protocol.EVENT`` record per event: "layers" once, first (the OS layers
  its workers apply); then "spawned" (pid) or "spawn failed" (errno) in spawn request
  order, "pong" for each ping in ping order, and "exited" (pid, wait status, CPU ms)
  when a worker that did not exit cleanly is reaped. A clean exit (status 0: the worker
  wrote its reply) is not reported; the server has already read the reply and needs
  nothing more. The server declares the template hung (and kills it) when a spawn or a
  ping goes unanswered too long, so every request must be answered promptly.
"""

from __future__ import annotations

import gc
import importlib
import os
import select
import socket
import sys

from ..protocol import (
    EVENT,
    EVENT_EXITED,
    EVENT_LAYERS,
    EVENT_PONG,
    EVENT_SPAWN_FAILED,
    EVENT_SPAWNED,
    HEADER,
    PING,
    SPAWN_AND_REHEARSE,
    TemplateConfig,
    decode_body,
    frame_length,
    layers_to_mask,
)
from . import child, data_setup, repairs
from .guards import INTERNAL_LAZY_IMPORTS
from .isolation.hardening import (
    LANDLOCK_FD,
    confine_template,
    detach_process_group,
    die_with_parent,
    prepare_confinement,
)
from .library_guards import build_proxies, clear_library_caches
from .runner import compile_program

#: How often exited workers are reaped when no request arrives.
REAP_INTERVAL_S = 0.05

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
    files_root = config.get("files_root")
    return TemplateConfig(
        allowed_imports=list(config["allowed_imports"]),
        disabled_layers=list(config.get("disabled_layers", [])),
        files_root=files_root if isinstance(files_root, str) else None,
    )


def _emit(kind: bytes, pid: int, status: int = 0, cpu_ms: int = 0) -> None:
    os.write(1, EVENT.pack(kind, pid, status, cpu_ms))


def _fork_worker(fds: list[int], devnull: int, kit: child.Kit, rehearse: bool) -> int:
    template = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    # In the worker. Anything that goes wrong before serve() ends the process. Every step
    # here is paid in copy-on-write faults by every worker, so there are few: the
    # template installs no signal handlers a worker would have to undo.
    try:
        # SIGKILL when the template dies (it dies with the server): a program that
        # cancelled its own alarm still cannot outlive the service. The worker seccomp
        # stage then refuses prctl, so the program cannot clear it.
        die_with_parent(template)
        detach_process_group()
        stdout_fd, stderr_fd, channel_fd = fds
        os.dup2(devnull, 0)
        os.dup2(stdout_fd, 1)
        os.dup2(stderr_fd, 2)
        os.dup2(channel_fd, child.CHANNEL_FD)
        keep = child.CHANNEL_FD
        if kit.confinement.landlock_fd is not None:
            # The ruleset sits high in the template (see prepare_confinement), so none of
            # the dup2 above can have overwritten it. Closed once enforced.
            os.dup2(kit.confinement.landlock_fd, LANDLOCK_FD)
            keep = LANDLOCK_FD
        # Everything else the template holds (control socket, event pipe, the
        # descriptors just received) is closed here.
        os.closerange(keep + 1, 1 << 16)
        child.serve(kit, rehearse)
    finally:
        os._exit(child.EXIT_INTERNAL_ERROR)  # serve() never returns; anything else is a bug


def main(control_fd: int, runner: child.Runner | None = None) -> None:
    """``runner`` replaces the guarded runner in tests only (tests/support), to show what
    the OS layers stop on their own; the service never passes it."""
    die_with_parent()
    config = _read_config()
    allowed = frozenset(config["allowed_imports"])
    # First, while the process holds nothing: the network namespace must be entered by a
    # single-threaded process, and the workers inherit all of it.
    confinement = prepare_confinement(frozenset(config["disabled_layers"]), config.get("files_root"))
    data_setup.prepare(allowed)  # numpy, pandas, matplotlib, in the data tier's template only
    proxies = build_proxies(sorted(allowed))
    for name in INTERNAL_LAZY_IMPORTS:
        importlib.import_module(name)
    rehearsal, _ = compile_program(_REHEARSAL)  # also pulls in the compiler's lazy imports
    kit = child.prepare(proxies, allowed, rehearsal, confinement, runner)
    repairs.hold_new_types()  # the C types of everything imported since build_proxies
    clear_library_caches()  # last, after everything that could fill them
    gc.collect()
    gc.freeze()  # keep forked workers from touching (and copying) the template's heap

    prefer_for_the_oom_killer()
    devnull = os.open(os.devnull, os.O_RDONLY)
    control = socket.socket(fileno=control_fd)
    # A process group of its own: kill(0, ...) is all the seccomp filter lets through,
    # and it must not reach the API server's group.
    detach_process_group()
    confine_template(confinement)
    repaired = frozenset({"interpreter_repairs"} if repairs.applied() else ())
    _emit(EVENT_LAYERS, 0, layers_to_mask(confinement.active | repaired), confinement.landlock_abi)
    # No SIGCHLD handler: exited workers are reaped after every request and at least every
    # REAP_INTERVAL_S. Only failed workers are reported, and the server waits up to a
    # second for those reports.
    while True:
        ready, _, _ = select.select([control], [], [], REAP_INTERVAL_S)
        if ready:
            msg, fds, _flags, _addr = socket.recv_fds(control, 1, 3)
            if not msg:
                return  # the API server closed the control socket: shut down
            if len(fds) != 3:
                for fd in fds:
                    os.close(fd)
                if msg == PING and not fds:
                    _emit(EVENT_PONG, 0)
                continue
            try:
                pid = _fork_worker(fds, devnull, kit, rehearse=msg == SPAWN_AND_REHEARSE)
            except OSError as exc:
                # EAGAIN/ENOMEM: the host (or a program that got past every layer) ran out
                # of processes or memory. The template must outlive that: the request gets
                # a 503, everything else keeps running.
                _emit(EVENT_SPAWN_FAILED, 0, exc.errno or 0)
            else:
                _emit(EVENT_SPAWNED, pid)
            finally:
                for fd in fds:
                    os.close(fd)
        _reap()


def prefer_for_the_oom_killer() -> None:
    """The kernel's out-of-memory killer takes the template and its workers before the API
    process: sessions that all grow within their limits can still fill a container, and a
    worker killed ends one session where the API process would end them all (attack pass 99).
    Raising one's own score needs no privilege; before Landlock, which hides /proc."""
    try:
        with open("/proc/self/oom_score_adj", "w", encoding="ascii") as score:
            score.write("1000")
    except OSError:
        pass  # no /proc here: the container's limit still holds


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
