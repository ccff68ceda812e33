"""Cluster and Sentinel addresses: `redis+cluster://h1:7000,h2:7001` and
`redis+sentinel://h1:26379,h2:26380/mymaster[/db]` (TLS: `rediss+cluster://`, `rediss+sentinel://`,
with redis-py's `ssl_*` options as query parameters, e.g. `?ssl_ca_certs=/etc/ca.pem`, applied to
the nodes and to the sentinels alike).

The clients are redis-py's own `RedisCluster` and `Sentinel(...).master_for(...)`, sync
(`open_topology`) or asyncio (`open_async_topology`, for AsyncClient), from one parsed `Topology`. A Sentinel
client retries a command with backoff on ConnectionError, TimeoutError and ReadOnlyError, so a
master switch (the old master gone or demoted) is ridden out: the retry asks the sentinels for
the new master. `connection.connect()` calls `open_topology` for these schemes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from collections.abc import Sequence
from urllib.parse import parse_qsl, unquote

from redis.backoff import ExponentialBackoff, NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry
from redis.sentinel import Sentinel

from ..errors import ConfigurationError

__all__ = ["Topology", "parse_topology", "open_topology", "open_async_topology", "is_cluster", "is_sentinel",
           "is_topology_url", "redact_topology", "failover_retry", "CLUSTER_SCHEMES", "SENTINEL_SCHEMES", "TLS_OPTIONS"]

CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")
SENTINEL_SCHEMES = ("redis+sentinel", "rediss+sentinel")

#: The query parameters a rediss+ URL takes: redis-py's TLS options (as for a rediss:// URL).
#: (Those both redis-py's sync and asyncio clients take.)
TLS_OPTIONS = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile", "ssl_cert_reqs", "ssl_check_hostname", "ssl_ciphers")


@dataclass(frozen=True)
class Topology:
    """A parsed cluster or sentinel address (the password is kept apart from the address)."""

    kind: str                       # "cluster" | "sentinel"
    nodes: tuple[tuple[str, int], ...]
    tls: bool = False
    master: str = ""                # sentinel: the monitored master's name
    db: int = 0
    username: str | None = None
    password: str | None = None
    tls_options: tuple[tuple[str, Any], ...] = ()   # redis-py ssl_* keyword arguments

    def tls_kwargs(self) -> dict[str, Any]:
        """redis-py keyword arguments for TLS (nodes and sentinels alike); {} without TLS."""
        return {"ssl": True, **dict(self.tls_options)} if self.tls else {}

    def address(self) -> str:
        """The address for messages: scheme, nodes, master, never the credentials."""
        scheme = ("rediss+" if self.tls else "redis+") + self.kind
        hosts = ",".join(f"{h}:{p}" for h, p in self.nodes)
        tail = f"/{self.master}" + (f"/{self.db}" if self.db else "") if self.kind == "sentinel" else ""
        return f"{scheme}://{hosts}{tail}"


def is_topology_url(url: str) -> bool:
    scheme = url.strip().partition("://")[0].lower()
    return scheme in CLUSTER_SCHEMES + SENTINEL_SCHEMES


def is_cluster(client: Any) -> bool:
    """Whether `client` is a Redis Cluster client (the cluster paths of RDB apply)."""
    return isinstance(client, RedisCluster)


def is_sentinel(client: Any) -> bool:
    """Whether `client` (sync or asyncio) talks to a Sentinel-managed master."""
    return bool(getattr(getattr(client, "connection_pool", None), "service_name", None))


def _node(text: str, default_port: int, where: str) -> tuple[str, int]:
    text = text.strip()
    if not text:
        raise ConfigurationError(f"empty node in {where}")
    if text.startswith("["):                      # [ipv6]:port
        host, _, rest = text[1:].partition("]")
        port_text = rest.lstrip(":")
    else:
        host, _, port_text = text.rpartition(":") if ":" in text else (text, "", "")
    if not port_text:
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigurationError(f"bad port {port_text!r} in {where}")
    return host, int(port_text)


def redact_topology(url: str) -> str:
    """`url` without user and password (for messages)."""
    scheme, _, rest = url.strip().partition("://")
    rest = rest.split("?", 1)[0]
    return f"{scheme}://{rest.rsplit('@', 1)[-1]}"


def parse_topology(url: str, password: str | None = None) -> Topology:
    """Parse a cluster/sentinel URL; `password` (REDIS_PASSWORD) applies when the URL has none."""
    scheme, _, rest = url.strip().partition("://")
    scheme = scheme.lower()
    where = redact_topology(url)
    if scheme not in CLUSTER_SCHEMES + SENTINEL_SCHEMES:
        raise ConfigurationError(f"not a cluster or sentinel URL: {where}")
    rest, _, query = rest.split("#", 1)[0].partition("?")
    tls_options = _tls_options(query, scheme.startswith("rediss"), where)
    username: str | None = None
    url_password: str | None = None
    if "@" in rest:
        userinfo, rest = rest.rsplit("@", 1)
        user, sep, secret = userinfo.partition(":")
        username = unquote(user) or None
        url_password = unquote(secret) if sep else None
    hosts, _, path = rest.partition("/")
    kind = "cluster" if scheme in CLUSTER_SCHEMES else "sentinel"
    default_port = 6379 if kind == "cluster" else 26379
    nodes = tuple(_node(h, default_port, where) for h in hosts.split(","))
    master, db = "", 0
    parts = [p for p in path.split("/") if p]
    if kind == "sentinel":
        if not parts:
            raise ConfigurationError(f"no master name in {where}: use redis+sentinel://host:port/mastername")
        master = unquote(parts[0])
        if len(parts) > 1:
            if not parts[1].isdigit():
                raise ConfigurationError(f"bad database number {parts[1]!r} in {where}")
            db = int(parts[1])
    elif parts and parts != ["0"]:
        raise ConfigurationError(f"a cluster has only database 0, got {path!r} in {where}")
    return Topology(kind, nodes, scheme.startswith("rediss"), master, db, username,
                    url_password if url_password is not None else password, tls_options)


def _tls_options(query: str, tls: bool, where: str) -> tuple[tuple[str, Any], ...]:
    """The ssl_* query parameters; anything else (or ssl_* without rediss+) is refused."""
    out: list[tuple[str, Any]] = []
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name not in TLS_OPTIONS:
            raise ConfigurationError(f"unknown option {name!r} in {where}: a cluster or sentinel URL takes "
                                     f"only the TLS options {', '.join(TLS_OPTIONS)}")
        if not tls:
            raise ConfigurationError(f"{name} needs TLS: use rediss+cluster:// or rediss+sentinel:// ({where})")
        if name == "ssl_check_hostname":
            if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ConfigurationError(f"ssl_check_hostname must be true or false in {where}")
            out.append((name, value.lower() in ("true", "1", "yes")))
        else:
            out.append((name, value))
    return tuple(out)


#: What a master switch looks like to a client: the old master gone, or demoted (READONLY).
_FAILOVER_ERRORS = (RedisConnectionError, RedisTimeoutError, ReadOnlyError, ConnectionResetError)


def failover_retry(attempts: int = 5) -> Retry:
    """Backoff from 100 ms to 1 s. redis-py applies it twice, nested (per command and per
    connect, where each try asks the sentinels for the master again): a command gives up after
    ~15 s of failed tries, longer than a quick Sentinel failover; workers and schedulers keep
    retrying beyond that on their own."""
    return Retry(ExponentialBackoff(cap=1.0, base=0.1), attempts, supported_errors=_FAILOVER_ERRORS)


def _client_kwargs(top: Topology, redis_kwargs: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments for the nodes' (or the master's) connections, sync or asyncio alike."""
    common: dict[str, Any] = {"socket_connect_timeout": 5, **redis_kwargs}
    if top.password is not None:
        common["password"] = top.password
    if top.username is not None:
        common["username"] = top.username
    common.update(top.tls_kwargs())
    return common


def open_topology(top: Topology, **redis_kwargs: Any) -> Any:
    """A RedisCluster, or a Sentinel-managed Redis bound to the current master.

    Each sentinel is asked once per lookup, without redis-py's default retries (~4 s of backoff
    per sentinel that fails, 12 s for three refusing a certificate): the lookup moves on to the
    next sentinel, and the master connection's own retry (failover_retry) asks them all again."""
    common = _client_kwargs(top, redis_kwargs)
    if top.kind == "cluster":
        common.pop("health_check_interval", None)
        nodes = [ClusterNode(h, p) for h, p in top.nodes]
        return RedisCluster(startup_nodes=nodes, **common)
    sentinel_kwargs: dict[str, Any] = {"socket_connect_timeout": common["socket_connect_timeout"],
                                       "retry": Retry(NoBackoff(), 0), **top.tls_kwargs()}
    sentinel = Sentinel(list(top.nodes), sentinel_kwargs=sentinel_kwargs)
    common.setdefault("retry", failover_retry())
    common.setdefault("retry_on_error", [ReadOnlyError])
    return sentinel.master_for(top.master, db=top.db, **common)


def open_async_topology(top: Topology, **redis_kwargs: Any) -> Any:
    """`open_topology` for asyncio: a redis.asyncio RedisCluster, or a Sentinel-managed
    redis.asyncio Redis of the current master. Nothing is contacted yet (a cluster learns its
    slots on first use). Sentinel: redis-py retries a connect with backoff (a failover), the
    caller retries a write (AsyncProducer)."""
    from redis.asyncio.cluster import ClusterNode as AsyncClusterNode
    from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
    from redis.asyncio.retry import Retry as AsyncRetry
    from redis.asyncio.sentinel import Sentinel as AsyncSentinel

    common = _client_kwargs(top, redis_kwargs)
    if top.kind == "cluster":
        nodes = [AsyncClusterNode(h, p) for h, p in top.nodes]
        return AsyncRedisCluster(startup_nodes=nodes, **common)
    sentinel_kwargs = {"socket_connect_timeout": common["socket_connect_timeout"], "retry": AsyncRetry(NoBackoff(), 0),
                       **top.tls_kwargs()}
    sentinel = AsyncSentinel(list(top.nodes), sentinel_kwargs=sentinel_kwargs)
    # a reset socket is a redis ConnectionError on asyncio's streams (no ConnectionResetError here)
    common.setdefault("retry", AsyncRetry(ExponentialBackoff(cap=1.0, base=0.1), 5,
                                          supported_errors=(RedisConnectionError, RedisTimeoutError, ReadOnlyError)))
    return sentinel.master_for(top.master, db=top.db, **common)


def cluster_url(nodes: Sequence[str]) -> str:
    """`redis+cluster://...` for a list of `host:port` (or redis:// URLs) of cluster nodes."""
    hosts = []
    for n in nodes:
        n = str(n).strip()
        n = n.partition("://")[2] if "://" in n else n
        hosts.append(n.split("/", 1)[0])
    return "redis+cluster://" + ",".join(hosts)
