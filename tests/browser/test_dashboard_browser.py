"""The Dashboard served by Voilà, rendered and clicked in headless Chromium."""

from __future__ import annotations

import time

import pytest

from tests.helpers import seed

pytestmark = pytest.mark.browser


def _seed(r) -> None:
    seed.seed_pending(r, [seed.msg("payment:capture", queue="critical") for _ in range(4)], "critical")
    seed.seed_pending(r, [seed.msg("email:receipt", queue="emails") for _ in range(7)], "emails")
    now = time.time()
    seed.seed_retry(r, [(seed.msg("report:build", queue="reports", error_msg="timeout", retried=1), now + 60)],
                    "reports")
    seed.seed_paused(r, "reports")


@pytest.mark.timeout(300)  # a cold first run (kernel + Chromium) on a loaded CI machine
def test_dashboard_renders_queues_and_reacts_to_clicks(r, voila_url, browser_context, screenshot_dir):
    _seed(r)
    page = browser_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(voila_url, wait_until="domcontentloaded", timeout=60_000)
    table = page.locator(".dmq-dashboard .dmq-queue-table")
    table.wait_for(state="visible", timeout=60_000)  # kernel started, notebook ran, widgets rendered
    page.locator("tr[data-queue='reports']").wait_for(timeout=30_000)   # the first refresh has landed

    text = table.inner_text()
    for q in ("critical", "emails", "reports"):
        assert q in text
    assert page.locator("tr[data-queue='reports'].dmq-paused").count() == 1
    assert page.locator("tr[data-queue='emails'] td").nth(2).inner_text() == "7"

    # refresh: new tasks appear without reloading the page
    seed.seed_pending(r, [seed.msg("email:receipt", queue="emails") for _ in range(5)], "emails")
    page.locator(".dmq-dashboard > .dmq-toolbar button.dmq-refresh").click()
    page.wait_for_function(
        "() => document.querySelector(\"tr[data-queue='emails'] td:nth-child(3)\")?.textContent === '12'",
        timeout=15_000)

    # pause a queue from the browser: the row turns paused and Redis has the paused key
    page.locator(".dmq-queues .dmq-queue-select select").select_option("emails")
    page.locator(".dmq-queues button.dmq-pause").click()
    page.locator("tr[data-queue='emails'].dmq-paused").wait_for(timeout=15_000)
    assert r.exists("asynq:{emails}:paused")

    # auto-refresh toggles to a pause button and back
    auto = page.locator(".dmq-dashboard > .dmq-toolbar .dmq-auto")
    auto.click()
    page.wait_for_function("() => document.querySelector('.dmq-dashboard > .dmq-toolbar .dmq-auto')"
                           "?.textContent.includes('Pause')", timeout=10_000)
    auto.click()
    page.wait_for_function("() => document.querySelector('.dmq-dashboard > .dmq-toolbar .dmq-auto')"
                           "?.textContent.includes('Auto-refresh')", timeout=10_000)

    page.screenshot(path=str(screenshot_dir / "dashboard.png"), full_page=True)
    assert "updated" in page.locator(".dmq-dashboard > .dmq-status").inner_text()

    # the Tasks tab loads when shown: the first queue's pending tasks and a task detail
    page.get_by_role("tab", name="Tasks").click()
    page.locator(".dmq-tasks .dmq-task-table").wait_for(state="visible", timeout=15_000)
    # the table and the detail pane arrive as separate widget updates: wait for each
    page.wait_for_function("() => document.querySelector('.dmq-tasks .dmq-task-table')"
                           "?.textContent.includes('payment:capture')", timeout=15_000)
    page.wait_for_function("() => document.querySelector('.dmq-tasks .dmq-detail')"
                           "?.textContent.includes('critical')", timeout=15_000)
    assert "payment:capture" in page.locator(".dmq-tasks .dmq-task-table").inner_text()
    assert "critical" in page.locator(".dmq-tasks .dmq-detail").inner_text()
    page.screenshot(path=str(screenshot_dir / "dashboard-tasks.png"), full_page=True)
    assert not errors, errors
    page.close()
