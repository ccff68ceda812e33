"""`connect()`: the url argument, else REDIS_URL (+REDIS_PASSWORD), else the embedded server."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import redis

from ..errors import ConfigurationError, ConnectionFailedError

__all__ = ["connect", "resolve", "normalize_url", "redact_url", "Connection"]

Connection = Any  # redis.Redis | str | None


def _load_dotenv() -> None:
    """Read ./.env without overriding the real environment (secrets stay out of code)."""
    try:
        from dotenv import load_dotenv
    except ImportError:  # pragma: no cover - python-dotenv is a dependency
        return
    load_dotenv(os.path.join(os.getcwd(), ".env"), override=False)


def normalize_url(url: str, password: str | None = None) -> str:
    """Accept the seed's `host:port`, and redis://, rediss://, unix:// URLs; add a password."""
    url = url.strip()
    if not url:
        raise ConfigurationError("empty Redis URL")
    if "://" not in url:
        url = "redis://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ConfigurationError(
            f"unsupported Redis URL scheme {parts.scheme!r} in {redact_url(url)}: "
            "use redis://, rediss:// (TLS), unix:// or host:port"
        )
    if parts.scheme != "unix":
        try:
            parts.port
        except ValueError as exc:
            raise ConfigurationError(f"bad port in Redis URL {redact_url(url)}") from exc
        if not parts.hostname:
            raise ConfigurationError(f"no host in Redis URL {redact_url(url)}")
    if password and parts.password is None:
        netloc = parts.netloc
        user = parts.username or ""
        host = netloc.rsplit("@", 1)[-1]
        netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
        if parts.scheme == "unix":
            # redis-py reads the password of a unix URL from the query string
            query = parts.query + ("&" if parts.query else "") + "password=" + quote(password, safe="")
            return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
        url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return url


def redact_url(url: str) -> str:
    """The URL's address with any password removed, for messages and logs."""
    try:
        parts = urlsplit(url if "://" in url else "redis://" + url)
    except ValueError:
        return "<unparseable URL>"
    if parts.scheme == "unix":
        return f"unix://{parts.path}"
    host = parts.hostname or "?"
    try:
        port = parts.port or 6379
    except ValueError:
        port = "?"
    db = parts.path.strip("/") or "0"
    return f"{parts.scheme}://{host}:{port}/{db}"


def connect(url: str | None = None, *, check: bool = True, **redis_kwargs: Any) -> "redis.Redis[Any]":
    """A redis.Redis for: `url`, else REDIS_URL (+REDIS_PASSWORD), else the embedded server.

    Raises ConnectionFailedError naming the address (never the password) when Redis does
    not answer, and ConfigurationError for a malformed URL.
    """
    _load_dotenv()
    if url is None:
        url = os.environ.get("REDIS_URL") or os.environ.get("DMQ_REDIS_URL") or None
    if url is None:
        from ..embedded import ensure_running

        url = ensure_running().url
    full = normalize_url(url, os.environ.get("REDIS_PASSWORD") or None)
    kwargs = {"socket_connect_timeout": 5, "health_check_interval": 30, **redis_kwargs}
    try:
        client = redis.Redis.from_url(full, **kwargs)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(f"bad Redis URL {redact_url(full)}: {exc}") from None
    if check:
        try:
            client.ping()
        except redis.AuthenticationError as exc:
            raise ConnectionFailedError(
                f"Redis at {redact_url(full)} refused the credentials: {exc}"
            ) from None
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            raise ConnectionFailedError(f"cannot connect to Redis at {redact_url(full)}: {exc}") from None
        except redis.ResponseError as exc:
            raise ConnectionFailedError(f"Redis at {redact_url(full)} answered with an error: {exc}") from None
    return client


def resolve(conn: Connection) -> tuple["redis.Redis[Any]", bool]:
    """(client, owned): a given client is shared and never closed by us; others we created."""
    if isinstance(conn, redis.Redis):
        return conn, False
    if conn is None or isinstance(conn, str):
        return connect(conn), True
    raise ConfigurationError(
        f"expected a redis.Redis, a URL or None, got {type(conn).__name__}"
    )
