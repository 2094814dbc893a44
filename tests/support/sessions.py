"""Helpers for the end-to-end tests of sessions (tests/e2e/test_sessions.py).

``SessionClient``: one token's view of a server's sessions, which remembers what it made
so that a test's sessions can all be ended after it (``close``). The process helpers find
a server's template, its workers, and the worker of one session: the one whose working
directory holds a marker file the session wrote (a session's worker runs in its session's
directory; a pre-forked worker has not moved out of the service's own). ``PausedRequest``
is a request the server has begun (it asked for the body: ``100 Continue``) and whose body
the test sends when it chooses: a request in progress across a SIGTERM.
"""

from __future__ import annotations

import json
import os
import re
import socket
from pathlib import Path
from typing import Any

import httpx

from tests.support.procfs import alive, children
from tests.support.server import LiveServer
from tests.support.waiting import wait_until

#: What the template's command line holds (src/sandbox/template_client.py spawns it).
TEMPLATE_MARK = b"src.worker.template"
#: ``the session ended (<reason>): ...``
_ENDED = re.compile(r"the session ended \(([a-z]+)\)")
_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


# --------------------------------------------------------------------------- the API


class SessionClient:
    """One token's requests to a server's sessions."""

    def __init__(self, server: LiveServer, token: str | None = None, timeout_s: float = 30.0) -> None:
        self.server = server
        self.http = server.client(token=token, timeout_s=timeout_s)
        self.made: list[str] = []

    def __enter__(self) -> SessionClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """End every session this client made that may still be open; close the client."""
        try:
            for session_id in self.made:
                status = self.http.delete(f"/sessions/{session_id}").status_code
                assert status in (204, 410), f"DELETE of a session of this test answered {status}"
        finally:
            self.http.close()

    def post_session(self, **body: Any) -> httpx.Response:
        """POST /sessions as it answers (a 201 is remembered for ``close``)."""
        response = self.http.post("/sessions", json=body)
        if response.status_code == 201:
            self.made.append(response.json()["session_id"])
        return response

    def create(self, **body: Any) -> str:
        """A new session's id (the answer must be a 201)."""
        response = self.post_session(**body)
        assert response.status_code == 201, response.text
        session_id: str = response.json()["session_id"]
        return session_id

    def call(self, session_id: str, code: str, **body: Any) -> httpx.Response:
        return self.http.post(f"/sessions/{session_id}/execute", json={"code": code, **body})

    def run(self, session_id: str, code: str, **body: Any) -> dict[str, Any]:
        """The answer of one call, which must be a 200 (a failed program is one too)."""
        response = self.call(session_id, code, **body)
        assert response.status_code == 200, response.text
        reply: dict[str, Any] = response.json()
        return reply

    def result(self, session_id: str, code: str, **body: Any) -> Any:
        """The result of a call whose program must succeed."""
        reply = self.run(session_id, code, **body)
        assert reply["success"] is True, reply
        return reply["result"]

    def state(self, session_id: str) -> httpx.Response:
        return self.http.get(f"/sessions/{session_id}")

    def state_json(self, session_id: str) -> dict[str, Any]:
        response = self.state(session_id)
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    def delete(self, session_id: str) -> httpx.Response:
        return self.http.delete(f"/sessions/{session_id}")

    def wait_ended(self, session_id: str, timeout_s: float = 15.0) -> str:
        """Poll GET until the session answers 410 (bounded); its end reason."""

        def ended() -> httpx.Response | None:
            answer = self.state(session_id)
            return None if answer.status_code == 200 else answer

        return ended_reason(wait_until(ended, f"session {session_id[:8]} to end", timeout_s))

    def queued_calls(self, session_id: str) -> int:
        queued: int = self.state_json(session_id)["queued_calls"]
        return queued


def ended_reason(response: httpx.Response) -> str:
    """The reason a 410 gives: ``the session ended (<reason>): ...``."""
    assert response.status_code == 410, f"{response.status_code}: {response.text}"
    detail = response.json()["detail"]
    found = _ENDED.search(detail)
    assert found is not None, detail
    return found.group(1)


# --------------------------------------------------------------------------- logs


def log_lines(server: LiveServer) -> list[dict[str, Any]]:
    """The server's JSON log lines."""
    lines: list[dict[str, Any]] = []
    for raw in server.log().splitlines():
        if raw.startswith("{"):
            lines.append(json.loads(raw))
    return lines


def audit_lines(server: LiveServer, message: str | None = None) -> list[dict[str, Any]]:
    """The audit lines (logger executor.audit), those with ``message`` when given."""
    return [
        line
        for line in log_lines(server)
        if line.get("logger") == "executor.audit" and (message is None or line.get("message") == message)
    ]


# --------------------------------------------------------------------------- processes


def read_proc(pid: int, name: str) -> bytes | None:
    try:
        with open(f"/proc/{pid}/{name}", "rb") as f:
            return f.read()
    except OSError:
        return None


def find_template(server: LiveServer) -> int:
    """The pid of the server's template (the small one: the data tier is off in tests)."""
    found = [pid for pid in children(server.process.pid) if TEMPLATE_MARK in (read_proc(pid, "cmdline") or b"")]
    assert len(found) == 1, f"expected one template, found {found}"
    return found[0]


def worker_pids(server: LiveServer) -> list[int]:
    """The template's live children: its pre-forked workers and the sessions' workers."""
    return [pid for pid in children(find_template(server)) if alive(pid)]


def session_worker_pid(server: LiveServer, marker: str) -> int:
    """The worker whose working directory holds the file ``marker`` (its session wrote it)."""
    found = []
    for pid in worker_pids(server):
        try:
            if (Path(f"/proc/{pid}/cwd") / marker).exists():
                found.append(pid)
        except OSError:
            continue
    assert len(found) == 1, f"expected one worker with {marker!r} in its directory, found {found}"
    return found[0]


def session_directory(pid: int) -> Path:
    """A worker's working directory (its session's), resolved."""
    return Path(os.readlink(f"/proc/{pid}/cwd"))


def rss_bytes(pid: int) -> int:
    statm = read_proc(pid, "statm")
    assert statm is not None, f"process {pid} is gone"
    return int(statm.split()[1]) * _PAGE_BYTES


# --------------------------------------------------------------------------- raw HTTP


class PausedRequest:
    """A request sent with ``Expect: 100-continue`` and no body yet: once constructed, the
    server has begun it (its handler asked for the body). ``finish`` sends the body and
    reads the answer. The connection is the test's own socket."""

    def __init__(self, server: LiveServer, method: str, path: str, body: dict[str, Any], timeout_s: float = 30.0):
        host, _, port = server.url.removeprefix("http://").rpartition(":")
        self._body = json.dumps(body).encode()
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nX-Executor-Token: {server.token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(self._body)}\r\n"
            "Expect: 100-continue\r\n\r\n"
        )
        self._socket = socket.create_connection((host, int(port)), timeout=timeout_s)
        self._buffer = b""
        self._socket.sendall(head.encode())
        status, _, _ = self._read_head()
        assert status == 100, f"expected 100 Continue, got {status}"

    def _read_head(self) -> tuple[int, dict[str, str], bytes]:
        while b"\r\n\r\n" not in self._buffer:
            chunk = self._socket.recv(65536)
            assert chunk, "the server closed the connection"
            self._buffer += chunk
        head, _, self._buffer = self._buffer.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return int(status_line.split()[1]), headers, head

    def finish(self) -> tuple[int, dict[str, str], Any]:
        """Send the body; the answer's status, headers and JSON body."""
        self._socket.sendall(self._body)
        status, headers, _ = self._read_head()
        length = int(headers.get("content-length", "0"))
        while len(self._buffer) < length:
            chunk = self._socket.recv(65536)
            assert chunk, "the server closed the connection mid-answer"
            self._buffer += chunk
        content = self._buffer[:length]
        self._buffer = self._buffer[length:]
        return status, headers, json.loads(content) if content else None

    def close(self) -> None:
        self._socket.close()

    def __enter__(self) -> PausedRequest:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
