"""Every public enqueue option at its limits and beyond, through every enqueue method.

Beyond the limit: a ConfigurationError (a ValueError) naming the option, and Redis exactly as it
was (a DUMP of every key before and after). At the limit: the task is written and reads back.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest

from dmq_tools import Client, ConfigurationError, Inspector, Task
from dmq_tools.limits import MAX_HORIZON_S, MAX_NAME_LENGTH, MAX_RETRY
from dmq_tools.rdb import keys
from dmq_tools.rdb.wire import decode_task_message
from tests.helpers.redis_snapshot import diff, snapshot

UTC = timezone.utc
FAR = datetime(9999, 12, 31, tzinfo=UTC)
CENTURY = timedelta(seconds=MAX_HORIZON_S)


def _soon(years: float) -> datetime:
    return datetime.now(UTC) + timedelta(days=365.25 * years)


#: (option, bad value, what the message must say)
BAD = [
    *[(opt, v, opt) for opt in ("timeout", "retention") for v in (
        math.inf, -math.inf, math.nan, -1, 10**30, 1e20, CENTURY + timedelta(seconds=1), "10", True, [1])],
    *[("unique", v, "unique") for v in (math.inf, math.nan, 10**30, 1e20, CENTURY * 2, "60", True)],
    *[("unique", v, "Unique TTL cannot be less than 1s") for v in (0.5, 0, -1, -math.inf)],
    *[("process_in", v, "process_in") for v in (1e12, -1e12, math.inf, math.nan, 10**30, "5", CENTURY * 2)],
    *[("process_at", v, "process_at") for v in (FAR, _soon(101), datetime(2030, 1, 1), "2030-01-01", 5)],
    *[("deadline", v, "deadline") for v in (FAR, _soon(101), datetime(2030, 1, 1), datetime(1960, 1, 1, tzinfo=UTC),
                                            datetime(1970, 1, 1, tzinfo=UTC), 1700000000)],
    *[("max_retry", v, "max_retry") for v in (2**31, 10**30, 1.5, "3", True)],
    *[("queue", v, "queue") for v in (5, b"q", "", "   ", "\ud800", "x" * (MAX_NAME_LENGTH + 1), ["q"])],
    *[("group", v, "group") for v in (5, "", "\udfff", "g" * (MAX_NAME_LENGTH + 1))],
    *[("task_id", v, "task_id") for v in (5, "", " ", "\ud800", "i" * (MAX_NAME_LENGTH + 1))],
    *[("headers", v, "header") for v in ("x", ["a"], {1: "a"}, {"a": 1}, {"a": "\ud800"}, {"\ud800": "a"})],
]


def _ids(case: tuple) -> str:
    opt, value, _ = case
    return f"{opt}={value!r:.30}"


@pytest.fixture
def seeded(r):
    """A database with some state of every kind, so 'nothing changed' means something."""
    c = Client(r)
    c.enqueue(Task("seed"), queue="q")
    c.enqueue(Task("seed"), queue="default", process_in=60)
    c.enqueue(Task("seed"), queue="q", group="g", unique=60)
    return c


def _call(c: Client, how: str, option: str, value: object) -> None:
    opts = {option: value}
    if how == "enqueue":
        c.enqueue(Task("t", {"n": 1}), **opts)
    elif how == "enqueue_in":
        if option == "process_in":
            c.enqueue_in(Task("t"), value)  # type: ignore[arg-type]
        else:
            c.enqueue_in(Task("t"), timedelta(seconds=30), **opts)
    elif how == "enqueue_at":
        if option == "process_at":
            c.enqueue_at(Task("t"), value)  # type: ignore[arg-type]
        else:
            c.enqueue_at(Task("t"), datetime.now(UTC) + timedelta(minutes=1), **opts)
    elif how == "enqueue_many":
        c.enqueue_many([Task("t", {"i": i}) for i in range(300)], **opts)
    elif how == "task_option":
        c.enqueue(Task("t", **opts))
    else:  # pragma: no cover
        raise AssertionError(how)


#: enqueue_in sets process_in and enqueue_at sets process_at themselves (the other one wins, as in
#: asynq), so those two pairings are not calls a user can make wrongly.
_SETS_ITSELF = {("enqueue_in", "process_at"), ("enqueue_at", "process_in")}
_CALLS = [pytest.param(how, case, id=f"{how}-{_ids(case)}")
          for how in ("enqueue", "enqueue_in", "enqueue_at", "enqueue_many", "task_option")
          for case in BAD if (how, case[0]) not in _SETS_ITSELF]


@pytest.mark.parametrize("how, case", _CALLS)
def test_bad_option_is_refused_and_nothing_written(seeded, r, how, case):
    option, value, says = case
    before = snapshot(r)
    with pytest.raises(ConfigurationError) as caught:
        if how == "task_option" and option == "headers":
            seeded.enqueue(Task("t", headers=value))   # Task's own headers
        else:
            _call(seeded, how, option, value)
    assert isinstance(caught.value, ValueError)
    message = str(caught.value)
    assert says in message
    if says == option and option not in ("queue", "group", "task_id", "headers") \
            and "must be a" not in message and "timezone-aware" not in message:
        assert "between" in message, message   # the allowed range is named
    assert diff(before, snapshot(r)) == {"added": [], "removed": [], "changed": []}


def test_unknown_option_is_refused_and_nothing_written(seeded, r):
    before = snapshot(r)
    with pytest.raises(ConfigurationError, match="unknown enqueue option.*retries"):
        seeded.enqueue(Task("t"), retries=3)
    with pytest.raises(ConfigurationError, match="on_conflict"):
        seeded.enqueue_many([Task("t")], on_conflict="ignore")
    assert snapshot(r) == before


def test_bad_task_type_is_refused(seeded, r):
    before = snapshot(r)
    for bad in ("", "  ", 5, None, "a\ud800"):
        with pytest.raises(ConfigurationError):
            seeded.enqueue(Task(bad))   # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="expected a dmq_tools.Task"):
        seeded.enqueue("t")             # type: ignore[arg-type]
    assert snapshot(r) == before


# ---- at the limit: accepted, stored, read back ----

AT_LIMIT = [
    ("timeout", CENTURY, "timeout", MAX_HORIZON_S),
    ("timeout", float(MAX_HORIZON_S), "timeout", MAX_HORIZON_S),
    ("retention", CENTURY, "retention", MAX_HORIZON_S),
    ("max_retry", MAX_RETRY, "retry", MAX_RETRY),
    ("max_retry", -5, "retry", 0),          # asynq's MaxRetry: negative counts as 0
    ("queue", "x" * MAX_NAME_LENGTH, "queue", "x" * MAX_NAME_LENGTH),
    ("queue", "é" * (MAX_NAME_LENGTH // 2), "queue", "é" * (MAX_NAME_LENGTH // 2)),
    ("task_id", "i" * MAX_NAME_LENGTH, "id", "i" * MAX_NAME_LENGTH),
    ("headers", {"k": "v" * 10_000}, "headers", {"k": "v" * 10_000}),
]


@pytest.mark.parametrize("option,value,field,stored", AT_LIMIT, ids=lambda v: f"{v!r:.20}")
def test_option_at_its_limit_is_written(r, option, value, field, stored):
    c = Client(r)
    info = c.enqueue(Task("t"), **{option: value})
    m = decode_task_message(r.hget(keys.task(info.queue, info.id), "msg"))
    assert getattr(m, field) == stored
    got = Inspector(r).get_task_info(info.queue, info.id)   # reads back without overflow
    assert got.id == info.id


def test_times_at_their_limit_are_written(r):
    c = Client(r)
    unique = c.enqueue(Task("u"), unique=CENTURY)
    assert 0.99 * MAX_HORIZON_S < r.ttl(keys.unique("default", "u", "")) <= MAX_HORIZON_S
    one_s = c.enqueue(Task("u1"), unique=1)
    assert r.ttl(keys.unique("default", "u1", "")) in (0, 1)
    later = c.enqueue(Task("s"), process_in=CENTURY - timedelta(minutes=1))
    assert later.state.value == "scheduled"
    assert r.zscore(keys.scheduled("default"), later.id) > datetime(2120, 1, 1, tzinfo=UTC).timestamp()
    at = c.enqueue_at(Task("a"), _soon(99))
    past = c.enqueue_at(Task("p"), datetime(1, 1, 1, tzinfo=UTC))   # the past: pending now (asynq)
    assert past.state.value == "pending"
    dl = c.enqueue(Task("d"), deadline=_soon(99))
    early = c.enqueue(Task("e"), deadline=datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC))
    insp = Inspector(r)
    for info in (unique, one_s, later, at, past, dl, early):
        assert insp.get_task_info(info.queue, info.id).id == info.id
    assert insp.get_task_info("default", early.id).deadline == datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)
    # a negative process_in within the horizon is "now" (asynq: process_at in the past)
    assert c.enqueue(Task("n"), process_in=-MAX_HORIZON_S).state.value == "pending"


# ---- enqueue_many: the whole batch is checked before anything is written ----

@pytest.mark.parametrize("bad", [
    Task("bad", max_retry=2**31), Task("bad", timeout=math.inf), Task("bad", unique=1e20),
    Task("bad", process_in=1e12), Task("bad", queue=""), "not a task",
], ids=["max_retry", "timeout", "unique", "process_in", "queue", "not-a-task"])
def test_enqueue_many_checks_the_whole_batch_first(seeded, r, bad):
    tasks: list = [Task("t", {"i": i}) for i in range(1000)]
    tasks[900] = bad
    before = snapshot(r)
    with pytest.raises(ConfigurationError, match=r"^task 900\b") as caught:
        seeded.enqueue_many(tasks)
    assert caught.value.index == 900
    if isinstance(bad, Task):
        assert "'bad'" in str(caught.value)
    assert snapshot(r) == before
    assert r.llen(keys.pending("default")) == 0


def test_enqueue_many_bad_headers_in_one_task(seeded, r):
    tasks = [Task("t", {"i": i}) for i in range(10)]
    tasks[7].headers["n"] = 5   # type: ignore[assignment]   # changed after construction
    before = snapshot(r)
    with pytest.raises(ConfigurationError, match="task 7 .*header"):
        seeded.enqueue_many(tasks)
    assert snapshot(r) == before


# ---- Scheduler.register shares the enqueue options: a bad value fails at once, not per tick ----

@pytest.mark.parametrize("option,value", [("timeout", math.inf), ("max_retry", 2**31), ("unique", 1e20),
                                          ("queue", 5), ("headers", "x"), ("deadline", FAR)])
def test_scheduler_register_checks_option_values(seeded, r, option, value):
    from dmq_tools import Scheduler

    sched = Scheduler(r)
    before = snapshot(r)
    with pytest.raises(ConfigurationError, match=option if option != "headers" else "header"):
        sched.register("@every 10s", Task("tick"), **{option: value})
    with pytest.raises(ConfigurationError):
        sched.register("*/5 * * * *", Task("tick", **{option: value}))
    assert sched.entries() == []
    assert snapshot(r) == before
