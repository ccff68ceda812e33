"""Generate notebooks/*.ipynb (outputs stripped, kernelspec python3): python notebooks/_make_notebooks.py

Every notebook connects with `dmq.connect()`: REDIS_URL when set (the tests point it at the
session server), else the embedded redis-server. `DMQ_NB_SMOKE=1` picks small sizes.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
META = {
    "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"},
    "language_info": {"name": "python"},
}

SETUP = '''import os, time
from datetime import timedelta
import dmq_tools as dmq

SMOKE = os.environ.get("DMQ_NB_SMOKE") == "1"   # CI runs the notebooks small
r = dmq.connect()          # REDIS_URL if set, else an embedded redis-server in ./.dmq
client = dmq.Client(r)
insp = dmq.Inspector(r)

def wait_for(predicate, timeout=30.0, every=0.1):
    """Poll until predicate() is true (a worker runs in background threads)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(every)
    raise TimeoutError("condition not met in time")'''


def md(text: str) -> nbformat.NotebookNode:
    return new_markdown_cell(text.strip())


def code(text: str, tags: tuple[str, ...] = ()) -> nbformat.NotebookNode:
    cell = new_code_cell(text.strip())
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def quickstart() -> list:
    return [
        md("""
# 1 · Quickstart: enqueue, work, watch

dmq_tools is a task queue on Redis that speaks the same protocol as the Go library
[asynq](https://github.com/hibiken/asynq). In this notebook we enqueue a few tasks, start a
worker **inside the kernel** (background threads), and watch the queues with the dashboard.

No Redis? `dmq.connect()` starts an embedded `redis-server` for you (or uses `REDIS_URL`)."""),
        code(SETUP),
        md("""
## Enqueue

A task is a type name and a payload (JSON here). `enqueue` writes it to Redis and returns a
`TaskInfo`, which renders as a table."""),
        code('''N = 20 if SMOKE else 200
done_before = insp.get_queue_info("quickstart").processed if "quickstart" in insp.queues() else 0
info = client.enqueue(dmq.Task("email:welcome", {"user_id": 0, "name": "Ada"}), queue="quickstart")
infos = client.enqueue_many([dmq.Task("email:welcome", {"user_id": i, "name": f"user{i}"})
                             for i in range(1, N)], queue="quickstart")
info'''),
        md("""
## Handlers and a worker

A `ServeMux` routes task types to handlers. The return value becomes the task's result when
the task has a retention. `worker.start()` returns at once: the worker runs in daemon threads."""),
        code('''mux = dmq.ServeMux()
sent = []

@mux.handle("email:")
def send_email(task):
    data = task.json()
    sent.append(data["user_id"])
    return {"to": data["name"], "status": "sent"}

worker = dmq.Worker(r, mux, concurrency=4, queues={"quickstart": 1})
worker.start()
wait_for(lambda: insp.get_queue_info("quickstart").processed >= done_before + N)
print(f"{len(sent)} emails sent")'''),
        code('''insp.get_queue_info("quickstart")'''),
        md("""
## The dashboard

One cell, every view: queues (counts by state, processed/failed today, latency, pause/resume),
tasks, workers, the scheduler and throughput. Click **Auto-refresh** to keep it live."""),
        code('''from dmq_tools.widgets import Dashboard

dash = Dashboard(insp, mux=mux)
dash'''),
        code('''client.enqueue(dmq.Task("email:welcome", {"user_id": -1, "name": "late"}), queue="quickstart",
               retention=timedelta(hours=1))
wait_for(lambda: insp.get_queue_info("quickstart").completed >= 1)
dash.refresh()
assert "quickstart" in dash.queues.table.value
insp.list_tasks("quickstart", "completed")[0].result_value'''),
        md("""
## Clean up

Stop the worker (graceful: it finishes what is running). Re-running the worker cell would
also replace the old worker instead of leaving a ghost one behind."""),
        code('''worker.stop()
dmq.running()'''),
    ]


def priorities() -> list:
    return [
        md("""
# 2 · Priorities, retries and timeouts

Three queues with weights, asynq's retry rules, `SkipRetry`, and cooperative timeouts."""),
        code(SETUP + '''

from dmq_tools.worker import WorkerConfig
fast = WorkerConfig(delayed_task_check_interval=timedelta(seconds=1))  # retries come back quickly here
for q in ("critical", "default", "low"):
    if q in insp.queues():
        insp.delete_all(q, "pending")'''),
        md("""
## Strict priority

With `strict_priority=True` the worker empties `critical` before it looks at `default`, and
`default` before `low`. Without it, queues are picked at random in proportion to their weights
(6:3:1 here), so `low` is never starved."""),
        code('''order = []
mux = dmq.ServeMux()

@mux.handle("job")
def job(task):
    order.append(task.queue)

N = 10 if SMOKE else 50
for q in ("low", "default", "critical"):          # enqueue the least important first
    client.enqueue_many([dmq.Task("job", {"i": i}) for i in range(N)], queue=q)

worker = dmq.Worker(r, mux, concurrency=1, queues={"critical": 6, "default": 3, "low": 1},
                    strict_priority=True, config=fast)
worker.start()
wait_for(lambda: len(order) == 3 * N)
worker.stop()
print(order[:3], "...", order[-3:])
assert order == ["critical"] * N + ["default"] * N + ["low"] * N'''),
        md("""
## Retries, SkipRetry and timeouts

- A handler that raises is **retried** (asynq's backoff by default; one second here).
- `raise dmq.SkipRetry(...)` **archives** at once: retrying cannot help.
- A task has a **timeout** (whole seconds, as in asynq). Handlers in threads are stopped
  cooperatively: `task.cancelled` is set at the deadline and the slot is freed."""),
        code('''attempts = {}
mux = dmq.ServeMux()

@mux.handle("flaky")
def flaky(task):
    attempts[task.id] = attempts.get(task.id, 0) + 1
    if task.retry_count < 2:
        raise ConnectionError(f"upstream down (attempt {task.retry_count + 1})")
    return "ok"

@mux.handle("invalid")
def invalid(task):
    raise dmq.SkipRetry("payload has no 'to' field")

@mux.handle("slow")
def slow(task):
    while not task.cancelled.wait(0.05):   # do work in small steps, stop when asked
        pass

flaky_info = client.enqueue(dmq.Task("flaky", {"n": 1}), queue="default", max_retry=5)
invalid_info = client.enqueue(dmq.Task("invalid", {}), queue="default")
slow_info = client.enqueue(dmq.Task("slow", {}), queue="low", timeout=timedelta(seconds=1), max_retry=0)

worker = dmq.Worker(r, mux, concurrency=4, queues={"critical": 6, "default": 3, "low": 1}, config=fast,
                    retry_delay_func=lambda n, err, task: timedelta(seconds=1))
worker.start()
wait_for(lambda: attempts.get(flaky_info.id) == 3 and insp.get_queue_info("low").archived >= 1)
worker.wait_idle(10)
worker.stop()
print("flaky ran", attempts[flaky_info.id], "times")'''),
        code('''archived = insp.list_tasks("default", "archived") + insp.list_tasks("low", "archived")
assert {t.id for t in archived} >= {invalid_info.id, slow_info.id}
archived'''),
        md("""
The task browser shows the same tasks with their errors; pick a task for its details, or
**Run** it again once the cause is fixed."""),
        code('''from dmq_tools.widgets import TaskBrowser

browser = TaskBrowser(insp, queue="default", state="archived")
browser'''),
        code('''dmq.running()'''),
    ]


def scheduling() -> list:
    return [
        md("""
# 3 · Scheduling: cron, `@every`, next runs and history

A `Scheduler` enqueues tasks on cron specs (asynq's dialect: five fields, `@daily`,
`@every 30s`, `CRON_TZ=`). Its entries and enqueue history are written where `asynq cron ls`
and asynqmon read them, and several schedulers with the same entries fire each tick once."""),
        code(SETUP),
        code('''sched = dmq.Scheduler(r)
tick_id = sched.register("@every 1s", dmq.Task("metrics:collect", {"source": "notebook"}), queue="periodic")
report_id = sched.register("0 9 * * 1-5", dmq.Task("report:daily", {"team": "ops"}), queue="periodic")
nightly_id = sched.register("CRON_TZ=Europe/Paris 30 2 * * *", dmq.Task("db:vacuum", None), queue="periodic")
for entry_id, times in sched.next_runs(3).items():
    print(entry_id[:8], [t.strftime("%a %d %H:%M:%S") for t in times])'''),
        md("""
Start it (a daemon thread). `@every 1s` fires each second; the others wait for their time."""),
        code('''sched.start()
wait_for(lambda: len(insp.scheduler_history(tick_id)) >= (2 if SMOKE else 3), timeout=20)
insp.scheduler_entries()'''),
        code('''history = insp.scheduler_history(tick_id)
print(len(history), "enqueues so far")
history[:3]'''),
        md("""
The panel below shows the entries, the next fire times and each entry's history, and has a
form to register a new entry (it validates the spec before anything is written)."""),
        code('''from dmq_tools.widgets import SchedulerPanel

panel = SchedulerPanel(insp, scheduler=sched)
panel'''),
        code('''panel.register("@every 2s", "cache:warm", {"keys": 10}, "periodic")
assert any(e.task_type == "cache:warm" for e in insp.scheduler_entries())
panel.refresh()
insp.get_queue_info("periodic").pending'''),
        md("""Stop the scheduler: its entries disappear from Redis; the history stays (30 days)."""),
        code('''sched.stop()
assert insp.scheduler_entries() == [] or all(e.id not in (tick_id, report_id, nightly_id)
                                              for e in insp.scheduler_entries())'''),
    ]


def monitoring() -> list:
    return [
        md("""
# 4 · Monitoring and export: charts, DataFrames, CSV and Parquet

Each worker transition is recorded beside asynq's keys: a capped **event stream** per queue
and **per-minute counters**. `dmq_tools.export` turns them into pandas DataFrames and
`dmq_tools.charts` into matplotlib figures."""),
        code("%matplotlib inline\n" + SETUP + '''

import random
import tempfile
from pathlib import Path

from dmq_tools import charts, export'''),
        md("""
## Make some traffic

A handler that fails about 15 % of the time, with a little random work."""),
        code('''random.seed(7)
mux = dmq.ServeMux()

@mux.handle("order:")
def process(task):
    time.sleep(random.uniform(0, 0.004))
    if task.json()["n"] % 7 == 0:
        raise ValueError("card declined")

N = 150 if SMOKE else 1500
before = insp.get_queue_info("orders").processed if "orders" in insp.queues() else 0
client.enqueue_many([dmq.Task("order:charge", {"n": i}) for i in range(N)], queue="orders", max_retry=0)
client.enqueue_many([dmq.Task("order:ship", {"n": i + 1}) for i in range(N // 3)], queue="shipping")
worker = dmq.Worker(r, mux, concurrency=8, queues={"orders": 2, "shipping": 1})
worker.start()
wait_for(lambda: insp.get_queue_info("orders").processed >= before + N)
worker.wait_idle(10)
worker.stop()'''),
        md("""## Queues as a DataFrame"""),
        code('''queues = export.queues_frame(insp)
queues[["queue", "size", "pending", "archived", "processed", "failed", "failure_rate"]]'''),
        code('''charts.queue_sizes(queues)'''),
        md("""
## Throughput and failure rate

`throughput_frame` buckets the per-minute counters (`freq` is any pandas frequency)."""),
        code('''tp = export.throughput_frame(insp, freq="1min", window=timedelta(minutes=30))
assert tp["processed"].sum() >= N
tp.tail()'''),
        code('''charts.throughput(tp)'''),
        code('''charts.failure_rate(tp)'''),
        md("""
## Task events and the distribution of run times"""),
        code('''events = export.events_frame(insp, "orders")
print(events["event"].value_counts().to_dict())
charts.latency_distribution(events[events["event"] == "succeeded"])'''),
        md("""## Failed tasks, with their errors"""),
        code('''failed = export.tasks_frame(insp, "orders", "archived")
failed[["id", "type", "last_err", "last_failed_at"]].head()'''),
        md("""
## Save as CSV and Parquet"""),
        code('''out = Path(tempfile.mkdtemp(prefix="dmq-export-"))
tp.to_csv(out / "throughput.csv", index=False)
export.write_frame(failed, str(out / "failed.parquet"), "parquet")
sorted(p.name for p in out.iterdir())'''),
        md("""
## The live chart widget

Pick a queue, a window and a bucket size; switch on **Auto-refresh** to redraw it live."""),
        code('''from dmq_tools.widgets import ThroughputChart

chart = ThroughputChart(insp, queue="orders", window="15 min")
chart'''),
    ]


def custom_tasks() -> list:
    return [
        md("""
# 5 · Custom tasks, the asynq way

The same structure as a Go asynq service's `tasks` package: for each task **a type constant,
a payload, a constructor and a handler**, then **registration** on the mux. A Go service and
this notebook can enqueue and process each other's tasks."""),
        code(SETUP + '''

import json
from dataclasses import asdict, dataclass'''),
        md("""
## 1. Type names and payloads"""),
        code('''TYPE_EMAIL_DELIVERY = "email:deliver"
TYPE_IMAGE_RESIZE = "image:resize"

@dataclass
class EmailDeliveryPayload:
    user_id: int
    template_id: str

@dataclass
class ImageResizePayload:
    width: int
    height: int
    color: str = "teal"'''),
        md("""
## 2. Constructors

They return a `dmq.Task`; options that belong to the task type (queue, retries, timeout,
retention to keep the result) go on the task."""),
        code('''def new_email_delivery_task(user_id: int, template_id: str) -> dmq.Task:
    return dmq.Task(TYPE_EMAIL_DELIVERY, asdict(EmailDeliveryPayload(user_id, template_id)),
                    queue="mail", max_retry=5, retention=timedelta(hours=1))

def new_image_resize_task(width: int, height: int, color: str = "teal") -> dmq.Task:
    return dmq.Task(TYPE_IMAGE_RESIZE, asdict(ImageResizePayload(width, height, color)),
                    queue="images", timeout=timedelta(seconds=30), retention=timedelta(hours=1))'''),
        md("""
## 3. Handlers

A handler gets the task, decodes its payload, and returns a result (stored because of the
retention) or raises to retry. The image handler makes a real PNG thumbnail with Pillow."""),
        code('''import base64, io

def handle_email_delivery(task):
    p = EmailDeliveryPayload(**task.json())
    # ... render the template and hand it to the SMTP server ...
    return {"user_id": p.user_id, "template": p.template_id, "delivered": True}

def handle_image_resize(task):
    from PIL import Image, ImageDraw
    p = ImageResizePayload(**task.json())
    img = Image.new("RGB", (p.width * 4, p.height * 4), p.color)
    ImageDraw.Draw(img).ellipse((0, 0, p.width * 4 - 1, p.height * 4 - 1), fill="gold")
    img.thumbnail((p.width, p.height))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return {"size": list(img.size), "png_base64": base64.b64encode(buf.getvalue()).decode()}'''),
        md("""
## 4. Registration and a worker"""),
        code('''mux = dmq.ServeMux()
mux.handle(TYPE_EMAIL_DELIVERY, handle_email_delivery)
mux.handle(TYPE_IMAGE_RESIZE, handle_image_resize)
worker = dmq.Worker(r, mux, concurrency=4, queues={"mail": 2, "images": 1})
worker.start()'''),
        md("""
## Enqueue and look at the results inline"""),
        code('''emails = [client.enqueue(new_email_delivery_task(uid, "welcome")) for uid in range(3 if SMOKE else 10)]
thumb = client.enqueue(new_image_resize_task(64, 48))
wait_for(lambda: insp.get_queue_info("mail").completed >= len(emails)
                 and insp.get_queue_info("images").completed >= 1)
insp.get_task_info("mail", emails[0].id).result_value'''),
        code('''from IPython.display import Image as ShowImage
result = insp.get_task_info("images", thumb.id).result_value
print("thumbnail size:", result["size"])
ShowImage(data=base64.b64decode(result["png_base64"]))'''),
        md("""
## Built-in tasks follow the same layout

`dmq_tools.tasks.email` (SMTP, configured from `SMTP_HOST`, `SMTP_PORT`, ... at run time) and
`dmq_tools.tasks.image` (Pillow thumbnails) each have a type constant, a payload, a
constructor, a handler and `register(mux)`. The thumbnail task works on files under the media root:"""),
        code('''import os, tempfile
from pathlib import Path
from PIL import Image
from dmq_tools.tasks import image

# the image tasks read and write only under MEDIA_ROOT (default ./media); paths are relative to it
os.environ["MEDIA_ROOT"] = media = tempfile.mkdtemp(prefix="dmq-media-")
mux.handle(image.TYPE_IMAGE_THUMBNAIL, image.handle_thumbnail)   # (image.register adds image:resize too)
Image.new("RGB", (1200, 800), "navy").save(Path(media) / "photo.jpg")
job = client.enqueue(image.new_thumbnail_task("photo.jpg", 160, 160), retention=timedelta(hours=1))
wait_for(lambda: insp.get_task_info("images", job.id).state == dmq.TaskState.COMPLETED)
insp.get_task_info("images", job.id).result_value'''),
        code('''worker.stop()
[t.result_value["user_id"] for t in insp.list_tasks("mail", "completed")]'''),
    ]


def asynq_service() -> list:
    return [
        md("""
# 6 · Explore an asynq service's Redis

Point `REDIS_URL` at the Redis of a Go service that uses asynq, and everything below works on
its queues: asynq's keys are read as asynq writes them.

To make this notebook self-contained it first **writes a realistic history** the way such a
service would: an API enqueues work on `critical`, `default` and `low`, workers process it,
some tasks fail and are retried, some are archived after their last retry, a few are scheduled
for later, and one queue is paused. Then we explore it."""),
        code("%matplotlib inline\n" + SETUP + '''

import random
from dmq_tools import charts, export
from dmq_tools.worker import WorkerConfig'''),
        md("""## A day in the life of the service (compressed into a few seconds)"""),
        code('''random.seed(42)
SCALE = 1 if SMOKE else 5
if "low" in insp.queues() and insp.get_queue_info("low").paused:   # left paused by an earlier run
    insp.unpause_queue("low")
mux = dmq.ServeMux()

@mux.handle("payment:capture")
def capture(task):
    if random.random() < 0.05:
        raise TimeoutError("gateway timeout after 30s")

@mux.handle("email:")
def email(task):
    if task.json().get("address", "").endswith("@invalid"):
        raise dmq.SkipRetry("550 mailbox unavailable")
    if random.random() < 0.1:
        raise ConnectionError("smtp: connection refused")

@mux.handle("report:generate")
def report(task):
    time.sleep(0.002)

@mux.handle("image:thumbnail")
def thumbnail(task):
    if task.json()["format"] == "tiff":
        raise ValueError("unsupported image format: tiff")

critical = [dmq.Task("payment:capture", {"order": i, "amount_cents": random.randint(500, 90000)})
            for i in range(40 * SCALE)]
default = ([dmq.Task("email:receipt", {"order": i, "address": f"user{i}@example.com"}) for i in range(60 * SCALE)]
           + [dmq.Task("email:receipt", {"order": -i, "address": f"bounce{i}@invalid"}) for i in range(3)])
low = ([dmq.Task("report:generate", {"day": d}) for d in range(20 * SCALE)]
       + [dmq.Task("image:thumbnail", {"id": i, "format": "tiff" if i % 10 == 0 else "png"})
          for i in range(30 * SCALE)])
before = sum(insp.get_queue_info(q).processed for q in ("critical", "default", "low") if q in insp.queues())
client.enqueue_many(critical, queue="critical", max_retry=3)
client.enqueue_many(default, queue="default", max_retry=3)
client.enqueue_many(low, queue="low", max_retry=1)
later = [client.enqueue_in(dmq.Task("report:generate", {"day": "tomorrow"}), timedelta(hours=h), queue="low")
         for h in (1, 6, 24)]

worker = dmq.Worker(r, mux, concurrency=8, queues={"critical": 6, "default": 3, "low": 1},
                    config=WorkerConfig(delayed_task_check_interval=timedelta(seconds=1)),
                    retry_delay_func=lambda n, err, task: timedelta(seconds=1))
worker.start()
def processed():
    return sum(insp.get_queue_info(q).processed for q in ("critical", "default", "low"))

total = len(critical) + len(default) + len(low)
wait_for(lambda: processed() >= before + total,
         timeout=40)
worker.wait_idle(10)'''),
        md("""
Some retries are still waiting; we stop the worker here and leave them, as a real service's
Redis would show them. Then an operator pauses `low`."""),
        code('''worker.stop()
insp.pause_queue("low")
export.queues_frame(insp)[["queue", "paused", "pending", "scheduled", "retry", "archived",
                          "processed", "failed", "failure_rate"]]'''),
        md("""
## The dashboard

Queues at a glance; the **Tasks** tab browses each state (try `archived` on `default`), the
**Throughput** tab charts the per-minute counters."""),
        code('''from dmq_tools.widgets import Dashboard

dash = Dashboard(insp)
dash'''),
        code('''dash.tasks.select("default", "archived")
dash.tab.selected_index = 1
assert any("550" in t.last_err for t in dash.tasks.tasks)
print(dash.tasks.page_label.value)'''),
        md("""## What failed, and why"""),
        code('''import pandas as pd
archived = pd.concat([export.tasks_frame(insp, q, "archived") for q in ("critical", "default", "low")],
                     ignore_index=True)
archived.groupby(["queue", "type", "last_err"], observed=True).size().rename("tasks").reset_index()'''),
        code('''events = export.events_frame(insp)
events.groupby(["queue", "event"], observed=True).size().unstack(fill_value=0)'''),
        code('''tp = export.throughput_frame(insp, freq="1min", window=timedelta(minutes=15))
charts.throughput(tp, title="all queues")'''),
        md("""## Operate: retry the archived emails after fixing the address book"""),
        code('''moved = insp.run_all("default", "archived")
print(moved, "archived emails moved back to pending")
insp.unpause_queue("low")
insp.get_queue_info("default")'''),
        md("""## Export for later analysis"""),
        code('''import tempfile
from pathlib import Path
out = Path(tempfile.mkdtemp(prefix="dmq-asynq-"))
export.history_frame(insp, days=7).to_csv(out / "daily.csv", index=False)
export.write_frame(events, str(out / "events.parquet"), "parquet")
sorted(p.name for p in out.iterdir())'''),
    ]


NOTEBOOKS = {
    "01_quickstart": quickstart,
    "02_priorities_retries_timeouts": priorities,
    "03_scheduling": scheduling,
    "04_monitoring_and_export": monitoring,
    "05_custom_tasks": custom_tasks,
    "06_explore_an_asynq_service": asynq_service,
}


def build(name: str) -> nbformat.NotebookNode:
    nb = new_notebook(cells=NOTEBOOKS[name](), metadata=dict(META))
    for i, cell in enumerate(nb.cells):  # stable ids: regenerating gives no spurious diff
        cell["id"] = f"{name[:2]}-{i:02d}"
    nbformat.validate(nb)
    return nb


def main() -> None:
    for name in NOTEBOOKS:
        nbformat.write(build(name), HERE / f"{name}.ipynb")
        print("wrote", HERE / f"{name}.ipynb")


if __name__ == "__main__":
    main()
