"""WAIT after a write: how many replicas hold it (Sentinel setups; asynq has no counterpart).

Redis replicates asynchronously: a write the master acknowledged can be lost if the master dies
before a replica received it. WAIT blocks until `n` replicas acknowledged every write made so
far on the connection it runs on. Our writes may go out on another pooled connection, so WAIT
follows a tiny write of its own on one connection: the replication stream is ordered, so once
that write is acknowledged, every earlier write of the master (ours included) is too.
"""

from __future__ import annotations

from .base import RDBBase
from .topology import is_cluster

__all__ = ["ReplicationMixin", "PROBE_KEY"]

#: The probe written before WAIT (dmq's own key; expires on its own).
PROBE_KEY = "dmq:replication:probe"


class ReplicationMixin(RDBBase):
    def wait_for_replicas(self, count: int, timeout_ms: int) -> int:
        """Block until `count` replicas acknowledged the writes so far, at most `timeout_ms`
        (0 = forever); the number of replicas that did. On a cluster: the master of each
        queue's slot replicates on its own, so WAIT is not offered there."""
        if is_cluster(self.client):
            raise NotImplementedError("wait_for_replicas is for a single master (Sentinel), not a cluster")
        pipe = self.client.pipeline(transaction=False)
        pipe.set(PROBE_KEY, "1", px=60_000)
        pipe.execute_command("WAIT", int(count), int(timeout_ms))
        return int(pipe.execute()[-1])
