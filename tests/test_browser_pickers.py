"""The instance and task pickers clicked in a real browser (Voilà, Debian's Chromium, Playwright).

Issue 14, items 4 and 7: the instance dropdown shows its prompt (not a blank) and never cuts an
id; a FROZEN instance is warned about; the task list is a table with a coloured state column,
filtered by state with a click, and selected with checkboxes — clicking another task adds it,
it never replaces the selection. The preview then plans exactly the ticked tasks.

The ``voila`` (the runbook, as ``make demo`` serves it) and ``browser`` fixtures are
``tests/conftest.py``'s. ``ROMA_NB_SCREENSHOTS=docs`` keeps ``docs/task-picker.png`` (the two
pickers, three tasks ticked).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from browser.chromium import MISSING_REASON, chromium_path, keep_screenshot
from browser.layout import overlapping_controls
from browser.panel_page import FIRST_RENDER_MS, STEP_MS, PanelPage
from browser.servers import Server
from playwright.sync_api import expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(chromium_path() is None, reason=MISSING_REASON),
]

# The selected option's text fits in the <select> (measured in its own font, arrow included).
_FITS = """
(el) => {
  const text = el.options[el.selectedIndex] ? el.options[el.selectedIndex].text : '';
  const ctx = document.createElement('canvas').getContext('2d');
  ctx.font = getComputedStyle(el).font;
  return {text, index: el.selectedIndex, need: ctx.measureText(text).width + 28,
          have: el.clientWidth};
}
"""
# Nothing under the root scrolls sideways.
_SIDEWAYS = """
(root) => [root, ...root.querySelectorAll('*')]
  .filter((el) => el.scrollWidth > el.clientWidth + 1
          && !['visible', 'hidden'].includes(getComputedStyle(el).overflowX))
  .map((el) => `${el.tagName}.${[...el.classList].join('.')} ${el.scrollWidth}>${el.clientWidth}`)
"""


def _fits(page: Any) -> dict[str, Any]:
    found: dict[str, Any] = page.locator(".roma-instance-select select").evaluate(_FITS)
    found["text"] = found["text"].replace("\xa0", " ")  # ipywidgets draws spaces unbreakable
    return found


@pytest.mark.parametrize("width", [1400, 900])
def test_checkboxes_and_the_state_filter_choose_what_the_preview_plans(
    voila: Server, browser: Any, width: int, tmp_path: Path
) -> None:
    context = browser.new_context(timezone_id="UTC", viewport={"width": width, "height": 1800})
    page = context.new_page()
    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    try:
        # Voilà runs the whole runbook before "load": on a loaded machine wait longer for it.
        page.goto(f"{voila.url}/", timeout=3 * FIRST_RENDER_MS, wait_until="commit")
        panel = PanelPage(page)
        expect(panel.panel).to_be_visible(timeout=3 * FIRST_RENDER_MS)

        # Item 7: the prompt, not a blank; then a FROZEN instance's warning; then full ids.
        shown = _fits(page)
        assert (shown["index"], shown["text"]) == (0, "— choose an instance —")
        frozen_id = panel.choose_instance(2)
        message = page.locator(".roma-instance-message")
        expect(message).to_contain_text("is FROZEN, not RUNNING", timeout=STEP_MS)
        instance_id = panel.choose_instance(0)
        expect(message).to_have_text("", timeout=STEP_MS)
        assert frozen_id != instance_id
        shown = _fits(page)
        assert instance_id in shown["text"] and shown["need"] <= shown["have"], shown
        chosen = page.locator(".roma-instance-chosen code")
        expect(chosen).to_have_text(instance_id)

        # Item 4: two error tasks ticked, then one running task: a click adds, never replaces.
        header = page.locator(".roma-task-select").get_by_text("Last run (UTC)")
        expect(header).to_be_visible()
        panel.filter_state("error")
        errors = [panel.tick_task(0), panel.tick_task(1)]
        panel.filter_state("running")
        running = panel.tick_task(0)
        summary = page.locator(".roma-task-selected summary")
        expect(summary).to_contain_text("Selected: 3", timeout=STEP_MS)
        expect(summary).to_contain_text("2 hidden by the filter, still selected")
        panel.filter_state("all")
        expect(summary).to_have_text("Selected: 3", timeout=STEP_MS)
        checked = panel.rows().filter(has=page.locator("input[type=checkbox]:checked"))
        expect(checked).to_have_count(3)
        assert sorted(checked.locator("code").all_inner_texts()) == sorted([*errors, running])
        states = [
            panel.rows().filter(has_text=t).locator(".roma-state").inner_text() for t in errors
        ]
        assert states == ["error", "error"]
        row = panel.rows().filter(has_text=running)
        assert row.locator(".roma-state").inner_text() == "running"
        assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d|never run", row.inner_text())

        top = page.locator(".roma-instance-picker").bounding_box()
        bottom = page.locator(".roma-task-picker").bounding_box()
        shot = tmp_path / f"task-picker-{width}.png"
        page.screenshot(
            path=str(shot),
            clip={
                "x": min(top["x"], bottom["x"]),
                "y": top["y"],
                "width": max(top["width"], bottom["width"]),
                "height": bottom["y"] + bottom["height"] - top["y"],
            },
        )
        keep_screenshot(shot, "task-picker.png" if width == 1400 else shot.name)

        assert overlapping_controls(page, ".roma-instance-picker") == []
        assert overlapping_controls(page, ".roma-task-picker") == []
        for picker in (".roma-instance-picker", ".roma-task-picker"):
            sideways = page.locator(picker).evaluate(_SIDEWAYS)
            assert sideways == [], "\n".join(sideways)

        # The preview plans exactly the ticked tasks.
        yesterday = datetime.now(ZoneInfo("UTC")) - timedelta(days=1)
        panel.type_time(yesterday.strftime("%Y-%m-%dT%H:%M"), "UTC")
        preview = panel.preview(rows=3)
        text = preview.inner_text()
        assert all(task_id in text for task_id in [*errors, running])

        # Unticking one (a click again) takes it out, and the preview is void until redone.
        panel.rows().filter(has_text=errors[0]).locator("input[type=checkbox]").click()
        expect(summary).to_have_text("Selected: 2", timeout=STEP_MS)
        expect(page.locator(".roma-preview-table")).to_contain_text(
            "changed since this preview", timeout=STEP_MS
        )
        preview = panel.preview(rows=2)
        assert errors[0] not in preview.inner_text()
        assert page_errors == []
    finally:
        context.close()
