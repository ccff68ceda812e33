"""Built-in email (against a local SMTP server) and image (Pillow) tasks."""

from __future__ import annotations

import email as stdlib_email
import time
from datetime import timedelta

import pytest

import dmq_tools as dmq
from dmq_tools.errors import ConfigurationError, SkipRetry
from dmq_tools.tasks import email, image
from tests.helpers.smtp_server import SMTPServer


@pytest.fixture
def smtp():
    with SMTPServer() as server:
        yield server


def _env(port: int) -> dict[str, str]:
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port), "SMTP_FROM": "noreply@dmq.test",
            "SMTP_PASSWORD": "s3cret-value"}


def test_email_constructor_payload_and_queue():
    t = email.new_email_task("a@example.com", "Hi", "Hello", html="<b>Hello</b>", max_retry=3)
    assert t.type == email.TYPE_EMAIL_DELIVERY == "email:deliver"
    assert t.json() == {"to": ["a@example.com"], "subject": "Hi", "body": "Hello", "html": "<b>Hello</b>"}
    assert t.options.queue == "email" and t.options.max_retry == 3


def test_smtp_config_from_env_defaults_and_errors():
    cfg = email.SMTPConfig.from_env({"SMTP_HOST": "mx", "SMTP_STARTTLS": "1", "SMTP_PASSWORD": "pw"})
    assert (cfg.host, cfg.port, cfg.starttls) == ("mx", 587, True)
    assert "pw" not in repr(cfg)
    assert email.SMTPConfig.from_env({"SMTP_HOST": "mx", "SMTP_SSL": "true"}).port == 465
    with pytest.raises(ConfigurationError, match="SMTP_HOST"):
        email.SMTPConfig.from_env({})


def test_email_handler_delivers_through_smtp(smtp, monkeypatch):
    for k, v in _env(smtp.port).items():
        monkeypatch.setenv(k, v)
    t = email.new_email_task(["a@example.com", "b@example.com"], "Report", "Numbers inside", html="<p>hi</p>")
    result = email.handle_email(t)
    (mail_from, rcpts, raw), = smtp.messages
    assert mail_from == "noreply@dmq.test" and rcpts == ["a@example.com", "b@example.com"]
    msg = stdlib_email.message_from_bytes(raw)
    assert msg["Subject"] == "Report" and msg["Message-ID"] == result["message_id"]
    assert msg.is_multipart() and "Numbers inside" in msg.get_payload(0).get_payload()
    assert "s3cret" not in repr(result)


def test_email_permanent_refusal_skips_retry_and_transient_raises(smtp):
    cfg = email.SMTPConfig(host="127.0.0.1", port=smtp.port)
    with pytest.raises(SkipRetry, match="refused"):
        email.handle_email(email.new_email_task("reject@example.com", "x", "y"), cfg)
    with pytest.raises(Exception) as info:
        email.handle_email(email.new_email_task("busy@example.com", "x", "y"), cfg)
    assert not isinstance(info.value, SkipRetry)
    result = email.handle_email(email.new_email_task(["ok@example.com", "reject@example.com"], "x", "y"), cfg)
    assert result["refused"] == ["reject@example.com"]
    with pytest.raises(SkipRetry, match="payload"):
        email.handle_email(dmq.Task(email.TYPE_EMAIL_DELIVERY, {"subject": "no to"}), cfg)


def test_email_task_end_to_end_through_a_worker(smtp, r):
    mux = dmq.ServeMux()
    email.register(mux, email.SMTPConfig(host="127.0.0.1", port=smtp.port))
    info = dmq.Client(r).enqueue(email.new_email_task("c@example.com", "Welcome", "Hello"),
                                 retention=timedelta(minutes=5))
    worker = dmq.Worker(r, mux, queues={"email": 1}, concurrency=1).start()
    try:
        insp = dmq.Inspector(r)
        deadline = time.monotonic() + 15
        while insp.get_queue_info("email").completed < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        result = insp.get_task_info("email", info.id).result_value
    finally:
        worker.stop()
    assert result["to"] == ["c@example.com"] and len(smtp.messages) == 1


def test_thumbnail_handler_resizes_and_keeps_aspect(tmp_path):
    from PIL import Image

    src = tmp_path / "photo.jpg"
    Image.new("RGB", (800, 400), "teal").save(src)
    t = image.new_thumbnail_task(str(src), 100, 100)
    assert t.type == "image:thumbnail" and t.options.queue == "images"
    result = image.handle_thumbnail(t)
    assert result["size"] == [100, 50] and result["original"] == [800, 400]
    assert result["dest"] == str(tmp_path / "photo.thumb.png")
    with Image.open(result["dest"]) as thumb:
        assert thumb.size == (100, 50) and thumb.format == "PNG"


def test_thumbnail_of_missing_or_bad_file_archives(tmp_path):
    with pytest.raises(SkipRetry, match="no such image"):
        image.handle_thumbnail(image.new_thumbnail_task(str(tmp_path / "nope.png")))
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(SkipRetry, match="not an image"):
        image.handle_thumbnail(image.new_thumbnail_task(str(bad)))
    with pytest.raises(ValueError):
        image.new_thumbnail_task("x.png", 0, 10)
