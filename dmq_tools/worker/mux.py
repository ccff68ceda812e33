"""ServeMux: task type -> handler, asynq's rules (exact type first, then the longest prefix).

A handler is `fn(task)`, plain or `async def`. A middleware is `mw(next_handler) -> handler`,
applied in registration order (the first registered is the outermost).
"""

from __future__ import annotations

import threading
from typing import Any
from collections.abc import Callable

from ..errors import ConfigurationError, HandlerNotFoundError

__all__ = ["ServeMux", "Handler", "Middleware", "not_found_handler"]

Handler = Callable[[Any], Any]
Middleware = Callable[[Handler], Handler]


def not_found_handler(task: Any) -> Any:
    """asynq's NotFound: `handler not found for task "<type>"`."""
    raise HandlerNotFoundError(task.type)


class ServeMux:
    """Routes tasks to handlers by type pattern."""

    def __init__(self) -> None:
        self._exact: dict[str, Handler] = {}
        self._prefixes: list[tuple[str, Handler]] = []   # longest first
        self._middlewares: list[Middleware] = []
        self._lock = threading.Lock()

    def handle(self, pattern: str, handler: Handler | None = None) -> Any:
        """Register `handler` for `pattern`; without a handler, a decorator."""
        if not isinstance(pattern, str) or not pattern.strip():
            raise ConfigurationError("asynq: invalid pattern")
        if handler is None:
            def decorator(fn: Handler) -> Handler:
                self.handle(pattern, fn)
                return fn
            return decorator
        if not callable(handler):
            raise ConfigurationError("asynq: nil handler")
        with self._lock:
            if pattern in self._exact:
                raise ConfigurationError(f"asynq: multiple registrations for {pattern}")
            self._exact[pattern] = handler
            self._prefixes = sorted([*self._prefixes, (pattern, handler)], key=lambda p: -len(p[0]))
        return handler

    handle_func = handle

    def use(self, *middlewares: Middleware) -> None:
        self._middlewares.extend(middlewares)

    @property
    def patterns(self) -> list[str]:
        return sorted(self._exact)

    def match(self, task_type: str) -> tuple[Handler, str]:
        """(handler, pattern); the not-found handler with pattern "" when nothing matches."""
        h = self._exact.get(task_type)
        if h is not None:
            return h, task_type
        for pattern, handler in self._prefixes:
            if task_type.startswith(pattern):
                return handler, pattern
        return not_found_handler, ""

    def wrap(self, handler: Handler) -> Handler:
        """`handler` inside every middleware (first registered = outermost)."""
        for mw in reversed(self._middlewares):
            handler = mw(handler)
        return handler

    def process_task(self, task: Any) -> Any:
        """Run the matching handler with middleware (asynq's ServeMux.ProcessTask)."""
        handler, _ = self.match(task.type)
        return self.wrap(handler)(task)

    __call__ = process_task

    def __repr__(self) -> str:
        return f"<ServeMux patterns={self.patterns}>"
