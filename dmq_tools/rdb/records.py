"""Internal records the storage layer reads and writes. Raw units (seconds) live here only."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["TaskMessage", "StoredTask"]


@dataclass(slots=True)
class TaskMessage:
    """asynq's TaskMessage (protobuf), field for field. Times are Unix seconds, 0 = unset."""

    type: str
    payload: bytes | None = None
    id: str = ""
    queue: str = "default"
    retry: int = 25
    retried: int = 0
    error_msg: str = ""
    last_failed_at: int = 0
    timeout: int = 0
    deadline: int = 0
    unique_key: str = ""
    group_key: str = ""
    retention: int = 0
    completed_at: int = 0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class StoredTask:
    """A task hash as read back: the decoded message plus hash fields and a zset score."""

    message: TaskMessage
    state: str
    result: bytes | None = None
    score: float = 0.0
    pending_since_ns: int = 0
