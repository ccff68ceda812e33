"""The embedded redis-server (placeholder; replaced by the embedded-server work)."""

from __future__ import annotations

import dataclasses

__all__ = ["ensure_running", "EmbeddedServer"]


@dataclasses.dataclass(frozen=True)
class EmbeddedServer:
    url: str


def ensure_running() -> EmbeddedServer:
    raise NotImplementedError("embedded server not built yet")
