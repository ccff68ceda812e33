"""Notebooks 4-6: monitoring and exports, custom task types, a Go service's Redis."""

from __future__ import annotations

from _story_common import CLEAN_UP, HANDLERS, WEB_APP, Cell, code, md, setup


def monitoring() -> list[Cell]:
    return [
        md("""
# 4 · Monitoring, exports and charts

The sign-up page has a busy afternoon. Some emails bounce off a flaky SMTP server, some uploads
are not images at all. What got through, what failed and why, how fast? Every worker step is
recorded beside asynq's keys (an event stream and per-minute counters per queue);
`dmq_tools.export` turns them into pandas DataFrames and `dmq_tools.charts` into figures."""),
        code("%matplotlib inline\n" + setup("nb04", "from dmq_tools import charts\n")),
        md("""
## An afternoon of traffic

A busy SMTP server refuses every tenth email once ("451, try again later"); the retry goes
through. Uploads whose name ends in 5 are not pictures at all: archived at once with `SkipRetry`.
The worker logs one short line per failure, at most a few every ten seconds, plus a count of the
rest: no wall of tracebacks."""),
        code(WEB_APP + '''


mux = dmq.ServeMux()

@mux.handle("email:deliver")
def deliver_email(task):
    to = task.json()["to"]
    if int(to[4:].split("@")[0]) % 10 == 0 and task.retry_count == 0:
        raise ConnectionError(f"smtp: 451 try again later ({to})")

@mux.handle("image:resize")
def resize_image(task):
    if task.json()["src"].endswith("5.jpg"):
        raise dmq.SkipRetry("cannot identify image file")''' + '''


N = 60 if SMOKE else 600
for i in range(1, N + 1):
    sign_up(f"user{i}@example.com", f"User {i}")
    if i % 2:
        upload_avatar(i, f"/uploads/{i}.jpg")

def busy(q):
    i = insp.get_queue_info(q)
    return i.pending + i.active + i.scheduled + i.retry

from dmq_tools.worker import WorkerConfig
worker = dmq.Worker(r, mux, concurrency=8, queues=app.weights(critical=6, default=3, low=1),
                    config=WorkerConfig(delayed_task_check_interval=timedelta(seconds=1)),
                    retry_delay_func=lambda n, err, task: timedelta(seconds=1))
worker.start()
dmq.wait_until(lambda: busy(CRITICAL) + busy(LOW) == 0, timeout=120)
worker.stop()'''),
        md("""## The queues, as a DataFrame"""),
        code('''queues = export.queues_frame(insp).set_index("queue").loc[[CRITICAL, LOW]]
queues[["size", "pending", "archived", "completed", "processed", "failed", "failure_rate"]]''', "check"),
        code('''charts.queue_sizes(queues.reset_index())'''),
        md("""
## Throughput and failure rate

`throughput_frame` sums the per-minute counters into buckets (any pandas frequency); the chart
draws succeeded and failed tasks as stacked bars, with a gap where nothing ran."""),
        code('''tp = export.throughput_frame(insp, freq="1min", window=timedelta(minutes=30))
tp = tp[tp["processed"] > 0]
tp.tail(3)'''),
        code('''charts.throughput(charts.fit_window(tp.set_index("time")))'''),
        code('''charts.failure_rate(tp.set_index("time"))'''),
        code('''by_queue = export.throughput_frame(insp, freq="1min", window=timedelta(minutes=30), by_queue=True)
charts.throughput_by_queue(by_queue)'''),
        md("""## Run times"""),
        code('''events = export.events_frame(insp, CRITICAL)
charts.latency_distribution(events[events["event"] == "succeeded"])'''),
        md("""## What failed, and why"""),
        code('''failed = pd.concat([export.tasks_frame(insp, q, "archived") for q in (CRITICAL, LOW)])
failed.groupby(["queue", "type", "last_err"], observed=True).size().rename("tasks").reset_index()''', "check"),
        md("""## Save for later: CSV and Parquet"""),
        code('''import tempfile
from pathlib import Path

out = Path(tempfile.mkdtemp(prefix="dmq-export-"))
tp.to_csv(out / "throughput.csv", index=False)
export.write_frame(failed, str(out / "failed.parquet"), "parquet")
sorted(p.name for p in out.iterdir())''', "check"),
        md("""
## The live view

The dashboard's **Charts** tab draws the same charts live (total, per queue, daily history);
the **Overview** sums it up."""),
        code('''from dmq_tools.widgets import Dashboard

dash = Dashboard(insp)
dash.tab.selected_index = 4
dash'''),
        code('''app.reset()
dmq.running()'''),
    ]


def custom_tasks() -> list[Cell]:
    return [
        md("""
# 5 · Your own task type: `data:export`

The guide adds a task of its own in three steps: **a type and its payload**, **a handler**,
**registration**. A user asks for their data; the web app enqueues `data:export`; a worker
writes the file. The same layout works for any task, and a Go service can enqueue and process
the same type."""),
        code(setup("nb05", "import json\nfrom dataclasses import asdict, dataclass\n")),
        md("""## 1. The type and its payload"""),
        code('''TYPE_DATA_EXPORT = "data:export"


@dataclass
class DataExportPayload:
    user_id: int
    format: str


def new_data_export_task(user_id: int, format: str) -> dmq.Task:
    """The constructor: options that belong to the type (queue, retries, retention) go here."""
    return dmq.Task(TYPE_DATA_EXPORT, asdict(DataExportPayload(user_id, format)),
                    queue=DEFAULT, max_retry=3, retention=timedelta(hours=1))'''),
        md("""
## 2. The handler

It decodes the payload; a payload it cannot read will never work, so it raises `SkipRetry`
(the guide's `asynq.SkipRetry`). The return value is stored as the task's result."""),
        code('''import csv
import io
import tempfile
from pathlib import Path

EXPORTS = Path(tempfile.mkdtemp(prefix="dmq-exports-"))


def handle_data_export(task: dmq.Task):
    try:
        p = DataExportPayload(**task.json())
    except (TypeError, ValueError) as exc:
        raise dmq.SkipRetry(f"bad payload: {exc}") from None
    if p.format not in ("csv", "json"):
        raise dmq.SkipRetry(f"unknown format {p.format!r}")
    rows = [{"user_id": p.user_id, "order": n, "total": 10 * n} for n in range(1, 4)]
    path = EXPORTS / f"user-{p.user_id}.{p.format}"
    if p.format == "csv":
        buf = io.StringIO()
        csv.DictWriter(buf, fieldnames=list(rows[0])).writeheader()
        csv.DictWriter(buf, fieldnames=list(rows[0])).writerows(rows)
        path.write_text(buf.getvalue())
    else:
        path.write_text(json.dumps(rows))
    return {"file": path.name, "rows": len(rows)}'''),
        md("""## 3. Registration, beside the guide's two tasks"""),
        code(HANDLERS + '''

mux.handle(TYPE_DATA_EXPORT, handle_data_export)
worker = dmq.Worker(r, mux, concurrency=4, queues=app.weights(critical=6, default=3, low=1))
worker.start()'''),
        md("""
## Use it

The app enqueues exports for three users, and one request with a format nobody supports."""),
        code('''jobs = [client.enqueue(new_data_export_task(uid, fmt))
        for uid, fmt in ((1, "csv"), (2, "json"), (3, "csv"))]
oops = client.enqueue(new_data_export_task(4, "xlsx"))
dmq.wait_until(lambda: insp.get_queue_info(DEFAULT).completed == 3 and insp.get_queue_info(DEFAULT).archived == 1)
results = [t.result_value for t in insp.list_tasks(DEFAULT, "completed")]
pd.DataFrame(results).sort_values("file", ignore_index=True)''', "check"),
        code('''print((EXPORTS / "user-1.csv").read_text())''', "check"),
        code('''insp.get_task_info(DEFAULT, oops.id).last_err''', "check"),
        md("""
The task's information renders as a table of its own, the result included:"""),
        code('''insp.get_task_info(DEFAULT, jobs[0].id)'''),
        code(CLEAN_UP),
    ]


def asynq_service() -> list[Cell]:
    return [
        md("""
# 6 · Explore a Go service's Redis from Python

Point `REDIS_URL` at the Redis of a Go service that uses asynq, and everything below works on
its queues: asynq's keys are read as asynq writes them.

To stay self-contained, this notebook first **writes a realistic history** the way the guide's
service would: its API enqueues emails, resizes and exports, workers process them, some tasks
fail and are retried, some are archived after their last retry, a few wait for later, and an
operator pauses one queue. Then we explore it."""),
        code("%matplotlib inline\n" + setup("nb06", "from dmq_tools import charts\n"
                                            "from dmq_tools.worker import WorkerConfig\n")),
        md("""## A day in the life of the service (a few seconds here)"""),
        code('''SCALE = 1 if SMOKE else 5
mux = dmq.ServeMux()

@mux.handle("email:deliver")
def deliver_email(task):
    to = task.json()["to"]
    if to.endswith("@invalid"):
        raise dmq.SkipRetry("550 mailbox unavailable")
    if int(to[4:].split("@")[0]) % 8 == 0 and task.retry_count == 0:
        raise ConnectionError("smtp: connection refused")

@mux.handle("image:resize")
def resize_image(task):
    if task.json()["src"].endswith(".tiff"):
        raise ValueError("unsupported image format: tiff")

@mux.handle("data:export")
def export_data(task):
    pass

emails = ([dmq.Task("email:deliver", {"to": f"user{i}@example.com"}) for i in range(1, 40 * SCALE + 1)]
          + [dmq.Task("email:deliver", {"to": f"bounce{i}@invalid"}) for i in range(3)])
images = [dmq.Task("image:resize", {"src": f"/uploads/{i}.{'tiff' if i % 10 == 0 else 'jpg'}",
                                    "width": 300, "height": 200}) for i in range(1, 30 * SCALE + 1)]
exports = [dmq.Task("data:export", {"user_id": i, "format": "csv"}) for i in range(10 * SCALE)]
client.enqueue_many(emails, queue=CRITICAL, max_retry=3)
client.enqueue_many(exports, queue=DEFAULT, max_retry=3)
client.enqueue_many(images, queue=LOW, max_retry=1)
for hours in (1, 6, 24):
    client.enqueue_in(dmq.Task("data:export", {"user_id": 0, "format": "json"}), timedelta(hours=hours),
                      queue=DEFAULT)

worker = dmq.Worker(r, mux, concurrency=8, queues=app.weights(critical=6, default=3, low=1),
                    config=WorkerConfig(delayed_task_check_interval=timedelta(seconds=1)),
                    retry_delay_func=lambda n, err, task: timedelta(seconds=1), log="quiet")
worker.start()
def busy(q):
    i = insp.get_queue_info(q)
    return i.pending + i.active + i.retry

dmq.wait_until(lambda: sum(busy(q) for q in app.queues) == 0, timeout=90)
worker.stop()
insp.pause_queue(LOW)  # an operator pauses the image queue'''),
        md("""
The worker above ran with `log="quiet"`: failures are not logged at all, the dashboard and the
tables below show them. Here is the service's state, as asynq's CLI or asynqmon would show it:"""),
        code('''export.queues_frame(insp).set_index("queue").loc[app.queues][
    ["paused", "pending", "scheduled", "retry", "archived", "processed", "failed"]]''', "check"),
        md("""
## The dashboard

Everything at a glance. Click a number in the queue table to open those tasks (try `archived`
on `nb06-critical`), click a task for its payload and error, tick a few and **Run** them."""),
        code('''from dmq_tools.widgets import Dashboard

dash = Dashboard(insp)
dash'''),
        code('''dash.open_tasks(CRITICAL, "archived")   # what clicking the number does
dash.tasks.page_label.value''', "check"),
        md("""## What failed, and why"""),
        code('''archived = pd.concat([export.tasks_frame(insp, q, "archived") for q in app.queues])
archived.groupby(["queue", "type", "last_err"], observed=True).size().rename("tasks").reset_index()''', "check"),
        code('''events = export.events_frame(insp)
events[events["queue"].isin(app.queues)].groupby(["queue", "event"], observed=True).size().unstack(fill_value=0)'''),
        code('''tp = export.throughput_frame(insp, freq="1min", window=timedelta(minutes=15))
charts.throughput(charts.fit_window(tp.set_index("time")), title="all queues")'''),
        md("""## Operate: send the bounced emails again once the address book is fixed"""),
        code('''moved = insp.run_all(CRITICAL, "archived")
insp.unpause_queue(LOW)
print(moved, "archived emails moved back to pending")''', "check"),
        md("""## Export for later analysis"""),
        code('''import tempfile
from pathlib import Path

out = Path(tempfile.mkdtemp(prefix="dmq-asynq-"))
export.history_frame(insp, CRITICAL, days=7).to_csv(out / "daily.csv", index=False)
export.write_frame(events, str(out / "events.parquet"), "parquet")
sorted(p.name for p in out.iterdir())''', "check"),
        code('''app.reset()
dmq.running()'''),
    ]
