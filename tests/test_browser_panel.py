"""The runbook's reset panel in a real browser: Voilà on 127.0.0.1, Debian's Chromium, Playwright.

Voilà serves ``notebooks/reset_combined_task.ipynb`` configured as ``make demo`` configures it
(``ROMA_NB_ENDPOINT=sandbox``): each page load runs the runbook in a new kernel, whose
``connect()`` starts its own sandbox. The runbook shows that sandbox's endpoint in step 1; the
test reads it from the page and asks the sandbox's control plane (``GET /_sandbox/resets``) what
the kernel really sent.

The same typed wall time, with zone UTC chosen in the panel, must send the same ``date_from``
whatever zone the *browser* is in. ipywidgets' aware ``DatetimePicker`` would send instants 8 h
apart for UTC and Asia/Shanghai browsers: the bug this panel exists to prevent.

``ROMA_NB_SCREENSHOTS=docs`` keeps the screenshots there (``docs/panel.png`` is the README's).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from browser.chromium import MISSING_REASON, chromium_path, keep_screenshot
from browser.panel_page import (
    FIRST_RENDER_MS,
    STEP_MS,
    PanelPage,
    sandbox_endpoint,
    sent,
)
from browser.servers import Server
from playwright.sync_api import expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(chromium_path() is None, reason=MISSING_REASON),
]

TYPED = "2024-01-02T03:04"
TYPED_AS_UTC_MS = 1_704_164_640_000  # 2024-01-02T03:04:00Z


@pytest.mark.parametrize("browser_zone", ["UTC", "Asia/Shanghai"])
def test_typed_time_with_zone_utc_sends_the_same_date_from_in_any_browser_zone(
    voila: Server, browser: Any, browser_zone: str, tmp_path: Path
) -> None:
    context = browser.new_context(
        timezone_id=browser_zone, viewport={"width": 1280, "height": 2400}
    )
    page = context.new_page()
    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    try:
        assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == browser_zone
        page.goto(f"{voila.url}/", timeout=FIRST_RENDER_MS)
        panel = PanelPage(page)
        panel.wait_until_shown()
        assert "SANDBOX" in panel.banner()
        sandbox = sandbox_endpoint(page)

        instance_id = panel.choose_instance(1)
        task_ids = panel.choose_tasks(2)
        panel.type_time(TYPED, "UTC")
        panel.expect_instant(TYPED_AS_UTC_MS)
        panel.set_dry_run(False)  # the runbook starts in dry-run mode
        preview = panel.preview(rows=2)
        for task_id in task_ids:
            assert task_id in preview.inner_text()
        confirmation = panel.confirm()
        for text in ("SANDBOX", instance_id, *task_ids, str(TYPED_AS_UTC_MS)):
            assert text in confirmation.inner_text()
        shot = tmp_path / f"panel-{browser_zone.replace('/', '-')}.png"
        panel.panel.screenshot(path=str(shot))
        keep_screenshot(shot, shot.name)

        results = panel.run(rows=2)
        rows = results.locator("tbody tr").all_inner_texts()
        assert all(sum(task_id in row for row in rows) == 1 for task_id in task_ids)
        assert all("success" in row or "unverified" in row for row in rows)

        assert sent(sandbox) == sorted((instance_id, t, TYPED_AS_UTC_MS) for t in task_ids)
        assert page_errors == []
    finally:
        context.close()


def test_the_zone_chosen_in_the_panel_decides_the_instant(
    voila: Server, browser: Any, tmp_path: Path
) -> None:
    """Browser in UTC, panel zone Asia/Shanghai: the digits are read in Shanghai (UTC+8).

    The time is yesterday 02:00 in Shanghai, so no retention warning clutters the screenshot
    kept as the README's ``panel.png``.
    """
    shanghai = ZoneInfo("Asia/Shanghai")
    day = (datetime.now(shanghai) - timedelta(days=1)).date()
    wall = datetime(day.year, day.month, day.day, 2, 0)
    expected = int(wall.replace(tzinfo=shanghai).timestamp()) * 1000
    context = browser.new_context(timezone_id="UTC", viewport={"width": 1280, "height": 2400})
    page = context.new_page()
    try:
        page.goto(f"{voila.url}/", timeout=FIRST_RENDER_MS)
        panel = PanelPage(page)
        panel.wait_until_shown()
        sandbox = sandbox_endpoint(page)
        instance_id = panel.choose_instance(0)
        task_ids = panel.choose_tasks(3)
        panel.type_time(wall.strftime("%Y-%m-%dT%H:%M"), "Asia/Shanghai")
        panel.expect_instant(expected)
        panel.set_dry_run(False)
        preview = panel.preview(rows=3)
        assert "+08:00" in preview.inner_text()
        confirmation = panel.confirm()
        assert str(expected) in confirmation.inner_text()
        shot = tmp_path / "panel.png"
        panel.panel.screenshot(path=str(shot))
        keep_screenshot(shot, "panel.png")
        panel.run(rows=3)
        assert sent(sandbox) == sorted((instance_id, t, expected) for t in task_ids)
    finally:
        context.close()


def test_a_rewind_clicked_through_shows_outcomes_and_the_left_stopped_banner(
    voila: Server, browser: Any, tmp_path: Path
) -> None:
    """Two running tasks, the second of which cannot be started again (``start_fails``): Run
    rewinds both; the first ends ``success`` or ``unverified``, the second ``left-stopped``
    and in the red banner, until "Start them again" (the fault cleared) starts it."""
    context = browser.new_context(timezone_id="UTC", viewport={"width": 1280, "height": 2400})
    page = context.new_page()
    try:
        page.goto(f"{voila.url}/", timeout=FIRST_RENDER_MS)
        panel = PanelPage(page)
        panel.wait_until_shown()
        sandbox = sandbox_endpoint(page)
        panel.choose_instance(0)
        first, second = panel.choose_tasks(2, state="running")
        yesterday = datetime.now(ZoneInfo("UTC")) - timedelta(days=1)
        panel.type_time(yesterday.strftime("%Y-%m-%dT%H:%M"), "UTC")
        panel.set_dry_run(False)
        expect(page.locator(".roma-procedure select")).to_have_value(
            "Rewind (stop, reset, start, verify)"
        )
        panel.preview(rows=2)
        steps = page.locator(".roma-steps-table")
        expect(steps).to_contain_text("stop 2 running tasks, reset 2, start them again, verify")
        confirmation = panel.confirm()
        expect(confirmation).to_contain_text("Rewind (stop, reset, start, verify)")
        row = confirmation.locator("tbody tr", has_text=first)  # one compact row per task
        expect(row).to_contain_text(
            re.compile(r"stop, reset, start again, verify; (replays|may SKIP)")
        )
        shot = tmp_path / "panel-rewind-confirmation.png"
        panel.panel.screenshot(path=str(shot))
        keep_screenshot(shot, shot.name)

        fault = {"kind": "start_fails", "match": second}
        httpx.post(f"{sandbox}/_sandbox/faults", json=fault, timeout=10).raise_for_status()
        results = panel.run(rows=2)
        rows = results.locator("tbody tr").all_inner_texts()
        [row_first] = [r for r in rows if first in r]
        [row_second] = [r for r in rows if second in r]
        assert "success" in row_first or "unverified" in row_first
        assert "left-stopped" in row_second
        banner = panel.left_stopped()
        expect(banner).to_contain_text("LEFT STOPPED", timeout=STEP_MS)
        expect(banner).to_contain_text(second)
        shot = tmp_path / "panel-rewind-results.png"
        panel.panel.screenshot(path=str(shot))
        keep_screenshot(shot, shot.name)

        httpx.delete(f"{sandbox}/_sandbox/faults", timeout=10).raise_for_status()
        page.locator(".roma-start-again").click()
        expect(banner).to_be_hidden(timeout=STEP_MS)
    finally:
        context.close()
