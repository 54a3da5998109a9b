"""``ResetPanel``'s Load plan, driven through its child widgets against the sandbox: a plan file
is shown read-only with its confirmation, Run runs exactly it, and a refused file is said in
sentences in the status line (not as a traceback), with nothing sent."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from plan_files import check_rewound, make_plan, recent, writes

from roma_nb.client import RomaClient
from roma_nb.history import ResultLog
from roma_nb.plans import Plan, Position, where_tasks_are
from roma_nb.sandbox import Sandbox
from roma_nb.widgets import ResetPanel

pytestmark = pytest.mark.usefixtures("fresh_instance_memory")


@pytest.fixture
def panel(client: RomaClient) -> ResetPanel:
    return ResetPanel(client, log=ResultLog(), background=False, dry_run=False)


def test_load_plan_shows_it_read_only_and_run_runs_exactly_it(
    panel: ResetPanel, client: RomaClient, roma_sandbox: Sandbox, tmp_path: Path
) -> None:
    running = recent(roma_sandbox, client, running=True)
    stopped = recent(roma_sandbox, client, running=False)
    plan = make_plan(client, [running, stopped], tmp_path / "plan.json")
    roma_sandbox.clear_records()

    panel.plan_path.value = str(tmp_path / "plan.json")
    panel.load_button.click()
    assert panel.errors == []
    assert plan.plan_id in panel.confirmation_html.value
    assert "REWIND the progress of 2 combined tasks on SANDBOX" in panel.confirmation_html.value
    rows = panel.preview_html.value  # one compact row per task
    assert running.task_id in rows and stopped.task_id in rows
    assert panel.run_button.disabled  # the confirmation is not ticked yet
    for tick in panel.warning_ticks.children:
        tick.value = True
    panel.confirm_box.value = True
    assert not panel.run_button.disabled
    assert writes(roma_sandbox) == []

    panel.run_button.click()
    assert panel.errors == []
    check_rewound(writes(roma_sandbox), running.task_id, stopped.task_id)
    assert set(panel.results["plan_id"]) == {plan.plan_id}
    assert "Done: 2 success." in panel.status.value


def test_a_refused_plan_file_is_said_in_sentences_and_nothing_is_sent(
    panel: ResetPanel, client: RomaClient, roma_sandbox: Sandbox, tmp_path: Path
) -> None:
    stopped = recent(roma_sandbox, client, running=False)
    path = tmp_path / "plan.json"
    make_plan(client, [stopped], path)
    path.write_bytes(path.read_bytes().replace(b'"now-47h"', b'"now-46h"'))
    roma_sandbox.clear_records()

    panel.plan_path.value = str(path)
    panel.load_button.click()
    assert panel.errors == []
    assert "was changed after it was planned" in panel.status.value
    assert "Traceback" not in panel.status.value
    assert panel.confirmation_html.value == "" and panel.run_button.disabled
    panel.plan_path.value = str(tmp_path / "missing.json")
    panel.load_button.click()
    assert "Cannot read the plan file" in panel.status.value
    assert writes(roma_sandbox) == []


def test_a_plan_loaded_after_a_refused_file_is_shown_without_that_refusal_under_its_choices(
    panel: ResetPanel, client: RomaClient, roma_sandbox: Sandbox, tmp_path: Path
) -> None:
    """The refusal of an edited file stays in the output until a good file loads: below the
    good plan's confirmation it would read as this plan's refusal (docs/plan-loaded.png)."""
    stopped = recent(roma_sandbox, client, running=False)
    good = tmp_path / "plan.json"
    plan = make_plan(client, [stopped], good)
    edited = tmp_path / "edited.json"
    edited.write_bytes(good.read_bytes().replace(b'"now-47h"', b'"now-46h"'))

    panel.plan_path.value = str(edited)
    panel.load_button.click()
    shown = "".join(str(out.get("text", "")) for out in panel.output.outputs)
    assert "was changed after it was planned" in shown

    panel.plan_path.value = str(good)
    panel.load_button.click()
    assert plan.plan_id in panel.confirmation_html.value
    shown = "".join(str(out.get("text", "")) for out in panel.output.outputs)
    assert "was changed after it was planned" not in shown
    assert "loaded from" in panel.status.value
    # The pickers above show the plan's choices: nothing there says "nothing can be sent".
    assert panel.model.selection.instance_id == plan.instance_id
    assert panel.model.selection.task_ids == (stopped.task_id,)
    assert str(plan.date_from.ms) in panel.date_picker.live.value
    assert "nothing can be sent" not in panel.date_picker.live.value
    assert "roma-message-error" not in panel.date_picker.messages.value


def test_a_previewed_plan_is_saved_for_review_and_loads_back_as_the_same_plan(
    panel: ResetPanel, client: RomaClient, roma_sandbox: Sandbox, tmp_path: Path
) -> None:
    """Issue 15, item 1: a plan from the panel is written as a plan file (nothing sent); a
    second person's panel loads exactly it."""
    running = recent(roma_sandbox, client, running=True)
    stopped = recent(roma_sandbox, client, running=False)
    path = tmp_path / "from-panel.json"
    panel.plan_path.value = str(path)
    panel.save_button.click()  # before a preview: nothing to save, said in words
    assert "Preview the plan first" in panel.status.value and not path.exists()

    panel.select(
        instance_id=running.instance_id,
        task_ids=[running.task_id, stopped.task_id],
        date_from=datetime.now(timezone.utc) - timedelta(hours=47),  # replays, within retention
    )
    panel.preview()
    roma_sandbox.clear_records()
    panel.save_button.click()
    assert panel.errors == []
    previewed = panel.model.previewed
    assert previewed is not None and path.exists()
    assert f"saved to {path}" in panel.status.value
    saved = Plan.load(path)
    unplaced = tuple(replace(task, position=Position()) for task in saved.tasks)
    assert replace(saved, tasks=unplaced) == previewed.plan  # the previewed plan, with positions
    assert f"Plan {saved.plan_id[:16]}… saved" in panel.status.value
    assert [t.id for t in saved.tasks] == [running.task_id, stopped.task_id]
    # Where each task was, as ``roma-nb rewind --export`` writes it, so ``apply`` can warn
    # when a task has moved past the instant since it was planned.
    where = where_tasks_are(client, running.instance_id, [t.id for t in saved.tasks])
    assert [t.position for t in saved.tasks] == [where[t.id] for t in saved.tasks]
    assert all(t.position.at_ms is not None for t in saved.tasks)
    assert writes(roma_sandbox) == []
    panel.save_button.click()  # a reviewed file is never overwritten
    assert "already exists" in panel.status.value

    reviewer = ResetPanel(client, log=ResultLog(), background=False, dry_run=False)
    loaded = reviewer.load_plan(str(path))
    assert loaded.plan.plan_id == saved.plan_id
    assert reviewer.errors == []
