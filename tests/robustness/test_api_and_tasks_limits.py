"""Hostile input against the HTTP app and the built-in tasks: every route malformed and without
a token, every built-in task with malformed payloads. Each gets a clear 4xx (or SkipRetry) and
leaves Redis and the disk as they were."""

from __future__ import annotations

import json
import os
import time
from datetime import timedelta

import pytest

pytest.importorskip("starlette.testclient", reason="the api extra (starlette) and httpx2 are not installed")

from starlette.routing import Route  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

import dmq_tools as dmq  # noqa: E402
from dmq_tools.api import create_app  # noqa: E402
from dmq_tools.config import Settings  # noqa: E402
from dmq_tools.errors import SkipRetry  # noqa: E402

TOKEN = "robust-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def snapshot(r) -> dict[bytes, bytes]:
    return {k: r.dump(k) for k in sorted(r.keys("*"))}


@pytest.fixture
def seeded(r):
    c = dmq.Client(r)
    info = c.enqueue(dmq.Task("email:deliver", {"to": ["a@example.com"], "subject": "s", "body": "b"}),
                     queue="critical")
    c.enqueue_in(dmq.Task("x:y"), 3600, queue="critical")
    return info


@pytest.fixture
def app(r, seeded, tmp_path):
    return create_app(dmq.Inspector(r), settings=Settings(media_root=tmp_path, api_token=TOKEN))


def _post_routes(app) -> list[str]:
    """Every POST route with its path parameters filled in."""
    out = []
    for route in app.routes:
        if isinstance(route, Route) and "POST" in (route.methods or ()):
            out.append(route.path.replace("{queue}", "critical").replace("{task_id}", "nope")
                       .replace("{state}", "pending"))
    return out


def test_every_action_without_or_with_a_wrong_token_is_refused_and_changes_nothing(app, r):
    routes = _post_routes(app)
    assert len(routes) >= 12 and "/api/queue/email" in routes and "/api/queues/{queue}/pause" not in routes
    before = snapshot(r)
    http = TestClient(app, base_url="http://localhost")
    for path in routes:
        for headers, status in (({}, 401), ({"Authorization": "Bearer wrong"}, 401),
                                ({"Authorization": TOKEN}, 401), ({"Authorization": "Basic " + TOKEN}, 401),
                                ({**AUTH, "Origin": "http://evil.example"}, 403), ({**AUTH, "Origin": "null"}, 403),
                                ({**AUTH, "Sec-Fetch-Site": "cross-site"}, 403)):
            resp = http.post(path, headers=headers, json={"to": "a@example.com", "subject": "s", "body": "b"})
            assert resp.status_code == status, (path, headers, resp.text)
            assert resp.json()["error"] and resp.json()["field"] in ("Authorization", "Origin")
        wrong_host = TestClient(app, base_url="http://attacker.example")
        assert wrong_host.post(path, headers=AUTH, json={}).status_code == 400
    assert snapshot(r) == before


def test_without_a_configured_token_actions_are_refused_unless_opened(r, seeded, tmp_path):
    closed = TestClient(create_app(dmq.Inspector(r), settings=Settings(media_root=tmp_path)),
                        base_url="http://localhost")
    resp = closed.post("/api/queues/critical/pause")
    assert resp.status_code == 403 and "DMQ_API_TOKEN" in resp.json()["error"]
    assert not r.exists("asynq:{critical}:paused")
    opened = TestClient(create_app(dmq.Inspector(r), settings=Settings(media_root=tmp_path),
                                   allow_unauthenticated_actions=True), base_url="http://localhost")
    assert opened.post("/api/queues/critical/pause").status_code == 200
    assert r.exists("asynq:{critical}:paused")


def test_reads_check_the_host_but_need_no_token(app):
    assert TestClient(app, base_url="http://localhost").get("/api/queue/stats").status_code == 200
    assert TestClient(app, base_url="http://127.0.0.1:8080").get("/api/queues").status_code == 200
    rebinding = TestClient(app, base_url="http://rebind.attacker.example:8080").get("/api/queues")
    assert rebinding.status_code == 400 and rebinding.json()["field"] == "Host"


def test_allowed_hosts_are_configurable(r, seeded, tmp_path):
    app = create_app(dmq.Inspector(r), settings=Settings(media_root=tmp_path, api_token=TOKEN,
                                                         api_allowed_hosts=("app",)))
    assert TestClient(app, base_url="http://app:8080").get("/api/queues").status_code == 200
    assert TestClient(app, base_url="http://other:8080").get("/api/queues").status_code == 400


@pytest.mark.parametrize("query", [
    "page=0", "page=-1", "page=abc", "page=99999999999999999999", "size=0", "size=100000", "size=1.5",
    "state=bogus", "state=",
])
def test_malformed_task_listing_params_are_400(app, query):
    resp = TestClient(app, base_url="http://localhost").get(f"/api/queues/critical/tasks?{query}")
    assert resp.status_code == 400, resp.text
    assert resp.json()["field"] in ("page", "size", "state")


@pytest.mark.parametrize("query", ["days=0", "days=-3", "days=100000", "days=x"])
def test_malformed_history_days_are_400(app, query):
    resp = TestClient(app, base_url="http://localhost").get(f"/api/queues/critical/history?{query}")
    assert resp.status_code == 400 and resp.json()["field"] == "days"


def test_scheduler_history_paging_is_checked(app):
    http = TestClient(app, base_url="http://localhost")
    assert http.get("/api/scheduler_entries/x/history?page=0").status_code == 400
    assert http.get("/api/scheduler_entries/x/history?size=5000").status_code == 400


def test_bulk_action_with_a_bad_state_is_400_and_changes_nothing(app, r):
    before = snapshot(r)
    resp = TestClient(app, base_url="http://localhost", headers=AUTH).post(
        "/api/queues/critical/states/bogus/delete_all")
    assert resp.status_code == 400 and resp.json()["field"] == "state"
    assert snapshot(r) == before


GOOD_EMAIL = {"to": "user@example.com", "subject": "Hi", "body": "Hello"}
GOOD_IMAGE = {"src": "uploads/a.jpg", "dst": "uploads/b.jpg", "width": 10, "height": 10}

BAD_BODIES = [
    ("/api/queue/email", {**GOOD_EMAIL, "to": 5}, "to"),
    ("/api/queue/email", {**GOOD_EMAIL, "to": []}, "to"),
    ("/api/queue/email", {**GOOD_EMAIL, "to": ["a@example.com", 3]}, "to"),
    ("/api/queue/email", {**GOOD_EMAIL, "to": "a@example.com\r\nBcc: b@example.com"}, "to"),
    ("/api/queue/email", {**GOOD_EMAIL, "to": "Mallory <m@example.com>, x@example.com"}, "to"),
    ("/api/queue/email", {**GOOD_EMAIL, "to": ["a@example.com"] * 101}, "to"),
    ("/api/queue/email", {**GOOD_EMAIL, "subject": None}, "subject"),
    ("/api/queue/email", {**GOOD_EMAIL, "subject": ["x"]}, "subject"),
    ("/api/queue/email", {**GOOD_EMAIL, "subject": "a\nb"}, "subject"),
    ("/api/queue/email", {**GOOD_EMAIL, "subject": "x" * 1000}, "subject"),
    ("/api/queue/email", {**GOOD_EMAIL, "body": {"html": 1}}, "body"),
    ("/api/queue/email", {"subject": "s", "body": "b"}, "to"),
    ("/api/queue/email", {**GOOD_EMAIL, "queue": ""}, "queue"),
    ("/api/queue/email", {**GOOD_EMAIL, "queue": "a b"}, "queue"),
    ("/api/queue/email", {**GOOD_EMAIL, "queue": 3}, "queue"),
    ("/api/queue/email", {**GOOD_EMAIL, "bcc": "x@example.com"}, "bcc"),
    ("/api/queue/email/delayed", GOOD_EMAIL, "delay"),
    ("/api/queue/email/delayed", {**GOOD_EMAIL, "delay": "5m", "process_at": "2030-01-01T00:00:00Z"}, "delay"),
    ("/api/queue/email/delayed", {**GOOD_EMAIL, "delay": -1}, "delay"),
    ("/api/queue/email/delayed", {**GOOD_EMAIL, "delay": "-5m"}, "delay"),
    ("/api/queue/email/delayed", {**GOOD_EMAIL, "delay": "5 minutes"}, "delay"),
    ("/api/queue/email/delayed", {**GOOD_EMAIL, "delay": 1e30}, "delay"),
    ("/api/queue/email/delayed", {**GOOD_EMAIL, "delay": True}, "delay"),
    ("/api/queue/email/delayed", {**GOOD_EMAIL, "delay": "9999999h"}, "delay"),
    ("/api/queue/email/delayed", {**GOOD_EMAIL, "process_at": "tomorrow"}, "process_at"),
    ("/api/queue/email/delayed", {**GOOD_EMAIL, "process_at": "2030-01-01T00:00:00"}, "process_at"),
    ("/api/queue/email/delayed", {**GOOD_EMAIL, "process_at": "9999-01-01T00:00:00Z"}, "process_at"),
    ("/api/queue/email/delayed", {**GOOD_EMAIL, "process_at": 1700000000}, "process_at"),
    ("/api/queue/image", {**GOOD_IMAGE, "src": "../secret.jpg"}, "src"),
    ("/api/queue/image", {**GOOD_IMAGE, "src": "/etc/passwd"}, "src"),
    ("/api/queue/image", {**GOOD_IMAGE, "dst": "/tmp/x.png"}, "dst"),
    ("/api/queue/image", {**GOOD_IMAGE, "dst": "a/../../x.png"}, "dst"),
    ("/api/queue/image", {**GOOD_IMAGE, "dst": "x.exe"}, "dst"),
    ("/api/queue/image", {**GOOD_IMAGE, "src": "a\x00b.jpg"}, "src"),
    ("/api/queue/image", {**GOOD_IMAGE, "src": ""}, "src"),
    ("/api/queue/image", {**GOOD_IMAGE, "src": 7}, "src"),
    ("/api/queue/image", {**GOOD_IMAGE, "width": 0}, "width"),
    ("/api/queue/image", {**GOOD_IMAGE, "width": -5}, "width"),
    ("/api/queue/image", {**GOOD_IMAGE, "height": "200"}, "height"),
    ("/api/queue/image", {**GOOD_IMAGE, "height": 2.5}, "height"),
    ("/api/queue/image", {**GOOD_IMAGE, "width": 10**9}, "width"),
    ("/api/queue/image", {**GOOD_IMAGE, "width": True}, "width"),
    ("/api/queue/image", {k: v for k, v in GOOD_IMAGE.items() if k != "dst"}, "dst"),
]


@pytest.mark.parametrize("path,body,field", BAD_BODIES, ids=[f"{p.rsplit('/', 1)[1]}-{f}-{i}"
                                                             for i, (p, _, f) in enumerate(BAD_BODIES)])
def test_malformed_enqueue_bodies_are_400_naming_the_field_and_enqueue_nothing(app, r, path, body, field):
    before = snapshot(r)
    resp = TestClient(app, base_url="http://localhost", headers=AUTH).post(path, json=body)
    assert resp.status_code == 400, resp.text
    assert resp.json()["field"] == field and resp.json()["error"]
    assert snapshot(r) == before


@pytest.mark.parametrize("path", ["/api/queue/email", "/api/queue/email/delayed", "/api/queue/image"])
def test_non_json_bodies_are_refused(app, r, path):
    before = snapshot(r)
    http = TestClient(app, base_url="http://localhost", headers=AUTH)
    for content, ctype, status in ((b"{not json", "application/json", 400), (b"[1, 2]", "application/json", 400),
                                   (b"\xff\xfe", "application/json", 400), (b"null", "application/json", 400),
                                   (b"to=a@example.com", "application/x-www-form-urlencoded", 415),
                                   (b"{}", "text/plain", 415), (b"", "application/json", 400)):
        resp = http.post(path, content=content, headers={"Content-Type": ctype})
        assert resp.status_code == status, (content, resp.text)
        assert resp.json()["error"]
    big = http.post(path, content=b"[" + b"1," * (6 << 20) + b"1]", headers={"Content-Type": "application/json"})
    assert big.status_code == 413
    assert snapshot(r) == before


def test_guide_routes_answer_503_when_redis_is_down(make_redis_process, tmp_path):
    import redis

    server = make_redis_process(persist=False)
    client = redis.Redis.from_url(server.url, socket_timeout=2)
    app = create_app(dmq.Inspector(client), settings=Settings(media_root=tmp_path, api_token=TOKEN))
    http = TestClient(app, base_url="http://localhost", headers=AUTH)
    assert http.post("/api/queue/email", json=GOOD_EMAIL).status_code == 200
    server.stop()
    for method, path in (("post", "/api/queue/email"), ("get", "/api/queue/stats"), ("get", "/api/queues"),
                         ("get", "/api/health")):
        resp = getattr(http, method)(path, **({"json": GOOD_EMAIL} if method == "post" else {}))
        assert resp.status_code == 503, (path, resp.text)
        assert "password" not in resp.text


# ---- the built-in tasks with malformed payloads ----

def _settings(tmp_path, **kw) -> Settings:
    root = tmp_path / "media"
    root.mkdir(exist_ok=True)
    return Settings(media_root=root, smtp_host="127.0.0.1", smtp_port=1, **kw)


def _handlers(settings):
    from dmq_tools.tasks import data_export, email, image

    return {"email:deliver": lambda t: email.handle_email(t, email.SMTPConfig.from_settings(settings)),
            "image:resize": lambda t: image.handle_image_resize(t, settings),
            "image:thumbnail": lambda t: image.handle_thumbnail(t, settings),
            "data:export": lambda t: data_export.handle_data_export(t, settings)}


MALFORMED = [
    ("email:deliver", b"not json", "not JSON"),
    ("email:deliver", b"[1, 2]", "JSON object"),
    ("email:deliver", b"\xff\xfe", "not JSON"),
    ("email:deliver", None, "JSON object"),
    ("email:deliver", {"subject": "s", "body": "b"}, "'to'"),
    ("email:deliver", {"to": 5, "subject": "s"}, "to"),
    ("email:deliver", {"to": "bad", "subject": "s"}, "not an email address"),
    ("email:deliver", {"to": "a@example.com\r\nBcc: x@y.z", "subject": "s"}, "line break"),
    ("email:deliver", {"to": "a@example.com", "subject": "s\r\nBcc: x@y.z"}, "line break"),
    ("email:deliver", {"to": "a@example.com", "subject": 3}, "subject"),
    ("email:deliver", {"to": "a@example.com", "subject": "s", "sender": "x\ny@z.z"}, "line break"),
    ("email:deliver", {"to": "a@example.com", "subject": "s", "reply_to": "nope"}, "reply_to"),
    ("email:deliver", {"to": "a@example.com", "subject": "s", "cc": "bad"}, "cc"),
    ("email:deliver", {"to": "a@example.com", "subject": "s", "body": 1}, "body"),
    ("email:deliver", {"to": "a@example.com", "subject": "s", "bcc": "x@y.z"}, "unknown field"),
    ("email:deliver", {"to": [], "subject": "s"}, "no recipient"),
    ("image:resize", b"{", "not JSON"),
    ("image:resize", {"src": "a.png", "dst": "b.png", "width": 0, "height": 5}, "width"),
    ("image:resize", {"src": "a.png", "dst": "b.png", "width": 5, "height": -1}, "height"),
    ("image:resize", {"src": "a.png", "dst": "b.png", "width": "5", "height": 5}, "integer"),
    ("image:resize", {"src": "a.png", "dst": "b.png", "width": 10**6, "height": 5}, "width"),
    ("image:resize", {"src": "a.png", "dst": "b.tiffx", "width": 5, "height": 5}, "unknown image format"),
    ("image:resize", {"src": "a.png", "dst": "b.png", "width": 5, "height": 5, "format": "EXE"}, "format"),
    ("image:resize", {"src": "/etc/passwd", "dst": "b.png", "width": 5, "height": 5}, "relative"),
    ("image:resize", {"src": "a.png", "dst": "../../b.png", "width": 5, "height": 5}, "'..'"),
    ("image:resize", {"src": "a.png", "dst": "/tmp/b.png", "width": 5, "height": 5}, "relative"),
    ("image:resize", {"src": "missing.png", "dst": "b.png", "width": 5, "height": 5}, "no such file"),
    ("image:resize", {"src": ["a"], "dst": "b.png", "width": 5, "height": 5}, "string"),
    ("image:resize", {"src": "a.png", "width": 5, "height": 5}, "'dst'"),
    ("image:thumbnail", {"src": "a.png", "width": 0}, "width"),
    ("image:thumbnail", {"src": "a.png", "format": "xyz"}, "format"),
    ("image:thumbnail", {"src": "a.png", "dest": "../x.png"}, "'..'"),
    ("image:thumbnail", {"src": "a.png", "evil": 1}, "unknown field"),
    ("data:export", b"nope", "not JSON"),
    ("data:export", {"user_id": "1", "format": "csv"}, "user_id"),
    ("data:export", {"user_id": -1, "format": "csv"}, "user_id"),
    ("data:export", {"user_id": True, "format": "csv"}, "user_id"),
    ("data:export", {"user_id": 1, "format": "xml"}, "unknown format"),
    ("data:export", {"user_id": 1}, "'format'"),
    ("data:export", {"user_id": 1, "format": "csv", "source": "secrets"}, "source"),
    ("data:export", {"user_id": 1, "format": "csv", "queue": "../x"}, "queue"),
]


@pytest.mark.parametrize("kind,payload,message", MALFORMED,
                         ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(MALFORMED)])
def test_malformed_builtin_payloads_skip_retry_with_a_reason(tmp_path, kind, payload, message):
    settings = _settings(tmp_path)
    task = dmq.Task(kind, payload)
    with pytest.raises(SkipRetry) as info:
        _handlers(settings)[kind](task)
    assert message.lower() in str(info.value).lower()
    assert not any((tmp_path / "media").rglob("*"))   # nothing written


def _image(path, size=(40, 30)):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, "red").save(path)


def test_image_refuses_a_directory_a_symlinked_source_and_a_symlinked_directory(tmp_path):
    from dmq_tools.tasks import image

    settings = _settings(tmp_path)
    media = settings.media_root
    outside = tmp_path / "outside"
    _image(outside / "secret.png")
    (media / "adir.png").mkdir()
    os.symlink(outside / "secret.png", media / "link.png")
    os.symlink(outside, media / "linkdir")
    cases = [("adir.png", "not a regular file"), ("link.png", "symlinks are refused"),
             ("linkdir/secret.png", "symlink or not a directory")]
    for src, message in cases:
        with pytest.raises(SkipRetry, match=message):
            image.handle_image_resize(dmq.Task("image:resize", {"src": src, "dst": "out.png", "width": 5,
                                                                "height": 5}), settings)
    assert not (media / "out.png").exists()


def test_image_replaces_a_symlink_at_the_destination_instead_of_following_it(tmp_path):
    from dmq_tools.tasks import image

    settings = _settings(tmp_path)
    media = settings.media_root
    _image(media / "in.png")
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    os.symlink(victim, media / "out.png")
    image.handle_image_resize(dmq.Task("image:resize", {"src": "in.png", "dst": "out.png", "width": 10,
                                                        "height": 10}), settings)
    assert victim.read_text() == "keep me"
    assert not (media / "out.png").is_symlink() and (media / "out.png").stat().st_size > 0
    # a symlinked directory on the destination path is refused too
    os.symlink(tmp_path, media / "escape")
    with pytest.raises(SkipRetry, match="symlink"):
        image.handle_image_resize(dmq.Task("image:resize", {"src": "in.png", "dst": "escape/pwn.png", "width": 10,
                                                            "height": 10}), settings)
    assert not (tmp_path / "pwn.png").exists()


def test_image_pixel_caps_decompression_bomb_and_no_upscaling(tmp_path):
    from dmq_tools.tasks import image

    settings = _settings(tmp_path, image_max_pixels=10_000)
    media = settings.media_root
    _image(media / "big.png", (200, 200))     # 40,000 px > 10,000
    with pytest.raises(SkipRetry, match="pixels|bomb"):
        image.handle_image_resize(dmq.Task("image:resize", {"src": "big.png", "dst": "o.png", "width": 10,
                                                            "height": 10}), settings)
    _image(media / "small.png", (40, 30))
    with pytest.raises(SkipRetry, match="more than 10000 pixels"):   # the requested box is capped too
        image.handle_image_resize(dmq.Task("image:resize", {"src": "small.png", "dst": "o.png", "width": 1000,
                                                            "height": 1000}), settings)
    result = image.handle_image_resize(dmq.Task("image:resize", {"src": "small.png", "dst": "o.png", "width": 80,
                                                                 "height": 60}), settings)
    assert result["size"] == [40, 30]   # fitted, never enlarged
    assert not (media / "big.png").with_name("o.png").is_symlink()


def test_image_corrupt_or_truncated_data_skips_retry(tmp_path):
    from dmq_tools.tasks import image

    settings = _settings(tmp_path)
    media = settings.media_root
    _image(media / "ok.png", (300, 300))
    data = (media / "ok.png").read_bytes()
    (media / "cut.png").write_bytes(data[: len(data) // 2])
    (media / "junk.jpg").write_bytes(b"\xff\xd8\xff" + os.urandom(200))
    for src in ("cut.png", "junk.jpg"):
        with pytest.raises(SkipRetry):
            image.handle_image_resize(dmq.Task("image:resize", {"src": src, "dst": "o.png", "width": 10,
                                                                "height": 10}), settings)


def test_malformed_builtin_tasks_are_archived_after_one_attempt_by_a_worker(r, tmp_path):
    from dmq_tools.tasks import register_builtin

    settings = _settings(tmp_path)
    client = dmq.Client(r)
    for kind, payload, _ in MALFORMED[::4]:
        client.enqueue(dmq.Task(kind, payload), queue="bad", max_retry=25)
    n = len(MALFORMED[::4])
    worker = dmq.Worker(r, register_builtin(dmq.ServeMux(), settings), queues={"bad": 1}, concurrency=2).start()
    try:
        insp = dmq.Inspector(r)
        deadline = time.monotonic() + 60
        while insp.get_queue_info("bad").archived < n and time.monotonic() < deadline:
            time.sleep(0.05)
        archived = insp.list_tasks("bad", "archived", page_size=100)
    finally:
        worker.stop()
    assert len(archived) == n
    assert all(t.retried == 0 and t.last_err for t in archived)


def test_email_constructor_and_json_payload_round_trip():
    from dmq_tools.tasks import new_email_delivery_task

    t = new_email_delivery_task(["a@example.com", "b@example.com"], "Subject", "Body")
    assert json.loads(t.payload) == {"to": ["a@example.com", "b@example.com"], "subject": "Subject", "body": "Body"}
    assert timedelta(0) <= timedelta(seconds=0)


def test_over_long_names_and_a_directory_as_destination_skip_retry(tmp_path):
    from dmq_tools.tasks import image

    settings = _settings(tmp_path)
    media = settings.media_root
    _image(media / "in.png")
    (media / "adir.png").mkdir()
    for dst, message in (("x" * 300 + ".png", "cannot"), ("d" * 300 + "/x.png", "cannot create directory"),
                         ("adir.png", "directory")):
        with pytest.raises(SkipRetry, match=message):
            image.handle_image_resize(dmq.Task("image:resize", {"src": "in.png", "dst": dst, "width": 5,
                                                                "height": 5}), settings)
    assert sorted(p.name for p in media.iterdir()) == ["adir.png", "in.png"]


def test_a_chunked_body_over_the_limit_is_413_without_a_content_length(app, r):
    before = snapshot(r)
    http = TestClient(app, base_url="http://localhost", headers=AUTH)

    def chunks():
        yield b'{"to": "'
        for _ in range(40):
            yield b"a" * 65536
        yield b'"}'

    resp = http.post("/api/queue/email", content=chunks(), headers={"Content-Type": "application/json"})
    assert resp.status_code == 413 and resp.json()["field"] == "body"
    assert snapshot(r) == before
