"""The JSON HTTP API against a real Redis, through Starlette's test client."""

from __future__ import annotations

import pytest

pytest.importorskip("starlette.testclient", reason="the api extra (starlette) and httpx2 are not installed")

from starlette.testclient import TestClient  # noqa: E402

import dmq_tools as dmq  # noqa: E402
from dmq_tools.api import create_app  # noqa: E402


@pytest.fixture
def seeded(r):
    client = dmq.Client(r)
    infos = [client.enqueue(dmq.Task("email:send", {"to": f"u{i}@example.com"}), queue="emails")
             for i in range(3)]
    client.enqueue_in(dmq.Task("report:build"), 3600, queue="reports")
    return infos


TOKEN = "test-token-for-actions"


@pytest.fixture
def api(r, seeded):
    """Actions carry the bearer token; requests go to Host localhost (allowed by default)."""
    return TestClient(create_app(dmq.Inspector(r), api_token=TOKEN), base_url="http://localhost",
                      headers={"Authorization": f"Bearer {TOKEN}"})


def test_queues_and_queue_info(api):
    body = api.get("/api/queues").json()
    by_name = {q["queue"]: q for q in body}
    assert by_name["emails"]["pending"] == 3 and by_name["reports"]["scheduled"] == 1
    one = api.get("/api/queues/emails").json()
    assert one["size"] == 3 and one["paused"] is False


def test_task_listing_detail_and_payload_decoding(api, seeded):
    page = api.get("/api/queues/emails/tasks", params={"state": "pending", "size": 2}).json()
    assert [t["id"] for t in page] == [seeded[0].id, seeded[1].id]   # page 1 = next to run
    detail = api.get(f"/api/queues/emails/tasks/{seeded[2].id}").json()
    assert detail["payload"] == {"to": "u2@example.com"} and detail["state"] == "pending"


def test_actions_change_redis(api, r, seeded):
    assert api.post("/api/queues/emails/pause").json()["paused"] is True
    assert r.exists("asynq:{emails}:paused")
    assert api.post("/api/queues/emails/resume").json()["paused"] is False
    assert api.post(f"/api/queues/emails/tasks/{seeded[0].id}/archive").status_code == 200
    assert r.zcard("asynq:{emails}:archived") == 1
    assert api.post("/api/queues/emails/states/archived/run_all").json()["count"] == 1
    assert api.post(f"/api/queues/emails/tasks/{seeded[1].id}/delete").status_code == 200
    assert not r.exists(f"asynq:{{emails}}:t:{seeded[1].id}")


def test_errors_are_json_with_status_codes(api, seeded):
    missing = api.get("/api/queues/nope")
    assert missing.status_code == 404 and missing.json()["kind"] == "QueueNotFoundError"
    assert api.get("/api/queues/emails/tasks/unknown-id").status_code == 404
    assert api.get("/api/queues/emails/tasks", params={"state": "bogus"}).status_code == 400
    assert api.get("/api/queues/emails/tasks", params={"page": "x"}).status_code == 400
    api.post("/api/queues/emails/pause")
    again = api.post("/api/queues/emails/pause")
    assert again.status_code == 409 and "already paused" in again.json()["error"]


def test_read_only_refuses_actions(r, seeded):
    api = TestClient(create_app(dmq.Inspector(r), read_only=True, api_token=TOKEN), base_url="http://localhost",
                     headers={"Authorization": f"Bearer {TOKEN}"})
    assert api.post("/api/queues/emails/pause").status_code == 403
    assert not r.exists("asynq:{emails}:paused")
    assert api.get("/api/queues/emails").status_code == 200


def test_dmq_api_command_serves_over_http(redis_url, seeded):
    """`dmq api` as a real process on 127.0.0.1, asked over a real socket."""
    import json
    import subprocess
    import sys
    import time
    import urllib.request

    from tests.helpers.redis_server import free_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "dmq_tools", "api", "--port", str(port), "--uri", redis_url],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/queues/emails", timeout=2) as resp:
                    body = json.load(resp)
                break
            except OSError as exc:
                if time.monotonic() > deadline or proc.poll() is not None:
                    err = proc.stderr.read() if proc.poll() else ""
                    raise AssertionError(f"dmq api did not answer: {err}") from exc
                time.sleep(0.1)
        assert body["queue"] == "emails" and body["pending"] == 3
    finally:
        proc.terminate()
        proc.wait(10)
