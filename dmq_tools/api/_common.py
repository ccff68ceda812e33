"""What every router shares: errors as JSON with a status, strict JSON bodies, blocking calls
moved off the event loop."""

from __future__ import annotations

import json
import logging
from typing import Any
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from ..errors import (
    ConfigurationError,
    ConnectionFailedError,
    DmqError,
    DuplicateTaskError,
    QueueNotEmptyError,
    QueueNotFoundError,
    QueuePausedStateError,
    TaskAlreadyArchivedError,
    TaskIDConflictError,
    TaskNotFoundError,
    TaskStateError,
)
from ..models import to_jsonable

_log = logging.getLogger("dmq_tools.api")

__all__ = ["BadRequest", "error_response", "json_object", "respond", "respond_async", "STATUS"]


class BadRequest(ConfigurationError):
    """A request parameter or body field is wrong: 400 naming it."""

    def __init__(self, field: str, message: str, status: int = 400) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.status = status


STATUS: list[tuple[type[Exception], int]] = [
    (QueueNotFoundError, 404),
    (TaskNotFoundError, 404),
    (TaskAlreadyArchivedError, 409),
    (TaskStateError, 409),
    (QueuePausedStateError, 409),
    (QueueNotEmptyError, 409),
    (TaskIDConflictError, 409),
    (DuplicateTaskError, 409),
    (ConnectionFailedError, 503),
    (ConnectionError, 503),
    (TimeoutError, 503),
    (ConfigurationError, 400),
    (ValueError, 400),
    (DmqError, 500),
]


def _unavailable(exc: Exception) -> bool:
    """redis-py's connection and timeout errors, recognised without importing redis (only rdb may)."""
    names = ("ConnectionError", "TimeoutError", "BusyLoadingError")
    return any(c.__module__.startswith("redis") and c.__name__ in names for c in type(exc).__mro__)


def error_response(exc: Exception) -> JSONResponse:
    if isinstance(exc, BadRequest):
        return JSONResponse({"error": str(exc), "field": exc.field, "kind": "BadRequest"}, status_code=exc.status)
    if _unavailable(exc):
        return JSONResponse({"error": "Redis is unavailable", "kind": "ServiceUnavailable"}, status_code=503)
    status = next((code for kind, code in STATUS if isinstance(exc, kind)), 500)
    message = "Redis is unavailable: " + str(exc) if status == 503 else str(exc)
    if status == 500 and not isinstance(exc, DmqError):
        _log.exception("API request failed")
        message = f"internal error ({type(exc).__name__}); see the server log"
    return JSONResponse({"error": message, "kind": type(exc).__name__}, status_code=status)


async def json_object(request: Request, allowed: set[str]) -> dict[str, Any]:
    """The body as a JSON object with only `allowed` fields (a form post is refused: it is how
    cross-site pages post without a preflight)."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise BadRequest("Content-Type", f"must be application/json, got {ctype or 'nothing'!r}", 415)
    raw = await request.body()
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("body", f"not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise BadRequest("body", f"must be a JSON object, got {type(data).__name__}")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise BadRequest(unknown[0], f"unknown field; expected {', '.join(sorted(allowed))}")
    return data


def respond(fn: Callable[[Request], Any]) -> Callable[[Request], Any]:
    """A route from a blocking function of the request (run in a worker thread)."""
    async def handle(request: Request) -> JSONResponse:
        try:
            return JSONResponse(to_jsonable(await run_in_threadpool(fn, request)))
        except Exception as exc:  # every error is a JSON answer, never a traceback page
            return error_response(exc)
    return handle


def respond_async(fn: Callable[[Request], Any]) -> Callable[[Request], Any]:
    """A route from a coroutine function of the request."""
    async def handle(request: Request) -> JSONResponse:
        try:
            return JSONResponse(to_jsonable(await fn(request)))
        except Exception as exc:
            return error_response(exc)
    return handle
