"""The inspector routes: asynqmon's REST surface in spirit, one Inspector call per route.

Queues, tasks by state, task detail, servers and scheduler entries to read; pause/resume and
run/archive/delete/cancel to act (actions pass the token check of `security`). Every query
parameter is range-checked: a bad one is a 400 naming it, never a 500.
"""

from __future__ import annotations

from typing import Any
from collections.abc import Callable

from starlette.requests import Request
from starlette.routing import Route

from ..inspector import Inspector
from ..models import TaskState
from ._common import BadRequest, respond

__all__ = ["inspector_routes", "int_param"]

#: Allowed ranges of the paging and history parameters.
MAX_PAGE = 1_000_000
MAX_PAGE_SIZE = 1000
MAX_DAYS = 90


def int_param(request: Request, name: str, default: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(name, f"must be an integer, got {raw[:40]!r}") from None
    if not 1 <= value <= high:
        raise BadRequest(name, f"must be between 1 and {high}, got {value}")
    return value


def _state(request: Request) -> TaskState:
    raw = request.path_params.get("state") or request.query_params.get("state", "pending")
    try:
        return TaskState(raw)
    except ValueError:
        raise BadRequest("state", f"must be one of {', '.join(s.value for s in TaskState)}, got {raw[:40]!r}") from None


def inspector_routes(insp: Inspector) -> list[Route]:
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
            count = getattr(insp, action)(p(request, "queue"), _state(request), group=request.query_params.get("group"))
            return {"ok": True, "count": count}
        return act

    return [
        Route("/api/queues", respond(lambda r: insp.queue_infos())),
        Route("/api/queues/{queue}", respond(lambda r: insp.get_queue_info(p(r, "queue")))),
        Route("/api/queues/{queue}/history",
              respond(lambda r: insp.history(p(r, "queue"), days=int_param(r, "days", 7, MAX_DAYS)))),
        Route("/api/queues/{queue}/groups", respond(lambda r: insp.groups(p(r, "queue")))),
        Route("/api/queues/{queue}/pause", respond(queue_action("pause_queue")), methods=["POST"]),
        Route("/api/queues/{queue}/resume", respond(queue_action("unpause_queue")), methods=["POST"]),
        Route("/api/queues/{queue}/tasks", respond(lambda r: insp.list_tasks(
            p(r, "queue"), _state(r), page=int_param(r, "page", 1, MAX_PAGE),
            page_size=int_param(r, "size", 30, MAX_PAGE_SIZE), group=r.query_params.get("group")))),
        Route("/api/queues/{queue}/tasks/{task_id}",
              respond(lambda r: insp.get_task_info(p(r, "queue"), p(r, "task_id")))),
        *(Route(f"/api/queues/{{queue}}/tasks/{{task_id}}/{verb}", respond(task_action(action)), methods=["POST"])
          for verb, action in (("run", "run_task"), ("archive", "archive_task"), ("delete", "delete_task"),
                               ("cancel", "cancel_processing"))),
        *(Route(f"/api/queues/{{queue}}/states/{{state}}/{verb}", respond(bulk_action(action)), methods=["POST"])
          for verb, action in (("run_all", "run_all"), ("archive_all", "archive_all"),
                               ("delete_all", "delete_all"))),
        Route("/api/servers", respond(lambda r: insp.servers())),
        Route("/api/scheduler_entries", respond(lambda r: insp.scheduler_entries())),
        Route("/api/scheduler_entries/{entry_id}/history", respond(lambda r: insp.scheduler_history(
            p(r, "entry_id"), page=int_param(r, "page", 1, MAX_PAGE),
            page_size=int_param(r, "size", 30, MAX_PAGE_SIZE)))),
    ]
