"""``ResetPanel``'s preview, confirmation and results as a person decides with them (issue 14,
items 5 and 6), in plain pytest against the sandbox's default: a raw reset of a running task is
refused (FDI.3023), which gives a run with failed tasks to re-run.

Selections are made with ``panel.select`` (the pickers have their own tests); buttons are
clicked; assertions are on what the panel shows and what the sandbox recorded.
"""

from __future__ import annotations

import pytest

from roma_nb.client import RomaClient
from roma_nb.dates import to_epoch_ms
from roma_nb.panel import PanelError
from roma_nb.sandbox import Sandbox
from roma_nb.widgets import ResetPanel

pytestmark = pytest.mark.usefixtures("fresh_instance_memory")

NOW = to_epoch_ms("2026-06-01T12:00:00Z")
DAY = 86_400_000


def tasks_of(sandbox: Sandbox, *, running: int, stopped: int) -> tuple[str, list[str], list[str]]:
    """The first instance's id, and that many running and stopped combined task ids."""
    instance = sandbox.state.instances[0].id
    combined = sandbox.state.combined_tasks(instance)
    on = [t.task_id for t in combined if t.status == 1][:running]
    off = [t.task_id for t in combined if t.status != 1][:stopped]
    return instance, on, off


def make_panel(client: RomaClient, instance: str, task_ids: list[str]) -> ResetPanel:
    panel = ResetPanel(client, background=False, tz="Asia/Shanghai", dry_run=False)
    panel.procedure_choice.value = "reset"
    panel.select(instance_id=instance, task_ids=task_ids, date_from=NOW - 3_600_000)
    return panel


def confirm_and_run(panel: ResetPanel) -> None:
    panel.preview_button.click()
    panel.confirm_button.click()
    for tick in panel.warning_ticks.children:
        tick.value = True
    panel.confirm_box.value = True
    panel.run_button.click()


def test_the_preview_is_one_compact_row_per_task_with_the_requests_behind_a_toggle(
    client: RomaClient, roma_sandbox: Sandbox
) -> None:
    instance, on, off = tasks_of(roma_sandbox, running=1, stopped=2)
    panel = make_panel(client, instance, on + off)
    panel.preview_button.click()
    shown = panel.preview_html.value
    assert shown.count("<tr>") == 1 + 3
    assert all(f"{task_id}</code>" in shown for task_id in on + off)  # whole, copyable
    assert "last run (Asia/Shanghai)" in shown and "what will happen" in shown
    assert "POST" not in shown and "/reset" not in shown
    details = panel.details_html.value
    assert details.startswith("<details><summary>Details: the 3 requests as sent")
    assert all(f"/multi-tasks/{task_id}/reset" in details for task_id in on + off)
    rows = panel.model.task_rows()
    assert rows["task_id"].tolist() == on + off
    assert rows["state"].tolist() == ["running", "stopped", "stopped"]


def test_the_confirmation_lists_every_task_and_the_facts_it_confirms(
    client: RomaClient, roma_sandbox: Sandbox
) -> None:
    instance, _on, off = tasks_of(roma_sandbox, running=0, stopped=3)
    panel = make_panel(client, instance, off)
    panel.preview_button.click()
    panel.confirm_button.click()
    shown = panel.confirmation_html.value
    assert "tasks (3):" in shown and shown.count("<tr>") == 5 + 1 + 3  # facts, header, tasks
    assert all(f"{task_id}</code>" in shown for task_id in off)
    assert "2026-06-01T11:00:00Z = 2026-06-01 19:00:00 CST (+08:00)" in shown


def test_a_new_preview_clears_the_last_runs_notices(
    client: RomaClient, roma_sandbox: Sandbox
) -> None:
    instance, on, off = tasks_of(roma_sandbox, running=1, stopped=1)
    panel = make_panel(client, instance, on + off)
    confirm_and_run(panel)
    assert any(n.startswith("FAILED") for n in panel.sink.notices)
    assert panel.output.outputs and "Done" in panel.status.value
    panel.preview_button.click()
    assert panel.output.outputs == () and panel.status.value == ""
    assert panel.in_flight_html.value == ""


def test_rerun_skipped_and_failed_goes_back_to_the_confirmation_with_its_count(
    client: RomaClient, roma_sandbox: Sandbox
) -> None:
    instance, on, off = tasks_of(roma_sandbox, running=2, stopped=1)
    panel = make_panel(client, instance, on + off)
    assert panel.rerun_button.disabled
    assert panel.rerun_button.description == "Re-run skipped / failed (0)"
    confirm_and_run(panel)
    assert [r.outcome for r in panel.model.last_results] == ["failed", "failed", "success"]
    assert panel.rerun_button.description == "Re-run skipped / failed (2)"
    assert not panel.rerun_button.disabled
    assert panel.retry_button.description == "Retry unknown (0)" and panel.retry_button.disabled
    last = panel.model.last_plan
    assert last is not None
    panel.select(date_from=NOW - DAY)  # the picker moved on meanwhile

    panel.rerun_button.click()
    assert panel.errors == []
    assert panel.model.task_ids == tuple(on)
    assert panel.model.resolution().ms == last.date_from  # the instant of the run re-run
    shown = panel.confirmation_html.value
    assert "tasks (2):" in shown and all(task_id in shown for task_id in on)
    assert off[0] not in shown
    assert panel.confirm_box.layout.display is None and not panel.confirm_box.value
    assert panel.run_button.disabled  # read and tick again: nothing runs by itself
    assert [r.task_id for r in roma_sandbox.resets] == off


def test_rerun_with_nothing_to_rerun_says_so(client: RomaClient, roma_sandbox: Sandbox) -> None:
    instance, _on, off = tasks_of(roma_sandbox, running=0, stopped=1)
    panel = make_panel(client, instance, off)
    with pytest.raises(PanelError, match="Nothing to re-run"):
        panel.model.select_rerun()
    panel.rerun_button.click()  # a stale click: said in the output, nothing selected
    assert "Nothing to re-run" in panel.output.outputs[-1]["text"]
    assert panel.model.task_ids == tuple(off)


def test_results_show_labels_sentences_and_times_in_the_zone(
    client: RomaClient, roma_sandbox: Sandbox
) -> None:
    instance, on, off = tasks_of(roma_sandbox, running=1, stopped=1)
    panel = make_panel(client, instance, on + off)
    confirm_and_run(panel)
    results = panel.results_html.value
    assert "Results (newest first; times in Asia/Shanghai)" in results
    assert results.count('class="roma-label"') == 2
    assert "+08:00" in results and "FDI.3023" in results
    assert "&lt;NA&gt;" not in results and "NaT" not in results and ">nan<" not in results
    outcomes = panel.outcomes_html.value
    assert outcomes.count('class="roma-label"') == 2  # a raw reset: its outcome, nothing more
