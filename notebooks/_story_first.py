"""Notebooks 1-3: quickstart, delays and retries, scheduling."""

from __future__ import annotations

from _story_common import CLEAN_UP, HANDLERS, WEB_APP, Cell, code, md, setup


def quickstart() -> list[Cell]:
    return [
        md("""
# 1 · Quickstart: a sign-up page that sends a welcome email

A web application should answer a sign-up at once, not after the SMTP server has answered.
So it **enqueues** the work, and a **worker** does it in the background. This is the story of
the guide this project grew from: the app puts a welcome email (`email:deliver`) on the
`critical` queue and an avatar resize (`image:resize`) on `low`.

dmq_tools speaks the Redis protocol of the Go library [asynq](https://github.com/hibiken/asynq):
a Go service and this notebook can share the same queues. No Redis at hand? `dmq.connect()`
starts an embedded `redis-server` (or uses `REDIS_URL`).

This notebook keeps its queues apart from the other notebooks': they are called
`nb01-critical`, `nb01-default` and `nb01-low`."""),
        code(setup("nb01")),
        md("""
## The web application

Two plain functions stand for the guide's HTTP endpoints. Each builds a task (a type name and a
JSON payload), enqueues it with options, and returns at once."""),
        code(WEB_APP),
        code('''sign_up("ada@example.com", "Ada")'''),
        md("""
A few more visitors sign up and upload a picture. Nothing has been sent yet: no worker runs.
Each queue's counts, as a table:"""),
        code('''N = 10 if SMOKE else 50
for i in range(1, N):
    sign_up(f"user{i}@example.com", f"User {i}")
    upload_avatar(i, f"/uploads/{i}.jpg")

export.queues_frame(insp).set_index("queue").loc[[CRITICAL, LOW], ["pending", "active", "completed"]]''', "check"),
        md("""
## Handlers and a worker

A `ServeMux` routes task types to handler functions. Returning a value stores it as the task's
result when the task has a retention (the thumbnails do). The worker takes `critical` six times
as often as `low`; `start()` returns at once, the worker runs in background threads."""),
        code(HANDLERS),
        code('''worker = dmq.Worker(r, mux, concurrency=4, queues=app.weights(critical=6, default=3, low=1))
worker.start()
dmq.wait_until(lambda: len(outbox) == N and insp.get_queue_info(LOW).completed == N - 1, timeout=60)
print(f"{len(outbox)} welcome emails sent, {N - 1} thumbnails made")''', "check"),
        md("""
`dmq.wait_until` polls a condition until it holds (here: every thumbnail is done), instead of
sleeping for a guessed time. A finished thumbnail keeps its result for an hour:"""),
        code('''done = export.tasks_frame(insp, LOW, "completed")
done[["type", "payload", "result"]].head(3)'''),
        md("""
## The dashboard

One cell gives the whole picture: the **Overview** (totals, queue sizes, the last 30 minutes,
one row per queue), the **Tasks** of any queue and state (click a queue's number to open them,
click a task for its details, tick boxes for batch actions), the **Workers** and the
**Scheduler**, and **Charts**. Click **Auto-refresh** to keep it live."""),
        code('''from dmq_tools.widgets import Dashboard

dash = Dashboard(insp, mux=mux)
dash'''),
        md("""
## Clean up

Stop the worker and drop this notebook's queues. Re-running the worker cell would also have
replaced the old worker instead of leaving a ghost behind, and `dmq.stop_all()` stops every
worker, scheduler and dashboard timer of the kernel."""),
        code(CLEAN_UP),
    ]


def delays_retries() -> list[Cell]:
    return [
        md("""
# 2 · Later, again, once: delayed tasks, priorities, retries, timeouts, unique tasks

The sign-up page of notebook 1 grows up. A reminder email goes out **later** (in five minutes,
or at a given time), urgent work goes **first**, a flaky SMTP server is **retried**, a broken
address is **not** retried, a stuck resize is **stopped** at its timeout, and a double click on
"resend" does not send twice."""),
        code(setup("nb02") + '''

from dmq_tools.worker import WorkerConfig
quick = WorkerConfig(delayed_task_check_interval=timedelta(seconds=1))  # delayed tasks show up fast here'''),
        md("""
## Delayed tasks: `enqueue_in` and `enqueue_at`

The guide's `POST /api/queue/email/delayed`. A delayed task waits in the `scheduled` state and
becomes `pending` when its time comes."""),
        code('''reminder = dmq.Task("email:deliver", {"to": "ada@example.com", "subject": "Still there?"})
in_5_min = client.enqueue_in(reminder, timedelta(minutes=5), queue=CRITICAL)
tomorrow_9am = (datetime.now(timezone.utc) + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
at_9 = client.enqueue_at(reminder, tomorrow_9am, queue=CRITICAL)
queued_at = datetime.now(timezone.utc)
soon = client.enqueue_in(dmq.Task("email:deliver", {"to": "ada@example.com", "subject": "Your code: 4711"}),
                         timedelta(seconds=2), queue=CRITICAL)
pd.DataFrame({"state": [t.state.value for t in (in_5_min, at_9, soon)]},
             index=["in 5 minutes", "tomorrow 09:00", "in 2 seconds"])''', "check"),
        md("""A worker sends the two-second one when its time comes; the others keep waiting."""),
        code('''sent = []
mux = dmq.ServeMux()

@mux.handle("email:deliver")
def deliver_email(task):
    sent.append((task.json()["subject"], datetime.now(timezone.utc)))

worker = dmq.Worker(r, mux, concurrency=2, queues=app.weights(critical=1), config=quick)
worker.start()
dmq.wait_until(lambda: sent, timeout=30)
worker.stop()
subject, when = sent[0]
print(f"{subject!r} went out {(when - queued_at).total_seconds():.1f} s after it was queued")
print("still scheduled:", insp.get_queue_info(CRITICAL).scheduled)'''),
        md("""
## Priorities

With weights `critical=6, default=3, low=1` the worker picks `critical` most often but still
serves `low`. With `strict_priority=True` it empties `critical` first, then `default`, then
`low`. One handler slot makes the order visible:"""),
        code('''order = []
mux = dmq.ServeMux()

@mux.handle("email:deliver")
def deliver_email(task):
    order.append(task.queue.split("-")[1])

N = 5 if SMOKE else 20
for q in (LOW, DEFAULT, CRITICAL):            # the least important enqueued first
    client.enqueue_many([dmq.Task("email:deliver", {"to": f"user{i}@example.com"}) for i in range(N)], queue=q)

worker = dmq.Worker(r, mux, concurrency=1, queues=app.weights(critical=6, default=3, low=1),
                    strict_priority=True, config=quick)
worker.start()
dmq.wait_until(lambda: len(order) == 3 * N, timeout=60)
worker.stop()
import itertools
runs = [(q, len(list(g))) for q, g in itertools.groupby(order)]
pd.DataFrame(runs, columns=["queue", "tasks in a row"])''', "check"),
        md("""
## Retries, `SkipRetry` and timeouts

- A handler that **raises** is retried later (asynq's backoff; one second here), up to `max_retry`.
- `raise dmq.SkipRetry(...)` archives the task at once: retrying cannot fix a bad address.
- Every task has a **timeout**. Handlers run in threads and stop cooperatively: at the deadline
  `task.cancelled` is set, and a handler that looks at it can stop cleanly.

A failed task prints **one short line** to the log; `Worker(log="full")` prints tracebacks."""),
        code('''tries = {}
mux = dmq.ServeMux()

@mux.handle("email:deliver")
def deliver_email(task):
    to = task.json()["to"]
    tries[to] = tries.get(to, 0) + 1
    if to.endswith("@invalid"):
        raise dmq.SkipRetry(f"550 no such mailbox: {to}")
    if task.retry_count < 2:                      # the SMTP server is down for two attempts
        raise ConnectionError("smtp: connection refused")

@mux.handle("image:resize")
def resize_image(task):
    while not task.cancelled.wait(0.05):         # a resize that never finishes by itself
        pass

flaky = client.enqueue(dmq.Task("email:deliver", {"to": "bob@example.com"}), queue=CRITICAL, max_retry=5)
bad = client.enqueue(dmq.Task("email:deliver", {"to": "nobody@invalid"}), queue=CRITICAL)
stuck = client.enqueue(dmq.Task("image:resize", {"src": "huge.tiff"}), queue=LOW,
                       timeout=timedelta(seconds=1), max_retry=0)

worker = dmq.Worker(r, mux, concurrency=4, queues=app.weights(critical=6, low=1), config=quick,
                    retry_delay_func=lambda n, err, task: timedelta(seconds=1))
worker.start()
dmq.wait_until(lambda: tries.get("bob@example.com") == 3 and insp.get_queue_info(LOW).archived == 1, timeout=60)
worker.stop()
pd.Series(tries, name="attempts").sort_index()''', "check"),
        md("""The two tasks that gave up are **archived**, with their last error:"""),
        code('''archived = pd.concat([export.tasks_frame(insp, q, "archived") for q in (CRITICAL, LOW)])
archived[["queue", "type", "retried", "last_err"]].sort_values("type").reset_index(drop=True)''', "check"),
        md("""
## Unique tasks

A double click on "resend the welcome email" must not send two emails. `unique=` locks the
task (same type, payload and queue) for a while; the second enqueue is refused."""),
        code('''resend = dmq.Task("email:deliver", {"to": "ada@example.com", "subject": "Welcome again"})
first = client.enqueue(resend, queue=DEFAULT, unique=timedelta(hours=1))
try:
    client.enqueue(resend, queue=DEFAULT, unique=timedelta(hours=1))
except dmq.DuplicateTaskError as exc:
    print("second click refused:", type(exc).__name__)''', "check"),
        md("""
## Looking at it

The task browser lists the tasks of a queue and a state; click a row for its details (the
payload and the full error), tick rows and **Run** them once the cause is fixed."""),
        code('''from dmq_tools.widgets import TaskBrowser

TaskBrowser(insp, queue=CRITICAL, state="archived")'''),
        code('''app.reset()
dmq.running()'''),
    ]


def scheduling() -> list[Cell]:
    return [
        md("""
# 3 · Periodic tasks: cron in Python

The guide's scheduler cleans up every night (`@daily`), every hour (`@hourly`) and every half
hour (`*/30 * * * *`). A `dmq.Scheduler` does the same: asynq's cron dialect (five fields,
`@daily`, `@every 30s`, `CRON_TZ=`), entries and history written where `asynq cron ls` and
asynqmon read them; several schedulers with the same entries fire each tick once."""),
        code(setup("nb03")),
        code('''cleanup = dmq.Task("maintenance:cleanup", {"older_than_days": 30})
sched = dmq.Scheduler(r)
entries = {
    "nightly": sched.register("@daily", cleanup, queue=LOW),
    "hourly": sched.register("@hourly", cleanup, queue=LOW),
    "half-hourly": sched.register("*/30 * * * *", cleanup, queue=LOW),
    "stats every second": sched.register("@every 1s", dmq.Task("stats:collect", None), queue=DEFAULT),
}
pd.DataFrame({"spec": ["@daily", "@hourly", "*/30 * * * *", "@every 1s"]}, index=list(entries))''', "check"),
        md("""The next three fire times of each entry, before anything runs:"""),
        code('''runs = sched.next_runs(3)
pd.DataFrame({name: [t.strftime("%a %H:%M:%S") for t in runs[eid]] for name, eid in entries.items()}).T'''),
        md("""
Start it (a daemon thread). The `@every 1s` entry fires each second; the others wait for their
time. A worker picks up what the scheduler enqueues."""),
        code('''collected = []
mux = dmq.ServeMux()

@mux.handle("stats:collect")
def collect(task):
    collected.append(task.id)

@mux.handle("maintenance:cleanup")
def clean(task):
    pass

worker = dmq.Worker(r, mux, concurrency=2, queues=app.weights(default=1, low=1))
worker.start()
sched.start()
dmq.wait_until(lambda: len(collected) >= 3, timeout=30)
print("stats collected at least 3 times:", len(collected) >= 3)''', "check"),
        md("""Every enqueue is recorded in the entry's history (kept 30 days):"""),
        code('''history = export.to_frame(insp.scheduler_history(entries["stats every second"]))
history.head(3)'''),
        md("""
The scheduler panel shows the live entries (with the scheduler that owns each one), their
next and previous runs and history, and has a form to register an entry: the spec is checked
before anything is written."""),
        code('''from dmq_tools.widgets import SchedulerPanel

panel = SchedulerPanel(insp)
panel'''),
        md("""A stopped scheduler removes its entries from Redis; the history stays."""),
        code('''sched.stop()
worker.stop()
app.reset()
dmq.running()'''),
    ]
