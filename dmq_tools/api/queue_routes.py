"""The origin guide's endpoints: enqueue the built-in tasks, and queue statistics.

    POST /api/queue/email          {"to", "subject", "body"[, "queue"]}        -> email:deliver on critical
    POST /api/queue/email/delayed  ... + "delay" ("5m", "1h30m" or seconds) or "process_at" (RFC 3339)
    POST /api/queue/image          {"src", "dst", "width", "height"[, "queue"]} -> image:resize on low
    GET  /api/queue/stats          per-queue counts, today's processed/failed

Every field is checked here, before anything is enqueued: a bad one is a 400 naming it. Tasks
are enqueued with the app's AsyncClient, so concurrent requests share Redis round trips.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta, timezone
from typing import Any
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import Route

from ..async_client import AsyncClient
from ..errors import SkipRetry
from ..inspector import Inspector
from ..task import Task
from ..tasks import email as email_task
from ..tasks import image as image_task
from ..tasks._media import check_relative
from ._common import BadRequest, json_object, respond_async

__all__ = ["queue_routes", "parse_delay", "ClientPerLoop", "EMAIL_MESSAGE", "IMAGE_MESSAGE"]

EMAIL_MESSAGE = "Email will be sent shortly"          # the guide's "Email будет отправлен в ближайшее время"
IMAGE_MESSAGE = "Image will be processed shortly"
#: Longest delay or furthest process_at accepted.
MAX_DELAY = timedelta(days=365)
_QUEUE = re.compile(r"[A-Za-z0-9_.:\-]{1,100}")
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


class ClientPerLoop:
    """The app's AsyncClient, made on first use in the running event loop (a client's
    connections belong to one loop; a test client may run each request in a new one)."""

    def __init__(self, make: Callable[[], AsyncClient]) -> None:
        self._make = make
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: AsyncClient | None = None

    def get(self) -> AsyncClient:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client, self._loop = self._make(), loop
        return self._client

    async def aclose(self) -> None:
        if self._client is not None and self._loop is asyncio.get_running_loop():
            await self._client.aclose()
        self._client = None


def parse_delay(value: Any) -> timedelta:
    """A Go duration ("5m", "1h30m", "90s") or a number of seconds; 0 .. 365 days."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise BadRequest("delay", f"must be a duration like \"5m\" or a number of seconds, got {type(value).__name__}")
    if isinstance(value, str):
        text = value.strip()
        pos, seconds = 0, 0.0
        for match in _DURATION.finditer(text):
            if match.start() != pos:
                break
            seconds += float(match.group(1)) * _UNIT[match.group(2)]
            pos = match.end()
        if not text or pos != len(text):
            raise BadRequest("delay", f"not a duration (use e.g. \"5m\", \"1h30m\", \"90s\"): {value[:40]!r}")
    else:
        seconds = float(value)
        if seconds != seconds:   # NaN
            raise BadRequest("delay", "must be a number of seconds")
        if seconds < 0:
            raise BadRequest("delay", f"cannot be negative, got {value}")
    if seconds > MAX_DELAY.total_seconds():
        raise BadRequest("delay", f"must be at most {MAX_DELAY.days} days")
    return timedelta(seconds=seconds)


def _process_at(value: Any) -> datetime:
    if not isinstance(value, str):
        raise BadRequest("process_at", "must be an RFC 3339 time string, e.g. 2030-01-01T09:00:00Z")
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise BadRequest("process_at", f"not an RFC 3339 time: {value[:60]!r}") from None
    if when.tzinfo is None:
        raise BadRequest("process_at", "needs a time zone (e.g. a trailing Z or +03:00)")
    if when - datetime.now(timezone.utc) > MAX_DELAY:
        raise BadRequest("process_at", f"must be within {MAX_DELAY.days} days")
    return when


def _queue(data: dict[str, Any], default: str) -> str:
    queue = data.get("queue", default)
    if not isinstance(queue, str) or not _QUEUE.fullmatch(queue):
        raise BadRequest("queue", "must be 1-100 characters of letters, digits, _ . : -")
    return queue


def _string(data: dict[str, Any], field: str, *, max_len: int, required: bool = True) -> str:
    if field not in data:
        if required:
            raise BadRequest(field, "is required")
        return ""
    value = data[field]
    if not isinstance(value, str):
        raise BadRequest(field, f"must be a string, got {type(value).__name__}")
    if len(value) > max_len:
        raise BadRequest(field, f"is longer than {max_len} characters")
    return value


def _email_task(data: dict[str, Any]) -> Task:
    to = data.get("to")
    if to is None:
        raise BadRequest("to", "is required")
    subject = _string(data, "subject", max_len=email_task.MAX_SUBJECT)
    body = _string(data, "body", max_len=500_000, required=False)
    payload = {"to": to, "subject": subject, "body": body}
    try:
        email_task.EmailPayload.from_json(payload)   # the handler's own checks, here first
    except SkipRetry as exc:
        field = "subject" if "subject" in str(exc) else "to"
        raise BadRequest(field, str(exc).removeprefix("invalid email payload: ")) from None
    payload["to"] = [to] if isinstance(to, str) else to
    return Task(email_task.TYPE_EMAIL_DELIVERY, payload)


def _size(data: dict[str, Any], field: str) -> int:
    value = data.get(field)
    if value is None:
        raise BadRequest(field, "is required")
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(field, f"must be an integer, got {value!r:.40}")
    if not 1 <= value <= image_task.MAX_SIDE:
        raise BadRequest(field, f"must be between 1 and {image_task.MAX_SIDE}, got {value}")
    return value


def _image_task(data: dict[str, Any]) -> Task:
    paths = {}
    for field in ("src", "dst"):
        value = data.get(field)
        if value is None:
            raise BadRequest(field, "is required")
        try:
            check_relative(value, field)
        except SkipRetry as exc:
            raise BadRequest(field, str(exc).removeprefix(f"{field} ")) from None
        paths[field] = value
    try:
        image_task._format_of(paths["dst"])
    except SkipRetry as exc:
        raise BadRequest("dst", str(exc)) from None
    width, height = _size(data, "width"), _size(data, "height")
    return Task(image_task.TYPE_IMAGE_RESIZE, {**paths, "width": width, "height": height})


def _stats(insp: Inspector) -> dict[str, Any]:
    queues = [{"queue": q.queue, "size": q.size, "pending": q.pending, "active": q.active,
               "scheduled": q.scheduled, "retry": q.retry, "archived": q.archived, "completed": q.completed,
               "aggregating": q.aggregating, "processed": q.processed, "failed": q.failed, "paused": q.paused}
              for q in insp.queue_infos()]
    return {"queues": queues, "processed_today": sum(q["processed"] for q in queues),
            "failed_today": sum(q["failed"] for q in queues), "time": datetime.now(timezone.utc).isoformat()}


def queue_routes(insp: Inspector, clients: ClientPerLoop) -> list[Route]:
    email_fields = {"to", "subject", "body", "queue"}

    async def email(request: Request) -> dict[str, Any]:
        data = await json_object(request, email_fields)
        task, queue = _email_task(data), _queue(data, "critical")
        info = await clients.get().enqueue(task, queue=queue)
        return {"message": EMAIL_MESSAGE, "task_id": info.id, "queue": info.queue}

    async def email_delayed(request: Request) -> dict[str, Any]:
        data = await json_object(request, email_fields | {"delay", "process_at"})
        task, queue = _email_task(data), _queue(data, "critical")
        if ("delay" in data) == ("process_at" in data):
            raise BadRequest("delay", "give exactly one of delay (\"5m\" or seconds) and process_at (RFC 3339)")
        if "delay" in data:
            info = await clients.get().enqueue_in(task, parse_delay(data["delay"]), queue=queue)
        else:
            info = await clients.get().enqueue_at(task, _process_at(data["process_at"]), queue=queue)
        return {"message": EMAIL_MESSAGE, "task_id": info.id, "queue": info.queue,
                "process_at": info.next_process_at}

    async def image(request: Request) -> dict[str, Any]:
        data = await json_object(request, {"src", "dst", "width", "height", "queue"})
        task, queue = _image_task(data), _queue(data, "low")
        info = await clients.get().enqueue(task, queue=queue)
        return {"message": IMAGE_MESSAGE, "task_id": info.id, "queue": info.queue}

    async def stats(request: Request) -> dict[str, Any]:
        return await run_in_threadpool(_stats, insp)

    return [
        Route("/api/queue/email", respond_async(email), methods=["POST"]),
        Route("/api/queue/email/delayed", respond_async(email_delayed), methods=["POST"]),
        Route("/api/queue/image", respond_async(image), methods=["POST"]),
        Route("/api/queue/stats", respond_async(stats), methods=["GET"]),
    ]
