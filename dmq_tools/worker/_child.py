"""Child process of the process pool: runs handlers referenced by `module:qualname`.

Frames on a private pipe: 4-byte big-endian length + JSON header, then 4-byte length + raw bytes
(payload or result). No pickle: payloads stay bytes, everything else is JSON.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import runpy
import struct
import sys
import traceback
from datetime import datetime, timezone
from typing import Any, BinaryIO

_HANDLERS: dict[str, Any] = {}


def read_frame(f: BinaryIO) -> bytes | None:
    head = f.read(4)
    if len(head) < 4:
        return None
    (n,) = struct.unpack(">I", head)
    data = f.read(n)
    if len(data) < n:
        return None
    return data


def write_frame(f: BinaryIO, data: bytes) -> None:
    f.write(struct.pack(">I", len(data)) + data)
    f.flush()


def resolve(ref: str) -> Any:
    """`module:qualname`, or `path/to/file.py:qualname` for a script's __main__."""
    fn = _HANDLERS.get(ref)
    if fn is not None:
        return fn
    mod_name, _, qual = ref.rpartition(":")
    if mod_name.endswith(".py"):
        namespace = runpy.run_path(mod_name, run_name="__dmq_child__")
        parts = qual.split(".")
        obj: Any = namespace[parts[0]]
        for p in parts[1:]:
            obj = getattr(obj, p)
    else:
        obj = importlib.import_module(mod_name)
        for p in qual.split("."):
            obj = getattr(obj, p)
    fn = getattr(obj, "__wrapped_handler__", obj)
    _HANDLERS[ref] = fn
    return fn


async def _awaited(result: Any) -> Any:
    """The value of a coroutine handler's result (run by asyncio.run in the child)."""
    return await result


def main() -> None:
    from dmq_tools.errors import HandlerNotFoundError, RevokeTask, SkipRetry
    from dmq_tools.task import Task, encode_result

    rfd, wfd = int(sys.argv[1]), int(sys.argv[2])
    rf, wf = os.fdopen(rfd, "rb"), os.fdopen(wfd, "wb")
    while True:
        head = read_frame(rf)
        payload = read_frame(rf)
        if head is None or payload is None:
            return
        req = json.loads(head)
        task = Task(req["type"], payload if req["has_payload"] else None, req["headers"])
        task.id, task.queue = req["id"], req["queue"]
        task.retry_count, task.max_retry = req["retry_count"], req["max_retry"]
        task.deadline = datetime.fromtimestamp(req["deadline"], timezone.utc)

        def writer(data: bytes | None) -> None:
            write_frame(wf, json.dumps({"op": "write_result"}).encode())
            write_frame(wf, data or b"")

        task._result_writer = writer
        try:
            fn = resolve(req["handler"])
            result = fn(task)
            if inspect.isawaitable(result):
                import asyncio

                result = asyncio.run(_awaited(result))
            data = encode_result(result) if result is not None else None
            write_frame(wf, json.dumps({"op": "done", "ok": True, "has_result": data is not None}).encode())
            write_frame(wf, data or b"")
        except BaseException as exc:  # noqa: BLE001 - report every failure to the parent
            kind = ("skip" if isinstance(exc, SkipRetry) else "revoke" if isinstance(exc, RevokeTask)
                    else "notfound" if isinstance(exc, HandlerNotFoundError) else "error")
            text = str(exc) or type(exc).__name__
            write_frame(wf, json.dumps({"op": "done", "ok": False, "kind": kind, "error": text,
                                        "traceback": traceback.format_exc()}).encode())
            write_frame(wf, b"")


if __name__ == "__main__":
    main()
