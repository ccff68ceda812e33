"""Inspector queries and admin operations (asynq inspect.go): queue stats, memory, pause,
remove, groups, servers and workers, cancel, INFO. Task listing and task transitions live in
inspect_tasks.py; the history reads (daily counters, events stream, per-minute counters) in
inspect_history.py."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from google.protobuf.message import DecodeError
from redis.exceptions import ResponseError

from ..errors import QueueNotEmptyError, QueuePausedStateError
from . import keys
from .corrupt import corrupt_error
from .inspect_history import InspectHistoryMixin
from .inspect_tasks import InspectTasksMixin
from .wire import from_timestamp, pb

__all__ = ["InspectMixin", "QueueStats", "ServerRecord", "WorkerRecord",
           "TASK_SAMPLE_SIZE", "GROUP_SAMPLE_SIZE"]

log = logging.getLogger(__name__)

#: asynq's memory sampling constants (taskSampleSize, groupSampleSize).
TASK_SAMPLE_SIZE = 20
GROUP_SAMPLE_SIZE = 5


@dataclass(slots=True)
class QueueStats:
    """asynq's Stats: counts by state and counters; latency in seconds, raw units."""

    queue: str
    pending: int = 0
    active: int = 0
    scheduled: int = 0
    retry: int = 0
    archived: int = 0
    completed: int = 0
    aggregating: int = 0
    groups: int = 0
    processed: int = 0
    failed: int = 0
    processed_total: int = 0
    failed_total: int = 0
    paused: bool = False
    latency_s: float = 0.0
    memory_usage: int = 0
    timestamp: float = 0.0
    #: bytes dmq counts beyond asynq's figure (group sorted sets, the groups set)
    memory_usage_extra: int = 0

    @property
    def size(self) -> int:
        return (self.pending + self.active + self.scheduled + self.retry + self.archived
                + self.completed + self.aggregating)


@dataclass(slots=True)
class WorkerRecord:
    host: str
    pid: int
    server_id: str
    task_id: str
    task_type: str
    task_payload: bytes
    queue: str
    started: datetime | None
    deadline: datetime | None


@dataclass(slots=True)
class ServerRecord:
    host: str
    pid: int
    server_id: str
    concurrency: int
    queues: dict[str, int]
    strict_priority: bool
    status: str
    started: datetime | None
    active_worker_count: int
    workers: list[WorkerRecord] = field(default_factory=list)


def _int(v: Any) -> int:
    """A counter or timestamp reply; tolerates float text written by other tools."""
    if v is None:
        return 0
    try:
        return int(v)
    except ValueError:
        return int(float(v))


class InspectMixin(InspectTasksMixin, InspectHistoryMixin):
    # ---- queues ----
    def all_queues(self) -> list[str]:
        """Registered queue names (asynq:queues), sorted."""
        return sorted(m.decode() if isinstance(m, bytes) else m for m in self.client.smembers(keys.ALL_QUEUES))

    def current_stats(self, q: str, memory: bool = True) -> QueueStats:
        """asynq currentStats (+ memoryUsage unless memory=False)."""
        self.check_queue(q)
        day = self.today()
        try:
            v = self.scripts.run("current_stats", [
                keys.pending(q), keys.active(q), keys.scheduled(q), keys.retry(q), keys.archived(q),
                keys.completed(q), keys.processed(q, day), keys.failed(q, day), keys.processed_total(q),
                keys.failed_total(q), keys.paused(q), keys.groups(q),
            ], [keys.task_prefix(q), keys.group_prefix(q)])
        except ResponseError as exc:
            raise corrupt_error(self.client, exc, {
                keys.pending(q): "list", keys.active(q): "list", keys.scheduled(q): "zset", keys.retry(q): "zset",
                keys.archived(q): "zset", keys.completed(q): "zset", keys.groups(q): "set",
                keys.processed(q, day): "string", keys.failed(q, day): "string",
                keys.processed_total(q): "string", keys.failed_total(q): "string"}) from None
        now_ns = self.now_ns()
        since = _int(v[13])
        stats = QueueStats(
            queue=q, pending=_int(v[0]), active=_int(v[1]), scheduled=_int(v[2]), retry=_int(v[3]),
            archived=_int(v[4]), completed=_int(v[5]), processed=_int(v[6]), failed=_int(v[7]),
            processed_total=_int(v[8]), failed_total=_int(v[9]), paused=bool(_int(v[10])),
            groups=_int(v[11]), aggregating=_int(v[12]),
            latency_s=max(now_ns - since, 0) / 1e9 if since else 0.0,
            timestamp=self.clock.time(),
        )
        if memory:
            stats.memory_usage, stats.memory_usage_extra = self.memory_usage_parts(q)
        return stats

    def memory_usage(self, q: str) -> int:
        """Approximate bytes of a queue: asynq v0.26's memoryUsage figure exactly."""
        return self.memory_usage_parts(q)[0]

    def memory_usage_parts(self, q: str) -> tuple[int, int]:
        """(asynq's figure, what dmq counts beyond it: the group sorted sets and the groups set)."""
        asynq_bytes, extra = self.scripts.run("memory_usage", [
            keys.active(q), keys.pending(q), keys.scheduled(q), keys.retry(q), keys.archived(q),
            keys.completed(q), keys.groups(q),
        ], [keys.task_prefix(q), TASK_SAMPLE_SIZE, GROUP_SAMPLE_SIZE, keys.group_prefix(q)])
        return int(asynq_bytes), int(extra)

    def group_stats(self, q: str) -> list[tuple[str, int]]:
        """(group, size) for every group of a queue, sorted by name."""
        self.check_queue(q)
        names = sorted(g.decode() if isinstance(g, bytes) else g for g in self.client.smembers(keys.groups(q)))
        pipe = self.client.pipeline(transaction=False)
        for g in names:
            pipe.zcard(keys.group(q, g))
        return list(zip(names, (int(n) for n in pipe.execute())))

    def pause(self, q: str) -> None:
        self.check_queue(q)
        if not self.client.setnx(keys.paused(q), self.now_s()):
            raise QueuePausedStateError(f'queue "{q}" is already paused')

    def unpause(self, q: str) -> None:
        self.check_queue(q)
        if not self.client.delete(keys.paused(q)):
            raise QueuePausedStateError(f'queue "{q}" is not paused')

    def remove_queue(self, q: str, force: bool = False) -> None:
        """asynq RemoveQueue; completed tasks, groups, counters and paused stay behind."""
        self.check_queue(q)
        ks = [keys.pending(q), keys.active(q), keys.scheduled(q), keys.retry(q), keys.archived(q), keys.lease(q)]
        if force:
            code = int(self.scripts.run("remove_queue_force", ks, [keys.task_prefix(q)]))
        else:
            code = int(self.scripts.run("remove_queue", ks, []))
        if code == -1:
            raise QueueNotEmptyError(q)
        if code == -2:
            raise QueueNotEmptyError(q, "cannot remove queue with active tasks")
        self.client.srem(keys.ALL_QUEUES, q)
        self.forget_queue(q)

    def publish_cancellation(self, task_id: str) -> int:
        """PUBLISH asynq:cancel <id>; returns how many subscribers got it."""
        return int(self.client.publish(keys.CANCEL_CHANNEL, task_id))

    def redis_info(self) -> dict[str, str]:
        """INFO as flat string pairs, like asynq's parsed map."""
        out: dict[str, str] = {}
        for k, v in self.client.info().items():
            if isinstance(v, dict):
                out[k] = ",".join(f"{a}={b}" for a, b in v.items())
            else:
                out[k] = str(v)
        return out

    # ---- presence ----
    def _live_keys(self, index: str) -> list[str]:
        raw = self.scripts.run("list_server_keys", [index], [self.now_s()])
        return [m.decode() if isinstance(m, bytes) else m for m in raw]

    def list_servers(self) -> list[ServerRecord]:
        """Live servers with their workers joined by server_id; undecodable data is skipped."""
        server_keys = self._live_keys(keys.ALL_SERVERS)
        worker_keys = self._live_keys(keys.ALL_WORKERS)
        pipe = self.client.pipeline(transaction=False)
        for k in server_keys:
            pipe.get(k)
        for k in worker_keys:
            pipe.hvals(k)
        replies = pipe.execute()
        servers: list[ServerRecord] = []
        for data in replies[:len(server_keys)]:
            if not data:
                continue
            info = pb.ServerInfo()
            try:
                info.ParseFromString(data)
            except DecodeError:
                log.warning("skipping undecodable server info (%d bytes)", len(data))
                continue
            servers.append(ServerRecord(
                host=info.host, pid=info.pid, server_id=info.server_id, concurrency=info.concurrency,
                queues=dict(info.queues), strict_priority=info.strict_priority, status=info.status,
                started=from_timestamp(info.start_time), active_worker_count=info.active_worker_count))
        by_id = {s.server_id: s for s in servers}
        for vals in replies[len(server_keys):]:
            for data in vals or ():
                w = pb.WorkerInfo()
                try:
                    w.ParseFromString(data)
                except DecodeError:
                    log.warning("skipping undecodable worker info (%d bytes)", len(data))
                    continue
                owner = by_id.get(w.server_id)
                if owner is None:
                    continue
                owner.workers.append(WorkerRecord(
                    host=w.host, pid=w.pid, server_id=w.server_id, task_id=w.task_id,
                    task_type=w.task_type, task_payload=w.task_payload, queue=w.queue,
                    started=from_timestamp(w.start_time), deadline=from_timestamp(w.deadline)))
        servers.sort(key=lambda s: (s.host, s.pid, s.server_id))
        return servers
