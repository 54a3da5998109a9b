"""Deciding with the panel, clicked in a real browser (issue 14, items 5-7).

Voilà serves the runbook as ``make demo`` does; each test loads it (a new kernel, a new
sandbox), picks tasks, and clicks as a person would: each warning's own tick gates Run, a run
with refused tasks offers "Re-run skipped / failed (n)" which goes back to the confirmation, a
dropped request offers "Retry unknown (n)", and a slow one shows how long it has been waiting.
At 900 and 1400 px nothing scrolls sideways and no two controls overlap.

``ROMA_NB_SCREENSHOTS=docs`` keeps ``preview.png``, ``confirmation.png`` and ``results.png``
there (the README's pictures).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser.chromium import MISSING_REASON, chromium_path, keep_screenshot
from browser.layout import overlapping_controls, sideways_scrolling
from browser.panel_page import (
    FIRST_RENDER_MS,
    REWIND_MS,
    STEP_MS,
    PanelPage,
    sandbox_endpoint,
    sent,
)
from browser.servers import Server
from playwright.sync_api import expect

from roma_nb.panel import PROCEDURES

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(chromium_path() is None, reason=MISSING_REASON),
]


@pytest.fixture
def page(browser: Any, voila: Server) -> Iterator[Any]:
    context = browser.new_context(timezone_id="UTC", viewport={"width": 1280, "height": 2400})
    page = context.new_page()
    page.goto(f"{voila.url}/", timeout=FIRST_RENDER_MS)
    try:
        yield page
    finally:
        context.close()


def fits(page: Any) -> None:
    """Nothing scrolls sideways and nothing overlaps, in a narrow and a wide window."""
    for width in (900, 1400):
        page.set_viewport_size({"width": width, "height": 2400})
        page.wait_for_timeout(300)  # the new width is laid out before it is measured
        scrolling = sideways_scrolling(page)
        overlaps = overlapping_controls(page)
        assert scrolling == [] and overlaps == [], f"at {width} px: {scrolling + overlaps}"
    page.set_viewport_size({"width": 1280, "height": 2400})


def shoot(page: Any, selectors: list[str], path: Path) -> None:
    """One picture of the visible parts named by ``selectors`` (their union), kept as
    ``path.name`` when ``ROMA_NB_SCREENSHOTS`` is set."""
    page.locator(selectors[0]).first.evaluate("(el) => el.scrollIntoView()")
    page.wait_for_timeout(300)  # the scroll settles before the boxes are read
    boxes = [
        box
        for selector in selectors
        for box in [page.locator(selector).first.bounding_box()]
        if box is not None and box["height"] > 0
    ]
    left, top = min(b["x"] for b in boxes), min(b["y"] for b in boxes)
    right = max(b["x"] + b["width"] for b in boxes)
    bottom = max(b["y"] + b["height"] for b in boxes)
    clip = {"x": left, "y": top, "width": right - left, "height": bottom - top}
    page.screenshot(path=str(path), clip=clip)
    keep_screenshot(path, path.name)


def wall(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M")


def test_each_warning_tick_gates_run_and_rerun_goes_back_to_the_confirmation(
    page: Any, tmp_path: Path
) -> None:
    """A raw reset of running tasks to a time older than the retention: two warnings, each
    with its own tick. The sandbox refuses a running task's reset, so those end ``failed``;
    "Re-run skipped / failed (2)" selects exactly them and shows the confirmation again."""
    panel = PanelPage(page)
    panel.wait_until_shown()
    sandbox = sandbox_endpoint(page)
    panel.choose_instance(0)
    panel.choose_procedure(PROCEDURES["reset"])
    running = panel.choose_tasks(2, state="running")
    panel.type_time(wall(datetime.now(timezone.utc) - timedelta(days=30)), "UTC")
    panel.set_dry_run(False)

    table = panel.preview(rows=2)
    rows = table.locator("tbody tr")
    for index, task_id in enumerate(running):
        expect(rows.nth(index)).to_contain_text(task_id)  # the whole id, never cut
        expect(rows.nth(index)).to_contain_text("running")
        expect(rows.nth(index)).to_contain_text(re.compile(r"replays \d+ days"))
    assert "…" not in table.inner_text()
    details = page.locator(".roma-preview-details details")
    expect(details).to_contain_text("Details: the 2 requests as sent")
    expect(details.locator("table")).to_be_hidden()  # the request path waits behind its toggle
    fits(page)
    shoot(page, [".roma-steps-table", ".roma-preview-table", ".roma-preview-details"],
          tmp_path / "preview.png")  # fmt: skip
    details.locator("summary").click()
    expect(details.locator("table")).to_be_visible()
    expect(details).to_contain_text(f"/multi-tasks/{running[0]}/reset")

    confirmation = panel.confirm()
    for task_id in running:
        expect(confirmation.locator("tbody tr", has_text=task_id)).to_be_visible()
    ticks = page.locator(".roma-warning-tick input[type=checkbox]")
    expect(ticks).to_have_count(2)
    expect(page.locator(".roma-warning-tick").nth(0)).to_contain_text("retention")
    expect(page.locator(".roma-warning-tick").nth(1)).to_contain_text("running")
    fits(page)
    shoot(page, [".roma-confirmation", ".roma-warning-ticks", ".roma-confirm-check",
                 ".roma-run"], tmp_path / "confirmation.png")  # fmt: skip

    run = page.locator(".roma-run")
    page.locator(".roma-confirm-check input[type=checkbox]").click()
    expect(run).to_be_disabled()
    ticks.nth(0).click()
    expect(run).to_be_disabled()  # one warning is still unticked
    ticks.nth(1).click()
    expect(run).to_be_enabled(timeout=STEP_MS)
    ticks.nth(0).click()  # unticking any warning disables Run again
    expect(run).to_be_disabled(timeout=STEP_MS)
    ticks.nth(0).click()
    expect(run).to_be_enabled(timeout=STEP_MS)
    run.click()

    outcomes = page.locator(".roma-outcomes-table table tbody tr")
    expect(outcomes).to_have_count(2, timeout=STEP_MS)
    expect(outcomes.filter(has_text="failed")).to_have_count(2)
    rerun = page.locator(".roma-rerun")
    expect(rerun).to_have_text("Re-run skipped / failed (2)")
    expect(rerun).to_be_enabled()
    expect(page.locator(".roma-retry-unknown")).to_have_text("Retry unknown (0)")
    expect(page.locator(".roma-retry-unknown")).to_be_disabled()
    results = page.locator(".roma-results-table")
    expect(results).to_contain_text("Results (newest first; times in UTC)")
    assert "<NA>" not in results.inner_text() and "NaT" not in results.inner_text()
    fits(page)
    shoot(page, [".roma-status", ".roma-retry-unknown", ".roma-outcomes-table",
                 ".roma-results-table"], tmp_path / "results.png")  # fmt: skip
    assert sent(sandbox) == []  # both refused: the sandbox keeps only resets it accepted

    rerun.click()
    confirmation = page.locator(".roma-confirmation")
    expect(confirmation).to_contain_text("tasks (2):", timeout=STEP_MS)
    for task_id in running:
        expect(confirmation).to_contain_text(task_id)
    expect(page.locator(".roma-confirm-check input[type=checkbox]")).not_to_be_checked()
    expect(run).to_be_disabled()


def test_retry_unknown_shows_its_count_and_a_slow_request_its_wait(
    page: Any, tmp_path: Path
) -> None:
    """Two stopped tasks: the first's reset answers after 6 s (the in-flight line counts the
    seconds), the second's is dropped (``unknown``): "Retry unknown (1)" re-sends it."""
    panel = PanelPage(page)
    panel.wait_until_shown()
    sandbox = sandbox_endpoint(page)
    instance_id = panel.choose_instance(0)
    panel.choose_procedure(PROCEDURES["reset"])
    slow, dropped = panel.choose_tasks(2, state="stopped")
    when = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(hours=3)
    panel.type_time(wall(when), "UTC")
    panel.set_dry_run(False)
    panel.preview(rows=2)
    panel.confirm()
    for fault in (
        {"kind": "slow", "match": f"{slow}/reset", "delay_s": 6},
        {"kind": "drop", "match": f"{dropped}/reset"},
    ):
        httpx.post(f"{sandbox}/_sandbox/faults", json=fault, timeout=10).raise_for_status()
    page.locator(".roma-confirm-check input[type=checkbox]").click()
    panel.tick_warnings()  # a time after a task's last run skips changes: a warning to tick
    page.locator(".roma-run").click()

    waiting = page.locator(".roma-in-flight")
    expect(waiting).to_contain_text(re.compile(rf"{slow}\): reset, [2-9] s"), timeout=STEP_MS)
    outcomes = page.locator(".roma-outcomes-table table tbody tr")
    expect(outcomes).to_have_count(2, timeout=STEP_MS)
    expect(waiting).to_have_text("")
    expect(outcomes.filter(has_text=dropped)).to_contain_text("unknown")
    retry = page.locator(".roma-retry-unknown")
    expect(retry).to_have_text("Retry unknown (1)")
    expect(retry).to_be_enabled()
    expect(page.locator(".roma-rerun")).to_have_text("Re-run skipped / failed (0)")

    retry.click()
    expect(retry).to_have_text("Retry unknown (0)", timeout=STEP_MS)
    expect(retry).to_be_disabled()
    expect(outcomes.filter(has_text=dropped)).to_contain_text("success")
    when_ms = int(when.timestamp()) * 1000
    assert (instance_id, dropped, when_ms) in sent(sandbox)
    rows = page.locator(".roma-results-table tbody tr").all_inner_texts()
    assert dropped in rows[0] and "success" in rows[0]  # the retry, newest first


def test_a_throttled_rewind_says_how_long_its_reset_step_still_takes(
    page: Any, tmp_path: Path
) -> None:
    """A rewind of two running tasks whose resets the gateway throttles (429 with a 5 s
    ``Retry-After``, four times): while the reset step waits, the in-flight line says the batch is
    throttled and about how long is left; the controls still fit; then both tasks run again."""
    panel = PanelPage(page)
    panel.wait_until_shown()
    sandbox = sandbox_endpoint(page)
    instance_id = panel.choose_instance(0)
    panel.choose_procedure(PROCEDURES["rewind"])
    running = panel.choose_tasks(2, state="running")
    when = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(hours=3)
    panel.type_time(wall(when), "UTC")
    panel.set_dry_run(False)
    panel.preview(rows=2)
    panel.confirm()
    fault = {"kind": "throttle", "times": 4, "retry_after": 5, "method": "POST", "match": "/reset"}
    httpx.post(f"{sandbox}/_sandbox/faults", json=fault, timeout=10).raise_for_status()
    page.locator(".roma-confirm-check input[type=checkbox]").click()
    panel.tick_warnings()
    page.locator(".roma-run").click()

    waiting = page.locator(".roma-in-flight")
    expect(waiting).to_contain_text(
        re.compile(r"the batch is throttled by the gateway, about \d+ s left"), timeout=STEP_MS
    )
    shoot(page, [".roma-status", ".roma-progress", ".roma-in-flight"],
          tmp_path / "rewind-throttled.png")  # fmt: skip
    fits(page)

    outcomes = page.locator(".roma-outcomes-table table tbody tr")
    expect(outcomes).to_have_count(2, timeout=REWIND_MS)
    expect(waiting).to_have_text("")
    for task_id in running:
        expect(outcomes.filter(has_text=task_id)).to_contain_text(re.compile("success|unverified"))
    when_ms = int(when.timestamp()) * 1000
    assert sent(sandbox) == sorted((instance_id, task_id, when_ms) for task_id in running)
