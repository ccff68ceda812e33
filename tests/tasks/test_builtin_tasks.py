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


def _media(tmp_path):
    from dmq_tools.config import Settings

    root = tmp_path / "media"
    root.mkdir()
    return root, Settings(media_root=root)


def test_thumbnail_handler_resizes_and_keeps_aspect(tmp_path):
    from PIL import Image

    root, settings = _media(tmp_path)
    Image.new("RGB", (800, 400), "teal").save(root / "photo.jpg")
    t = image.new_thumbnail_task("photo.jpg", 100, 100)
    assert t.type == "image:thumbnail" and t.options.queue == "images"
    result = image.handle_thumbnail(t, settings)
    assert result["size"] == [100, 50] and result["original"] == [800, 400]
    assert result["dest"] == "photo.thumb.png" and result["path"] == str(root / "photo.thumb.png")
    with Image.open(result["path"]) as thumb:
        assert thumb.size == (100, 50) and thumb.format == "PNG"


def test_thumbnail_of_missing_or_bad_file_archives(tmp_path):
    root, settings = _media(tmp_path)
    with pytest.raises(SkipRetry, match="no such file"):
        image.handle_thumbnail(image.new_thumbnail_task("nope.png"), settings)
    (root / "bad.png").write_bytes(b"not an image")
    with pytest.raises(SkipRetry, match="not an image"):
        image.handle_thumbnail(image.new_thumbnail_task("bad.png"), settings)
    with pytest.raises(ValueError):
        image.new_thumbnail_task("x.png", 0, 10)


def test_guide_constructors_and_type_names():
    from dmq_tools.tasks import new_data_export_task, new_email_delivery_task, new_image_resize_task

    e = new_email_delivery_task("user@example.com", "Добро пожаловать!", "Спасибо за регистрацию!")
    assert e.type == "email:deliver" and e.json()["to"] == ["user@example.com"] and e.options.queue is None
    i = new_image_resize_task("uploads/image.jpg", "uploads/thumb.jpg", 300, 200)
    assert i.type == "image:resize" and i.json() == {"src": "uploads/image.jpg", "dst": "uploads/thumb.jpg",
                                                     "width": 300, "height": 200}
    d = new_data_export_task(42, "csv")
    assert d.type == "data:export" and d.json() == {"user_id": 42, "format": "csv"}
    for bad in (lambda: new_email_delivery_task("x", "s", "b"),
                lambda: new_email_delivery_task("a@b.c", "s\nX: y", "b"),
                lambda: new_image_resize_task("/etc/passwd", "t.png", 1, 1),
                lambda: new_image_resize_task("a", "b", 0, 1),
                lambda: new_data_export_task(1, "xml"), lambda: new_data_export_task(-1, "csv")):
        with pytest.raises(ValueError):
            bad()


def test_register_builtin_routes_every_guide_type():
    from dmq_tools.tasks import register_builtin

    mux = register_builtin(dmq.ServeMux())
    for kind in ("email:deliver", "image:resize", "image:thumbnail", "data:export"):
        assert mux.match(kind)[1] == kind


def test_image_resize_fits_the_box_inside_media_root(tmp_path):
    from PIL import Image

    from dmq_tools.tasks import new_image_resize_task

    root, settings = _media(tmp_path)
    (root / "uploads").mkdir()
    Image.new("RGB", (1200, 800), "navy").save(root / "uploads" / "image.jpg")
    result = image.handle_image_resize(new_image_resize_task("uploads/image.jpg", "uploads/thumb.jpg", 300, 300),
                                       settings)
    assert result["size"] == [300, 200] and result["format"] == "JPEG"
    with Image.open(root / "uploads" / "thumb.jpg") as out:
        assert out.size == (300, 200)


def test_data_export_writes_csv_and_parquet_under_media_root(tmp_path, r):
    import pandas as pd

    from dmq_tools.tasks import data_export, new_data_export_task

    root, settings = _media(tmp_path)
    rows = lambda user_id, payload: [{"user_id": user_id, "item": n} for n in range(3)]  # noqa: E731
    csv = data_export.handle_data_export(new_data_export_task(7, "csv"), settings, rows)
    assert csv["rows"] == 3 and csv["file"].startswith("exports/user-7-app-") and csv["file"].endswith(".csv")
    assert list(pd.read_csv(csv["path"])["item"]) == [0, 1, 2]
    pq = data_export.handle_data_export(new_data_export_task(7, "parquet"), settings, rows)
    assert pd.read_parquet(pq["path"]).shape == (3, 2)
