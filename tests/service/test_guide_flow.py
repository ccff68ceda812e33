"""The origin guide's deployment as processes: `dmq serve` with the worker disabled (the compose
file's `app`), a separate `dmq worker` (its `worker`), a real redis-server and a local SMTP
server; the guide's curl flow run with httpx against the real HTTP port."""

from __future__ import annotations

import email as stdlib_email
import email.policy as email_policy
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx2", reason="httpx2 (the dev extra) is not installed")
pytest.importorskip("uvicorn", reason="the api extra (uvicorn) is not installed")
Image = pytest.importorskip("PIL.Image", reason="Pillow (the images extra) is not installed")

from tests.helpers.redis_server import free_port  # noqa: E402
from tests.helpers.smtp_server import SMTPServer  # noqa: E402

TOKEN = "guide-flow-token"
REPO = Path(__file__).resolve().parents[2]


def _wait(cond, timeout: float, what: str, procs=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        for p in procs:
            if p.poll() is not None:
                raise AssertionError(f"{what}: a process exited early: {p.stderr.read().decode()[-2000:]}")
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def deployment(r, redis_url, tmp_path):
    """(base URL, env, media root, smtp server, started processes list, start(cmd, **env))."""
    media = tmp_path / "media"
    (media / "uploads").mkdir(parents=True)
    Image.new("RGB", (1200, 800), "teal").save(media / "uploads" / "image.jpg")
    port = free_port()
    env = {**os.environ, "REDIS_URL": redis_url, "DMQ_API_TOKEN": TOKEN, "MEDIA_ROOT": str(media),
           "DMQ_API_PORT": str(port), "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    procs: list[subprocess.Popen] = []
    with SMTPServer() as smtp:
        env.update({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp.port), "SMTP_FROM": "noreply@dmq.test"})

        def start(*args: str, **extra: str) -> subprocess.Popen:
            p = subprocess.Popen([sys.executable, "-m", "dmq_tools", *args], cwd=tmp_path,
                                 env={**env, **extra}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            procs.append(p)
            return p

        try:
            yield f"http://localhost:{port}", media, smtp, start
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


def _subjects(smtp: SMTPServer) -> list[str]:
    return [str(stdlib_email.message_from_bytes(raw, policy=email_policy.default)["Subject"])
            for _, _, raw in smtp.messages]


def test_guide_curl_flow_app_and_worker_split(deployment):
    base, media, smtp, start = deployment
    app = start("serve", QUEUE_WORKER_ENABLED="false")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=base, timeout=10) as http:
        _wait(lambda: _ok(http, "/api/health"), 60, "dmq serve to answer", [app])

        # the guide's curl example, with the token actions need
        sent = http.post("/api/queue/email", headers=auth,
                         json={"to": "user@example.com", "subject": "Привет", "body": "Добро пожаловать!"})
        assert sent.status_code == 200, sent.text
        assert sent.json()["message"] == "Email will be sent shortly" and sent.json()["queue"] == "critical"
        delayed_at = time.time()
        delayed = http.post("/api/queue/email/delayed", headers=auth,
                            json={"to": "later@example.com", "subject": "Later", "body": "after 3 s", "delay": "3s"})
        assert delayed.status_code == 200, delayed.text
        image = http.post("/api/queue/image", headers=auth,
                          json={"src": "uploads/image.jpg", "dst": "uploads/thumb.jpg", "width": 300, "height": 200})
        assert image.status_code == 200 and image.json()["queue"] == "low", image.text

        by_queue = {q["queue"]: q for q in http.get("/api/queue/stats").json()["queues"]}
        assert by_queue["critical"]["pending"] == 1 and by_queue["critical"]["scheduled"] == 1
        assert by_queue["low"]["pending"] == 1

        # the app runs with QUEUE_WORKER_ENABLED=false: nothing is processed ...
        time.sleep(1.5)
        assert smtp.messages == [] and not (media / "uploads" / "thumb.jpg").exists()
        assert http.get("/api/queue/stats").json()["processed_today"] == 0

        # ... until the worker process starts (the compose file's `worker` service)
        worker = start("worker", QUEUE_WORKER_ENABLED="true", QUEUE_CONCURRENCY="4")
        _wait(lambda: "Привет" in _subjects(smtp), 60, "the email at the SMTP server", [app, worker])
        _wait(lambda: (media / "uploads" / "thumb.jpg").exists(), 60, "the thumbnail", [app, worker])
        _wait(lambda: "Later" in _subjects(smtp), 60, "the delayed email", [app, worker])
        assert time.time() >= delayed_at + 3   # not before its delay
        with Image.open(media / "uploads" / "thumb.jpg") as thumb:
            assert thumb.size == (300, 200)
        mail_from, rcpts, raw = next(m for m in smtp.messages if b"user@example.com" in raw_of(m))
        assert rcpts == ["user@example.com"] and mail_from == "noreply@dmq.test"

        stats = _wait(lambda: _processed(http, 3), 30, "stats to count 3 processed", [app, worker])
        assert stats["failed_today"] == 0
        left = {q["queue"]: q["pending"] + q["scheduled"] for q in stats["queues"]}
        assert left["critical"] == 0 and left["low"] == 0 and sum(left.values()) == 0


def raw_of(message: tuple[str, list[str], bytes]) -> bytes:
    return message[2]


def _ok(http, path: str) -> bool:
    try:
        return http.get(path).status_code == 200
    except httpx.TransportError:
        return False


def _processed(http, n: int):
    stats = http.get("/api/queue/stats").json()
    return stats if stats["processed_today"] >= n else None


def test_bad_requests_over_http_enqueue_nothing(deployment, r):
    base, media, smtp, start = deployment
    app = start("serve", QUEUE_WORKER_ENABLED="false")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    good = {"to": "user@example.com", "subject": "Hi", "body": "x"}
    with httpx.Client(base_url=base, timeout=20) as http:
        _wait(lambda: _ok(http, "/api/health"), 60, "dmq serve to answer", [app])
        cases = [
            ("no token", "/api/queue/email", {}, good, 401),
            ("wrong token", "/api/queue/email", {"Authorization": "Bearer nope"}, good, 401),
            ("wrong type", "/api/queue/email", auth, {**good, "subject": 5}, 400),
            ("missing field", "/api/queue/email", auth, {"to": "user@example.com", "body": "x"}, 400),
            ("CRLF in subject", "/api/queue/email", auth, {**good, "subject": "Hi\r\nBcc: all@example.com"}, 400),
            ("bad address", "/api/queue/email", auth, {**good, "to": "not an address"}, 400),
            ("negative delay", "/api/queue/email/delayed", auth, {**good, "delay": -5}, 400),
            ("bad duration", "/api/queue/email/delayed", auth, {**good, "delay": "5 parsecs"}, 400),
            ("path outside media root", "/api/queue/image", auth,
             {"src": "../../etc/passwd", "dst": "x.png", "width": 10, "height": 10}, 400),
            ("absolute path", "/api/queue/image", auth,
             {"src": "uploads/image.jpg", "dst": "/tmp/x.png", "width": 10, "height": 10}, 400),
            ("zero size", "/api/queue/image", auth,
             {"src": "uploads/image.jpg", "dst": "t.png", "width": 0, "height": 10}, 400),
            ("foreign Origin", "/api/queue/email", {**auth, "Origin": "http://evil.example"}, good, 403),
        ]
        for name, path, headers, body, status in cases:
            resp = http.post(path, headers=headers, json=body)
            assert resp.status_code == status, (name, resp.status_code, resp.text)
            assert "error" in resp.json(), name
        big = http.post("/api/queue/email", headers={**auth, "Content-Type": "application/json"},
                        content=b'{"to": "' + b"a" * (10 << 20) + b'"}')
        assert big.status_code == 413 and big.json()["field"] == "body"
        rebound = http.get("/api/queue/stats", headers={"Host": f"attacker.example:{base.rsplit(':', 1)[1]}"})
        assert rebound.status_code == 400 and rebound.json()["field"] == "Host"
        form = http.post("/api/queue/email", headers=auth, data={"to": "user@example.com", "subject": "s"})
        assert form.status_code == 415
    assert [k for k in r.keys("asynq:*") if not k.startswith(b"asynq:servers")] == []


def test_worker_disabled_exits_with_a_clear_message(deployment):
    _, _, _, start = deployment
    p = start("worker", QUEUE_WORKER_ENABLED="false")
    assert p.wait(60) == 0
    assert b"QUEUE_WORKER_ENABLED" in p.stderr.read()


def test_serve_with_the_worker_enabled_processes_in_process_and_runs_the_schedule(deployment, r, tmp_path):
    """QUEUE_WORKER_ENABLED=true: one `dmq serve` process answers HTTP (with /metrics), works the
    tasks, runs the scheduler named by DMQ_SCHEDULE (the guide's `make run`) and evaluates the
    alert rules named by DMQ_ALERT_RULES."""
    base, media, smtp, start = deployment
    schedule = tmp_path / "schedule.yaml"
    schedule.write_text('- cron: "@every 1s"\n  task: data:export\n'
                        '  payload: {"user_id": 7, "format": "csv", "source": "history", "queue": "critical"}\n'
                        '  options:\n    queue: low\n')
    alerts = tmp_path / "alerts.yaml"
    alerts.write_text("interval: 1s\nnotifiers:\n  - {type: email, to: [ops@example.com]}\n"
                      "rules:\n  - {name: reports-waiting, kind: queue_depth, queue: reports, threshold: 0,"
                      " for: 0s}\n")
    app = start("serve", QUEUE_WORKER_ENABLED="true", QUEUE_CONCURRENCY="2", DMQ_SCHEDULE=str(schedule),
                DMQ_ALERT_RULES=str(alerts))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=base, timeout=10) as http:
        _wait(lambda: _ok(http, "/api/health"), 60, "dmq serve to answer", [app])
        r.lpush("asynq:{reports}:pending", "waiting-id")   # a queue no worker serves: depth 1 > 0
        r.sadd("asynq:queues", "reports")
        _wait(lambda: any("FIRING" in s and "reports-waiting" in s for s in _subjects(smtp)), 60,
              "the alert rule of DMQ_ALERT_RULES to mail its notice", [app])
        metrics = http.get("/metrics")
        assert metrics.status_code == 200
        assert 'asynq_tasks_enqueued_total{queue="reports",state="pending"} 1.0' in metrics.text
        sent = http.post("/api/queue/email", headers=auth,
                         json={"to": "inproc@example.com", "subject": "In process", "body": "x"})
        assert sent.status_code == 200, sent.text
        _wait(lambda: "In process" in _subjects(smtp), 60, "the email, sent by the in-process worker", [app])
        exports = _wait(lambda: sorted((media / "exports").glob("user-7-history-*.csv")), 60,
                        "a scheduled data:export file", [app])
        assert exports[0].read_text().splitlines()[0].startswith("queue")
    servers = [k for k in r.keys("asynq:servers:*")]
    assert servers, "the in-process worker registered itself"


def test_dmq_config_masks_secrets(tmp_path):
    env = {**os.environ, "DMQ_API_TOKEN": "tok-very-secret", "REDIS_URL": "redis://:pw-secret@example.com:6380/2",
           "SMTP_PASSWORD": "smtp-secret", "QUEUE_CONCURRENCY": "7",
           "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-m", "dmq_tools", "config", "--json"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    import json

    shown = json.loads(out.stdout)
    assert shown["concurrency"] == 7 and shown["api_token"] == "***" and shown["smtp_password"] == "***"
    assert shown["redis_url"] == "redis://:***@example.com:6380/2"
    for secret in ("tok-very-secret", "pw-secret", "smtp-secret"):
        assert secret not in out.stdout
    bad = subprocess.run([sys.executable, "-m", "dmq_tools", "config"], cwd=tmp_path,
                         env={**env, "QUEUE_CONCURRENCY": "lots"}, capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "QUEUE_CONCURRENCY" in bad.stderr
