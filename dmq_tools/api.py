"""A JSON HTTP API over the Inspector (the `api` extra: Starlette + uvicorn).

It is asynqmon's REST surface in spirit: queues, tasks by state, task detail, servers and
scheduler entries to read; pause/resume and run/archive/delete/cancel to act (off with
`read_only=True`). Like the widgets it is a thin view: every route is one Inspector call.

    from dmq_tools.api import create_app
    app = create_app()                     # Inspector(connect()); serve with uvicorn
    # or from a shell:  dmq api --port 8080 [--read-only]
"""

from __future__ import annotations

from typing import Any, Callable

from .errors import (
    ConfigurationError,
    DmqError,
    MissingDependencyError,
    QueueNotEmptyError,
    QueueNotFoundError,
    QueuePausedStateError,
    TaskAlreadyArchivedError,
    TaskNotFoundError,
    TaskStateError,
)
from .inspector import Inspector
from .models import TaskState, to_jsonable

try:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route
except ImportError as _exc:  # pragma: no cover - exercised only without the extra
    raise MissingDependencyError("the HTTP API needs Starlette: pip install 'dmq_tools[api]'") from _exc

__all__ = ["create_app"]

_STATUS: list[tuple[type[Exception], int]] = [
    (QueueNotFoundError, 404),
    (TaskNotFoundError, 404),
    (TaskAlreadyArchivedError, 409),
    (TaskStateError, 409),
    (QueuePausedStateError, 409),
    (QueueNotEmptyError, 409),
    (ConfigurationError, 400),
    (ValueError, 400),
    (DmqError, 500),
]


def _error(exc: Exception) -> JSONResponse:
    status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 500)
    return JSONResponse({"error": str(exc), "kind": type(exc).__name__}, status_code=status)


def _int(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"query parameter {name!r} must be an integer, got {raw!r}") from None
    if value < 1:
        raise ConfigurationError(f"query parameter {name!r} must be >= 1")
    return value


def create_app(inspector: Inspector | None = None, *, read_only: bool = False) -> Starlette:
    """The API app. `inspector` defaults to `Inspector()` (REDIS_URL, else the embedded server)."""
    insp = inspector if inspector is not None else Inspector()

    def endpoint(fn: Callable[[Request], Any], *, writes: bool = False) -> Callable[[Request], Any]:
        async def handle(request: Request) -> JSONResponse:
            if writes and read_only:
                return JSONResponse({"error": "the API is read-only", "kind": "ReadOnly"}, status_code=403)
            try:
                return JSONResponse(to_jsonable(fn(request)))
            except Exception as exc:  # every error becomes a JSON answer, never a traceback page
                return _error(exc)

        return handle

    p = lambda request, name: request.path_params[name]  # noqa: E731

    def queue_action(action: str) -> Callable[[Request], Any]:
        def act(request: Request) -> Any:
            getattr(insp, action)(p(request, "queue"))
            return insp.get_queue_info(p(request, "queue"))
        return act

    def task_action(action: str) -> Callable[[Request], Any]:
        def act(request: Request) -> Any:
            queue, task_id = p(request, "queue"), p(request, "task_id")
            if action == "cancel_processing":
                insp.cancel_processing(task_id)
            else:
                getattr(insp, action)(queue, task_id)
            return {"ok": True, "queue": queue, "id": task_id, "action": action}
        return act

    def bulk_action(action: str) -> Callable[[Request], Any]:
        def act(request: Request) -> Any:
            count = getattr(insp, action)(p(request, "queue"), TaskState(p(request, "state")),
                                          group=request.query_params.get("group"))
            return {"ok": True, "count": count}
        return act

    routes = [
        Route("/api/queues", endpoint(lambda r: insp.queue_infos())),
        Route("/api/queues/{queue}", endpoint(lambda r: insp.get_queue_info(p(r, "queue")))),
        Route("/api/queues/{queue}/history",
              endpoint(lambda r: insp.history(p(r, "queue"), days=_int(r, "days", 7)))),
        Route("/api/queues/{queue}/groups", endpoint(lambda r: insp.groups(p(r, "queue")))),
        Route("/api/queues/{queue}/pause", endpoint(queue_action("pause_queue"), writes=True), methods=["POST"]),
        Route("/api/queues/{queue}/resume", endpoint(queue_action("unpause_queue"), writes=True),
              methods=["POST"]),
        Route("/api/queues/{queue}/tasks", endpoint(lambda r: insp.list_tasks(
            p(r, "queue"), TaskState(r.query_params.get("state", "pending")), page=_int(r, "page", 1),
            page_size=_int(r, "size", 30), group=r.query_params.get("group")))),
        Route("/api/queues/{queue}/tasks/{task_id}",
              endpoint(lambda r: insp.get_task_info(p(r, "queue"), p(r, "task_id")))),
        *(Route(f"/api/queues/{{queue}}/tasks/{{task_id}}/{verb}", endpoint(task_action(action), writes=True),
                methods=["POST"])
          for verb, action in (("run", "run_task"), ("archive", "archive_task"), ("delete", "delete_task"),
                               ("cancel", "cancel_processing"))),
        *(Route(f"/api/queues/{{queue}}/states/{{state}}/{verb}", endpoint(bulk_action(action), writes=True),
                methods=["POST"])
          for verb, action in (("run_all", "run_all"), ("archive_all", "archive_all"),
                               ("delete_all", "delete_all"))),
        Route("/api/servers", endpoint(lambda r: insp.servers())),
        Route("/api/scheduler_entries", endpoint(lambda r: insp.scheduler_entries())),
        Route("/api/scheduler_entries/{entry_id}/history", endpoint(lambda r: insp.scheduler_history(
            p(r, "entry_id"), page=_int(r, "page", 1), page_size=_int(r, "size", 30)))),
    ]
    return Starlette(routes=routes)
