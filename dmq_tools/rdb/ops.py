"""Reads and writes for operating a deployment: Redis health, heartbeats, leases, alert state.

Used by `doctor`, `alerts` and `metrics` through an Inspector's `rdb`; asynq's keys are only read
here. The alert state lives under `dmq:alerts:` (dmq's addition, never read by asynq).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis

from . import keys
from .base import RDBBase

__all__ = [
    "ALERT_PREFIX",
    "AlertTransition",
    "RedisHealth",
    "alert_forget",
    "alert_observe",
    "alert_states",
    "lease_expired_count",
    "redis_health",
    "redis_time",
    "server_heartbeats",
]

ALERT_PREFIX = "dmq:alerts:"
_ALERT_RULES = "dmq:alerts:rules"


def _alert_key(name: str) -> str:
    return f"{ALERT_PREFIX}rule:{name}"


def _text(v: Any) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


@dataclass(frozen=True)
class RedisHealth:
    """What the doctor needs from INFO and CONFIG GET (empty strings when a command is refused)."""

    address: str
    version: str
    mode: str
    used_memory: int
    maxmemory: int
    maxmemory_policy: str
    aof_enabled: bool
    rdb_save: str
    rdb_last_save_ok: bool
    redis_time: float


def _address(client: Any) -> str:
    kw = getattr(getattr(client, "connection_pool", None), "connection_kwargs", {}) or {}
    if kw.get("path"):
        return f"unix://{kw['path']}"
    if kw.get("host"):
        return f"{kw['host']}:{kw.get('port', 6379)}"
    from .guard import redis_address   # a cluster or a Sentinel-managed client

    return redis_address(client)


def redis_time(rdb: RDBBase) -> float:
    """Redis TIME as Unix seconds (the clock every worker's leases are compared with)."""
    sec, usec = rdb.client.time()
    return int(sec) + int(usec) / 1e6


def redis_health(rdb: RDBBase) -> RedisHealth:
    """INFO server/memory/persistence and the eviction policy; raises redis errors when down."""
    client = rdb.client
    info = client.info()
    try:
        policy = _text(client.config_get("maxmemory-policy").get("maxmemory-policy", ""))
        save = _text(client.config_get("save").get("save", ""))
    except redis.ResponseError:  # CONFIG disabled (managed Redis): fall back to INFO
        policy, save = _text(info.get("maxmemory_policy", "")), ""
    return RedisHealth(
        address=_address(client), version=_text(info.get("redis_version", "?")),
        mode=_text(info.get("redis_mode", "standalone")), used_memory=int(info.get("used_memory", 0)),
        maxmemory=int(info.get("maxmemory", 0)), maxmemory_policy=policy,
        aof_enabled=bool(int(info.get("aof_enabled", 0))), rdb_save=save,
        rdb_last_save_ok=_text(info.get("rdb_last_bgsave_status", "ok")) == "ok",
        redis_time=redis_time(rdb))


def server_heartbeats(rdb: RDBBase) -> dict[str, float]:
    """server id -> expiry (Unix s, the server's own clock + its TTL) of every live heartbeat."""
    out: dict[str, float] = {}
    members: list[Any] = rdb.client.zrange(keys.ALL_SERVERS, 0, -1, withscores=True)
    for member, score in members:
        name = _text(member)                     # asynq:servers:{host:pid:id}
        out[name.rsplit(":", 1)[-1].rstrip("}")] = float(score)
    return out


def lease_expired_count(rdb: RDBBase, queue: str, cutoff_s: float) -> int:
    """Active tasks of `queue` whose lease ran out before `cutoff_s` (Unix s)."""
    return int(rdb.client.zcount(keys.lease(queue), "-inf", f"({cutoff_s}"))


@dataclass(frozen=True)
class AlertTransition:
    """What one observation did: `code` 1 = send the firing notice, 2 = the recovery notice."""

    code: int
    state: str
    fired_at: float | None


def alert_observe(rdb: RDBBase, name: str, breached: bool, for_s: float, recover_s: float,
                  value: str, message: str) -> AlertTransition:
    """Record one observation atomically, so one evaluator among many sends each notice."""
    code, state, fired = rdb.scripts.run("alert_observe", [_alert_key(name), _ALERT_RULES],
                                         [1 if breached else 0, int(for_s * 1000), int(recover_s * 1000),
                                          value, message, name])
    fired_text = _text(fired)
    return AlertTransition(int(code), _text(state), float(fired_text) / 1000 if fired_text else None)


def alert_states(rdb: RDBBase) -> dict[str, dict[str, str]]:
    """rule name -> its stored state fields (state, value, message; since, fired_at, ok_since and
    resolved_at as Unix ms)."""
    names = sorted(_text(n) for n in rdb.client.smembers(_ALERT_RULES))
    pipe = rdb.client.pipeline(transaction=False)
    for n in names:
        pipe.hgetall(_alert_key(n))
    out: dict[str, dict[str, str]] = {}
    for n, fields in zip(names, pipe.execute()):
        if fields:
            out[n] = {_text(k): _text(v) for k, v in fields.items()}
    return out


def alert_forget(rdb: RDBBase, name: str) -> None:
    """Drop a rule's state (a rule removed from the file)."""
    pipe = rdb.client.pipeline(transaction=False)
    pipe.delete(_alert_key(name))
    pipe.srem(_ALERT_RULES, name)
    pipe.execute()
