"""asynq v0.26 (Go) and dmq share queues: what one producer writes, the other side reads.

* Python enqueues -> Go's Inspector reports the same fields.
* The same enqueue done by Go (db 1) and by Python (db 0) leaves the same keys, types, hash
  fields and message bytes (dmq's own `dmq:*` keys aside).
* Go enqueues -> Python decodes the hash with rdb.wire.
* Python-enqueued tasks are processed by a Go asynq.Server.
"""

from __future__ import annotations

import base64
import time
from datetime import datetime, timedelta, timezone

import pytest

from dmq_tools import Client, Task
from dmq_tools.rdb import keys
from dmq_tools.rdb.wire import decode_task_message, encode_task_message

pytestmark = pytest.mark.interop
UTC = timezone.utc
Q = "interop"


def b64(data: bytes | None) -> str:
    return base64.b64encode(data or b"").decode()


def go_view(info) -> dict:
    """The fields Go's TaskInfo JSON (common.Task) should show for a dmq TaskInfo."""
    unix = lambda d: int(d.timestamp() // 1) if d else 0  # noqa: E731
    return {
        "id": info.id, "queue": info.queue, "type": info.type, "payload_b64": b64(info.payload),
        "headers": info.headers, "state": info.state.value, "max_retry": info.max_retry, "retried": 0,
        "last_err": "", "timeout_s": int(info.timeout.total_seconds()) if info.timeout else 0,
        "deadline": unix(info.deadline), "group": info.group,
        "retention_s": int(info.retention.total_seconds()) if info.retention else 0, "completed_at": 0,
    }


def test_python_enqueued_tasks_seen_by_go_inspector(r, go):
    c = Client(r)
    future = datetime.fromtimestamp(int(time.time()) + 3600, UTC)
    pending = c.enqueue(Task("email:welcome", {"user_id": 42}, headers={"trace": "t-1"}), queue=Q,
                        max_retry=3, timeout=timedelta(seconds=90), retention=timedelta(hours=1))
    deadline = c.enqueue(Task("report", "text ü"), queue=Q, deadline=future + timedelta(hours=1))
    unique = c.enqueue(Task("once", b"\x00\xffbin"), queue=Q, unique=timedelta(minutes=10))
    scheduled = c.enqueue(Task("later", [1, 2]), queue=Q, process_at=future)
    sched_unique = c.enqueue(Task("later-once"), queue=Q, process_in=timedelta(minutes=5), unique=60)
    grouped = c.enqueue(Task("agg", {"n": 1}), queue=Q, group="batch")
    grouped2 = c.enqueue(Task("agg", {"n": 2}), queue=Q, group="batch", unique=30)
    all_infos = [pending, deadline, unique, scheduled, sched_unique, grouped, grouped2]

    rep = go("inspect", "-queue", Q, "-id", ",".join(i.id for i in all_infos))[0]
    assert Q in rep["queues"]
    info = rep["info"]
    assert (info["pending"], info["scheduled"], info["aggregating"], info["groups"], info["size"]) == (3, 2, 2, 1, 7)
    assert rep["groups"] == {"batch": 2}
    assert not rep["task_errors"]
    for mine in all_infos:
        theirs = rep["tasks"][mine.id]
        assert {k: theirs[k] for k in go_view(mine)} == go_view(mine), mine.type
    assert [t["id"] for t in rep["pending"]] == [pending.id, deadline.id, unique.id]  # oldest first
    assert {t["id"]: t["next_process_at"] for t in rep["scheduled"]} == {
        scheduled.id: int(future.timestamp()), sched_unique.id: int(sched_unique.next_process_at.timestamp() // 1)}
    # scored by the second they were added: equal scores list by id
    assert sorted(t["id"] for t in rep["aggregating"]["batch"]) == sorted([grouped.id, grouped2.id])
    assert rep["tasks"][pending.id]["payload_nil"] is False
    assert rep["tasks"][sched_unique.id]["payload_b64"] == ""


# ---- the same enqueue by Go and by Python: same keys, same bytes ----

def snapshot(r, *, pending_since_ok=True) -> dict:
    """Every asynq key (dmq:* excluded) with its type and normalised content."""
    out = {}
    for raw in r.keys("*"):
        key = raw.decode()
        if key.startswith("dmq:"):
            continue
        kind = r.type(key).decode()
        if kind == "string":
            ttl = r.ttl(key)
            value = (r.get(key), "ttl" if ttl > 0 else ttl)
        elif kind == "hash":
            value = dict(r.hgetall(key))
            if b"pending_since" in value:
                assert len(value[b"pending_since"]) == 19  # nanoseconds
                value[b"pending_since"] = "<ns>"
        elif kind == "list":
            value = r.lrange(key, 0, -1)
        elif kind == "set":
            value = sorted(r.smembers(key))
        elif kind == "zset":
            value = r.zrange(key, 0, -1, withscores=True)
            if ":g:" in key:  # scored with "now": compare members only
                value = [m for m, _ in value]
        else:
            value = None
        out[key] = (kind, value)
    return out


def go_args(opts: dict) -> list[str]:
    args = ["-queue", Q, "-type", opts["type"], "-id", opts["id"]]
    if opts.get("payload") is None:
        args.append("-nil-payload")
    else:
        args += ["-payload", opts["payload"]]
    for flag in ("retry", "deadline", "process-at", "group"):
        if flag in opts:
            args += [f"-{flag}", str(opts[flag])]
    for flag in ("timeout", "unique", "retention"):
        if flag in opts:
            args += [f"-{flag}", f"{opts[flag]}s"]
    for k, v in opts.get("headers", {}).items():
        args += ["-header", f"{k}={v}"]
    return args


def py_enqueue(c: Client, opts: dict):
    kw = {"queue": Q, "task_id": opts["id"]}
    if "retry" in opts:
        kw["max_retry"] = opts["retry"]
    for name in ("timeout", "unique", "retention"):
        if name in opts:
            kw[name] = timedelta(seconds=opts[name])
    if "deadline" in opts:
        kw["deadline"] = datetime.fromtimestamp(opts["deadline"], UTC)
    if "process-at" in opts:
        kw["process_at"] = datetime.fromtimestamp(opts["process-at"], UTC)
    if "group" in opts:
        kw["group"] = opts["group"]
    payload = None if opts.get("payload") is None else opts["payload"].encode()
    return c.enqueue(Task(opts["type"], payload, headers=opts.get("headers")), **kw)


FUTURE = int(time.time()) + 7200
CASES = {
    "pending": dict(type="email:send", id="p1", payload='{"to":"a@b"}', retry=3, timeout=90, retention=3600,
                    headers={"trace": "abc"}),
    "pending-deadline": dict(type="report", id="p2", payload="text", deadline=FUTURE),
    "pending-timeout-and-deadline": dict(type="report", id="p3", payload="t", timeout=30, deadline=FUTURE),
    "unique": dict(type="once", id="u1", payload='{"k":1}', unique=600),
    "unique-nil-payload": dict(type="once", id="u2", payload=None, unique=600),
    "unique-empty-payload": dict(type="once", id="u3", payload="", unique=600),
    "scheduled": dict(type="later", id="s1", payload="[1,2]", **{"process-at": FUTURE}),
    "scheduled-unique": dict(type="later", id="s2", payload="x", unique=60, **{"process-at": FUTURE}),
    "group": dict(type="agg", id="g1", payload="1", group="batch"),
    "group-unique": dict(type="agg", id="g2", payload="2", group="batch", unique=60),
    "group-future-process-at": dict(type="agg", id="g3", payload="3", group="batch", **{"process-at": FUTURE}),
    "max-retry-zero": dict(type="t", id="m1", payload="p", retry=0),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_same_enqueue_same_keys_and_bytes(r, r1, go, case):
    opts = CASES[case]
    out = go("enqueue", *go_args(opts), db=1)
    assert "error" not in out[0], out
    py_enqueue(Client(r), opts)
    mine, theirs = snapshot(r), snapshot(r1)
    assert set(mine) == set(theirs)
    assert mine == theirs
    # and the message bytes in particular
    tkey = keys.task(Q, opts["id"])
    assert r.hget(tkey, "msg") == r1.hget(tkey, "msg")


def test_unique_conflicts_across_languages(r, go):
    Client(r).enqueue(Task("once", b"same"), queue=Q, unique=60)
    out = go("enqueue", "-queue", Q, "-type", "once", "-payload", "same", "-unique", "60s")
    assert out == [{"error": "task already exists"}]
    out = go("enqueue", "-queue", Q, "-type", "x", "-id", "shared-id")
    assert "error" not in out[0]
    from dmq_tools.errors import TaskIDConflictError

    with pytest.raises(TaskIDConflictError):
        Client(r).enqueue(Task("x"), queue=Q, task_id="shared-id")


def test_go_enqueued_tasks_decoded_by_python(r, go):
    deadline = int(time.time()) + 3600
    out = go("enqueue", "-queue", Q, "-type", "go:task", "-payload", '{"i":{i}}', "-n", "3", "-retry", "7",
             "-timeout", "45s", "-deadline", str(deadline), "-retention", "2h", "-header", "lang=go",
             "-unique", "1h")
    assert len(out) == 3 and all("error" not in o for o in out)
    for i, info in enumerate(out):
        raw = r.hget(keys.task(Q, info["id"]), "msg")
        m = decode_task_message(raw)
        assert (m.id, m.type, m.queue, m.payload) == (info["id"], "go:task", Q, f'{{"i":{i}}}'.encode())
        assert (m.retry, m.timeout, m.deadline, m.retention, m.headers) == (7, 45, deadline, 7200, {"lang": "go"})
        assert m.unique_key == f"asynq:{{{Q}}}:unique:go:task:" + __import__("hashlib").md5(m.payload).hexdigest()
        assert encode_task_message(m) == raw  # byte-exact both ways
        assert r.hget(keys.task(Q, info["id"]), "state") == b"pending"
        assert r.get(m.unique_key) == info["id"].encode()


def test_go_worker_processes_python_tasks(r, go):
    c = Client(r)
    tasks = [
        Task("py:json", {"a": [1, 2, {"b": "ü"}]}, headers={"trace": "t1"}),
        Task("py:text", "héllo"),
        Task("py:bytes", b"\x00\x01\xfe\xff"),
        Task("py:nil"),
    ]
    infos = [c.enqueue(t, queue=Q) for t in tasks[:2]]
    infos += c.enqueue_many(tasks[2:], queue=Q)
    kept = c.enqueue(Task("py:kept", {"x": 1}), queue=Q, retention=timedelta(hours=1))
    infos.append(kept)

    handled = go("worker", "-queues", Q, "-expect", str(len(infos)), "-duration", "30s", "-result", timeout=60)
    by_id = {h["id"]: h for h in handled}
    assert set(by_id) == {i.id for i in infos}
    for info in infos:
        h = by_id[info.id]
        assert (h["type"], h["queue"], base64.b64decode(h["payload_b64"])) == (info.type, Q, info.payload or b"")
        assert h["headers"] == info.headers and h["max_retry"] == 25 and h["retry_count"] == 0
    # done deleted the hashes; the retained one is completed with Go's result
    deadline = time.monotonic() + 10
    while r.exists(*[keys.task(Q, i.id) for i in infos[:-1]]) and time.monotonic() < deadline:
        time.sleep(0.05)  # the last done/complete writes can land just after the handler returned
    assert not r.exists(*[keys.task(Q, i.id) for i in infos[:-1]])
    assert r.hget(keys.task(Q, kept.id), "state") == b"completed"
    assert r.hget(keys.task(Q, kept.id), "result") == f"done:{kept.id}".encode()
    assert decode_task_message(r.hget(keys.task(Q, kept.id), "msg")).completed_at > 0
    assert int(r.get(keys.processed_total(Q))) == len(infos)
