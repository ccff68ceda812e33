"""Inspector task queries and admin transitions (asynq inspect.go: task listing, run, archive,
delete, update payload). Every call checks the queue exists first, as asynq does."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from redis.exceptions import ResponseError

from ..errors import (
    CodecError,
    QueueNotFoundError,
    TaskAlreadyArchivedError,
    TaskNotFoundError,
    TaskStateError,
)
from . import keys
from .base import RDBBase
from .corrupt import corrupt_error
from .records import TaskMessage
from .scripts import ScriptCall
from .wire import decode_task_message, encode_task_message

__all__ = ["InspectTasksMixin", "TaskRow", "STATES", "LIST_STATES", "ZSET_STATES",
           "ARCHIVE_TTL_SECONDS", "MAX_ARCHIVE_SIZE"]

log = logging.getLogger(__name__)

STATES = ("active", "pending", "aggregating", "scheduled", "retry", "archived", "completed")
LIST_STATES = ("pending", "active")
ZSET_STATES = ("scheduled", "retry", "archived", "completed")
#: asynq's archive trimming (archivedExpirationInDays = 90, maxArchiveSize = 10000).
ARCHIVE_TTL_SECONDS = 90 * 24 * 3600
MAX_ARCHIVE_SIZE = 10_000


@dataclass(slots=True)
class TaskRow:
    """One listed task: decoded message, hash fields, and what the listing knows about it."""

    message: TaskMessage
    state: str
    result: bytes | None = None
    next_process_at: float = 0.0  # Unix s; 0 = none
    orphaned: bool = False


def _s(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


class InspectTasksMixin(RDBBase):
    # ---- helpers ----
    def check_queue(self, q: str) -> None:
        """Raise QueueNotFoundError unless `q` is registered in asynq:queues."""
        if not self.client.sismember(keys.ALL_QUEUES, q):
            raise QueueNotFoundError(q)

    @staticmethod
    def _check_state(state: str, group: str | None) -> None:
        if state not in STATES:
            raise ValueError(f"unknown task state {state!r}; expected one of {', '.join(STATES)}")
        if state == "aggregating" and not group:
            raise ValueError("listing aggregating tasks needs a group")

    def _decode_rows(self, raw: list[Any], state: str, q: str, stride: int) -> tuple[list[TaskRow], int]:
        """Turn a flat script reply into rows; count (and log) IDs whose msg is missing or bad."""
        rows: list[TaskRow] = []
        skipped = 0
        now = self.clock.time()
        for i in range(0, len(raw), stride):
            tid, msg, result, extra = raw[i], raw[i + 1], raw[i + 2], raw[i + 3]
            try:
                m = decode_task_message(msg)
            except CodecError as exc:
                skipped += 1
                log.warning("skipping task %s in queue %s (%s): %s does not hold a readable task (%s)",
                            _s(tid), q, state, keys.task(q, _s(tid)), exc)
                continue
            row = TaskRow(m, state, result)
            if state in LIST_STATES:
                row.orphaned = bool(extra)
                if state == "pending":
                    row.next_process_at = now
            elif state in ("scheduled", "retry"):
                row.next_process_at = float(extra)
            rows.append(row)
        return rows, skipped

    def _page_call(self, q: str, state: str, start: int, stop: int,
                   group: str | None) -> tuple[str, list[Any], list[Any]]:
        """The script, KEYS and ARGV reading positions start..stop (0-based, next to run first)."""
        prefix = keys.task_prefix(q)
        if state in LIST_STATES:
            # Lists: the right end is the oldest (next to run); count from it with negative
            # indexes, then reverse the LRANGE result (asynq's pagination, trap T2).
            cutoff = str(self.now_s()) if state == "active" else ""
            return "list_messages", [keys.state_key(q, state), keys.lease(q)], [-stop - 1, -start - 1, prefix, cutoff]
        key = keys.group(q, group or "") if state == "aggregating" else keys.state_key(q, state)
        return "list_zset_entries", [key], [start, stop, prefix]

    def _container_types(self, q: str, state: str, group: str | None) -> dict[str, str]:
        """The keys a listing of `state` reads, with the type each must have."""
        if state in LIST_STATES:
            return {keys.state_key(q, state): "list", keys.lease(q): "zset"}
        key = keys.group(q, group or "") if state == "aggregating" else keys.state_key(q, state)
        return {key: "zset"}

    def _page_rows(self, raw: list[Any], q: str, state: str) -> tuple[list[TaskRow], int]:
        rows, skipped = self._decode_rows(raw, state, q, 4)
        if state in LIST_STATES:
            rows.reverse()
        return rows, skipped

    def _page(self, q: str, state: str, start: int, stop: int, group: str | None) -> tuple[list[TaskRow], int]:
        name, k, a = self._page_call(q, state, start, stop, group)
        try:
            raw = self.scripts.run(name, k, a)
        except ResponseError as exc:
            raise corrupt_error(self.client, exc, self._container_types(q, state, group)) from None
        return self._page_rows(raw, q, state)

    # ---- queries ----
    def list_tasks(self, q: str, state: str, page: int = 0, size: int = 30,
                   group: str | None = None) -> tuple[list[TaskRow], int]:
        """One page (0-based, asynq's rdb Pagination) of a state; returns (rows, skipped)."""
        self._check_state(state, group)
        if page < 0 or size < 1:
            raise ValueError("page must be >= 0 and size >= 1")
        self.check_queue(q)
        return self._page(q, state, page * size, page * size + size - 1, group)

    def iter_tasks(self, q: str, state: str, batch: int = 2000, group: str | None = None,
                   depth: int = 4) -> Iterator[list[TaskRow]]:
        """Every task of a state, in batches: `depth` page scripts per pipelined round trip.
        Tasks that move while the scan runs may be missed or seen twice (a live view)."""
        self._check_state(state, group)
        self.check_queue(q)
        start = 0
        while True:
            calls = [ScriptCall(*self._page_call(q, state, start + i * batch, start + (i + 1) * batch - 1, group))
                     for i in range(depth)]
            replies = self.scripts.execute(calls)
            for raw in replies:
                if isinstance(raw, ResponseError):
                    raise corrupt_error(self.client, raw, self._container_types(q, state, group))
                if isinstance(raw, Exception):
                    raise raw
                rows, skipped = self._page_rows(raw, q, state)
                if rows:
                    yield rows
                if len(rows) + skipped < batch:
                    return
            start += depth * batch

    def count_tasks(self, q: str, state: str, group: str | None = None) -> int:
        """Size of a state's container (LLEN / ZCARD)."""
        self._check_state(state, group)
        try:
            if state in LIST_STATES:
                return int(self.client.llen(keys.state_key(q, state)))
            key = keys.group(q, group or "") if state == "aggregating" else keys.state_key(q, state)
            return int(self.client.zcard(key))
        except ResponseError as exc:
            raise corrupt_error(self.client, exc, self._container_types(q, state, group)) from None

    def get_task(self, q: str, task_id: str) -> TaskRow:
        """One task (asynq getTaskInfo); raises TaskNotFoundError / QueueNotFoundError."""
        self.check_queue(q)
        try:
            msg, state, result, score = self.scripts.run(
                "get_task_info", [keys.task(q, task_id)], [task_id, keys.queue_prefix(q)])
        except ResponseError as exc:
            if "NOT FOUND" in str(exc):
                raise TaskNotFoundError(q, task_id) from None
            raise corrupt_error(self.client, exc, {keys.task(q, task_id): "hash", keys.scheduled(q): "zset",
                                                   keys.retry(q): "zset"}) from None
        state = _s(state)
        try:
            row = TaskRow(decode_task_message(msg), state, result)
        except CodecError as exc:
            raise CodecError(f"task key {keys.task(q, task_id)} holds no readable task message: {exc}") from None
        if state == "pending":
            row.next_process_at = self.clock.time()
        elif score is not None:
            row.next_process_at = float(score)
        if state == "active":
            try:
                lease = self.client.zscore(keys.lease(q), task_id)
            except ResponseError as exc:
                raise corrupt_error(self.client, exc, {keys.lease(q): "zset"}) from None
            row.orphaned = lease is not None and lease <= self.now_s()
        return row

    # ---- single-task transitions ----
    def _run_code_script(self, name: str, q: str, task_id: str, k: list[Any], a: list[Any]) -> int:
        self.check_queue(q)
        try:
            return int(self.scripts.run(name, k, a))
        except ResponseError as exc:
            if "NOT FOUND" in str(exc):
                raise TaskNotFoundError(q, task_id) from None
            raise

    def run_task(self, q: str, task_id: str) -> None:
        code = self._run_code_script(
            "run_task", q, task_id,
            [keys.task(q, task_id), keys.pending(q), keys.groups(q), keys.wake(q)],
            [task_id, keys.queue_prefix(q), keys.group_prefix(q)])
        if code == 0:
            raise TaskNotFoundError(q, task_id)
        if code == -1:
            raise TaskStateError("task is already running")
        if code == -2:
            raise TaskStateError("task is already in pending state")

    def _trim_args(self) -> list[int]:
        now = self.now_s()
        return [now, now - ARCHIVE_TTL_SECONDS, MAX_ARCHIVE_SIZE]

    def archive_task(self, q: str, task_id: str) -> None:
        code = self._run_code_script(
            "archive_task", q, task_id,
            [keys.task(q, task_id), keys.archived(q), keys.groups(q)],
            [task_id, keys.queue_prefix(q), keys.group_prefix(q), *self._trim_args()])
        if code == 0:
            raise TaskNotFoundError(q, task_id)
        if code == -1:
            raise TaskAlreadyArchivedError(q, task_id)
        if code == -2:
            raise TaskStateError("cannot archive task in active state. use CancelProcessing instead.")

    def delete_task(self, q: str, task_id: str) -> None:
        code = self._run_code_script(
            "delete_task", q, task_id, [keys.task(q, task_id), keys.groups(q)],
            [task_id, keys.queue_prefix(q), keys.group_prefix(q)])
        if code == 0:
            raise TaskNotFoundError(q, task_id)
        if code == -1:
            raise TaskStateError("cannot delete task in active state. use CancelProcessing instead.")

    def update_task_payload(self, q: str, task_id: str, payload: bytes | None) -> TaskRow:
        """Replace a scheduled task's payload (asynq v0.26 updateTaskPayload)."""
        row = self.get_task(q, task_id)
        if row.state != "scheduled":
            raise TaskStateError("cannot update task that is not in scheduled state.")
        row.message.payload = payload
        code = int(self.scripts.run("update_task_payload", [keys.task(q, task_id)],
                                    [encode_task_message(row.message)]))
        if code == 0:
            raise TaskNotFoundError(q, task_id)
        if code == -1:
            raise TaskStateError("cannot update task that is not in scheduled state.")
        return row

    # ---- bulk transitions ----
    def run_all(self, q: str, state: str, group: str | None = None) -> int:
        self.check_queue(q)
        prefix = keys.task_prefix(q)
        if state == "aggregating":
            if not group:
                raise ValueError("running aggregating tasks needs a group")
            return int(self.scripts.run(
                "run_all_aggregating",
                [keys.group(q, group), keys.pending(q), keys.groups(q), keys.wake(q)], [prefix, group]))
        if state not in ("scheduled", "retry", "archived", "completed"):
            raise ValueError(f"cannot run all tasks in state {state!r}")
        return int(self.scripts.run("run_all", [keys.state_key(q, state), keys.pending(q), keys.wake(q)],
                                    [prefix]))

    def archive_all(self, q: str, state: str, group: str | None = None) -> int:
        self.check_queue(q)
        args = [keys.task_prefix(q), *self._trim_args()]
        if state == "aggregating":
            if not group:
                raise ValueError("archiving aggregating tasks needs a group")
            return int(self.scripts.run("archive_all_aggregating",
                                        [keys.group(q, group), keys.archived(q), keys.groups(q)],
                                        [*args, group]))
        if state == "pending":
            return int(self.scripts.run("archive_all_pending", [keys.pending(q), keys.archived(q)], args))
        if state not in ("scheduled", "retry"):
            raise ValueError(f"cannot archive all tasks in state {state!r}")
        return int(self.scripts.run("archive_all", [keys.state_key(q, state), keys.archived(q)], args))

    def delete_all(self, q: str, state: str, group: str | None = None) -> int:
        self.check_queue(q)
        prefix = keys.task_prefix(q)
        if state == "aggregating":
            if not group:
                raise ValueError("deleting aggregating tasks needs a group")
            return int(self.scripts.run("delete_all_aggregating", [keys.group(q, group), keys.groups(q)],
                                        [prefix, group]))
        if state == "pending":
            return int(self.scripts.run("delete_all_pending", [keys.pending(q)], [prefix]))
        if state not in ZSET_STATES:
            raise ValueError(f"cannot delete all tasks in state {state!r}")
        return int(self.scripts.run("delete_all", [keys.state_key(q, state)], [prefix]))
