"""pool="process": each handler thread drives one child process, killed at the task's deadline.

Handlers are referenced by `module:qualname` (importable in a fresh interpreter) and never
pickled; payload and result bytes cross a private pipe as bytes, the rest as JSON. Middleware
runs in the parent around the call.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from typing import Any

from ..errors import ConfigurationError, HandlerNotFoundError, RevokeTask, SkipRetry
from ._child import read_frame, write_frame
from .mux import not_found_handler
from .processor import HandlerError, Running

__all__ = ["ProcessRunner", "handler_ref"]

log = logging.getLogger(__name__)


def handler_ref(fn: Any) -> str:
    """`module:qualname` a child can import; a clear error for notebook-defined handlers."""
    mod, qual = getattr(fn, "__module__", None), getattr(fn, "__qualname__", "")
    if not mod or "<locals>" in qual or "<lambda>" in qual:
        raise ConfigurationError(
            f"pool='process' needs handlers importable by module:qualname; {fn!r} is not")
    if mod == "__main__":
        main = sys.modules["__main__"]
        path = getattr(main, "__file__", None)
        if not path:
            raise ConfigurationError(
                "pool='process' cannot run handlers defined in a notebook or REPL: put them in a "
                "module (e.g. tasks.py) and import them")
        return f"{os.path.abspath(path)}:{qual}"
    return f"{mod}:{qual}"


class _Child:
    def __init__(self) -> None:
        p2c_r, p2c_w = os.pipe()
        c2p_r, c2p_w = os.pipe()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([os.getcwd(), *[p for p in sys.path if p]])
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dmq_tools.worker._child", str(p2c_r), str(c2p_w)],
            pass_fds=(p2c_r, c2p_w), env=env, close_fds=True)
        os.close(p2c_r)
        os.close(c2p_w)
        self.w = os.fdopen(p2c_w, "wb")
        self.r = os.fdopen(c2p_r, "rb")

    def kill(self) -> None:
        try:
            self.proc.kill()
        except OSError:
            pass

    def close(self) -> None:
        for f in (self.w, self.r):
            try:
                f.close()
            except OSError:
                pass
        self.kill()
        try:
            self.proc.wait(2)
        except subprocess.TimeoutExpired:  # pragma: no cover
            pass


class ProcessRunner:
    """Called by the processor for each task: match, wrap in middleware, run in a child."""

    def __init__(self, mux: Any) -> None:
        self.mux = mux
        self._local = threading.local()
        self._children: list[_Child] = []
        self._lock = threading.Lock()

    def _child(self) -> _Child:
        child = getattr(self._local, "child", None)
        if child is None or child.proc.poll() is not None:
            child = _Child()
            self._local.child = child
            with self._lock:
                self._children.append(child)
        return child

    def __call__(self, _mux: Any, run: Running) -> Any:
        handler, _ = self.mux.match(run.msg.type)
        if handler is not_found_handler:
            raise HandlerNotFoundError(run.msg.type)
        ref = handler_ref(handler)
        return self.mux.wrap(lambda task: self._call(ref, run))(run.task)

    def _call(self, ref: str, run: Running) -> Any:
        child = self._child()
        run.child = child
        m = run.msg
        head = {"handler": ref, "type": m.type, "has_payload": m.payload is not None, "headers": m.headers,
                "id": m.id, "queue": m.queue, "retry_count": m.retried, "max_retry": m.retry,
                "deadline": run.deadline}
        try:
            write_frame(child.w, json.dumps(head).encode())
            write_frame(child.w, m.payload or b"")
            while True:
                reply, data = read_frame(child.r), read_frame(child.r)
                if reply is None or data is None:
                    raise HandlerError("handler process exited")
                rep = json.loads(reply)
                if rep["op"] == "write_result":
                    run.task.write_result(data)
                    continue
                break
        except (OSError, ValueError) as exc:
            self._discard(child)
            raise HandlerError(f"handler process failed: {exc}") from None
        finally:
            run.child = None
        if run.claimed:       # killed at the deadline: start a fresh child next time
            self._discard(child)
        if rep["ok"]:
            return data if rep.get("has_result") else None
        kind, text = rep["kind"], rep["error"]
        if kind == "skip":
            raise SkipRetry(text)
        if kind == "revoke":
            raise RevokeTask(text)
        if kind == "notfound":
            raise HandlerNotFoundError(m.type)
        raise HandlerError(text, child_traceback=rep.get("traceback", ""))

    def _discard(self, child: _Child) -> None:
        if getattr(self._local, "child", None) is child:
            self._local.child = None
        child.close()

    def close(self) -> None:
        with self._lock:
            children, self._children = self._children, []
        for c in children:
            c.close()
