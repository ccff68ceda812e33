"""`connect()`: the url argument, else REDIS_URL (+REDIS_PASSWORD), else the embedded server.

Every error names the address and never the password: messages are built from
`redact_url()` and scrubbed of any secret we know (the URL's own password and REDIS_PASSWORD),
and redis-py's exception is not chained into the traceback.
"""

from __future__ import annotations

import os
import re
import time
from typing import Any, cast
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import redis
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.exceptions import RedisClusterException
from redis.retry import Retry
from redis.sentinel import MasterNotFoundError

from ..errors import ConfigurationError, ConnectionFailedError
from .topology import cluster_url, is_topology_url, redact_topology, open_topology, parse_topology

__all__ = ["connect", "resolve", "normalize_url", "redact_url", "Connection"]

Connection = Any  # redis.Redis | str | None

_SCHEMES = ("redis", "rediss", "unix")


def _load_dotenv() -> None:
    """Read ./.env without overriding the real environment (secrets stay out of code)."""
    try:
        from dotenv import load_dotenv
    except ImportError:  # pragma: no cover - python-dotenv is a dependency
        return
    load_dotenv(os.path.join(os.getcwd(), ".env"), override=False)


def _with_scheme(url: str) -> str:
    return url if "://" in url else "redis://" + url


def _split(url: str) -> Any:
    try:
        return urlsplit(_with_scheme(url))
    except ValueError:
        raise ConfigurationError(f"malformed Redis URL {redact_url(url)}") from None


def normalize_url(url: str, password: str | None = None) -> str:
    """Accept the seed's `host:port`, and redis://, rediss://, unix:// URLs; add a password.

    `password` (REDIS_PASSWORD) is used only when the URL carries none of its own.
    """
    url = url.strip()
    if not url:
        raise ConfigurationError("empty Redis URL")
    url = _with_scheme(url)
    parts = _split(url)
    if parts.scheme not in _SCHEMES:
        raise ConfigurationError(
            f"unsupported Redis URL scheme {parts.scheme!r} in {redact_url(url)}: "
            "use redis://, rediss:// (TLS), unix://, host:port, "
            "redis+cluster://h1:p1,h2:p2 or redis+sentinel://h1:p1,h2:p2/mastername"
        )
    if parts.scheme == "unix":
        if not parts.path:
            raise ConfigurationError(f"no socket path in Redis URL {redact_url(url)}")
    else:
        try:
            _ = parts.port    # urlsplit parses the port lazily: a bad one raises here
        except ValueError:
            raise ConfigurationError(f"bad port in Redis URL {redact_url(url)}") from None
        if not parts.hostname:
            raise ConfigurationError(f"no host in Redis URL {redact_url(url)}")
        db = parts.path.strip("/")
        if db and not db.isdigit():
            raise ConfigurationError(f"bad database number {db!r} in Redis URL {redact_url(url)}")
    if not password or parts.password is not None or "password=" in parts.query:
        return url
    if parts.scheme == "unix":
        # redis-py reads the password of a unix URL from the query string
        query = parts.query + ("&" if parts.query else "") + "password=" + quote(password, safe="")
        return f"unix://{parts.netloc}{parts.path}?{query}"  # urlunsplit would drop the "//"
    host = parts.netloc.rsplit("@", 1)[-1]
    user = quote(unquote(parts.username or ""), safe="")
    netloc = f"{user}:{quote(password, safe='')}@{host}"
    return str(urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)))


def redact_url(url: str) -> str:
    """The URL's address (scheme, host, port, db or socket path) without user, password or query."""
    if is_topology_url(url):
        return redact_topology(url)
    raw = _with_scheme(url.strip())
    try:
        parts = urlsplit(raw)
    except ValueError:
        # unparseable: keep what follows the userinfo, drop query and fragment
        scheme, _, rest = raw.partition("://")
        rest = re.split(r"[?#]", rest, maxsplit=1)[0]
        rest = rest.rsplit("@", 1)[-1]
        return f"{scheme}://{rest}"
    if parts.scheme == "unix":
        return f"unix://{unquote(parts.path)}"
    host = parts.hostname or "?"
    if ":" in host:
        host = f"[{host}]"
    try:
        port: Any = parts.port or 6379
    except ValueError:
        port = parts.netloc.rsplit("@", 1)[-1].rpartition(":")[2] or "?"
    db = parts.path.strip("/") or "0"
    return f"{parts.scheme}://{host}:{port}/{db}"


def _secrets(url: str, password: str | None) -> list[str]:
    found = {password or ""}
    try:
        parts = urlsplit(_with_scheme(url))
        found.add(parts.password or "")
        found.add(unquote(parts.password or ""))
        for match in re.finditer(r"(?:^|&)password=([^&]*)", parts.query):
            found.update({match.group(1), unquote(match.group(1))})
    except ValueError:
        head = _with_scheme(url).partition("://")[2].rsplit("@", 1)
        if len(head) == 2:
            found.add(head[0].partition(":")[2])
    for value in list(found):
        found.add(quote(value, safe=""))
    return sorted((s for s in found if s), key=len, reverse=True)


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def _source_url() -> tuple[str | None, str]:
    for name in ("REDIS_URL", "DMQ_REDIS_URL"):
        value = os.environ.get(name)
        if value and value.strip():
            return value, name
    return None, "embedded"


def connect(url: str | list[str] | tuple[str, ...] | None = None, *, check: bool = True,
            **redis_kwargs: Any) -> redis.Redis:
    """A redis.Redis for: `url`, else REDIS_URL (+REDIS_PASSWORD), else the embedded server.

    `redis+cluster://h1:7000,h2:7001` (or a list of `host:port` nodes) gives a RedisCluster,
    `redis+sentinel://h1:26379,h2:26380/mymaster` a Sentinel-managed client of the current
    master (rediss+... for TLS): see topology.py.

    A ./.env file is read first (real environment variables win). REDIS_PASSWORD applies to
    the `url` argument and to REDIS_URL when they carry no password, never to the embedded
    server. Raises ConnectionFailedError naming the address (never the password) when Redis
    does not answer, and ConfigurationError for a malformed URL.
    """
    _load_dotenv()
    password = os.environ.get("REDIS_PASSWORD") or None
    source = "url argument"
    if url is None:
        url, source = _source_url()
    if isinstance(url, (list, tuple)):
        url = cluster_url(url)
    if url is not None and is_topology_url(url):
        # a RedisCluster is not a redis.Redis, but offers the same commands to dmq's callers
        return cast("redis.Redis", _connect_topology(url, password, source, check, redis_kwargs))
    if url is None:
        from ..embedded import connect_fallback  # logs once which server and data directory

        url, password = connect_fallback().url, None
    secrets = _secrets(url, password)
    problem = None
    try:
        full = normalize_url(url, password)
    except ConfigurationError as exc:
        problem = f"{exc} (from {source})"
    if problem is not None:  # raised outside `except`: no chained context to leak
        raise ConfigurationError(_scrub(problem, secrets))
    where = f"{redact_url(full)} (from {source})"
    kwargs = {"socket_connect_timeout": 5, "health_check_interval": 30, **redis_kwargs}
    try:
        client = redis.Redis.from_url(full, **kwargs)
    except (ValueError, TypeError) as exc:
        problem = f"bad Redis URL {where}: {exc}"
    if problem is not None:
        raise ConfigurationError(_scrub(problem, secrets))
    if check:
        _check(client, where, secrets)
    return client


def _connect_topology(url: str, password: str | None, source: str, check: bool,
                      redis_kwargs: dict[str, Any]) -> Any:
    """A cluster or sentinel client; errors name the address, never the password."""
    secrets = _secrets(url.replace("+cluster://", "://").replace("+sentinel://", "://"), password)
    problem = None
    try:
        top = parse_topology(url, password)
    except ConfigurationError as exc:
        problem = f"{exc} (from {source})"
    if problem is not None:
        raise ConfigurationError(_scrub(problem, secrets))
    where = f"{top.address()} (from {source})"
    client = None
    try:
        client = open_topology(top, **redis_kwargs)
    except (ValueError, TypeError) as exc:
        problem = f"bad Redis URL {where}: {exc}"
    except redis.AuthenticationError as exc:
        problem = f"Redis at {where} refused the credentials: {exc}"
    except (redis.RedisError, RedisClusterException, OSError) as exc:   # RedisCluster contacts its nodes now
        problem = f"cannot connect to Redis at {where}: {exc}"
    if problem is not None or client is None:
        raise (ConfigurationError if "bad Redis URL" in str(problem) else ConnectionFailedError)(
            _scrub(str(problem), secrets))
    if check:
        if top.kind == "sentinel":   # fail fast: one round over the sentinels, not the failover retry
            _check_master(client, where, secrets)
        _check(client, where, secrets)
    return client


#: How long connect() waits for the sentinels to agree on a healthy master while some of them
#: answer for it (a failover in progress); with none answering it fails at once.
FAILOVER_WAIT_S = 15.0


def _sentinel_knows_master(client: Any) -> bool:
    """Whether some sentinel answers and monitors this master (a wrong name fails at once)."""
    pool = client.connection_pool
    for sentinel in pool.sentinel_manager.sentinels:
        kw = sentinel.connection_pool.connection_kwargs
        tls = {k: v for k, v in kw.items() if k.startswith("ssl_")}   # a TLS sentinel: the same TLS
        if "SSL" in sentinel.connection_pool.connection_class.__name__:
            tls["ssl"] = True
        probe = redis.Redis(host=kw.get("host", "localhost"), port=kw.get("port", 26379),
                            username=kw.get("username"), password=kw.get("password"),
                            socket_timeout=1.0, socket_connect_timeout=1.0,
                            retry=Retry(NoBackoff(), 0), **tls)   # one quick try each, no client-side retries
        try:
            if probe.execute_command("SENTINEL", "get-master-addr-by-name", pool.service_name):
                return True
        except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError, OSError):
            continue
        finally:
            probe.close()
    return False


def _check_master(client: Any, where: str, secrets: list[str]) -> None:
    deadline = time.monotonic() + FAILOVER_WAIT_S
    while True:
        try:
            client.connection_pool.get_master_address()
            return
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            pass
        if time.monotonic() >= deadline or not _sentinel_knows_master(client):
            break
        time.sleep(0.2)   # sentinels answer but name no master yet: a failover in progress
    message = f"cannot connect to Redis at {where}: no sentinel answered with that master"
    client.close()
    raise ConnectionFailedError(_scrub(message, secrets)) from None


def _check(client: redis.Redis, where: str, secrets: list[str]) -> None:
    """PING once; turn redis-py's errors into one clear, password-free error."""
    message = None
    try:
        client.ping()
    except redis.AuthenticationError as exc:
        message = f"Redis at {where} refused the credentials: {exc}"
    except MasterNotFoundError:   # its text lists every sentinel connection's settings
        message = f"cannot connect to Redis at {where}: no sentinel answered with that master"
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        message = f"cannot connect to Redis at {where}: {exc}"
    except redis.ResponseError as exc:
        message = f"Redis at {where} answered with an error: {exc}"
    if message is not None:
        client.close()
        raise ConnectionFailedError(_scrub(message, secrets)) from None


def resolve(conn: Connection) -> tuple[redis.Redis, bool]:
    """(client, owned): a given client is shared and never closed by us; others we created."""
    if isinstance(conn, (redis.Redis, RedisCluster)):
        return cast("redis.Redis", conn), False
    if conn is None or isinstance(conn, (str, list, tuple)):
        return connect(conn), True
    raise ConfigurationError(
        f"expected a redis.Redis, a RedisCluster, a URL or None, got {type(conn).__name__}"
    )
