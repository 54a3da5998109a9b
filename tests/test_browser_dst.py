"""The DST question clicked with a mouse: each option is its own box, and sends what it shows.

Issue 14, defect 1: typed 2024-03-10 02:30 in America/New_York (a gap) or 2024-11-03 01:30 (a
fold), the two radio options were drawn on top of each other under the "1 h ago" preset, and a
click on "just after the jump" pressed "1 h ago". Here each option is clicked with Playwright's
``click()`` at the element (no ``force``: Playwright refuses to click an element another one
covers), then the instant shown and the ``date_from`` the sandbox recorded are checked, and no
two controls of the panel may overlap at 900 and 1400 px.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from browser.chromium import MISSING_REASON, chromium_path, keep_screenshot
from browser.layout import overlapping_controls
from browser.panel_page import FIRST_RENDER_MS, STEP_MS, PanelPage, sandbox_endpoint, sent
from browser.servers import Server
from playwright.sync_api import expect

from roma_nb.panel import PROCEDURES

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(chromium_path() is None, reason=MISSING_REASON),
]

ZONE = "America/New_York"
CASES = [
    # typed wall time, option (first/second), its words, the instant it names
    ("2024-03-10T02:30", "first", "Just before the jump", 1_710_053_999_999),
    ("2024-03-10T02:30", "second", "Just after the jump", 1_710_054_000_000),
    ("2024-11-03T01:30", "first", "The first time (earlier)", 1_730_611_800_000),
    ("2024-11-03T01:30", "second", "The second time (later)", 1_730_615_400_000),
]


def assert_nothing_overlaps(page: Any) -> None:
    for width in (900, 1400):
        page.set_viewport_size({"width": width, "height": 2400})
        assert overlapping_controls(page) == [], f"at {width} px"
    page.set_viewport_size({"width": 1400, "height": 2400})


def test_each_dst_option_is_clicked_with_the_mouse_and_sends_its_instant(
    voila: Server, browser: Any, tmp_path: Path
) -> None:
    context = browser.new_context(timezone_id="UTC", viewport={"width": 1400, "height": 2400})
    page = context.new_page()
    try:
        page.goto(f"{voila.url}/", timeout=FIRST_RENDER_MS)
        panel = PanelPage(page)
        panel.wait_until_shown()
        sandbox = sandbox_endpoint(page)
        instance_id = panel.choose_instance(0)
        # The instants sent are the point here: a raw reset of a stopped task sends exactly one
        # reset per run and finishes at once (a rewind's restart and verification add nothing).
        panel.choose_procedure(PROCEDURES["reset"])
        (task_id,) = panel.choose_tasks(1, state="stopped")
        panel.set_dry_run(False)
        expected: list[tuple[str, str, int | None]] = []
        for typed, place, words, ms in CASES:
            panel.type_time(typed, ZONE)
            option = page.locator(f".roma-date-option-{place}")
            expect(option).to_be_visible(timeout=STEP_MS)
            expect(option).to_contain_text(words)
            hint = page.locator(".roma-hint").inner_text()
            assert "shift_" not in hint and "ambiguous=" not in hint
            option.click()  # at the element: refused if anything covers it
            panel.expect_instant(ms)
            expect(option.locator("i.fa-check")).to_be_attached(timeout=STEP_MS)
            assert_nothing_overlaps(page)
            shot = tmp_path / f"dst-{typed[:10]}-{place}.png"
            page.locator(".roma-date-picker").screenshot(path=str(shot))
            keep_screenshot(shot, shot.name)
            confirmation = panel.preview_and_confirm(rows=1)
            assert str(ms) in confirmation.inner_text()
            panel.run(rows=1)  # the outcome table holds this run's one task
            expected.append((instance_id, task_id, ms))
            waited = time.monotonic() + STEP_MS / 1000
            while sent(sandbox) != sorted(expected):  # the old table also has one row: ask the
                assert time.monotonic() < waited, f"{ms} never reached the sandbox"  # server
                page.wait_for_timeout(200)
        assert sent(sandbox) == sorted(expected)
    finally:
        context.close()
