"""The simplest end-to-end path: a real server runs a real program."""

from __future__ import annotations

from tests.support.server import LiveServer


def test_print_and_final_expression(live_server: LiveServer) -> None:
    reply = live_server.execute("print(6 * 7)\n[1, 2]")
    assert reply.status_code == 200
    body = reply.json()
    assert body["stdout"] == "42\n"
    assert body["result"] == [1, 2]
    assert body["success"] is True
