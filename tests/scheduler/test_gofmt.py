"""Go text formats asynq's tools parse back (trap T17)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from dmq_tools.scheduler.gofmt import (
    format_duration, format_unix_date, go_quote, option_strings, parse_duration,
)


@pytest.mark.parametrize("d,text", [
    (timedelta(0), "0s"),
    (timedelta(hours=1), "1h0m0s"),
    (timedelta(minutes=30), "30m0s"),
    (timedelta(seconds=90), "1m30s"),
    (timedelta(seconds=1.5), "1.5s"),
    (timedelta(hours=25, seconds=4, milliseconds=5), "25h0m4.005s"),
    (timedelta(milliseconds=1.5), "1.5ms"),
    (timedelta(microseconds=500), "500\u00b5s"),
    (timedelta(days=1), "24h0m0s"),
    (-timedelta(minutes=2), "-2m0s"),
    (3600, "1h0m0s"),
    (0.25, "250ms"),
])
def test_format_duration_like_go(d, text):
    assert format_duration(d) == text


@pytest.mark.parametrize("text,d", [
    ("1h30m", timedelta(minutes=90)), ("30s", timedelta(seconds=30)), ("1.5h", timedelta(minutes=90)),
    ("0", timedelta(0)), ("-2m", -timedelta(minutes=2)), ("+5s", timedelta(seconds=5)),
    ("100ms", timedelta(milliseconds=100)), ("3us", timedelta(microseconds=3)),
    ("1h0m0s", timedelta(hours=1)), (".5s", timedelta(seconds=0.5)),
])
def test_parse_duration_like_go(text, d):
    assert parse_duration(text) == d


@pytest.mark.parametrize("bad", ["", "1", "h", "1d", "1.h.", "s1", "-", "1h 30m"])
def test_parse_duration_rejects(bad):
    with pytest.raises(ValueError):
        parse_duration(bad)


def test_format_unix_date_pads_day_and_uses_utc():
    when = datetime(2006, 1, 2, 15, 4, 5, tzinfo=timezone.utc)
    assert format_unix_date(when) == "Mon Jan  2 15:04:05 UTC 2006"
    later = datetime(2024, 12, 25, 1, 0, 0, tzinfo=timezone(timedelta(hours=2)))
    assert format_unix_date(later) == "Tue Dec 24 23:00:00 UTC 2024"


def test_go_quote():
    assert go_quote("critical") == '"critical"'
    assert go_quote('a"b\\c') == '"a\\"b\\\\c"'
    assert go_quote("tab\there\n") == '"tab\\there\\n"'
    assert go_quote("\x01\x7f") == '"\\x01\\x7f"'
    assert go_quote("caf\u00e9 \u65e5") == '"caf\u00e9 \u65e5"'
    assert go_quote("\u00a0\u200b") == '"\\u00a0\\u200b"'


def test_option_strings_forms():
    deadline = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    got = option_strings({
        "queue": "low", "max_retry": 3, "timeout": timedelta(minutes=30), "deadline": deadline,
        "unique": timedelta(hours=1), "process_at": deadline, "process_in": 90,
        "retention": timedelta(days=1), "group": "g1", "task_id": "abc", "headers": {"k": "v"},
    })
    assert got == [
        'Queue("low")', "MaxRetry(3)", "Timeout(30m0s)", "Deadline(Wed Jan  2 03:04:05 UTC 2030)",
        "Unique(1h0m0s)", "ProcessAt(Wed Jan  2 03:04:05 UTC 2030)", "ProcessIn(1m30s)",
        "Retention(24h0m0s)", 'Group("g1")', 'TaskID("abc")', 'Header(["k","v"])',
    ]


def test_option_strings_skip_none_and_reject_unknown():
    assert option_strings({"queue": None, "max_retry": 0}) == ["MaxRetry(0)"]
    with pytest.raises(ValueError):
        option_strings({"priority": 1})
