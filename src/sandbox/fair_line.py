"""Turns at one resource, shared round-robin among clients.

The program checker does one check at a time (checking.py). In arrival order, a client
that sends five large programs makes everyone behind them wait for five checks of up to
the check budget each; here each client waiting has one turn in each round, so another
client waits for at most one check per client ahead of it, whatever each sent. A client
is whatever key the caller gives (the token's fingerprint and the address it came from).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque


class FairLine:
    def __init__(self) -> None:
        #: Per client, in the order their turns come: the futures of its waiting callers.
        self._waiting: OrderedDict[str, deque[asyncio.Future[None]]] = OrderedDict()
        self._busy = False

    async def wait_turn(self, client: str) -> None:
        """Return when the resource is the caller's; it must then call ``release`` once.
        A caller cancelled while waiting (its timeout) leaves the line, turn or no turn."""
        if not self._busy and not self._waiting:
            self._busy = True
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(client, deque()).append(turn)
        try:
            await turn
        except BaseException:
            if turn.done() and not turn.cancelled():
                self.release()  # granted as it was cancelled: the next caller's now
            else:
                self._leave(client, turn)
            raise

    def release(self) -> None:
        """The caller is done: the next client in the round gets its turn."""
        while self._waiting:
            client, turns = next(iter(self._waiting.items()))
            turn = turns.popleft()
            if turns:
                self._waiting.move_to_end(client)  # its next caller waits for the round
            else:
                del self._waiting[client]
            if not turn.done():
                turn.set_result(None)
                return
        self._busy = False

    def _leave(self, client: str, turn: asyncio.Future[None]) -> None:
        turns = self._waiting.get(client)
        if turns is not None and turn in turns:
            turns.remove(turn)
            if not turns:
                del self._waiting[client]
