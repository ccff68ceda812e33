"""The HTTP app (the `api` extra: Starlette + uvicorn): the origin guide's /api/queue/* routes
the inspector routes and Prometheus' /metrics, behind one guard (Host, Origin, token, body size; see `security`).

    from dmq_tools.api import create_app
    app = create_app()            # settings from the environment / .env; serve with uvicorn
    # or from a shell:  dmq serve   (plus a worker when QUEUE_WORKER_ENABLED=true)

Actions (every POST) need `Authorization: Bearer $DMQ_API_TOKEN`; without a token configured
they are refused unless `allow_unauthenticated_actions=True` (dangerous). Reads are open to
whoever reaches the port and passes the Host check: bind to 127.0.0.1 or put it behind a proxy.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any
from collections.abc import AsyncIterator, Iterable, Sequence

from ..errors import MissingDependencyError

try:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import BaseRoute, Route
except ImportError as _exc:  # pragma: no cover - exercised only without the extra
    raise MissingDependencyError("the HTTP API needs Starlette: pip install 'dmq_tools[api]'") from _exc

from ..async_client import AsyncClient
from ..config import Settings, load_settings
from ..inspector import Inspector
from ..metrics import metrics_app
from ._common import error_response
from .inspector_routes import inspector_routes
from .queue_routes import ClientPerLoop, queue_routes
from .security import Guard

__all__ = ["create_app"]


class _AsgiEndpoint:
    """An ASGI app served at one exact path (a Mount would redirect /metrics to /metrics/)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


def create_app(inspector: Inspector | None = None, *, settings: Settings | None = None,
               read_only: bool = False, api_token: str | None = None,
               allow_unauthenticated_actions: bool = False, allowed_hosts: Iterable[str] | None = None,
               max_body: int | None = None, extra_routes: Sequence[BaseRoute] = ()) -> Starlette:
    """The app. `inspector` defaults to `Inspector()` (REDIS_URL, else the embedded server); the
    token, allowed hosts and body limit default to `settings` (DMQ_API_TOKEN,
    DMQ_API_ALLOWED_HOSTS, DMQ_API_MAX_BODY). `extra_routes` are mounted behind the same guard."""
    s = settings or load_settings()
    insp = inspector if inspector is not None else Inspector()
    redis_client: Any = insp.rdb.client
    clients = ClientPerLoop(lambda: AsyncClient(redis_client))

    async def health(request: Request) -> JSONResponse:
        try:
            await clients.get().ping()
        except Exception as exc:
            return error_response(exc)
        return JSONResponse({"ok": True})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await clients.aclose()

    routes: list[BaseRoute] = [
        *queue_routes(insp, clients),          # the guide's POST /api/queue/email, ... GET /api/queue/stats
        *inspector_routes(insp),               # /api/queues/..., /api/servers, /api/scheduler_entries
        Route("/api/health", health),
        Route("/metrics", _AsgiEndpoint(metrics_app(insp)), methods=["GET"]),   # Prometheus (a read)
        *extra_routes,
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_middleware(Guard, token=api_token or s.api_token, read_only=read_only,
                       allow_unauthenticated_actions=allow_unauthenticated_actions,
                       allowed_hosts=s.api_allowed_hosts if allowed_hosts is None else allowed_hosts,
                       max_body=max_body or s.api_max_body)
    app.state.inspector = insp
    app.state.settings = s
    return app
