"""Synchronisation between a test and the processes it drives, without fixed sleeps.

``wait_until`` is a bounded poll: for conditions only visible from outside (a gauge on
/metrics, a process in /proc) where the other side sends no signal. The deadline only
bounds a failing test; it never decides the outcome of a passing one.

``HeldRequest`` is an /execute request on a raw socket: the test decides when it ends,
by closing the socket (the server then stops the worker and frees the slot, as for any
client that leaves), instead of hoping a ``time.sleep`` in the program lasts long enough.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from typing import Any, TypeVar

from tests.support.server import LiveServer

T = TypeVar("T")


def wait_until(probe: Callable[[], T | None], what: str, timeout_s: float = 15.0) -> T:
    """Poll ``probe`` until it returns something other than None/False; fail the test
    with ``what`` if that takes longer than ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout_s} s waiting for: {what}")
        time.sleep(0.01)


class HeldRequest:
    """One POST /execute sent on a socket of its own; ``leave()`` closes it unanswered."""

    def __init__(self, server: LiveServer, code: str, **body: Any) -> None:
        host, _, port = server.url.removeprefix("http://").rpartition(":")
        payload = json.dumps({"code": code, **body}).encode()
        head = (
            f"POST /execute HTTP/1.1\r\nHost: {host}\r\nX-Executor-Token: {server.token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        )
        self._socket = socket.create_connection((host, int(port)), timeout=30)
        self._socket.sendall(head.encode() + payload)

    def leave(self) -> None:
        """Disconnect without reading the answer: the server abandons the execution."""
        self._socket.close()

    def __enter__(self) -> HeldRequest:
        return self

    def __exit__(self, *_: object) -> None:
        self._socket.close()
