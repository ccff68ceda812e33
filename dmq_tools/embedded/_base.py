"""Names shared by the embedded server's modules: its error and the files of a data directory."""

from __future__ import annotations

from ..errors import DmqError

__all__ = ["EmbeddedServerError", "STATE_FILE", "LOCK_FILE", "PID_FILE", "LOG_FILE", "CONF_FILE",
           "AOF_FILE", "AOF_DIR", "SOCKET_NAME"]

STATE_FILE = "server.json"
LOCK_FILE = "server.lock"
PID_FILE = "redis.pid"
LOG_FILE = "redis.log"
CONF_FILE = "redis.conf"
AOF_FILE = "appendonly.aof"      # Redis < 7 keeps the whole AOF in this one file
AOF_DIR = "appendonlydir"        # Redis >= 7 and Valkey: base + increments + a manifest in here
SOCKET_NAME = "redis.sock"


class EmbeddedServerError(DmqError, RuntimeError):
    """The embedded server could not be started, reached or stopped."""
