"""enqueue_many: one pipelined round trip, conflicts skipped, every kind of task, NOSCRIPT recovery."""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis

from dmq_tools import Client, Task
from dmq_tools.errors import DuplicateTaskError, TaskIDConflictError
from dmq_tools.models import TaskState
from dmq_tools.rdb import RDB, keys
from tests.foundation.conftest import NOW_S
from tests.helpers.seed import seed_task, stored_message


class CountingConnection(redis.Connection):
    """A real connection that counts its writes to the socket and logs writes and reads in order."""

    sends = 0
    log: list[str] = []

    def send_packed_command(self, command, check_health=True):
        CountingConnection.sends += 1
        CountingConnection.log.append("send")
        return super().send_packed_command(command, check_health)

    def read_response(self, *args, **kwargs):
        CountingConnection.log.append("read")
        return super().read_response(*args, **kwargs)


@pytest.fixture
def counted(redis_url, r, clock):
    host, port = redis_url.split("//")[1].split("/")[0].split(":")
    pool = redis.ConnectionPool(host=host, port=int(port), connection_class=CountingConnection)
    cr = redis.Redis(connection_pool=pool)
    CountingConnection.sends = 0
    yield Client(rdb=RDB(cr, clock=clock))
    pool.disconnect()


def commandstats(r) -> dict[str, int]:
    return {k.removeprefix("cmdstat_"): v["calls"] for k, v in r.info("commandstats").items()}


def test_one_round_trip_for_a_batch(counted, r):
    """The chunks stream down one connection and every reply is read after the last write."""
    from dmq_tools.client import _chunk_bounds

    counted.enqueue_many([Task("warm")])  # loads scripts, registers the queue
    CountingConnection.sends = 0
    CountingConnection.log = []
    r.config_resetstat()
    infos = counted.enqueue_many([Task("t", {"i": i}) for i in range(200)])
    assert len(infos) == 200
    chunks = len(list(_chunk_bounds(200)))
    assert CountingConnection.sends == chunks
    assert CountingConnection.log == ["send"] * chunks + ["read"] * chunks   # one script call per chunk
    stats = commandstats(r)
    # the plain tasks of a chunk share an enqueue_batch call: a hash per task, one EXISTS over all
    # of them, one LPUSH of all the IDs
    assert stats["evalsha"] == chunks and stats["hset"] == 200
    assert stats["lpush"] == chunks and stats["exists"] == chunks
    # nothing but the script and the commands it runs inside (no SADD: the queue is known;
    # TYPE: the key-type checks before the first write, three per call)
    assert set(stats) <= {"evalsha", "exists", "hset", "lpush", "llen", "xadd", "type", "config|resetstat", "config"}
    assert stats["type"] == 3 * chunks
    assert r.llen(keys.pending("default")) == 201


def test_new_queue_registered_in_the_same_round_trip(counted, r):
    counted.enqueue_many([Task("warm")])
    CountingConnection.sends = 0
    r.config_resetstat()
    counted.enqueue_many([Task("t")] * 3, queue="fresh")
    assert CountingConnection.sends == 1
    stats = commandstats(r)
    assert stats["sadd"] == 1 and stats["evalsha"] == 1
    assert r.smembers("asynq:queues") == {b"default", b"fresh"}


def test_empty_batch(client, r):
    assert client.enqueue_many([]) == []
    assert r.dbsize() == 0


def test_results_in_order_with_options(client, r):
    tasks = [Task("t", str(i)) for i in range(5)]
    infos = client.enqueue_many(tasks, queue="q", max_retry=2)
    assert [i.payload for i in infos] == [str(i).encode() for i in range(5)]
    assert all(i.queue == "q" and i.max_retry == 2 for i in infos)
    # LPUSH in order: the first task is at the consumption end (right)
    assert r.lrange(keys.pending("q"), 0, -1) == [i.id.encode() for i in reversed(infos)]
    assert stored_message(r, "q", infos[0].id).retry == 2


def test_conflicts_are_skipped(client, r):
    seed_task(r, "default", "taken", "completed")
    infos = client.enqueue_many([Task("a"), Task("b", task_id="taken"), Task("c")])
    assert [i.type for i in infos] == ["a", "c"]
    assert r.llen(keys.pending("default")) == 2
    assert r.hget(keys.task("default", "taken"), "state") == b"completed"


def test_duplicates_inside_one_batch_are_skipped(client, r):
    infos = client.enqueue_many([Task("u", {"k": 1}), Task("u", {"k": 1}), Task("u", {"k": 2})], unique=60)
    assert [i.json() for i in infos] == [{"k": 1}, {"k": 2}]
    assert r.get(RDB.unique_key("default", "u", b'{"k":1}')) == infos[0].id.encode()


def test_on_conflict_raise_after_writing_the_rest(client, r):
    seed_task(r, "default", "taken", "archived")
    with pytest.raises(TaskIDConflictError) as exc:
        client.enqueue_many([Task("a"), Task("b", task_id="taken"), Task("c")], on_conflict="raise")
    assert [i.type for i in exc.value.enqueued] == ["a", "c"]
    assert r.llen(keys.pending("default")) == 2
    client.enqueue(Task("d", b"x"), unique=60)
    with pytest.raises(DuplicateTaskError) as dup:
        client.enqueue_many([Task("d", b"x", unique=timedelta(seconds=60))], on_conflict="raise")
    assert dup.value.enqueued == []


def test_a_single_enqueue_conflict_has_an_empty_enqueued_list(client, r):
    """`.enqueued` is declared on both errors: a single enqueue's error has it too (empty)."""
    seed_task(r, "default", "taken", "archived")
    with pytest.raises(TaskIDConflictError) as conflict:
        client.enqueue(Task("b", task_id="taken"))
    assert conflict.value.enqueued == []
    client.enqueue(Task("d", b"x"), unique=60)
    with pytest.raises(DuplicateTaskError) as dup:
        client.enqueue(Task("d", b"x"), unique=60)
    assert dup.value.enqueued == []
    assert r.llen(keys.pending("default")) == 1


def test_bad_on_conflict(client):
    with pytest.raises(ValueError):
        client.enqueue_many([Task("a")], on_conflict="ignore")


def test_mixed_kinds_in_one_batch(fclient, r):
    tasks = [
        Task("plain"),
        Task("later", process_in=120),
        Task("once", b"1", unique=timedelta(minutes=5)),
        Task("once-later", b"2", unique=timedelta(minutes=5), process_in=60),
        Task("grouped", group="g"),
        Task("grouped-once", b"3", group="g", unique=30),
        Task("elsewhere", queue="other"),
    ]
    infos = fclient.enqueue_many(tasks)
    by_type = {i.type: i for i in infos}
    assert len(infos) == 7
    assert [by_type[t].state for t in ("plain", "later", "once", "once-later", "grouped", "grouped-once")] == [
        TaskState.PENDING, TaskState.SCHEDULED, TaskState.PENDING, TaskState.SCHEDULED,
        TaskState.AGGREGATING, TaskState.AGGREGATING]
    assert set(r.lrange(keys.pending("default"), 0, -1)) == {by_type["plain"].id.encode(), by_type["once"].id.encode()}
    assert r.zrange(keys.scheduled("default"), 0, -1, withscores=True) == sorted(
        [(by_type["once-later"].id.encode(), float(NOW_S + 60)), (by_type["later"].id.encode(), float(NOW_S + 120))],
        key=lambda x: x[1])
    assert r.zcard(keys.group("default", "g")) == 2 and r.smembers(keys.groups("default")) == {b"g"}
    assert 359 <= r.ttl(RDB.unique_key("default", "once-later", b"2")) <= 360
    assert 29 <= r.ttl(RDB.unique_key("default", "grouped-once", b"3")) <= 30
    assert r.llen(keys.pending("other")) == 1
    assert r.smembers("asynq:queues") == {b"default", b"other"}


def test_noscript_recovery_after_script_flush(client, r):
    client.enqueue_many([Task("a")])
    r.script_flush()
    infos = client.enqueue_many([Task("b"), Task("c")])
    assert len(infos) == 2 and r.llen(keys.pending("default")) == 3
    r.script_flush()
    client.enqueue(Task("d"))  # cached queue: EVALSHA then reload
    r.script_flush()
    client.enqueue(Task("e"), queue="brand-new")  # new queue: SADD + EVALSHA pipeline
    assert r.llen(keys.pending("default")) == 4 and r.llen(keys.pending("brand-new")) == 1


def test_noscript_recovery_does_not_duplicate(client, r):
    client.enqueue_many([Task("a")])
    r.script_flush()
    infos = client.enqueue_many([Task("x", task_id=f"id{i}") for i in range(50)])
    assert len(infos) == 50 and r.llen(keys.pending("default")) == 51


def test_large_batch_spans_several_script_calls(client, r):
    infos = client.enqueue_many([Task("t", i) for i in range(1234)])
    assert len(infos) == 1234
    assert r.lrange(keys.pending("default"), 0, -1) == [i.id.encode() for i in reversed(infos)]
    assert r.llen(keys.wake("default")) == 1
    assert [e[1] for e in task_events(r, "default")] == [i.id for i in infos]
    assert r.xlen(keys.events("default")) <= 10          # one entry per script call, not per task


def test_batched_tasks_match_single_enqueue(frdb, r):
    """enqueue_batch writes what enqueue writes, task by task, in order."""
    from dmq_tools.rdb.records import TaskMessage
    from dmq_tools.rdb.producer import EnqueueRequest
    from dmq_tools.rdb.wire import encode_task_message
    from tests.foundation.conftest import NOW_NS

    msgs = [TaskMessage(type="t", payload=str(i).encode(), id=f"id{i}", queue="q") for i in range(3)]
    seed_task(r, "q", "id1", "archived")
    codes = frdb.write_tasks([EnqueueRequest(m) for m in msgs])
    assert codes == [1, 0, 1]
    for m in (msgs[0], msgs[2]):
        assert r.hgetall(keys.task("q", m.id)) == {
            b"msg": encode_task_message(m), b"state": b"pending", b"pending_since": str(NOW_NS).encode()}
    assert r.hget(keys.task("q", "id1"), "state") == b"archived"
    assert r.lrange(keys.pending("q"), 0, -1) == [b"id2", b"id0"]
    assert task_events(r, "q") == [("enqueued", "id0", "t"), ("enqueued", "id2", "t")]   # not id1


def test_mixed_batch_keeps_fifo_order(client, r):
    tasks = [Task("a"), Task("b"), Task("u", b"1", unique=60), Task("c"), Task("x", queue="other"), Task("d")]
    infos = client.enqueue_many(tasks)
    order = [i.id for i in infos if i.queue == "default"]
    assert r.lrange(keys.pending("default"), 0, -1)[::-1] == [x.encode() for x in order]


@pytest.mark.parametrize("fields", [
    dict(queue="default", retry=25, timeout=1800, deadline=0, retention=0),
    dict(queue="q", retry=0, timeout=0, deadline=1778760600, retention=3600),
])
def test_plain_messages_encode_like_single_messages(fields):
    from dmq_tools.rdb.records import TaskMessage
    from dmq_tools.rdb.wire import encode_plain_message, encode_plain_messages, encode_task_message

    items = [("t", "id0", b'{"a":1}'), ("u", "id1", None), ("t", "id2", b""), ("v:w", "id3", b"\x00bytes")]
    got = encode_plain_messages(fields["queue"], fields["retry"], fields["timeout"], fields["deadline"],
                                fields["retention"], [i[0] for i in items], [i[1] for i in items],
                                [i[2] for i in items])
    want = [encode_task_message(TaskMessage(type=t, id=i, payload=p, **fields)) for t, i, p in items]
    assert got == want
    single = [encode_plain_message(fields["queue"], fields["retry"], fields["timeout"], fields["deadline"],
                                   fields["retention"], t, i, p) for t, i, p in items]
    assert single == want



def test_hand_encoded_plain_message_matches_protobuf_at_every_length_boundary():
    """encode_plain_message writes the protobuf by hand: byte for byte what protobuf serialises
    (and Go's proto.Marshal, see the interop tests), across varint length boundaries (127/128,
    16383/16384), multi-byte UTF-8, negative ints (10-byte varints), nil vs empty payloads."""
    import random

    from dmq_tools.rdb.records import TaskMessage
    from dmq_tools.rdb.wire import encode_plain_message, encode_task_message

    rnd = random.Random(19)
    for _ in range(3000):
        payload = rnd.choice([None, b"", b"x" * rnd.choice([1, 127, 128, 129, 16383, 16384, 300000])])
        task_type = rnd.choice(["a", "bench:noop", "é" * rnd.randint(1, 200), "t" * 130])
        task_id = rnd.choice(["id", "0123456789abcdef0123456789abcdef0123", "x" * 200])
        queue = rnd.choice(["default", "q" * 300, "ü"])
        retry = rnd.choice([0, 1, 25, -1, 2**31 - 1])
        timeout, deadline, retention = rnd.choice([0, 1, 1800]), rnd.choice([0, 1764525000, -5]), rnd.choice([0, 86400])
        got = encode_plain_message(queue, retry, timeout, deadline, retention, task_type, task_id, payload)
        want = encode_task_message(TaskMessage(type=task_type, payload=payload, id=task_id, queue=queue, retry=retry,
                                               timeout=timeout, deadline=deadline, retention=retention))
        assert got == want, (queue, retry, timeout, deadline, retention, task_type, task_id, payload and len(payload))


def test_plain_message_encoding_is_thread_safe():
    """Concurrent encodes never mix fields (the hand encoder shares only its cache of tails)."""
    import threading

    from dmq_tools.rdb.records import TaskMessage
    from dmq_tools.rdb.wire import encode_plain_message, encode_task_message

    bad: list[str] = []

    def work(n: int) -> None:
        for i in range(2000):
            payload = None if i % 5 == 0 else f"{n}:{i}".encode()
            got = encode_plain_message(f"q{n % 2}", n, 60, 0, 0, f"t{n}", f"id{n}-{i}", payload)
            want = encode_task_message(TaskMessage(type=f"t{n}", id=f"id{n}-{i}", payload=payload,
                                                   queue=f"q{n % 2}", retry=n, timeout=60))
            if got != want:
                bad.append(f"{n}:{i}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert bad == []

def test_fast_path_tasks_equal_single_enqueues(fclient, r):
    """enqueue_many's column-wise path leaves the hash, message, infos and events enqueue leaves."""
    one = fclient.enqueue(Task("t", {"n": 0}), queue="q", max_retry=3, retention=60)
    many = fclient.enqueue_many([Task("t", {"n": 1}), Task("t", None)], queue="q", max_retry=3, retention=60)
    for info in [one, *many]:
        stored = r.hgetall(keys.task("q", info.id))
        assert set(stored) == {b"msg", b"state", b"pending_since"} and stored[b"state"] == b"pending"
        msg = stored_message(r, "q", info.id)
        assert (msg.type, msg.queue, msg.retry, msg.retention, msg.timeout) == ("t", "q", 3, 60, 1800)
    assert r.hget(keys.task("q", one.id), "pending_since") == r.hget(keys.task("q", many[0].id), "pending_since")
    assert [(i.state, i.max_retry, i.retention, i.timeout, i.headers, i.group) for i in many] == \
        [(one.state, one.max_retry, one.retention, one.timeout, one.headers, one.group)] * 2
    assert many[1].payload is None and stored_message(r, "q", many[1].id).payload in (None, b"")
    assert task_events(r, "q") == [("enqueued", i.id, "t") for i in (one, *many)]


def test_fast_path_interleaved_with_other_kinds_keeps_order(client, r):
    tasks = []
    for i in range(600):
        if i % 7 == 3:
            tasks.append(Task("h", i, headers={"k": str(i)}))
        elif i % 11 == 5:
            tasks.append(Task("own", i, max_retry=1))
        else:
            tasks.append(Task("p", i))
    infos = client.enqueue_many(tasks)
    assert [i.payload for i in infos] == [str(i).encode() for i in range(600)]
    assert r.lrange(keys.pending("default"), 0, -1)[::-1] == [i.id.encode() for i in infos]
    assert stored_message(r, "default", infos[3].id).headers == {"k": "3"}
    assert stored_message(r, "default", infos[5].id).retry == 1 and infos[5].max_retry == 1
    assert infos[3].headers == {"k": "3"} and infos[0].headers == {}


def test_plain_enqueue_writes_what_the_general_path_writes(fclient, frdb, r):
    """Client.enqueue's plain fast path and write_task(EnqueueRequest) leave identical records."""
    from dmq_tools.rdb.producer import EnqueueRequest
    from dmq_tools.rdb.records import TaskMessage

    fclient.enqueue(Task("first"), queue="q")      # registers the queue: the next one is a transaction
    exec_calls = _calls(r, "exec")
    info = fclient.enqueue(Task("t", {"n": 1}), queue="q", max_retry=4, retention=30)
    assert _calls(r, "exec") == exec_calls + 1
    twin_id = "0" * len(info.id)          # same length: the encodings differ only in the ID bytes
    twin = TaskMessage(type="t", payload=b'{"n":1}', id=twin_id, queue="q", retry=4, timeout=1800, retention=30)
    frdb.write_task(EnqueueRequest(twin))
    fast, general = r.hgetall(keys.task("q", info.id)), r.hgetall(keys.task("q", twin_id))
    assert fast[b"msg"].replace(info.id.encode(), twin_id.encode()) == general[b"msg"]
    assert {k: v for k, v in fast.items() if k != b"msg"} == {k: v for k, v in general.items() if k != b"msg"}
    events = [f for _, f in r.xrange(keys.events("q"))][1:]
    assert [(e[b"e"], e[b"id"], e[b"t"]) for e in events] == [
        (b"enqueued", i.encode(), b"t") for i in (info.id, twin_id)]
    assert r.lrange(keys.pending("q"), 0, 1) == [twin_id.encode(), info.id.encode()]
    assert r.lrange(keys.wake("q"), 0, -1) == [b"1"]          # one wake-up token, however many tasks


def test_plain_enqueue_without_events_records_none(r):
    rdb = RDB(r, events_maxlen=0)
    client = Client(rdb=rdb)
    infos = [client.enqueue(Task("t", i), queue="q") for i in range(3)]
    assert r.xlen(keys.events("q")) == 0
    assert r.lrange(keys.pending("q"), 0, -1)[::-1] == [i.id.encode() for i in infos]
    rdb.events_maxlen = 5                                    # changed at run time: honoured
    client.enqueue(Task("t", 3), queue="q")
    assert r.xlen(keys.events("q")) == 1


def test_plain_enqueue_to_an_odd_queue_name(client, r):
    for name in ("50%_off", "naïve queue", "a{b}c"):
        client.enqueue(Task("t"), queue=name)
        info = client.enqueue(Task("t", {"n": 2}), queue=name)
        assert r.hget(keys.task(name, info.id), "state") == b"pending"
        assert r.lindex(keys.pending(name), 0) == info.id.encode()


def task_events(r, q: str) -> list[tuple[str, str, str]]:
    """(event, task id, type) of every event of queue q, oldest first, as the inspector reads them."""
    return [(e.fields["e"], e.fields["id"], e.fields["t"]) for e in RDB(r).latest_events(q, 1_000_000)]


def test_a_batch_records_one_event_entry_that_reads_as_one_event_per_task(client, r):
    infos = client.enqueue_many([Task("a", 1), Task("b", 2), Task("a", 3)], queue="q")
    [(_, fields)] = r.xrange(keys.events("q"))
    assert set(fields) == {b"e", b"ids", b"types"}                # mixed types: one list each
    assert task_events(r, "q") == [("enqueued", i.id, i.type) for i in infos]
    same = client.enqueue_many([Task("c", i) for i in range(3)], queue="q")
    assert set(r.xrevrange(keys.events("q"), count=1)[0][1]) == {b"e", b"ids", b"t"}
    assert task_events(r, "q")[3:] == [("enqueued", i.id, "c") for i in same]


def test_history_reads_expand_batch_entries_page_by_page(client, r):
    rdb = RDB(r)
    ids = []
    for k in range(5):
        ids += [i.id for i in client.enqueue_many([Task("t", i) for i in range(k + 1)], queue="q")]
        ids.append(client.enqueue(Task("t", "single"), queue="q").id)
    pages = list(rdb.iter_events("q", batch=2))                  # 2 stream entries per page
    assert [e.fields["id"] for page in pages for e in page] == ids
    assert [e.fields["id"] for e in rdb.latest_events("q", 4)] == ids[-4:]
    assert rdb.latest_events("q", 0) == []


def test_an_unreadable_batch_entry_is_kept_whole(r):
    r.xadd(keys.events("q"), {"e": "enqueued", "ids": "not json", "t": "x"})
    r.xadd(keys.events("q"), {"e": "enqueued", "ids": '["a","b"]', "types": '["x"]'})
    r.xadd(keys.events("q"), {"e": "enqueued", "id": "c", "t": "x"})
    events = RDB(r).latest_events("q", 10)
    assert [e.fields.get("ids") for e in events] == ["not json", '["a","b"]', None]
    assert events[2].fields == {"e": "enqueued", "id": "c", "t": "x"}


def _calls(r, command: str) -> int:
    return int(r.info("commandstats").get(f"cmdstat_{command}", {}).get("calls", 0))


def test_an_id_given_twice_in_one_batch_is_written_once(client, r):
    infos = client.enqueue_many([Task("a", task_id="same"), Task("b", task_id="same"), Task("c")])
    assert [i.type for i in infos] == ["a", "c"]
    assert r.llen(keys.pending("default")) == 2
    assert stored_message(r, "default", "same").type == "a"
    with pytest.raises(TaskIDConflictError):
        client.enqueue_many([Task("d", task_id="twice"), Task("e", task_id="twice")], on_conflict="raise")


@pytest.mark.parametrize("n", [0, 1, 31, 32, 33, 250, 251, 500, 501, 1000, 1234, 5000])
def test_chunks_cover_every_task_once_and_taper(n):
    from dmq_tools.client import _CHUNK, _chunk_bounds

    bounds = list(_chunk_bounds(n))
    assert [i for s, e in bounds for i in range(s, e)] == list(range(n))
    assert all(0 < e - s <= _CHUNK for s, e in bounds)
    if n > 64:
        assert bounds[-1][1] - bounds[-1][0] <= 32     # little left to wait for at the end
