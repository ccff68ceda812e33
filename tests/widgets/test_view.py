"""_view.py: pure view-models and HTML, no ipywidgets, no Redis."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from dmq_tools.models import QueueInfo, TaskInfo, TaskState
from dmq_tools.widgets import _view

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)


def test_queue_rows_and_table_show_every_queue_and_paused_state():
    infos = [QueueInfo("critical", size=3, pending=3, processed=10, failed=2, latency=timedelta(seconds=4)),
             QueueInfo("low", size=1, retry=1, paused=True)]
    rows = _view.queue_rows(infos)
    assert rows[0].failure_rate == pytest.approx(0.2)
    html = _view.queues_table_html(rows)
    assert "data-queue='critical'" in html and "data-queue='low'" in html
    assert "class='dmq-paused'" in html and ">paused<" in html
    assert "20.0%" in html and "4.0s" in html
    assert _view.totals(rows)["size"] == 4


def test_queue_table_escapes_names():
    html = _view.queues_table_html(_view.queue_rows([QueueInfo("<b>x</b>")]))
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html


def test_task_detail_pretty_prints_json_payload_and_error():
    t = TaskInfo(id="abc", queue="default", type="email:deliver", payload=b'{"to":"a@x","n":1}',
                 state=TaskState.RETRY, retried=2, max_retry=5, last_err="boom",
                 next_process_at=NOW + timedelta(seconds=30), result=b'{"ok":true}')
    html = _view.task_detail_html(t, now=NOW)
    assert '{\n  &quot;n&quot;: 1,\n  &quot;to&quot;: &quot;a@x&quot;\n}' in html
    assert "2 of 5" in html and "boom" in html and "(in 30s)" in html and "dmq-result" in html


def test_payload_text_handles_binary_and_long_text():
    assert _view.payload_text(b"\xff\xfe\x00") == "<3 bytes>"
    assert _view.payload_text(b"x" * 200, limit=10).endswith("…")
    assert _view.payload_text(None) == ""


def test_browser_state_paging_is_clamped():
    st = _view.TaskBrowserState(queue="q", state="pending", page_size=20, count=45)
    assert st.pages == 3
    st.next_page(); st.next_page(); st.next_page()
    assert st.page == 3
    st.prev_page(); st.prev_page(); st.prev_page()
    assert st.page == 1
    assert st.label() == "page 1 / 3 · 45 pending"


def test_parse_weights():
    assert _view.parse_weights("critical=6, default=3,low") == {"critical": 6, "default": 3, "low": 1}
    for bad in ("", "a=x", "a=0", "=3"):
        with pytest.raises(ValueError):
            _view.parse_weights(bad)


def test_error_html_is_one_escaped_line():
    html = _view.error_html(ConnectionError("Error 111 <refused>"), "refresh")
    assert "refresh failed" in html and "&lt;refused&gt;" in html and "Traceback" not in html


def test_fmt_dt_relative_and_go_zero_time():
    assert _view.fmt_dt(NOW - timedelta(minutes=3), now=NOW) == "2026-11-27 11:57:00 (3m ago)"
    assert _view.fmt_dt(datetime(1, 1, 1, tzinfo=timezone.utc)) == ""
    assert _view.fmt_dt(None) == ""
