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
REWIND_MS = 180_000  # stops and starts that take their time, then the verification

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
        match = _ID_IN_LABEL.search(label)
        assert match is not None
        expect(self.page.locator(".roma-instance-chosen")).to_contain_text(
            match.group(1), timeout=STEP_MS
        )
        name = label.replace("\xa0", " ").split(" [")[0].split(" (")[0]
        info = self.page.locator(".roma-task-info")
        expect(info).to_contain_text(f"combined tasks in instance {name}", timeout=STEP_MS)
        expect(self.rows().first).to_be_visible(timeout=STEP_MS)
        return match.group(1)

    def rows(self) -> Any:
        """The task list's rows (checkbox, name, id, state, last run)."""
        return self.page.locator(".roma-task-row")

    def filter_state(self, state: str) -> int:
        """Click the state filter's button for ``state`` ("all", "running", ...) and wait until
        the list shows only that state; returns how many rows it shows."""
        button = self.page.locator(".roma-task-state button", has_text=f"{state.capitalize()} (")
        count = int(re.sub(r"\D", "", button.inner_text()))
        button.click()
        expect(button).to_have_class(re.compile(r"mod-active"), timeout=STEP_MS)
        shown = min(count, 500)
        expect(self.rows()).to_have_count(shown, timeout=STEP_MS)
        if state != "all":
            expect(self.rows().locator(f".roma-state-{state}")).to_have_count(shown)
        return shown

    def tick_task(self, index: int) -> str:
        """Click the checkbox of the shown row ``index``; returns that task's id once the
        selection summary names it."""
        row = self.rows().nth(index)
        task_id: str = row.locator("code").inner_text().strip()
        row.locator(".roma-task-row-check input[type=checkbox]").click()
        expect(self.page.locator(".roma-task-selected")).to_contain_text(task_id, timeout=STEP_MS)
        return task_id

    def choose_tasks(self, count: int, *, state: str | None = None) -> list[str]:
        """Tick the first ``count`` listed tasks (after clicking the state filter on ``state``,
        e.g. "running", when given); returns their ids."""
        if state is not None:
            assert self.filter_state(state) >= count, f"not {count} {state} tasks listed"
        ids = [self.tick_task(index) for index in range(count)]
        expect(self.page.locator(".roma-task-selected summary")).to_contain_text(
            f"Selected: {count}", timeout=STEP_MS
        )
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
        """Tick, Run, and wait for the outcome per task (``rows`` tasks); returns that table."""
        self.page.locator(".roma-confirm-check input[type=checkbox]").check()
        self.tick_warnings()
        run = self.page.locator(".roma-run")
        expect(run).to_be_enabled(timeout=STEP_MS)
        run.click()
        table = self.page.locator(".roma-outcomes-table table")
        expect(table.locator("tbody tr")).to_have_count(rows, timeout=REWIND_MS)
        return table

    def choose_procedure(self, label: str) -> None:
        select = self.page.locator(".roma-procedure select")
        select.select_option(label=label)
        expect(select).to_have_value(label)  # ipywidgets: an option's value is its label

    def left_stopped(self) -> Any:
        """The red banner of tasks a rewind left stopped (visible or not)."""
        return self.page.locator(".roma-left-stopped")
