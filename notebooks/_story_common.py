"""What every notebook's cells share: the cell constructors, the setup cell, the web app and handlers."""

from __future__ import annotations


Cell = tuple[str, str, tuple[str, ...]]


def md(text: str) -> Cell:
    return ("md", text, ())


def code(text: str, *tags: str) -> Cell:
    return ("code", text, tags)


def setup(nb: str, extra: str = "") -> str:
    return f'''import os
from datetime import datetime, timedelta, timezone

import pandas as pd
import dmq_tools as dmq
from dmq_tools import export
{extra}
SMOKE = os.environ.get("DMQ_NB_SMOKE") == "1"  # CI runs the notebooks small
r = dmq.connect()          # REDIS_URL if set, else an embedded redis-server in ./.dmq
client, insp = dmq.Client(r), dmq.Inspector(r)

app = dmq.Sandbox("{nb}", r)  # this notebook's own queues: {nb}-critical, {nb}-default, {nb}-low
app.reset()                   # start clean; drops only {nb}-* queues, never anyone else's
CRITICAL, DEFAULT, LOW = app["critical"], app["default"], app["low"]'''


WEB_APP = '''def sign_up(email: str, name: str) -> dict:
    """POST /api/queue/email: a new user signed up; the welcome email goes out in the background."""
    task = dmq.Task("email:deliver", {"to": email, "subject": "Welcome!",
                                      "body": f"Hi {name}, thanks for signing up."})
    info = client.enqueue(task, queue=CRITICAL, max_retry=5, timeout=timedelta(minutes=1))
    return {"message": "the email will be sent shortly", "task_id": info.id}


def upload_avatar(user_id: int, path: str) -> dict:
    """POST /api/queue/image: an uploaded picture gets a 300x200 thumbnail, when there is time."""
    task = dmq.Task("image:resize", {"src": path, "dst": path.replace(".jpg", "_thumb.jpg"),
                                     "width": 300, "height": 200})
    info = client.enqueue(task, queue=LOW, retention=timedelta(hours=1))
    return {"message": "thumbnail on its way", "task_id": info.id}'''

HANDLERS = '''mux = dmq.ServeMux()
outbox = []  # stands for the SMTP server: who got an email


@mux.handle("email:deliver")
def deliver_email(task: dmq.Task):
    msg = task.json()
    outbox.append(msg["to"])
    return {"delivered_to": msg["to"]}


@mux.handle("image:resize")
def resize_image(task: dmq.Task):
    p = task.json()
    # a real handler opens p["src"] with Pillow, resizes it and saves p["dst"]
    return {"thumbnail": p["dst"], "size": [p["width"], p["height"]]}'''

CLEAN_UP = '''worker.stop()   # graceful: it finishes what is running, then leaves
app.reset()     # drop this notebook's queues: the next run starts from the same place
dmq.running()   # nothing left behind in this kernel'''
