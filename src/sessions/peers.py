"""Sessions across replicas: which replica holds a session, and passing a request on to it.

A session lives in one replica's worker. Each replica that knows its own address
(``EXECUTOR_REPLICA_URL``) and shares Redis with the others (``EXECUTOR_RATE_LIMIT_STORAGE_URI``
redis://, the store it already uses for shared rate limits) writes, for each session it
opens, ``executor:session:<id>`` = its address, for the session's lifetime and the time its
end is remembered after. A request for a session this replica does not know is passed on
to the replica the entry names, once (the ``X-Executor-Forwarded`` header stops a second
hop), and its answer returned as it is.

The entry is signed with the service's token (HMAC-SHA256 over the id, the address, the
expiry and the owner), which every replica holds and Redis does not: someone who can write
to Redis but does not hold the token cannot send a client's token to an address of their
choosing. The owner is kept as an HMAC of the session's owner (itself a hash of its token)
under the same key, so that a replica answers another token 404 without asking the holder,
also once the holder is gone, and Redis learns nothing it could test token guesses against.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from typing import Any

import httpx
import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger("executor.sessions")

KEY_PREFIX = "executor:session:"
#: Set on a request passed on to the replica that holds its session: never passed on again.
#: Its value, signed, names the client's address: the replica that passed it on charged the
#: client's budgets, and the holder audits the client, not the replica (attack pass 99).
FORWARDED_HEADER = "x-executor-forwarded"
#: How old a signed forwarding header may be.
FORWARDED_MAX_AGE_S = 60
#: The request headers passed on (the token, the body's type, the request id).
PASSED_HEADERS = ("x-executor-token", "authorization", "content-type", "x-request-id")
#: The answer headers passed back (the request id is this replica's own, which it passed on).
RETURNED_HEADERS = ("content-type", "retry-after")
REDIS_TIMEOUT_S = 1.0
CONNECT_TIMEOUT_S = 2.0
#: Requests passed on at once (as many as the server's connection places), and how long one
#: waits for a connection to the holder before it is a 503 (attack pass 99: a pool of 100
#: with a 70 s wait let three tokens' slow calls hold everyone else's).
MAX_FORWARDED = 256
POOL_TIMEOUT_S = 5.0


class OwnerUnreachable(Exception):
    """The replica that holds the session did not answer. ``gone``: it refused the
    connection (nothing listens there any more: the session died with it)."""

    def __init__(self, gone: bool) -> None:
        super().__init__("the replica that holds this session did not answer")
        self.gone = gone


class SessionPeers:
    """This replica's entries in Redis, and the client that passes requests on."""

    def __init__(
        self, redis_url: str, own_url: str, secret: str, keep_after_end_s: float, call_timeout_s: float
    ) -> None:
        self.own_url = own_url.rstrip("/")
        self._secret = secret.encode("utf-8")
        self._keep_after_end_s = keep_after_end_s
        self._redis = aioredis.from_url(  # type: ignore[no-untyped-call]
            redis_url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S
        )
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(call_timeout_s, connect=CONNECT_TIMEOUT_S, pool=POOL_TIMEOUT_S),
            limits=httpx.Limits(max_connections=MAX_FORWARDED, max_keepalive_connections=32),
            follow_redirects=False,
        )
        self._pending: set[asyncio.Task[Any]] = set()

    def _mac(self, session_id: str, url: str, expires_at: int, owner_tag: str) -> str:
        message = f"{session_id}|{url}|{expires_at}|{owner_tag}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def _owner_tag(self, owner: str) -> str:
        return hmac.new(self._secret, b"owner|" + owner.encode(), hashlib.sha256).hexdigest()

    async def publish(self, session_id: str, expires_at: float, owner: str) -> None:
        """Say that this replica holds the session, until its end is forgotten."""
        expiry = int(expires_at + self._keep_after_end_s)
        tag = self._owner_tag(owner)
        value = f"{self.own_url}|{expiry}|{tag}|{self._mac(session_id, self.own_url, expiry, tag)}"
        try:
            await self._redis.set(KEY_PREFIX + session_id, value, exat=expiry)
        except (RedisError, OSError) as exc:
            # The session works on this replica; only requests reaching another one fail.
            log.warning("could not publish a session's replica in Redis: %s", type(exc).__name__)

    async def owner(self, session_id: str, owner: str) -> str | None:
        """The address of the replica that holds ``owner``'s session, when another one does
        and its entry is signed by the service; None otherwise (another owner's too)."""
        try:
            raw = await self._redis.get(KEY_PREFIX + session_id)
        except (RedisError, OSError) as exc:
            log.warning("could not look a session's replica up in Redis: %s", type(exc).__name__)
            return None
        if not isinstance(raw, bytes):
            return None
        try:
            url, expiry_text, tag, mac = raw.decode("utf-8").rsplit("|", 3)
            expiry = int(expiry_text)
        except ValueError:
            return None
        if not hmac.compare_digest(mac, self._mac(session_id, url, expiry, tag)) or expiry < time.time():
            return None
        if not hmac.compare_digest(tag, self._owner_tag(owner)):
            return None
        if url == self.own_url or not url.startswith(("http://", "https://")):
            return None
        return url

    def _forwarding_mac(self, client_ip: str, at: int, path: str) -> str:
        message = f"forwarded|{client_ip}|{at}|{path}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def forwarded_client(self, value: str, path: str) -> str | None:
        """The client address a replica of this service passed the request on for (it then
        charged that client's budgets), or None when ``value`` is not such a header, signed
        for this path in the last minute."""
        try:
            client_ip, at_text, mac = value.rsplit("|", 2)
            at = int(at_text)
        except ValueError:
            return None
        if abs(time.time() - at) > FORWARDED_MAX_AGE_S:
            return None
        return client_ip if hmac.compare_digest(mac, self._forwarding_mac(client_ip, at, path)) else None

    async def forward(  # noqa: PLR0917 - the request as it is passed on
        self, url: str, method: str, path: str, headers: dict[str, str], body: bytes, client_ip: str
    ) -> tuple[int, dict[str, str], bytes]:
        """Pass the request on to the replica at ``url``; its (status, headers, body).
        ``client_ip``: who asked (this replica has charged its budgets). Raises
        OwnerUnreachable."""
        passed = {name: value for name, value in headers.items() if name in PASSED_HEADERS}
        at = int(time.time())
        passed[FORWARDED_HEADER] = f"{client_ip}|{at}|{self._forwarding_mac(client_ip, at, path)}"
        try:
            answer = await self._http.request(method, url + path, headers=passed, content=body)
        except httpx.ConnectError as exc:
            raise OwnerUnreachable(gone=True) from exc
        except httpx.HTTPError as exc:
            raise OwnerUnreachable(gone=False) from exc
        returned = {name: value for name, value in answer.headers.items() if name in RETURNED_HEADERS}
        return answer.status_code, returned, answer.content

    async def drain(self) -> None:
        await self._http.aclose()
        await self._redis.aclose()
