"""The reset panel as a page: what a person does with it, step by step, through Playwright.

Every locator uses the panel's stable CSS classes (``roma-...``, see ``roma_nb.widgets``), and
every step waits for the kernel's answer to show before the next one: a widget change travels
to the kernel and back, and reading the page too early reads the previous state.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import expect

__all__ = ["FIRST_RENDER_MS", "RUNBOOK", "STEP_MS", "PanelPage", "sandbox_endpoint", "sent"]

RUNBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "reset_combined_task.ipynb"

FIRST_RENDER_MS = 60_000  # a kernel start and a notebook run on a loaded 2-core machine
STEP_MS = 30_000

_ID_IN_LABEL = re.compile(r"\(([^()]+)\)\s*$")
_ENDPOINT = re.compile(r"http://127\.0\.0\.1:\d+")


def sandbox_endpoint(page: Any) -> str:
    """The embedded sandbox's URL, as step 1 of the runbook shows it."""
    found = _ENDPOINT.search(page.locator("body").inner_text())
    assert found is not None, "step 1 of the runbook shows the endpoint"
    return found.group(0)


def sent(sandbox: str) -> list[tuple[str, str, int | None]]:
    """What the kernel's sandbox recorded, from its control plane."""
    records = httpx.get(f"{sandbox}/_sandbox/resets", timeout=10).json()
    return sorted((r["instance_id"], r["task_id"], r["date_from"]) for r in records)


class PanelPage:
    """One ``ResetPanel`` on a Playwright ``page``."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.panel = page.locator(".roma-reset-panel")

    def wait_until_shown(self) -> None:
        expect(self.panel).to_be_visible(timeout=FIRST_RENDER_MS)

    def banner(self) -> str:
        text: str = self.page.locator(".roma-env-banner").inner_text()
        return text

    def choose_instance(self, index: int) -> str:
        """Pick the instance at ``index`` among the real options; returns its id."""
        select = self.page.locator(".roma-instance-select select")
        labels = [t for t in select.locator("option").all_text_contents() if _ID_IN_LABEL.search(t)]
        label = labels[index]
        select.select_option(label=label)
        expect(self.page.locator(".roma-task-select select option").first).to_be_attached(
            timeout=STEP_MS
        )
        match = _ID_IN_LABEL.search(label)
        assert match is not None
        return match.group(1)

    def choose_tasks(self, count: int) -> list[str]:
        """Select the first ``count`` listed tasks; returns their ids (second field of a label)."""
        select = self.page.locator(".roma-task-select select")
        labels = select.locator("option").all_text_contents()[:count]
        select.select_option(label=labels)
        ids = [label.replace("\xa0", " ").split(" · ")[1] for label in labels]
        summary = self.page.locator(".roma-task-selected")
        for task_id in ids:
            expect(summary).to_contain_text(task_id, timeout=STEP_MS)
        return ids

    def type_time(self, digits: str, zone: str) -> None:
        """Type a wall time into the picker and choose the zone it is read in."""
        self.page.locator(".roma-date-input input[type=datetime-local]").fill(digits)
        zone_input = self.page.locator(".roma-date-zone input")
        zone_input.fill(zone)
        zone_input.press("Enter")

    def expect_instant(self, ms: int) -> None:
        expect(self.page.locator(".roma-date-live")).to_contain_text(str(ms), timeout=STEP_MS)

    def set_dry_run(self, dry_run: bool) -> None:
        box = self.page.locator(".roma-dry-run input[type=checkbox]")
        if box.is_checked() != dry_run:
            box.set_checked(dry_run)
        expect(box).to_be_checked(checked=dry_run)

    def preview(self, rows: int) -> Any:
        self.page.locator(".roma-preview").click()
        table = self.page.locator(".roma-preview-table table")
        expect(table.locator("tbody tr")).to_have_count(rows, timeout=STEP_MS)
        return table

    def confirm(self) -> Any:
        self.page.locator(".roma-confirm").click()
        confirmation = self.page.locator(".roma-confirmation")
        expect(confirmation).to_be_visible(timeout=STEP_MS)
        box = self.page.locator(".roma-confirm-check input[type=checkbox]")
        expect(box).to_be_visible(timeout=STEP_MS)
        return confirmation

    def preview_and_confirm(self, rows: int) -> Any:
        self.preview(rows)
        return self.confirm()

    def tick_warnings(self) -> int:
        """Click each warning's own tick (Run stays disabled until all are ticked); how many."""
        ticks = self.page.locator(".roma-warning-tick input[type=checkbox]")
        run = self.page.locator(".roma-run")
        count: int = ticks.count()
        for index in range(count):
            expect(run).to_be_disabled(timeout=STEP_MS)
            ticks.nth(index).click()
            expect(ticks.nth(index)).to_be_checked(timeout=STEP_MS)
        return count

    def run(self, rows: int) -> Any:
        self.page.locator(".roma-confirm-check input[type=checkbox]").check()
        self.tick_warnings()
        run = self.page.locator(".roma-run")
        expect(run).to_be_enabled(timeout=STEP_MS)
        run.click()
        table = self.page.locator(".roma-results-table table")
        expect(table.locator("tbody tr")).to_have_count(rows, timeout=STEP_MS)
        return table
