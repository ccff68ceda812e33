"""The worker: fetch, run and acknowledge tasks with asynq's semantics (asynq's Server).

    mux = ServeMux()
    @mux.handle("email:")
    def deliver(task): ...
    Worker(r, mux, queues={"critical": 6, "default": 3, "low": 1}).start()
"""

from __future__ import annotations

from .config import WorkerConfig, default_retry_delay
from .mux import ServeMux
from .server import Worker, running, stop_all

__all__ = ["Worker", "ServeMux", "WorkerConfig", "running", "stop_all", "default_retry_delay"]
