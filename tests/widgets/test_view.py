"""_view.py: pure view-models and HTML, no ipywidgets, no Redis."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from dmq_tools.models import QueueInfo, TaskInfo, TaskState
from dmq_tools.widgets import _view

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)


def test_queue_table_hides_all_zero_columns_and_marks_paused_queues():
    infos = [QueueInfo("critical", size=3, pending=3, processed=10, failed=2, latency=timedelta(seconds=4),
                       memory_usage=2048),
             QueueInfo("low", size=1, retry=1, paused=True)]
    cols, rows = _view.queue_table(infos, {"critical": "<svg class='dmq-spark'></svg>"})
    keys = [c["key"] for c in cols]
    assert keys == ["queue", "size", "pending", "retry", "processed", "failed", "rate", "latency", "memory",
                    "trend"]
    crit, low = rows
    assert crit["cells"]["rate"].endswith(">20.0%</span>") and "dmq-bad" in crit["cells"]["rate"]
    assert crit["cells"]["latency"] == "4.0s" and crit["cells"]["memory"] == "2.0 KB"
    assert crit["actions"] == ["pause"] and low["actions"] == ["resume"] and low["cls"] == "dmq-paused"
    assert ">paused<" in low["cells"]["queue"] and crit["cells"]["trend"].startswith("<svg")
    assert _view.state_for_column(infos[1], "queue") == "retry"
    assert _view.state_for_column(infos[0], "failed") == "archived"


def test_queue_table_escapes_names():
    _cols, rows = _view.queue_table([QueueInfo("<b>x</b>")])
    assert "<b>x</b>" not in rows[0]["cells"]["queue"] and "&lt;b&gt;x&lt;/b&gt;" in rows[0]["cells"]["queue"]
    assert rows[0]["id"] == "<b>x</b>"  # the id is data, the cells are escaped HTML


def test_task_rows_offer_the_actions_of_their_state_and_search_matches():
    t = TaskInfo(id="abc-123", queue="q", type="email:deliver", payload=b'{"to":"<ada@x>"}',
                 state=TaskState.RETRY, last_err="smtp <refused>", next_process_at=NOW + timedelta(seconds=5))
    cols, rows = _view.task_rows([t], "retry", now=NOW)
    assert [c["key"] for c in cols] == ["id", "type", "payload", "retried", "when", "error"]
    assert rows[0]["actions"] == ["run", "archive", "delete"] and "&lt;refused&gt;" in rows[0]["cells"]["error"]
    assert _view.row_actions("active") == ["cancel"] and _view.row_actions("completed") == ["delete"]
    assert _view.matches(t, "ABC-1") and _view.matches(t, "deliver") and _view.matches(t, "<ada@")
    assert not _view.matches(t, "resize")


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
    for _ in range(3):
        st.next_page()
    assert st.page == 3
    for _ in range(3):
        st.prev_page()
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
