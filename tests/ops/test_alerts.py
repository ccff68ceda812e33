"""Alerts against a real redis-server, a local webhook receiver and a local SMTP server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import dmq_tools as dmq
from dmq_tools.alerts import (
    AlertEvaluator,
    EmailNotifier,
    WebhookNotifier,
    active_alerts,
    parse_rules,
)
from dmq_tools.config import Settings
from dmq_tools.errors import ConfigurationError
from tests.helpers.smtp_server import SMTPServer

from .conftest import wait_for


class Receiver:
    """A webhook endpoint on 127.0.0.1 collecting every JSON body it is sent."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with lock:
                    owner.bodies.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def statuses(self, alert: str | None = None) -> list[str]:
        return [b["status"] for b in list(self.bodies) if alert is None or b["alert"] == alert]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    rec = Receiver()
    yield rec
    rec.close()


def rules(**rule) -> object:
    return parse_rules({"rules": [{"name": "backlog", "kind": "queue_depth", "queue": "default",
                                   "threshold": 2, **rule}]})


def test_fires_once_across_two_evaluators_and_recovers_once(r, receiver):
    client = dmq.Client(r)
    infos = [client.enqueue(dmq.Task("a", {"i": i}), queue="default") for i in range(5)]
    rf = rules(**{"for": "0s", "recover_after": "0.5s"})
    evs = [AlertEvaluator(dmq.Inspector(r), rf, [WebhookNotifier(receiver.url)], interval=0.05) for _ in range(2)]
    for ev in evs:
        ev.start()
    try:
        wait_for(lambda: receiver.statuses() == ["firing"], what="the firing notice")
        first = receiver.bodies[0]
        assert first["alert"] == "backlog" and first["queue"] == "default" and first["value"] == "5"
        assert "5 pending" in first["text"] and first["text"].startswith("[dmq FIRING]")
        assert [a.alert for a in active_alerts(dmq.Inspector(r))] == ["backlog"]
        time.sleep(1.0)   # both keep evaluating a breached signal: nothing more is sent
        assert receiver.statuses() == ["firing"]
        insp = dmq.Inspector(r)
        for info in infos:
            insp.delete_task("default", info.id)
        wait_for(lambda: receiver.statuses() == ["firing", "resolved"], what="the recovery notice")
        time.sleep(1.0)
        assert receiver.statuses() == ["firing", "resolved"]
        assert active_alerts(insp) == []
    finally:
        for ev in evs:
            ev.stop()
    assert sum(len(ev.sent) for ev in evs) == 2   # one evaluator sent each notice


def test_flapping_signal_does_not_spam(r, receiver):
    client = dmq.Client(r)
    insp = dmq.Inspector(r)
    rf = rules(**{"for": "1.5s", "recover_after": "1.5s"})
    evs = [AlertEvaluator(insp, rf, [WebhookNotifier(receiver.url)]) for _ in range(2)]

    def evaluate_for(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for ev in evs:
                ev.run_once()
            time.sleep(0.05)

    batch = []
    for _ in range(4):    # breached for ~0.4 s, fine for ~0.4 s, four times
        batch = [client.enqueue(dmq.Task("a", None), queue="default") for _ in range(3)]
        evaluate_for(0.4)
        for info in batch:
            insp.delete_task("default", info.id)
        evaluate_for(0.4)
    assert receiver.statuses() == []
    # a breach that lasts longer than `for` fires once
    batch = [client.enqueue(dmq.Task("a", None), queue="default") for _ in range(3)]
    evaluate_for(2.5)
    assert receiver.statuses() == ["firing"]
    # short dips below the threshold while firing do not send recovery notices
    for _ in range(3):
        insp.delete_task("default", batch[0].id)
        evaluate_for(0.3)
        batch[0] = client.enqueue(dmq.Task("a", None), queue="default")
        evaluate_for(0.3)
    assert receiver.statuses() == ["firing"]


def test_no_worker_failure_rate_archived_and_scheduler_rules(r, start_worker, receiver):
    mux = dmq.ServeMux()

    def fail(task):
        raise RuntimeError("boom")

    mux.handle("bad", fail)
    mux.handle("ok", lambda t: None)
    client = dmq.Client(r)
    for _ in range(4):
        client.enqueue(dmq.Task("bad", None), queue="default", max_retry=0)
    client.enqueue(dmq.Task("ok", None), queue="default")
    client.enqueue(dmq.Task("ok", None), queue="reports")
    start_worker(mux, {"default": 1})
    insp = dmq.Inspector(r)
    wait_for(lambda: insp.get_queue_info("default").archived == 4, what="four archived")
    seed_stale_scheduler_entry(r)
    rf = parse_rules({"defaults": {"for": 0, "recover_after": 0}, "rules": [
        {"name": "unserved", "kind": "no_worker", "queue": "*"},
        {"name": "failing", "kind": "failure_rate", "queue": "default", "threshold": 0.5, "min_processed": 3},
        {"name": "archived", "kind": "archived_rising", "queue": "default", "threshold": 2, "window": "10m"},
        {"name": "cron", "kind": "scheduler_not_ticking", "grace": "1m"},
    ]})
    ev = AlertEvaluator(insp, rf, [WebhookNotifier(receiver.url)])
    ev._archived.rise("default", 0, rf.rules[2].window)   # what this evaluator saw before the failures
    sent = {n.alert for n in ev.run_once()}
    assert sent == {"unserved[reports]", "failing", "archived", "cron"}, sent
    body = next(b for b in receiver.bodies if b["alert"] == "failing")
    assert "4 of 5 tasks failed" in body["message"]


def seed_stale_scheduler_entry(r) -> None:
    """A live scheduler whose entry's next run is 10 minutes overdue (a hung scheduler)."""
    from dmq_tools.rdb import keys
    from dmq_tools.rdb.wire import pb, to_timestamp

    now = time.time()
    e = pb.SchedulerEntry(id="entry-1", spec="@every 1m", task_type="report:build")
    e.next_enqueue_time.CopyFrom(to_timestamp(datetime.fromtimestamp(now - 600, timezone.utc)))
    e.prev_enqueue_time.CopyFrom(to_timestamp(datetime.fromtimestamp(now - 660, timezone.utc)))
    key = keys.scheduler_entries("host:1:sched")
    r.rpush(key, e.SerializeToString())
    r.zadd(keys.ALL_SCHEDULERS, {key: int(now + 60)})


def test_email_notifier_through_smtp_settings(r):
    with SMTPServer() as smtp:
        settings = Settings(smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_from="dmq@example.com")
        client = dmq.Client(r)
        for _ in range(3):
            client.enqueue(dmq.Task("a", None), queue="default")
        ev = AlertEvaluator(dmq.Inspector(r), rules(**{"for": 0}), [EmailNotifier(["ops@example.com"], settings)])
        assert [n.status for n in ev.run_once()] == ["firing"]
        wait_for(lambda: smtp.messages, what="the email")
        _, rcpts, data = smtp.messages[0]
        assert rcpts == ["ops@example.com"] and b"[dmq FIRING] backlog" in data


def test_rule_file_errors_name_the_rule():
    with pytest.raises(ConfigurationError, match="rule slow: kind must be one of"):
        parse_rules({"rules": [{"name": "slow", "kind": "latency"}]})
    with pytest.raises(ConfigurationError, match="threshold` is required"):
        parse_rules({"rules": [{"name": "d", "kind": "queue_depth"}]})
    with pytest.raises(ConfigurationError, match="not a duration"):
        parse_rules({"rules": [{"name": "d", "kind": "queue_depth", "threshold": 1, "for": "soon"}]})
    with pytest.raises(ConfigurationError, match="webhook needs an http"):
        parse_rules({"rules": [{"name": "d", "kind": "no_worker"}], "notifiers": [{"type": "webhook"}]})
    rf = parse_rules({"rules": [{"name": "age", "kind": "oldest_pending_age", "threshold": "5m"}]})
    assert rf.rules[0].threshold == 300 and rf.rules[0].queue == "*"


def test_cli_once_prints_the_notice(r, redis_url, tmp_path):
    client = dmq.Client(r)
    for _ in range(3):
        client.enqueue(dmq.Task("a", None), queue="default")
    path = tmp_path / "alerts.yaml"
    path.write_text("defaults: {for: 0s}\n"
                    "rules:\n  - {name: backlog, kind: queue_depth, queue: default, threshold: 2}\n")
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    cmd = [sys.executable, "-m", "dmq_tools", "alerts", "--rules", str(path), "--once", "--uri", redis_url]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert "[dmq FIRING] backlog: queue default: 3 pending" in out.stdout
    again = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert again.returncode == 0 and again.stdout == ""   # already firing: not sent twice


def test_the_documented_rule_file_is_valid():
    import re
    from pathlib import Path

    import yaml

    doc = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text(encoding="utf-8")
    block = re.search(r"### Rule file\n\n```yaml\n(.*?)```", doc, re.DOTALL).group(1)
    rf = parse_rules(yaml.safe_load(block))
    assert {r.kind for r in rf.rules} == {"queue_depth", "oldest_pending_age", "failure_rate", "no_worker",
                                          "archived_rising", "scheduler_not_ticking"}
    assert [n.type for n in rf.notifiers] == ["log", "webhook", "email"]
