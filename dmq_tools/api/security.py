"""The API's guard, in front of every route: Host, Origin, token and body size.

The API can run, archive and delete every task, so a web page the operator happens to visit
must not be able to drive it. Each request is checked in this order:

1. `Host` must name an allowed host (localhost names by default, plus DMQ_API_ALLOWED_HOSTS):
   a DNS-rebinding page reaches 127.0.0.1 under its own name and is refused here.
2. An action (any method but GET/HEAD/OPTIONS) with an `Origin` must be same-origin, and one a
   browser marks `Sec-Fetch-Site: cross-site` is refused (CSRF).
3. An action needs `Authorization: Bearer <DMQ_API_TOKEN>` (compared in constant time). With no
   token configured actions are refused, unless the app was built with
   `allow_unauthenticated_actions=True` (dangerous: anything that reaches the port can act).
4. A body longer than the limit (DMQ_API_MAX_BODY, 1 MiB) is a 413, before it is read whole.
"""

from __future__ import annotations

import hmac
import json
from typing import Any
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urlsplit

__all__ = ["Guard", "LOCAL_HOSTS", "SAFE_METHODS"]

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def _hostname(hostport: str) -> str:
    """`example.com:8080` -> example.com, `[::1]:8080` -> ::1 (lower case)."""
    text = hostport.strip().lower()
    if text.startswith("["):
        return text[1:text.find("]")] if "]" in text else text
    return text.rsplit(":", 1)[0] if text.count(":") == 1 else text


class Guard:
    """ASGI middleware applying the checks of the module docstring."""

    def __init__(self, app: Any, *, token: str | None, allow_unauthenticated_actions: bool = False,
                 read_only: bool = False, allowed_hosts: Iterable[str] = (), max_body: int = 1_048_576) -> None:
        self.app = app
        self.token = token.encode() if token else None
        self.open_actions = allow_unauthenticated_actions
        self.read_only = read_only
        hosts = {h.strip().lower() for h in allowed_hosts if h.strip()}
        self.any_host = "*" in hosts
        self.hosts = LOCAL_HOSTS | {_hostname(h) for h in hosts if h != "*"}
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        problem = self._check(scope["method"].upper(), headers)
        if problem is not None:
            await _reply(send, *problem)
            return
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                await _reply(send, 400, "Content-Length", "must be a number of bytes")
                return
            if int(length) > self.max_body:
                await _reply(send, 413, "body", f"is larger than {self.max_body} bytes")
                return
        body, too_big = await _read_body(receive, self.max_body)
        if too_big:
            await _reply(send, 413, "body", f"is larger than {self.max_body} bytes")
            return
        await self.app(scope, _replay(body, receive), send)

    def _check(self, method: str, headers: dict[str, str]) -> tuple[int, str, str] | None:
        host = headers.get("host", "")
        if not self.any_host and _hostname(host) not in self.hosts:
            return 400, "Host", f"{host[:100]!r} is not an allowed host (add it to DMQ_API_ALLOWED_HOSTS)"
        if method in SAFE_METHODS:
            return None
        origin = headers.get("origin")
        if origin is not None:
            parts = urlsplit(origin)
            if origin == "null" or parts.netloc.lower() != host.lower():
                return 403, "Origin", f"cross-origin action from {origin[:100]!r} refused"
        if headers.get("sec-fetch-site", "").lower() == "cross-site":
            return 403, "Origin", "cross-site action refused"
        if self.read_only:
            return 403, "method", "the API is read-only"
        if self.token is None:
            if self.open_actions:
                return None
            return 403, "Authorization", ("actions are disabled: set DMQ_API_TOKEN and send "
                                          "'Authorization: Bearer <token>'")
        scheme, _, given = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), self.token):
            return 401, "Authorization", "missing or wrong bearer token"
        return None


async def _read_body(receive: Receive, limit: int) -> tuple[bytes, bool]:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return b"", True
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks), False


def _replay(body: bytes, original: Receive) -> Receive:
    """The body read by the guard, then the real channel (for disconnect notices)."""
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await original()

    return receive


async def _reply(send: Send, status: int, field: str, message: str) -> None:
    body = json.dumps({"error": f"{field}: {message}", "field": field, "kind": "Refused" if status != 400
                       else "BadRequest"}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="dmq"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
