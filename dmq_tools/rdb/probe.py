"""Questions the embedded server's manager asks a server on a unix socket (only rdb talks to
Redis): is something answering there, is it still loading, and which process and directory it is."""

from __future__ import annotations

import os
from typing import Any

import redis

__all__ = ["socket_info", "socket_identity"]


def _client(sock: str, timeout: float) -> redis.Redis:
    return redis.Redis(unix_socket_path=sock, socket_timeout=timeout, socket_connect_timeout=timeout)


def socket_info(sock: str, timeout: float = 1.0) -> dict[str, Any] | None:
    """INFO server over the socket (+ `loading` while it loads its data; `auth` when it wants a
    password), or None when nothing answers there. INFO answers during loading too, so the
    loading flag is asked for as well."""
    if not os.path.exists(sock):
        return None
    client = _client(sock, timeout)
    try:
        pipe = client.pipeline(transaction=False)
        pipe.info("server")
        pipe.info("persistence")
        server, persistence = pipe.execute()
        info = dict(server)
        if str(persistence.get("loading", 0)) == "1":
            info["loading"] = 1
        return info
    except redis.BusyLoadingError:
        return {"loading": 1}
    except (redis.AuthenticationError, redis.ResponseError):
        return {"auth": 1}  # it answers; someone set a password on it
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return None
    finally:
        client.close()


def socket_identity(sock: str, timeout: float = 1.0) -> tuple[int, str] | None:
    """(process_id, dir) of the server answering on `sock`, or None when none answers them."""
    if not os.path.exists(sock):
        return None
    client = _client(sock, timeout)
    try:
        pid = int(client.info("server")["process_id"])
        directory = str(client.config_get("dir")["dir"])
        return pid, directory
    except (redis.RedisError, OSError, KeyError, ValueError, TypeError):
        return None
    finally:
        client.close()
