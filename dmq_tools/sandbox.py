"""A notebook's own queues: names under a prefix, dropped (all of them, only them) on reset.

Notebooks share one Redis; without this, one notebook's tables list another's tasks and a clean-up
cell deletes what it did not create. `Sandbox("nb01")` gives `nb01-critical`, `nb01-low`, ...;
`reset()` drops exactly those queues (tasks, counters, history) so a notebook run twice shows the
same results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigurationError
from .rdb import connect as _connect
from .rdb.namespace import drop_queues, queues_with_prefix

__all__ = ["Sandbox"]


@dataclass
class Sandbox:
    """Queue names owned by one notebook (or test): `sb.queue("critical") == "nb01-critical"`."""

    prefix: str
    redis: Any = None
    names: tuple[str, ...] = ("critical", "default", "low")
    extra: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        if not self.prefix or any(c in self.prefix for c in "{}*?[] "):
            raise ConfigurationError(f"sandbox prefix must be a plain word, got {self.prefix!r}")
        if self.redis is None or isinstance(self.redis, str):
            self.redis = _connect(self.redis)

    def queue(self, name: str) -> str:
        """The real queue name for `name` in this sandbox (remembered for reset)."""
        full = f"{self.prefix}-{name}"
        if name not in self.names:
            self.extra.add(full)
        return full

    def __getitem__(self, name: str) -> str:
        return self.queue(name)

    @property
    def queues(self) -> list[str]:
        return [self.queue(n) for n in self.names] + sorted(self.extra)

    def weights(self, **weights: int) -> dict[str, int]:
        """`sb.weights(critical=6, low=1)` -> `{"nb01-critical": 6, "nb01-low": 1}`."""
        return {self.queue(n): int(w) for n, w in weights.items()}

    def owns(self, queue: str) -> bool:
        return queue.startswith(self.prefix + "-")

    def reset(self) -> int:
        """Drop every queue under the prefix (the ones Redis knows and the named ones)."""
        client = self.redis if hasattr(self.redis, "smembers") else self.redis.client
        mine = sorted(set(queues_with_prefix(client, self.prefix + "-")) | set(self.queues))
        return drop_queues(client, mine)
