"""Pure next-fire tests for asynq's cron dialect: no Redis, explicit times."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from dmq_tools.errors import CronSpecError
from dmq_tools.scheduler.cron import CronSchedule, EverySchedule, parse

UTC = timezone.utc
T0 = datetime(2024, 5, 1, 10, 7, 30, 250_000, tzinfo=UTC)  # a Wednesday


def fires(spec: str, start: datetime, n: int, tz=None) -> list[datetime]:
    s = parse(spec, tz)
    out, t = [], start
    for _ in range(n):
        t = s.next(t)
        out.append(t)
    return out


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_five_fields_every_15_minutes():
    assert fires("*/15 * * * *", T0, 3) == [at(2024, 5, 1, 10, 15), at(2024, 5, 1, 10, 30),
                                            at(2024, 5, 1, 10, 45)]


def test_five_fields_lists_ranges_names_and_question_mark():
    assert fires("0 9-10 * * mon-fri", T0, 3) == [at(2024, 5, 2, 9), at(2024, 5, 2, 10), at(2024, 5, 3, 9)]
    assert fires("30 12 1,15 * ?", T0, 2) == [at(2024, 5, 1, 12, 30), at(2024, 5, 15, 12, 30)]
    assert fires("0 0 1 JAN *", T0, 1) == [at(2025, 1, 1)]


def test_n_slash_step_means_n_to_max():
    assert fires("5/20 * * * *", T0, 3) == [at(2024, 5, 1, 10, 25), at(2024, 5, 1, 10, 45),
                                           at(2024, 5, 1, 11, 5)]


def test_day_of_month_or_day_of_week_when_both_restricted():
    # robfig: both restricted -> either matches (1st of June or a Monday)
    assert fires("0 0 1 * mon", T0, 2) == [at(2024, 5, 6), at(2024, 5, 13)]
    # one is "*" -> only the other counts
    assert fires("0 0 * * mon", T0, 1) == [at(2024, 5, 6)]


def test_next_is_strictly_after_a_fire_time():
    assert parse("* * * * *").next(at(2024, 5, 1, 10, 7)) == at(2024, 5, 1, 10, 8)


@pytest.mark.parametrize("spec,expected", [
    ("@yearly", at(2025, 1, 1)),
    ("@annually", at(2025, 1, 1)),
    ("@monthly", at(2024, 6, 1)),
    ("@weekly", at(2024, 5, 5)),   # Sunday
    ("@daily", at(2024, 5, 2)),
    ("@midnight", at(2024, 5, 2)),
    ("@hourly", at(2024, 5, 1, 11)),
])
def test_descriptors(spec, expected):
    assert parse(spec).next(T0) == expected


@pytest.mark.parametrize("spec,delay", [
    ("@every 30s", timedelta(seconds=30)),
    ("@every 1m30s", timedelta(seconds=90)),
    ("@every 1h30m", timedelta(hours=1, minutes=30)),
    ("@every 1.5s", timedelta(seconds=1)),      # truncated to whole seconds
    ("@every 200ms", timedelta(seconds=1)),     # at least one second
])
def test_every_delay_and_unaligned_next(spec, delay):
    s = parse(spec)
    assert isinstance(s, EverySchedule) and s.delay == delay
    # measured from the given time (truncated to the second), not aligned to the clock
    assert s.next(T0) == T0.replace(microsecond=0) + delay


def test_every_anchored_ticks_are_shared():
    s = parse("@every 7s").anchored(at(2024, 5, 1, 10, 0, 0))
    assert s.next(at(2024, 5, 1, 10, 0, 0)) == at(2024, 5, 1, 10, 0, 7)
    assert s.next(at(2024, 5, 1, 10, 0, 13)) == at(2024, 5, 1, 10, 0, 14)
    assert s.next(at(2024, 5, 1, 9, 0)) == at(2024, 5, 1, 10, 0, 0)


def test_cron_tz_prefix_and_default_tz():
    ny = "CRON_TZ=America/New_York 0 9 * * *"
    assert parse(ny).next(T0) == at(2024, 5, 1, 13)          # 09:00 EDT
    assert parse("TZ=Asia/Tokyo @daily").next(T0) == at(2024, 5, 1, 15)  # 00:00 JST
    assert parse("0 9 * * *", "Europe/Paris").next(T0) == at(2024, 5, 2, 7)
    assert parse("0 9 * * *", ZoneInfo("Europe/Paris")).next(T0) == at(2024, 5, 2, 7)
    # a prefix beats the default zone
    assert parse(ny, "Europe/Paris").next(T0) == at(2024, 5, 1, 13)


def test_dst_spring_forward_keeps_wall_clock_time():
    got = fires("CRON_TZ=America/New_York 0 9 * * *", at(2024, 3, 9, 12), 3)
    # 09:00 EST = 14:00 UTC before the change, 09:00 EDT = 13:00 UTC after (10 March 2024)
    assert got == [at(2024, 3, 9, 14), at(2024, 3, 10, 13), at(2024, 3, 11, 13)]
    gaps = [b - a for a, b in zip(got, got[1:])]
    assert gaps == [timedelta(hours=23), timedelta(hours=24)]


def test_dst_fall_back_daily_changes_utc_hour():
    got = fires("CRON_TZ=Europe/Berlin 30 6 * * *", at(2024, 10, 26, 12), 2)
    assert got == [at(2024, 10, 27, 5, 30), at(2024, 10, 28, 5, 30)]
    assert [t.astimezone(ZoneInfo("Europe/Berlin")).hour for t in got] == [6, 6]


def test_results_are_utc():
    t = parse("CRON_TZ=Asia/Kolkata 0 12 * * *").next(T0)
    assert t.tzinfo == UTC and t == at(2024, 5, 2, 6, 30)  # 12:00 IST


def test_naive_time_rejected():
    with pytest.raises(ValueError):
        parse("* * * * *").next(datetime(2024, 1, 1))


@pytest.mark.parametrize("spec", [
    "", "   ", "* * * *", "* * * * * *", "61 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *",
    "* * * * 7", "*/0 * * * *", "5-1 * * * *", "a * * * *", "1-2-3 * * * *", "*/2/3 * * * *",
    "1,,2 * * * *", "@foo", "@every", "@every x", "@every 10", "@every 1d",
    "CRON_TZ=Nowhere/Land * * * * *", "TZ=Europe/Paris", "0 0 30 2 *",
])
def test_bad_specs_raise_naming_the_spec(spec):
    with pytest.raises(CronSpecError) as err:
        parse(spec)
    assert repr(spec) in str(err.value)


def test_cron_spec_error_is_a_configuration_error():
    from dmq_tools.errors import ConfigurationError, DmqError
    with pytest.raises(ConfigurationError):
        parse("nope")
    assert issubclass(CronSpecError, DmqError)


def test_schedule_types():
    assert isinstance(parse("@hourly"), CronSchedule)
    assert isinstance(parse("TZ=UTC @every 5s"), EverySchedule)


def test_dst_skipped_wall_time_does_not_fire_that_day():
    # 02:30 does not exist in New York on 10 March 2024: robfig (and we) skip that day
    got = fires("CRON_TZ=America/New_York 30 2 * * *", at(2024, 3, 9, 12), 2)
    assert got == [at(2024, 3, 11, 6, 30), at(2024, 3, 12, 6, 30)]
    # hourly keeps firing every real hour across the jump
    hourly = fires("CRON_TZ=America/New_York 0 * * * *", at(2024, 3, 10, 5, 30), 3)
    assert hourly == [at(2024, 3, 10, 6), at(2024, 3, 10, 7), at(2024, 3, 10, 8)]


def test_dst_repeated_wall_time_fires_in_both_hours_like_robfig():
    got = fires("CRON_TZ=America/New_York 30 1 * * *", at(2024, 11, 2, 12), 3)
    assert got == [at(2024, 11, 3, 5, 30), at(2024, 11, 3, 6, 30), at(2024, 11, 4, 6, 30)]
