"""The OS layers one by one, each applied in a forked child of the test process.

Each check runs in a child that applies one layer (or the template's stage and then the
worker's, as a real worker inherits them) and reports through its exit status, so the
test process itself is never confined. tests/integration/test_os_layers.py shows the same layers
against whole attacks, through a real template; these pin each layer's own contract.
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
import sysconfig
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from src.worker.isolation import landlock, syscall_filter
from src.worker.isolation.hardening import (
    HardeningError,
    apply_landlock,
    apply_seccomp,
    drop_capabilities,
    prepare_confinement,
    set_no_new_privs,
)
from tests.support.forked import OK, in_child

needs_seccomp = pytest.mark.skipif(not syscall_filter.kernel_supports_filters(), reason="no seccomp on this host")
needs_landlock = pytest.mark.skipif(landlock.abi_version() < 1, reason="no Landlock on this host")


def refused(call: Callable[[], object], expected: int = errno.EPERM) -> bool:
    try:
        call()
    except OSError as exc:
        return exc.errno == expected
    return False


# --------------------------------------------------------------------------- seccomp

_TEMPLATE = syscall_filter.LoadedProgram(syscall_filter.build_program("template"))
_WORKER = syscall_filter.LoadedProgram(syscall_filter.build_program("worker"))


def under_worker_filters(check: Callable[[], bool]) -> int:
    """In a child: no_new_privs, the template's stage, then the worker's, then ``check``."""

    def confined() -> bool:
        set_no_new_privs()
        apply_seccomp(_TEMPLATE)
        apply_seccomp(_WORKER)
        return check()

    return in_child(confined)


def _libc_call(name: str, *args: int) -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if getattr(libc, name)(*args) == -1:
        raise OSError(ctypes.get_errno(), name)


def _raw_syscall(number: int) -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syscall(number, 0, 0, 0, 0, 0) == -1:
        raise OSError(ctypes.get_errno(), str(number))


def _unshare() -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(0x40000000) != 0:
        raise OSError(ctypes.get_errno(), "unshare")


@needs_seccomp
@pytest.mark.parametrize(
    ("what", "call", "expected"),
    [
        ("socket", socket.socket, errno.EPERM),
        ("socketpair", socket.socketpair, errno.EPERM),
        ("fork", os.fork, errno.EPERM),
        ("exec", lambda: os.execv("/bin/true", ["true"]), errno.EPERM),
        ("open for writing", lambda: os.open("/dev/null", os.O_WRONLY), errno.EPERM),
        ("open to create", lambda: os.open("/nonexistent-dir/x", os.O_RDONLY | os.O_CREAT), errno.EPERM),
        ("unlink", lambda: os.unlink("/nonexistent"), errno.EPERM),
        ("mkdir", lambda: os.mkdir("/nonexistent"), errno.EPERM),
        ("kill another process", lambda: os.kill(1, 0), errno.EPERM),
        ("signal own group by pid", lambda: os.killpg(os.getpgid(0), 0), errno.EPERM),
        ("setuid", lambda: os.setuid(os.getuid()), errno.EPERM),
        ("unshare", _unshare, errno.EPERM),
        ("make a pipe", os.pipe, errno.EPERM),
        ("leave its process group", lambda: os.setpgid(0, 0), errno.EPERM),
        ("renice another process", lambda: os.setpriority(os.PRIO_PROCESS, os.getppid(), 19), errno.EPERM),
        ("move another process to a CPU", lambda: os.sched_setaffinity(os.getppid(), {0}), errno.EPERM),
        ("cancel its alarm", lambda: _libc_call("alarm", 0), errno.EPERM),
        ("clear its parent-death signal", lambda: _libc_call("prctl", 1, 0, 0, 0, 0), errno.EPERM),
        ("inotify", lambda: _libc_call("inotify_init1", 0), errno.EPERM),
        ("memfd", lambda: os.memfd_create("x"), errno.EPERM),
        ("a system call newer than the allow list (file_setattr, 469)", lambda: _raw_syscall(469), errno.EPERM),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_worker_filters_refuse(what: str, call: Callable[[], object], expected: int) -> None:
    assert under_worker_filters(lambda: refused(call, expected)) == OK


@needs_seccomp
def test_worker_filters_refuse_setting_a_limit() -> None:
    def check() -> bool:
        import resource

        try:
            resource.setrlimit(resource.RLIMIT_CPU, (1, 1))
        except ValueError:  # how CPython reports EPERM from setrlimit
            return True
        return False

    assert under_worker_filters(check) == OK


@needs_seccomp
def test_worker_filters_refuse_threads() -> None:
    def check() -> bool:
        try:
            _run_thread()
        except RuntimeError:  # "can't start new thread": clone refused
            return True
        return False

    assert under_worker_filters(check) == OK


def _raw(name: str, *args: int) -> None:
    import ctypes

    import pyseccomp as sc

    libc = ctypes.CDLL(None, use_errno=True)
    number = int(sc.resolve_syscall(sc.system_arch(), name))
    if libc.syscall(number, *[ctypes.c_ulong(a) for a in args]) == -1:
        raise OSError(ctypes.get_errno(), name)


_HIGH = 1 << 32
_F_SETOWN, _F_SETLEASE, _F_OFD_SETLK, _F_GETLK = 8, 1024, 37, 5
_SIOCGIFCONF, _FS_IOC_GETFLAGS, _FIOSETOWN, _TIOCSTI = 0x8912, 0x80086601, 0x8901, 0x5412
_MADV_PAGEOUT = 21


@needs_seccomp
@pytest.mark.parametrize(
    ("what", "call"),
    [
        ("a lock on /dev/null, shared with the next worker", lambda: fcntl.lockf(0, fcntl.LOCK_SH | fcntl.LOCK_NB)),
        ("an OFD lock", lambda: fcntl.fcntl(0, _F_OFD_SETLK, bytes(32))),
        ("asking who holds a lock", lambda: fcntl.fcntl(0, _F_GETLK, bytes(32))),
        ("F_SETOWN with bit 32 set", lambda: _raw("fcntl", 1, _HIGH | _F_SETOWN, 1)),
        ("a lease with bit 32 set", lambda: _raw("fcntl", 0, _HIGH | _F_SETLEASE, 0)),
        ("FIOSETOWN with bit 32 set", lambda: _raw("ioctl", 1, _HIGH | _FIOSETOWN, 0)),
        ("TIOCSTI with bit 32 set", lambda: _raw("ioctl", 0, _HIGH | _TIOCSTI, 0)),
        ("file attributes", lambda: _raw("ioctl", 0, _FS_IOC_GETFLAGS, 0)),
        ("changing the flags of a shared descriptor", lambda: fcntl.fcntl(0, fcntl.F_SETFL, os.O_NONBLOCK)),
        ("evicting shared page cache", lambda: _raw("madvise", 0, 4096, _MADV_PAGEOUT)),
        ("another seccomp filter", _WORKER.install),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_worker_filters_refuse_descriptor_tricks(what: str, call: Callable[[], object]) -> None:
    def check() -> bool:
        try:
            call()
        except (OSError, syscall_filter.SeccompError) as exc:
            return isinstance(exc, syscall_filter.SeccompError) or exc.errno == errno.EPERM
        return False

    assert under_worker_filters(check) == OK


@needs_seccomp
def test_interface_queries_on_an_inherited_socket_are_refused() -> None:
    """The channel socket was made by the server, in the host's network namespace."""
    inherited = socket.socket()

    def check() -> bool:
        return refused(lambda: _raw("ioctl", inherited.fileno(), _SIOCGIFCONF, 0))

    try:
        assert under_worker_filters(check) == OK
    finally:
        inherited.close()


@needs_seccomp
@pytest.mark.parametrize(
    ("what", "call"),
    [
        ("isatty", lambda: os.isatty(1)),
        ("dup", lambda: os.close(os.dup(1))),
        ("close-on-exec", lambda: os.set_inheritable(1, False)),
        ("read its flags", lambda: fcntl.fcntl(1, fcntl.F_GETFL)),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_worker_filters_allow_ordinary_descriptor_calls(what: str, call: Callable[[], object]) -> None:
    def check() -> bool:
        call()
        return True

    assert under_worker_filters(check) == OK


@needs_seccomp
def test_worker_filters_refuse_asking_for_signals_elsewhere() -> None:
    def check() -> bool:
        import fcntl

        return refused(lambda: fcntl.fcntl(1, fcntl.F_SETOWN, os.getppid()))

    assert under_worker_filters(check) == OK


@needs_seccomp
def test_clone3_is_enosys_so_that_threads_fall_back_to_clone() -> None:
    def check() -> bool:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.syscall(435, 0, 0) == -1 and ctypes.get_errno() == errno.ENOSYS)

    assert under_worker_filters(check) == OK


def _run_thread() -> None:
    done: list[int] = []
    thread = threading.Thread(target=lambda: done.append(1))
    thread.start()
    thread.join(5)
    assert done == [1]


@needs_seccomp
@pytest.mark.parametrize(
    ("what", "call"),
    [
        ("read a file", lambda: Path(sysconfig.get_paths()["stdlib"], "os.py").read_bytes()),
        ("signal itself through its group", lambda: os.kill(0, 0)),
        ("read its limits", lambda: __import__("resource").getrlimit(0)),
        ("write to its own output", lambda: os.write(1, b"")),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_worker_filters_allow(what: str, call: Callable[[], object]) -> None:
    def check() -> bool:
        call()
        return True

    assert under_worker_filters(check) == OK


@needs_seccomp
def test_template_stage_alone_still_lets_the_template_fork() -> None:
    def check() -> bool:
        set_no_new_privs()
        apply_seccomp(_TEMPLATE)
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        return os.waitpid(pid, 0)[1] == 0

    assert in_child(check) == OK


@needs_seccomp
def test_an_existing_filter_does_not_hide_seccomp() -> None:
    """Under a container runtime's profile PR_GET_SECCOMP answers 2, not 0: the layer is
    still there to apply (filters stack)."""

    def check() -> bool:
        set_no_new_privs()
        apply_seccomp(_TEMPLATE)
        return syscall_filter.kernel_supports_filters()

    assert in_child(check) == OK


def test_malformed_program_is_refused() -> None:
    with pytest.raises(syscall_filter.SeccompError):
        syscall_filter.LoadedProgram(b"\x00" * 7)


# --------------------------------------------------------------------------- Landlock


def under_landlock(check: Callable[[], bool]) -> int:
    abi = landlock.abi_version()

    def confined() -> bool:
        set_no_new_privs()
        apply_landlock(landlock.build_ruleset(abi, landlock.interpreter_paths()))
        return check()

    return in_child(confined)


@needs_landlock
def test_landlock_refuses_reading_outside_the_interpreter(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("x")
    assert under_landlock(lambda: refused((tmp_path / "secret").read_text, errno.EACCES)) == OK


@needs_landlock
@pytest.mark.parametrize("path", ["/proc/1/environ", "/proc/self/environ", "/etc/passwd", "/dev/null"])
def test_landlock_refuses_system_files(path: str) -> None:
    assert under_landlock(lambda: refused(lambda: open(path, "rb").close(), errno.EACCES)) == OK


@needs_landlock
def test_landlock_lets_the_standard_library_be_read() -> None:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    assert under_landlock(lambda: bool((stdlib / "_strptime.py").read_bytes())) == OK


@needs_landlock
def test_landlock_refuses_writing_even_below_a_readable_directory() -> None:
    target = Path(sysconfig.get_paths()["stdlib"]) / "landlock-test-never-created"
    assert under_landlock(lambda: refused(lambda: target.write_text("x"), errno.EACCES)) == OK
    assert not target.exists()


@pytest.mark.skipif(landlock.abi_version() < 4, reason="TCP rules need Landlock ABI 4")
def test_landlock_refuses_tcp_connect_and_bind() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]

        def check() -> bool:
            with socket.socket() as a, socket.socket() as b:
                return refused(lambda: a.connect(("127.0.0.1", port)), errno.EACCES) and refused(
                    lambda: b.bind(("127.0.0.1", 0)), errno.EACCES
                )

        assert under_landlock(check) == OK


@pytest.mark.skipif(landlock.abi_version() < 6, reason="signal scoping needs Landlock ABI 6")
def test_landlock_refuses_signals_outside_its_domain() -> None:
    assert under_landlock(lambda: refused(lambda: os.kill(os.getppid(), 0), errno.EPERM)) == OK


def test_interpreter_paths_are_only_the_interpreters() -> None:
    project = Path(__file__).resolve().parents[2]
    for path in landlock.interpreter_paths():
        assert Path(path).exists()
        assert not project.is_relative_to(Path(path)), path  # never the checkout or above it
        assert Path(path) != project
        assert not Path(path).is_dir() or path.startswith(("/usr/share/zoneinfo", *_interpreter_roots())), path


def _interpreter_roots() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    return tuple(os.path.realpath(paths[key]) for key in ("stdlib", "platstdlib", "purelib", "platlib"))


# --------------------------------------------------------------------------- capabilities, preparation


def test_dropping_capabilities_empties_every_set() -> None:
    def check() -> bool:
        drop_capabilities()
        status = Path("/proc/self/status").read_text().splitlines()
        fields = dict(line.split(":\t", 1) for line in status if line.startswith("Cap"))
        return all(int(fields[k], 16) == 0 for k in ("CapEff", "CapPrm", "CapInh", "CapAmb"))

    assert in_child(check) == OK


def test_no_new_privs_sticks() -> None:
    def check() -> bool:
        set_no_new_privs()
        return "NoNewPrivs:\t1" in Path("/proc/self/status").read_text()

    assert in_child(check) == OK


def test_only_test_layers_can_be_disabled() -> None:
    with pytest.raises(HardeningError, match="no_new_privs"):
        prepare_confinement(frozenset({"no_new_privs"}))
