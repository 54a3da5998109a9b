"""Loading a reviewed plan file into the runbook's panel in a real browser (Voilà, Chromium,
Playwright), as a second person approving someone's plan would: an edited file is refused with a
sentence, the plan is shown read-only with its confirmation, and Run runs exactly it.

The plan is made, as ``roma-nb rewind --export`` makes one, against the sandbox the Voilà
kernel started (its URL is shown in step 1 of the runbook; any token is accepted there), for
one running and one stopped task, so the rewind stops, resets and starts.
``ROMA_NB_SCREENSHOTS=docs`` keeps ``docs/plan-loaded.png``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser.chromium import MISSING_REASON, chromium_path, keep_screenshot
from browser.layout import overlapping_controls
from browser.panel_page import FIRST_RENDER_MS, STEP_MS, PanelPage, sandbox_endpoint, sent
from browser.servers import Server
from playwright.sync_api import expect

from roma_nb import RomaClient, TokenAuth
from roma_nb.plans import (
    Environment,
    Plan,
    Procedure,
    build_plan,
    resolve_date_from,
    where_tasks_are,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(chromium_path() is None, reason=MISSING_REASON),
]

HOUR = 3_600_000


def plan_for(sandbox: str, path: Path) -> Plan:
    """A rewind plan for a running and a stopped task of the kernel's sandbox, written to
    ``path``: tasks whose latest log ended < 40 h ago, so a move to 47 h ago replays."""
    project = httpx.get(f"{sandbox}/_sandbox/info", timeout=10).json()["project_id"]
    auth = TokenAuth("reviewer-token")
    with RomaClient(sandbox, project_id=project, auth=auth, label="SANDBOX") as client:
        instance = next(i for i in client.list_instances() if i.status == "RUNNING")
        tasks = [t for t in client.list_tasks(instance.id) if t.execute_status != "ERROR"]
        where = where_tasks_are(client, instance.id, [t.task_id for t in tasks])
        now = time.time_ns() // 1_000_000
        fresh = [t for t in tasks if (at := where[t.task_id].at_ms) and now - at < 40 * HOUR]
        chosen = [
            next(t for t in fresh if t.status == 1),
            next(t for t in fresh if t.status == 0),
        ]
        plan = build_plan(
            environment=Environment.of(client),
            instance_id=instance.id,
            instance_name=instance.name or "",
            tasks=chosen,
            date_from=resolve_date_from("now-47h", "UTC", now_ms=now),
            now_ms=now,
            procedure=Procedure.rewind(),
            positions={t.task_id: where[t.task_id] for t in chosen},
            planner="reviewer",
        )
    plan.save(path)
    return plan


def batch_actions(sandbox: str) -> list[tuple[str, str]]:
    """The stops and starts the kernel's sandbox received, in order."""
    calls = httpx.get(f"{sandbox}/_sandbox/calls", timeout=10).json()
    found = []
    for call in calls:
        if call["method"] == "POST" and call["path"].endswith("/batch-operation/tasks"):
            body = json.loads(call["body"])
            found += [(body["action_id"], item["task_id"]) for item in body["list"]]
    return found


def load(page: Any, path: Path) -> None:
    field = page.locator(".roma-plan-path input")
    field.click()
    field.fill(str(path))
    page.locator(".roma-load-plan").click()


def test_a_plan_file_is_loaded_read_only_confirmed_and_run_exactly(
    voila: Server, browser: Any, tmp_path: Path
) -> None:
    context = browser.new_context(timezone_id="UTC", viewport={"width": 1280, "height": 2600})
    page = context.new_page()
    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    try:
        page.goto(f"{voila.url}/", timeout=FIRST_RENDER_MS)
        panel = PanelPage(page)
        panel.wait_until_shown()
        sandbox = sandbox_endpoint(page)
        plan = plan_for(sandbox, tmp_path / "plan.json")
        running, stopped = (t.id for t in plan.tasks)
        status = page.locator(".roma-status")

        edited = tmp_path / "edited.json"
        edited.write_text((tmp_path / "plan.json").read_text().replace("now-47h", "now-46h"))
        load(page, edited)
        expect(status).to_contain_text("was changed after it was planned", timeout=STEP_MS)
        expect(status).to_contain_text("Nothing was sent")
        expect(page.locator(".roma-confirmation")).to_be_hidden()

        panel.set_dry_run(False)  # the runbook starts in dry-run mode
        load(page, tmp_path / "plan.json")
        confirmation = page.locator(".roma-confirmation")
        expect(confirmation).to_contain_text(plan.plan_id, timeout=STEP_MS)
        for text in ("REWIND the progress of 2 combined tasks on SANDBOX", running, stopped):
            assert text in confirmation.inner_text()
        assert "planned by:  reviewer" in confirmation.inner_text()
        hint = page.locator(".roma-hint")
        expect(hint).to_contain_text("A plan file is loaded: the choices above do not change it.")
        task_rows = page.locator(".roma-preview-table")
        expect(task_rows).to_contain_text(running)
        expect(page.locator(".roma-confirm-check input[type=checkbox]")).to_be_visible()
        expect(page.locator(".roma-run")).to_be_disabled()
        for width in (900, 1400):
            page.set_viewport_size({"width": width, "height": 2600})
            assert overlapping_controls(page) == [], f"at {width} px"
        page.set_viewport_size({"width": 1280, "height": 2600})
        shot = tmp_path / "plan-loaded.png"
        panel.panel.screenshot(path=str(shot))
        keep_screenshot(shot, "plan-loaded.png")
        page.locator(".roma-save-plan").click()  # clicked: a loaded plan is its file already
        expect(status).to_contain_text("that file is the plan", timeout=STEP_MS)
        saved_shot = tmp_path / "plan-save-refused.png"
        panel.panel.screenshot(path=str(saved_shot))
        keep_screenshot(saved_shot, "plan-save-refused.png")

        outcomes = panel.run(rows=2)
        rows = outcomes.locator("tbody tr").all_inner_texts()
        assert all("success" in row or "unverified" in row for row in rows), rows
        assert sent(sandbox) == sorted(
            (plan.instance_id, t.id, plan.date_from.ms) for t in plan.tasks
        )
        assert batch_actions(sandbox) == [("stop", running), ("start", running)]
        assert page_errors == []
    finally:
        context.close()


def test_save_plan_writes_the_previewed_plan_with_where_each_task_is(
    voila: Server, browser: Any, tmp_path: Path
) -> None:
    """Save plan, clicked after a preview: the status names the saved file's plan_id, nothing
    is sent, and the file records where each task was at the preview (as ``rewind --export``
    does), so ``apply`` can warn when a task has moved since."""
    context = browser.new_context(timezone_id="UTC", viewport={"width": 1280, "height": 2600})
    page = context.new_page()
    try:
        page.goto(f"{voila.url}/", timeout=FIRST_RENDER_MS)
        panel = PanelPage(page)
        panel.wait_until_shown()
        sandbox = sandbox_endpoint(page)
        panel.choose_instance(0)
        task_ids = panel.choose_tasks(2, state="running")
        panel.type_time("2024-05-01T02:00", "UTC")
        panel.preview(rows=2)
        path = tmp_path / "from-the-panel.json"
        field = page.locator(".roma-plan-path input")
        field.click()
        field.fill(str(path))
        page.locator(".roma-save-plan").click()
        status = page.locator(".roma-status")
        expect(status).to_contain_text(f"saved to {path}", timeout=STEP_MS)
        saved = Plan.load(path)
        expect(status).to_contain_text(f"Plan {saved.plan_id[:16]}…")
        assert [t.id for t in saved.tasks] == task_ids
        assert all(t.position.at_ms is not None for t in saved.tasks)
        assert all(saved.move(t).direction == "replay" for t in saved.tasks)
        assert sent(sandbox) == [] and batch_actions(sandbox) == []
        for width in (900, 1400):
            page.set_viewport_size({"width": width, "height": 2600})
            assert overlapping_controls(page) == [], f"at {width} px"
        page.set_viewport_size({"width": 1280, "height": 2600})
        shot = tmp_path / "plan-saved.png"
        panel.panel.screenshot(path=str(shot))
        keep_screenshot(shot, "plan-saved.png")
    finally:
        context.close()
