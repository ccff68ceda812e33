"""The Dashboard served by Voilà, driven in headless Chromium at two widths and both themes.

Overview first (cards, charts, the queue table fits the width), a click on a queue's cell opens
that queue's tasks, a click on a task shows its detail beside the list, a batch action on two
checked rows changes Redis. Screenshots go to the test's temporary directory (and to
DMQ_SCREENSHOT_DIR when set) so a person can look at every one.
"""

from __future__ import annotations

import os
import shutil
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.helpers import seed

pytestmark = pytest.mark.browser


def _seed(r) -> dict[str, list]:
    now = time.time()
    crit = [seed.msg("email:deliver", b'{"to":"ada@example.com","subject":"Welcome!"}', queue="critical")
            for _ in range(4)]
    seed.seed_pending(r, crit, "critical")
    low = [seed.msg("image:resize", b'{"src":"uploads/%d.png","width":800}' % i, queue="low")
           for i in range(12)]
    seed.seed_pending(r, low, "low")
    seed.seed_scheduled(r, [(seed.msg("email:deliver", b'{"to":"later@example.com"}', queue="critical"),
                             now + 300)], "critical")
    seed.seed_retry(r, [(seed.msg("data:export", b'{"user_id":7,"format":"csv"}', queue="default",
                                  error_msg="export: disk full", retried=1), now + 60)], "default")
    seed.seed_archived(r, [(seed.msg("image:resize", b'{"src":"bad.png"}', queue="low", retried=3,
                                     error_msg="cannot identify image file 'bad.png'"), now - 30)], "low")
    seed.seed_pending(r, [seed.msg("report:weekly", b"{}", queue="reports")], "reports")
    seed.seed_paused(r, "reports")
    minute = datetime.fromtimestamp(now // 60 * 60, timezone.utc)
    for q, base in (("critical", 6), ("low", 14), ("default", 3)):
        seed.seed_minutes(r, q, {minute - timedelta(minutes=k): (base + (k * 7) % 5, (k % 4 == 0) * (k % 3))
                                 for k in range(0, 26) if k % 9 != 5})
    today = datetime.now(timezone.utc).date()
    seed.seed_daily_stats(r, "critical", {today: (480, 3)})
    seed.seed_daily_stats(r, "low", {today: (1210, 41)})
    seed.seed_daily_stats(r, "default", {today: (96, 12)})
    seed.seed_server(r, host="web-1", pid=4242, queues={"critical": 6, "default": 3, "low": 1})
    return {"low": low, "critical": crit}


def _shoot(page, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    extra = os.environ.get("DMQ_SCREENSHOT_DIR")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(extra) / path.name)


@pytest.mark.timeout(300)  # a cold first run (kernel + Chromium) on a loaded CI machine
@pytest.mark.parametrize("width", [1000, 1400])
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_overview_queue_click_task_detail_and_batch_action(r, voila_url, browser_context, tmp_path,
                                                           width, theme):
    seeded = _seed(r)
    page = browser_context.new_page()
    page.set_viewport_size({"width": width, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(voila_url + (f"?theme={theme}" if theme == "dark" else ""), wait_until="domcontentloaded",
              timeout=60_000)
    ov = page.locator(".dmq-dashboard .dmq-overview")
    ov.locator(".dmq-queue-table tr[data-row='reports']").wait_for(timeout=60_000)  # kernel ran, refreshed

    # the Overview: cards, both charts, the table fits the width (no sideways scroll)
    assert ov.locator(".dmq-card[data-card='pending'] .dmq-card-v").inner_text() == "17"
    assert ov.locator(".dmq-card[data-card='workers alive'] .dmq-card-v").inner_text() == "1"
    assert ov.locator("svg.dmq-stacked rect").count() >= 5
    assert ov.locator("svg.dmq-bars rect").count() > 10
    assert ov.locator("tr[data-row='low'] svg.dmq-spark").count() == 1
    assert ov.locator("tr[data-row='reports'].dmq-paused").count() == 1
    overflow = page.evaluate("() => { const e = document.querySelector('.dmq-overview .dmq-ct-root');"
                             " return e.scrollWidth - e.clientWidth; }")
    assert overflow <= 0, f"queue table scrolls sideways by {overflow}px at {width}px"
    if theme == "dark":
        assert page.evaluate("() => document.body.dataset.jpThemeLight") == "false"
    _shoot(page, tmp_path, f"overview-{width}-{theme}")

    # pause a queue from its row; Redis has the paused key
    ov.locator("tr[data-row='critical'] button.dmq-act-pause").click()
    ov.locator("tr[data-row='critical'].dmq-paused").wait_for(timeout=15_000)
    assert r.exists("asynq:{critical}:paused")

    # a click on low's pending count opens the Tasks tab on low / pending
    ov.locator("tr[data-row='low'] td[data-column='pending']").click()
    tasks = page.locator(".dmq-dashboard .dmq-tasks")
    tasks.locator(".dmq-task-table").wait_for(state="visible", timeout=15_000)
    first, second = seeded["low"][0].id, seeded["low"][1].id
    tasks.locator(f"tr[data-row='{first}']").wait_for(timeout=15_000)
    # click a task: its detail shows beside the list
    tasks.locator(f"tr[data-row='{second}'] td[data-column='payload']").click()
    page.wait_for_function(
        f"() => document.querySelector('.dmq-tasks .dmq-detail')?.textContent.includes('{second}')",
        timeout=15_000)
    box_t, box_d = (tasks.locator(".dmq-task-table").bounding_box(), tasks.locator(".dmq-detail").bounding_box())
    assert box_d["x"] > box_t["x"] + 200 and abs(box_d["y"] - box_t["y"]) < 80  # beside, not below
    _shoot(page, tmp_path, f"tasks-{width}-{theme}")

    # batch action: check two rows, archive them, read the result from Redis
    tasks.locator(f"tr[data-row='{first}'] input.dmq-check").check()
    tasks.locator(f"tr[data-row='{second}'] input.dmq-check").check()
    page.wait_for_function("() => document.querySelector('.dmq-tasks .dmq-batch-bar')"
                           "?.textContent.includes('2 checked')", timeout=15_000)
    tasks.locator("button.dmq-archive-checked").click()
    page.wait_for_function("() => document.querySelector('.dmq-tasks .dmq-status')"
                           "?.textContent.includes('archive: 2 of 2 tasks')", timeout=15_000)
    assert {m.decode() for m in r.zrange("asynq:{low}:archived", 0, -1)} >= {first, second}
    assert r.llen("asynq:{low}:pending") == 10
    _shoot(page, tmp_path, f"batch-{width}-{theme}")

    # the other tabs render: Workers (the seeded server), Charts (SVG), Scheduler
    page.get_by_role("tab", name="Workers").click()
    page.locator(".dmq-workers .dmq-server-table").wait_for(timeout=40_000)
    assert "web-1:4242" in page.locator(".dmq-workers .dmq-server-table").inner_text()
    _shoot(page, tmp_path, f"workers-{width}-{theme}")
    page.get_by_role("tab", name="Charts").click()
    page.locator(".dmq-throughput .dmq-chart svg").wait_for(timeout=30_000)
    _shoot(page, tmp_path, f"charts-{width}-{theme}")
    for view in ("per queue", "daily"):
        page.locator(".dmq-chart-view button", has_text=view).click()
        page.wait_for_function("(v) => document.querySelector('.dmq-throughput .dmq-chart')"
                               "?.textContent.includes(v === 'daily' ? 'per day' : 'by queue')", arg=view,
                               timeout=30_000)
        _shoot(page, tmp_path, f"charts-{view.replace(' ', '-')}-{width}-{theme}")
    assert not errors, errors
    page.close()
