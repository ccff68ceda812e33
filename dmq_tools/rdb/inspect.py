"""Inspector queries and admin operations (asynq inspect.go)."""

from __future__ import annotations

from .base import RDBBase

__all__ = ["InspectMixin"]


class InspectMixin(RDBBase):
    pass
