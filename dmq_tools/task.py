"""`Task`: what a producer enqueues and what a handler receives, and the enqueue options.

A Task built by user code carries a type, a payload and default options (asynq's
`NewTask(type, payload, opts...)`). The worker hands handlers a Task with its runtime context
filled in: id, queue, retry count, deadline, a cancellation Event and a result writer.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta, timezone
from typing import Any
from collections.abc import Callable

from . import _json, limits
from .errors import ConfigurationError, InvalidTaskError

__all__ = ["Task", "TaskOptions", "encode_payload", "encode_result", "Payload"]

Payload = Any  # dict | list | str | bytes | None | other JSON-serialisable value



def encode_payload(payload: Payload) -> bytes | None:
    """dict/list (and other JSON values) -> compact UTF-8 JSON; str -> UTF-8; bytes unchanged.

    None stays None: asynq distinguishes a nil payload from an empty one (unique keys differ).
    """
    if type(payload) is not dict:     # dict, the common case, goes straight to JSON
        if payload is None:
            return None
        if isinstance(payload, bytes):
            return payload
        if isinstance(payload, (bytearray, memoryview)):
            return bytes(payload)
        if isinstance(payload, str):
            return payload.encode("utf-8")
    try:
        return _json.dumps(payload)
    except (TypeError, ValueError) as exc:
        raise InvalidTaskError(
            f"payload of type {type(payload).__name__} is not JSON-serialisable: {exc}"
        ) from exc


def encode_result(value: Any) -> bytes | None:
    """A handler's return value as stored in the task's `result` field."""
    return encode_payload(value)


@dataclass(frozen=True, slots=True)
class TaskOptions:
    """Enqueue options; None means "not given" so later options can override earlier ones."""

    queue: str | None = None
    max_retry: int | None = None
    timeout: timedelta | None = None
    deadline: datetime | None = None
    unique: timedelta | None = None
    task_id: str | None = None
    process_in: timedelta | None = None
    process_at: datetime | None = None
    retention: timedelta | None = None
    group: str | None = None
    headers: dict[str, str] | None = None

    def merged(self, other: TaskOptions) -> TaskOptions:
        """self overridden by every option `other` sets; headers are merged key by key."""
        if other is EMPTY_OPTIONS:
            return self
        if self is EMPTY_OPTIONS:
            return other
        changes: dict[str, Any] = {}
        for f in fields(other):
            value = getattr(other, f.name)
            if value is None:
                continue
            if f.name == "headers" and self.headers:
                value = {**self.headers, **value}
            changes[f.name] = value
        # process_at and process_in: the last one given wins (asynq).
        if other.process_at is not None and other.process_in is None:
            changes["process_in"] = None
        if other.process_in is not None and other.process_at is None:
            changes["process_at"] = None
        return replace(self, **changes) if changes else self

    @classmethod
    def from_kwargs(cls, kwargs: dict[str, Any]) -> TaskOptions:
        if not kwargs:
            return EMPTY_OPTIONS
        known = {f.name for f in fields(cls)}
        unknown = set(kwargs) - known
        if unknown:
            raise ConfigurationError(
                f"unknown enqueue option(s): {', '.join(sorted(unknown))}; "
                f"known: {', '.join(sorted(known))}"
            )
        if kwargs.get("process_at") is not None and kwargs.get("process_in") is not None:
            # both in one call: the last one given wins (asynq; kwargs keep their order)
            order = list(kwargs)
            earlier = min(("process_at", "process_in"), key=order.index)
            kwargs = {**kwargs, earlier: None}
        return cls(**kwargs)


#: "No options given": shared, so merging with it is free on the enqueue hot path.
EMPTY_OPTIONS = TaskOptions()


class Task:
    """A unit of work: a type name, a payload, headers and default enqueue options.

    Handlers receive a Task whose runtime attributes are set: `id`, `queue`, `retry_count`,
    `max_retry`, `deadline`, `cancelled` (a threading.Event) and `write_result()`.
    """

    __slots__ = (
        "type",
        "payload",
        "headers",
        "options",
        "id",
        "queue",
        "retry_count",
        "max_retry",
        "_deadline",
        "_cancelled",
        "_result_writer",
        "_json_cache",
    )

    def __init__(
        self,
        type: str,
        payload: Payload = None,
        headers: dict[str, str] | None = None,
        **options: Any,
    ) -> None:
        if not isinstance(type, str) or not type.strip():
            raise InvalidTaskError("task type cannot be blank")
        if not type.isascii():
            try:
                type.encode()
            except UnicodeEncodeError:
                raise InvalidTaskError(f"task type must be valid UTF-8 text, got {type!r:.80}") from None
        self.type = type
        self.payload: bytes | None = encode_payload(payload)
        self.headers: dict[str, str] = limits.headers(headers) if headers is not None else {}
        self.options = TaskOptions.from_kwargs(options) if options else EMPTY_OPTIONS
        self.id: str = ""
        self.queue: str = ""
        self.retry_count = 0
        self.max_retry = 0
        self._deadline: datetime | float | None = None
        self._cancelled: threading.Event | None = None  # created on first use (producers never need it)
        self._result_writer: Callable[[bytes | None], None] | None = None
        self._json_cache: Any = _UNSET

    @classmethod
    def _leased(cls, type: str, payload: bytes | None, headers: dict[str, str], task_id: str, queue: str,
                retry_count: int, max_retry: int, deadline: float,
                result_writer: Callable[[bytes | None], None]) -> Task:
        """The Task a worker hands to its handler, from a decoded message: every slot set
        directly, no validation or encoding (the message was validated when it was enqueued).
        Part of the idle-pickup path, where code runs cold: ~2x cheaper than __init__ there."""
        task = cls.__new__(cls)
        task.type, task.payload, task.options = type, payload, EMPTY_OPTIONS
        task.headers = dict(headers) if headers else {}   # the handler may change its copy
        task.id, task.queue, task.retry_count, task.max_retry = task_id, queue, retry_count, max_retry
        task._deadline, task._result_writer = float(deadline), result_writer
        task._cancelled, task._json_cache = None, _UNSET
        return task

    @property
    def deadline(self) -> datetime | None:
        """When the worker gives up on the task (UTC); None outside a handler."""
        value = self._deadline
        if isinstance(value, float):   # stored as a Unix time at dispatch, converted on first read
            value = self._deadline = datetime.fromtimestamp(value, timezone.utc)
        return value

    @deadline.setter
    def deadline(self, value: datetime | None) -> None:
        self._deadline = value

    @property
    def cancelled(self) -> threading.Event:
        """Set when the task is cancelled or its deadline passes (cooperative cancellation)."""
        event = self._cancelled
        if event is None:
            with _EVENT_LOCK:
                if self._cancelled is None:
                    self._cancelled = threading.Event()
                event = self._cancelled
        return event

    def json(self) -> Any:
        """The payload parsed as JSON (cached). Raises ValueError if it is not JSON."""
        if self._json_cache is _UNSET:
            self._json_cache = None if self.payload is None else _json.loads(self.payload)
        return self._json_cache

    def text(self) -> str:
        return (self.payload or b"").decode("utf-8")

    def write_result(self, value: Any) -> None:
        """Store `value` as the task's result now (asynq's ResultWriter)."""
        if self._result_writer is None:
            raise RuntimeError("write_result() is only available inside a handler")
        self._result_writer(encode_result(value))

    def __repr__(self) -> str:
        extra = f" id={self.id!r} queue={self.queue!r}" if self.id else ""
        return f"<Task {self.type!r}{extra} payload={self.payload!r:.80}>"


_EVENT_LOCK = threading.Lock()


class _Unset:
    __slots__ = ()


_UNSET = _Unset()
