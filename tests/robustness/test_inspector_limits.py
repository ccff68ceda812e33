"""Every Inspector argument at its limits and beyond: a ConfigurationError (a ValueError) with a
clear message, never a redis error or an OverflowError, and Redis exactly as it was."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from typing import Any
from collections.abc import Callable

import pytest

from dmq_tools import Client, ConfigurationError, Inspector, Task
from dmq_tools.limits import MAX_HISTORY_DAYS, MAX_PAGE_SIZE
from tests.helpers.redis_snapshot import snapshot

UTC = timezone.utc
NAIVE = datetime(2030, 1, 1)

BAD_PAGES = [0, -1, -(2**70), 2**63, 10**30, 1.5, "1", None, True, math.inf]
BAD_SIZES = [0, -5, MAX_PAGE_SIZE + 1, 2**63, 10**30, 2.0, "30", None, False]
BAD_QUEUES = [None, 5, b"default", "", "  ", "\ud800", ["default"]]
BAD_STATES = ["", "done", "PENDINGX", None, 5, "pending; DEL *"]

Call = Callable[[Inspector], Any]

CASES: list[tuple[str, Call, str]] = [
    *[(f"list_tasks page={p!r}", lambda i, p=p: i.list_tasks("default", "pending", page=p), "page") for p in BAD_PAGES],
    *[(f"list_tasks page_size={s!r}", lambda i, s=s: i.list_tasks("default", "pending", page_size=s), "page_size")
      for s in BAD_SIZES],
    ("list_tasks far page", lambda i: i.list_tasks("default", "pending", page=2**53, page_size=MAX_PAGE_SIZE), "page"),
    *[(f"scheduler_history page={p!r}", lambda i, p=p: i.scheduler_history("e", page=p), "page") for p in BAD_PAGES],
    *[(f"scheduler_history page_size={s!r}", lambda i, s=s: i.scheduler_history("e", page_size=s), "page_size")
      for s in BAD_SIZES],
    ("scheduler_history entry", lambda i: i.scheduler_history(None), "entry_id"),
    *[(f"history days={d!r}", lambda i, d=d: i.history("default", days=d), "days")
      for d in (0, -1, MAX_HISTORY_DAYS + 1, 10**9, 10**30, 2.5, "7", None)],
    *[(f"list_tasks state={s!r}", lambda i, s=s: i.list_tasks("default", s), "state") for s in BAD_STATES],
    *[(f"{op} state={s!r}", lambda i, s=s, op=op: getattr(i, op)("default", s), "state")
      for s in BAD_STATES for op in ("run_all", "archive_all", "delete_all", "count_tasks")],
    *[(f"iter_tasks state={s!r}", lambda i, s=s: list(i.iter_tasks("default", s)), "state") for s in BAD_STATES],
    *[(f"iter_tasks batch_size={b!r}", lambda i, b=b: list(i.iter_tasks("default", "pending", batch_size=b)),
       "batch_size") for b in (0, -1, MAX_PAGE_SIZE + 1, 1.5)],
    *[(f"{op} queue={q!r}", lambda i, q=q, op=op: getattr(i, op)(q), "queue")
      for q in BAD_QUEUES for op in ("get_queue_info", "history", "groups", "pause_queue", "unpause_queue",
                                     "remove_queue")],
    *[(f"list_tasks queue={q!r}", lambda i, q=q: i.list_tasks(q, "pending"), "queue") for q in BAD_QUEUES],
    *[(f"{op} task_id={t!r}", lambda i, t=t, op=op: getattr(i, op)("default", t), "task_id")
      for t in (None, 5, "", "\ud800") for op in ("get_task_info", "run_task", "archive_task", "delete_task")],
    ("cancel_processing None", lambda i: i.cancel_processing(None), "task_id"),
    ("list_tasks group=5", lambda i: i.list_tasks("default", "aggregating", group=5), "group"),
    ("list_tasks aggregating without group", lambda i: i.list_tasks("default", "aggregating"), "group"),
    *[(f"events limit={n!r}", lambda i, n=n: i.events("default", limit=n), "limit") for n in (-1, 2.5, "5", 10**30)],
    ("events naive since", lambda i: i.events("default", since=NAIVE), "timezone-aware"),
    ("events since str", lambda i: i.events("default", since="2030-01-01"), "since"),
    ("iter_events batch 0", lambda i: list(i.iter_events("default", batch_size=0)), "batch_size"),
    ("iter_events naive until", lambda i: list(i.iter_events("default", until=NAIVE)), "timezone-aware"),
    ("throughput naive", lambda i: i.throughput("default", since=NAIVE), "timezone-aware"),
    ("throughput str", lambda i: i.throughput("default", since="yesterday"), "since"),
    ("throughput span", lambda i: i.throughput("default", since=datetime(1, 1, 1, tzinfo=UTC)), "days"),
]


@pytest.fixture
def insp(r):
    c = Client(r)
    for n in range(5):
        c.enqueue(Task("t", {"n": n}))
    c.enqueue(Task("t"), process_in=60)
    return Inspector(r)


@pytest.mark.parametrize("name,call,says", CASES, ids=[c[0] for c in CASES])
def test_bad_argument_is_refused_and_nothing_changes(insp, r, name, call, says):
    before = snapshot(r)
    with pytest.raises(ConfigurationError) as caught:
        call(insp)
    assert isinstance(caught.value, ValueError)
    assert says in str(caught.value), str(caught.value)
    assert snapshot(r) == before


def test_arguments_at_their_limit_work(insp, r):
    assert len(insp.list_tasks("default", "pending", page=1, page_size=MAX_PAGE_SIZE)) == 5
    far = 2**53 // MAX_PAGE_SIZE
    assert insp.list_tasks("default", "pending", page=far, page_size=MAX_PAGE_SIZE) == []
    assert insp.list_tasks("default", "pending", page=2**52, page_size=1) == []
    assert len(insp.history("default", days=MAX_HISTORY_DAYS)) == MAX_HISTORY_DAYS
    assert len(insp.history("default", days=1)) == 1
    assert insp.scheduler_history("no-such-entry", page=2**40, page_size=1) == []
    assert [len(b) for b in insp.iter_tasks("default", "pending", batch_size=1)] == [1] * 5
    assert insp.events("default", limit=0) == []
    assert insp.list_tasks("default", "PENDING")   # states are case-insensitive (asynq's strings)
    now = datetime.now(UTC)
    assert len(insp.throughput("default", since=now - timedelta(days=MAX_HISTORY_DAYS - 1), until=now)) > 0
