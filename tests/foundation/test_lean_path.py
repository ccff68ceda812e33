"""The lean command path (rdb/lean.py) against a real server that restarts under it."""

from __future__ import annotations

import sys

import pytest
import redis

import dmq_tools as dmq
from dmq_tools.rdb import RDB


def test_enqueue_and_batch_survive_a_server_restart(make_redis_process):
    server = make_redis_process(persist=True)
    r = redis.Redis.from_url(server.url)
    client = dmq.Client(r)
    client.enqueue(dmq.Task("a", {"n": 1}))
    client.enqueue_many([dmq.Task("b", {"n": i}) for i in range(300)])
    server.restart()      # every pooled and lean connection is now stale
    client.enqueue(dmq.Task("a", {"n": 2}))
    infos = client.enqueue_many([dmq.Task("b", {"n": i}) for i in range(300, 900)])
    assert len(infos) == 600
    assert r.llen("asynq:{default}:pending") == 902


def test_scripts_are_reloaded_after_script_flush_in_a_stream(r):
    client = dmq.Client(r)
    client.enqueue_many([dmq.Task("b", {"n": i}) for i in range(10)])
    r.script_flush()
    infos = client.enqueue_many([dmq.Task("b", {"n": i}) for i in range(10, 600)])
    assert len(infos) == 590
    assert r.llen("asynq:{default}:pending") == 600


def test_lean_connections_are_reused_not_leaked(r):
    rdb = RDB(r)
    for _ in range(50):
        rdb.scripts.lean.execute("PING")
    rdb.scripts.lean.execute_many([("PING",), ("PING",)])
    assert len(rdb.scripts.lean._idle) == 1
    rdb.close()
    assert rdb.scripts.lean._idle == []


def test_error_replies_come_back_as_values_in_a_batch(r):
    rdb = RDB(r)
    r.set("s", "x")
    out = rdb.scripts.lean.execute_many([("LPUSH", "s", "1"), ("INCR", "n")])
    assert isinstance(out[0], redis.ResponseError) and "WRONGTYPE" in str(out[0])
    assert out[1] == 1


def test_a_full_pool_falls_back_to_redis_py(redis_url):
    """With max_connections reached, the lean path waits in redis-py's own pool instead of failing."""
    r = redis.Redis.from_url(redis_url, max_connections=1)
    r.flushdb()
    held = r.connection_pool.get_connection()      # the only connection the pool may make
    r.connection_pool.release(held)
    client = dmq.Client(r)
    info = client.enqueue(dmq.Task("a", {"n": 1}))
    assert r.hget(f"asynq:{{default}}:t:{info.id}", "state") == b"pending"


def test_plain_connections_use_the_direct_socket_path(r):
    rdb = RDB(r)
    rdb.scripts.lean.execute("PING")
    assert list(rdb.scripts.lean._direct.values()) == [True]


def test_a_connection_class_that_customises_its_io_is_honoured(redis_url):
    """Every send and read goes through the connection's own methods (no private fields)."""
    sent = []

    class Custom(redis.Connection):
        def send_packed_command(self, command, check_health=True):
            sent.append(command)
            return super().send_packed_command(command, check_health)

    host, port = redis_url.split("//")[1].split("/")[0].split(":")
    cr = redis.Redis(connection_pool=redis.ConnectionPool(host=host, port=int(port), connection_class=Custom))
    other = RDB(cr)
    assert other.scripts.lean.execute("ECHO", "x") == b"x"
    assert other.scripts.lean.transaction(_body(("ECHO", "y"),), 1) == [b"y"]
    echoed = [c for c in sent if b"ECHO" in b"".join(c if isinstance(c, list) else [c])]
    assert len(echoed) == 2
    assert list(other.scripts.lean._direct.values()) == [False]


def test_a_failed_exec_command_is_typed_and_carries_every_reply(r):
    from dmq_tools.rdb.lean import PartialTransactionError

    rdb = RDB(r)
    r.set("s", "x")
    with pytest.raises(PartialTransactionError, match="WRONGTYPE") as caught:
        rdb.scripts.lean.transaction(_body(("LPUSH", "s", "1"), ("INCR", "n")), 2)
    assert isinstance(caught.value.replies[0], redis.ResponseError) and caught.value.replies[1] == 1


def test_a_transaction_cut_off_is_an_ambiguous_write(make_redis_process):
    from dmq_tools.rdb.lean import AmbiguousWriteError

    server = make_redis_process(persist=True)
    r = redis.Redis.from_url(server.url)
    rdb = RDB(r)
    assert rdb.scripts.lean.execute("PING") in (b"PONG", True)
    server.stop()
    with pytest.raises(AmbiguousWriteError):
        rdb.scripts.lean.transaction(_body(("INCR", "n"),), 1)
    assert len(rdb.scripts.lean._idle) == 1      # the connection came back (disconnected)


def test_an_error_reply_keeps_the_connection_usable(r):
    rdb = RDB(r)
    r.set("s", "x")
    try:
        rdb.scripts.lean.execute("LPUSH", "s", "1")
    except redis.ResponseError as exc:
        assert "WRONGTYPE" in str(exc)
    else:
        raise AssertionError("WRONGTYPE expected")
    assert rdb.scripts.lean.execute("ECHO", "still in step") == b"still in step"


def test_send_then_reply_overlaps_the_callers_work(r):
    rdb = RDB(r)
    sent = rdb.scripts.lean.send("INCR", "n")
    assert len(rdb.scripts.lean._idle) == 0      # the connection is the in-flight call's
    assert rdb.scripts.lean.execute("INCR", "m") == 1   # another call takes another connection
    assert sent.reply() == 1
    assert len(rdb.scripts.lean._idle) == 2


def test_an_error_reply_of_a_sent_call_is_raised_by_reply(r):
    rdb = RDB(r)
    r.set("s", "x")
    sent = rdb.scripts.lean.send("LPUSH", "s", "1")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        sent.reply()
    assert rdb.scripts.lean.execute("ECHO", "in step") == b"in step"
    assert len(rdb.scripts.lean._idle) == 1


def test_a_sent_script_call_survives_script_flush(r):
    rdb = RDB(r)
    rdb.scripts.ensure_loaded()
    r.script_flush()
    sent = rdb.scripts.send("enqueue_undo", ["asynq:{q}:t:x", "asynq:{q}:pending", "asynq:{q}:events"], ["x", 0, ""])
    assert sent.reply() == 0


def test_a_sent_call_on_a_stale_socket_is_retried_once(make_redis_process):
    server = make_redis_process(persist=True)
    rdb = RDB(redis.Redis.from_url(server.url))
    assert rdb.scripts.lean.execute("SET", "k", "v") in (b"OK", True, "OK")
    server.restart()
    assert rdb.scripts.lean.send("GET", "k").reply() == b"v"


def test_the_lean_path_survives_a_server_restart_mid_session(make_redis_process):
    server = make_redis_process(persist=True)
    rdb = RDB(redis.Redis.from_url(server.url))
    assert rdb.scripts.lean.execute("SET", "k", "v") in (b"OK", True, "OK")
    server.restart()
    assert rdb.scripts.lean.execute("GET", "k") == b"v"


def test_a_forked_child_opens_its_own_connections(r):
    import os

    rdb = RDB(r)
    assert rdb.scripts.lean.execute("INCR", "n") == 1
    parent_conn = rdb.scripts.lean._idle[0]
    pid = os.fork()
    if pid == 0:   # child: must not touch the parent's socket
        code = 0
        try:
            lean = rdb.scripts.lean
            ok = lean.execute("INCR", "n") == 2 and parent_conn not in lean._idle and len(lean._idle) == 1
            code = 0 if ok else 1
        except BaseException:
            code = 2
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert rdb.scripts.lean.execute("INCR", "n") == 3 and rdb.scripts.lean._idle == [parent_conn]


# ---- MULTI/EXEC transactions (the plain enqueue path) ----

def _body(*commands):
    from dmq_tools.rdb.lean import resp_format

    return resp_format(commands)


def test_a_transaction_applies_every_command_and_returns_their_replies(r):
    rdb = RDB(r)
    replies = rdb.scripts.lean.transaction(_body(("SET", "a", "1"), ("INCR", "a"), ("LPUSH", "l", "x")), 3)
    assert replies == [b"OK", 2, 1]
    assert r.get("a") == b"2" and r.lrange("l", 0, -1) == [b"x"]


def test_a_command_refused_while_queued_applies_nothing(r):
    rdb = RDB(r)
    with pytest.raises(redis.ResponseError, match="unknown command"):
        rdb.scripts.lean.transaction(_body(("SET", "a", "1"), ("NOSUCHCOMMAND", "x")), 2)
    assert r.get("a") is None
    assert rdb.scripts.lean.execute("ECHO", "in step") == b"in step"


def test_an_error_while_executing_raises_and_keeps_the_connection_in_step(r):
    rdb = RDB(r)
    r.set("s", "x")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        rdb.scripts.lean.transaction(_body(("LPUSH", "s", "1"), ("INCR", "n")), 2)
    assert r.get("n") == b"1"          # as with a script, what ran before or after the error stays
    assert rdb.scripts.lean.execute("ECHO", "in step") == b"in step"
    assert len(rdb.scripts.lean._idle) == 1


@pytest.mark.parametrize("arg", ["plain", "50%", "%d%b%%", "naïve", b"\x00\xff%s", 12, ""])
def test_resp_format_fills_like_hiredis_packs(arg):
    import hiredis

    from dmq_tools.rdb.lean import SLOT, resp_format

    value = arg if isinstance(arg, bytes) else str(arg).encode()
    fmt = resp_format([("SET", arg, SLOT), ("LPUSH", SLOT, arg)])
    filled = fmt % (len(value), value, len(b"k%"), b"k%")
    assert filled == hiredis.pack_command(("SET", arg, value)) + hiredis.pack_command(("LPUSH", b"k%", arg))


class _ReplyDroppingProxy:
    """A real TCP proxy to the test server that, once armed, forwards the first request holding
    EXEC and then closes that connection before the reply reaches the client: the transaction
    ran, and the client cannot know."""

    def __init__(self, host: str, port: int) -> None:
        import socket
        import threading

        self.target = (host, port)
        self.armed = False
        self.dropped = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.closing = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket
        import threading

        while not self.closing:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            state = {"drop": False}
            threading.Thread(target=self._pump, args=(client, server, state, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, state, False), daemon=True).start()

    def _pump(self, src, dst, state, upstream: bool) -> None:
        import socket

        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if upstream and self.armed and b"EXEC" in data:
                    self.armed = False
                    state["drop"] = True
                elif not upstream and state["drop"]:
                    self.dropped += 1
                    break                  # the reply never arrives: close both sides
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self) -> None:
        self.closing = True
        self.listener.close()


def test_a_reply_lost_after_exec_ran_writes_the_task_once(r, redis_url):
    """The transaction's reply is lost after it was applied: enqueue must neither fail nor
    write the task twice (the script's ID check, sent next, finds it already there)."""
    host, port = redis_url.split("//")[1].split("/")[0].split(":")
    proxy = _ReplyDroppingProxy(host, int(port))
    try:
        client = dmq.Client(redis.Redis(host="127.0.0.1", port=proxy.port))
        client.enqueue(dmq.Task("first"))               # registers the queue (script path)
        proxy.armed = True
        info = client.enqueue(dmq.Task("t", {"n": 1}))  # transaction applied, its reply lost
        assert proxy.dropped == 1
        assert r.lrange("asynq:{default}:pending", 0, -1).count(info.id.encode()) == 1
        assert r.hget(f"asynq:{{default}}:t:{info.id}", "state") == b"pending"
        assert info.type == "t"
        after = client.enqueue(dmq.Task("t", {"n": 2}))
        assert r.llen("asynq:{default}:pending") == 3 and after.id != info.id
    finally:
        proxy.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="kernel socket timeouts are used on Linux only")
def test_a_plain_socket_keeps_its_timeout_in_the_kernel_and_times_out_as_redis_py_does(make_redis_process):
    """The direct path makes its sockets blocking with SO_RCVTIMEO / SO_SNDTIMEO set to the
    client's timeout (one system call per send and per read, no poll first); a stalled server
    still ends in redis-py's TimeoutError after about that timeout, and the next call reconnects."""
    import os
    import signal
    import socket
    import struct
    import time

    server = make_redis_process()
    rdb = RDB(redis.Redis.from_url(server.url, socket_timeout=0.5))
    lean = rdb.scripts.lean
    assert lean.execute("PING") == b"PONG"
    sock = lean._idle[0]._sock
    assert sock.gettimeout() is None
    seconds, micros = struct.unpack("ll", sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, 16))
    assert (seconds, micros) == (0, 500_000)
    os.kill(server.proc.pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        with pytest.raises(redis.TimeoutError):
            lean.execute("PING")
        assert 0.4 < time.monotonic() - t0 < 5
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)
    assert lean.execute("PING") == b"PONG"
    rdb.close()
