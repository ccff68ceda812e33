"""Redis errors become dmq errors at one place: the public methods of `RDB`.

`guard(RDB)` wraps each public method once, at import. On success the cost is one extra call
frame (~0.1 µs); on a failure redis-py's exception becomes:

- ConnectionError -> ConnectionFailedError, TimeoutError -> RedisTimeoutError, naming the Redis
  address (never the password). The raised classes also derive from redis-py's own, so code
  (ours or a caller's) that catches `redis.ConnectionError` keeps working.
- WRONGTYPE -> CorruptStateError naming the key when our scripts say which.
- QueueNotFoundError / TaskNotFoundError get the address of the Redis that was asked.

Code inside rdb sees redis-py's exceptions as before (the ambiguous-write fallback of
`start_plain_task` catches them below this boundary).
"""

from __future__ import annotations

import functools
import inspect
import re
from typing import Any
from collections.abc import Callable

import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeout

from ..errors import ConnectionFailedError, CorruptStateError, DmqError, QueueNotFoundError, TaskNotFoundError
from ..errors import RedisTimeoutError as DmqRedisTimeoutError

__all__ = ["guard", "redis_address", "translate", "translates_itself", "reraise", "CAUGHT"]


class _ConnectionFailed(ConnectionFailedError, RedisConnectionError):
    """ConnectionFailedError that is also a redis.ConnectionError (for existing handlers)."""


class _Timeout(DmqRedisTimeoutError, RedisTimeout):
    """RedisTimeoutError that is also a redis.TimeoutError."""


class _WrongType(CorruptStateError, ResponseError):
    """CorruptStateError that is also the redis.ResponseError it was."""


# tracebacks show the public name
for _cls, _name in ((_ConnectionFailed, "ConnectionFailedError"), (_Timeout, "RedisTimeoutError"),
                    (_WrongType, "CorruptStateError")):
    _cls.__name__ = _cls.__qualname__ = _name


_OUR_WRONGTYPE = re.compile(r"WRONGTYPE key (\S+) holds a (\w+), not a (\w+)")
_LOOKUPS = (QueueNotFoundError, TaskNotFoundError)
_CAUGHT = (RedisError, *_LOOKUPS)


def redis_address(client: Any) -> str:
    """host:port/db or the socket path of a client's pool: never user, password or query."""
    try:
        kw = client.connection_pool.connection_kwargs
    except AttributeError:
        try:   # RedisCluster: no pool of its own; name the node it starts from
            node = client.get_default_node()
            return f"redis+cluster://{node.host}:{node.port}"
        except Exception:  # noqa: BLE001 - an address is a courtesy; never fail on it
            return type(client).__name__
    if kw.get("path"):
        return f"unix://{kw['path']}"
    service = getattr(client.connection_pool, "service_name", None)
    if service:
        return f"redis+sentinel service {service}"
    host = str(kw.get("host", "localhost"))
    if ":" in host:
        host = f"[{host}]"
    return f"redis://{host}:{kw.get('port', 6379)}/{kw.get('db', 0)}"


def _secret(client: Any) -> str:
    try:
        return str(client.connection_pool.connection_kwargs.get("password") or "")
    except AttributeError:
        return ""


def translate(client: Any, exc: BaseException) -> BaseException | None:
    """The dmq error for a redis-py error raised while talking to `client`; None: keep `exc`."""
    if isinstance(exc, _LOOKUPS):
        if exc.redis is None:
            exc.redis = redis_address(client)
            exc.args = (f"{exc.args[0] if exc.args else exc} (Redis at {exc.redis})", *exc.args[1:])
        return None
    if isinstance(exc, DmqError):
        return None
    if isinstance(exc, ResponseError):
        text = str(exc)
        if not text.startswith("WRONGTYPE"):
            return None
        m = _OUR_WRONGTYPE.search(text)
        where = redis_address(client)
        if m:
            return _WrongType(f"corrupt queue state at {where}: key {m.group(1)} holds a {m.group(2)} where a "
                              f"{m.group(3)} belongs; nothing was written (inspect or delete the key)",
                              key=m.group(1), found=m.group(2), expected=m.group(3))
        return _WrongType(f"corrupt queue state at {where}: a key holds the wrong type ({text})")
    if not isinstance(exc, (RedisConnectionError, RedisTimeout)):
        return None
    where = redis_address(client)
    detail = str(exc)
    secret = _secret(client)
    if secret:
        detail = detail.replace(secret, "***")
    if isinstance(exc, RedisTimeout):
        return _Timeout(f"Redis at {where} did not answer in time: {detail}")
    if isinstance(exc, redis.AuthenticationError):
        return _ConnectionFailed(f"Redis at {where} refused the credentials: {detail}")
    return _ConnectionFailed(f"cannot reach Redis at {where}: {detail}")


def _wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return (yield from fn(self, *args, **kwargs))
            except _CAUGHT as exc:
                new = translate(self.client, exc)
                if new is None:
                    raise
                raise new from None
        return gen

    @functools.wraps(fn)
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(self, *args, **kwargs)
        except _CAUGHT as exc:
            new = translate(self.client, exc)
            if new is None:
                raise
            raise new from None
    return call


def translates_itself(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a hot method that catches `CAUGHT` and calls `reraise` itself, in its own body: a
    try block costs nothing until something is raised, where a wrapper costs a call frame and
    argument packing (~2,000 instructions) on every call (Client.enqueue's fast path)."""
    fn.__dmq_translates__ = True  # type: ignore[attr-defined]
    return fn


def reraise(client: Any, exc: BaseException) -> None:
    """Raise the dmq error for `exc` (see translate), or `exc` itself."""
    new = translate(client, exc)
    if new is None:
        raise exc
    raise new from None


CAUGHT = _CAUGHT


def guard(cls: type, local: frozenset[str] = frozenset()) -> type:
    """Wrap every public plain method of `cls` and its bases (not static/class methods,
    properties or dunders) with the translation above; skip `local` methods, which never talk
    to Redis (clock and bookkeeping helpers called on hot paths), and those that translate
    themselves."""
    done: set[str] = set(local)
    for klass in cls.__mro__:
        if klass is object:
            continue
        for name, attr in vars(klass).items():
            if name.startswith("_") or name in done:
                continue
            done.add(name)
            if inspect.isfunction(attr) and not getattr(attr, "__dmq_translates__", False):
                setattr(cls, name, _wrap(attr))
    return cls
