"""``ResetPanel`` rewinding, through its child widgets, against the sandbox's default (a reset of
a running task is refused): Run rewinds by default, the preview and the confirmation name each
task's steps, the results show each task's outcome, and the red banner lists the tasks a rewind
left stopped until "Start them again" starts them."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from roma_nb import RomaClient, TokenAuth
from roma_nb.history import ResultLog
from roma_nb.sandbox import Sandbox
from roma_nb.sandbox.data import TaskRow
from roma_nb.widgets import ResetPanel

pytestmark = pytest.mark.usefixtures("fresh_instance_memory")


@pytest.fixture
def sandbox(roma_sandbox_factory: Callable[..., Sandbox]) -> Sandbox:
    return roma_sandbox_factory(refuse_running=True, stop_delay_ms=50, start_delay_ms=50)


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[RomaClient]:
    with RomaClient(
        sandbox.url, project_id=sandbox.project_id, auth=TokenAuth(sandbox.token), label="SANDBOX"
    ) as client:
        yield client


def _running(sandbox: Sandbox, count: int) -> list[TaskRow]:
    instance = sandbox.state.instances[0].id
    tasks = [
        t
        for t in sandbox.state.combined_tasks(instance)
        if t.status == 1 and t.execute_status != "ERROR"
    ]
    return tasks[:count]


def _pick(panel: ResetPanel, tasks: list[TaskRow]) -> None:
    dropdown = panel.instance_picker.dropdown
    dropdown.value = tasks[0].instance_id
    panel.task_picker.select.value = tuple(t.task_id for t in tasks)
    panel.date_picker.hour_ago_button.click()


def _confirm_and_run(panel: ResetPanel) -> None:
    panel.preview_button.click()
    panel.confirm_button.click()
    for tick in panel.warning_ticks.children:
        tick.value = True
    panel.confirm_box.value = True
    panel.run_button.click()


def test_run_rewinds_and_shows_each_tasks_outcome(client: RomaClient, sandbox: Sandbox) -> None:
    tasks = _running(sandbox, 2)
    panel = ResetPanel(client, background=False, dry_run=False)
    assert panel.procedure_choice.value == "rewind"
    assert panel.left_stopped_box.layout.display == "none"
    _pick(panel, tasks)
    panel.preview_button.click()
    assert "stop 2 running tasks, reset 2, start them again, verify" in panel.steps_html.value
    rows = panel.model.task_rows()  # one compact row per task, its steps in words (issue 14)
    assert rows["will_happen"].str.startswith("stop, reset, start again, verify; ").all()
    assert panel.preview_html.value.count("stop, reset, start again, verify") == 2
    panel.confirm_button.click()
    assert "Rewind (stop, reset, start, verify)" in panel.confirmation_html.value
    assert "stops, resets and starts to the SANDBOX" in panel.confirmation_html.value
    _confirm_and_run(panel)
    assert panel.errors == []
    outcomes = panel.model.outcomes()["outcome"].tolist()
    assert set(outcomes) <= {"success", "unverified"} and len(outcomes) == 2
    assert "Outcome per task" in panel.outcomes_html.value
    assert all(t.task_id in panel.outcomes_html.value for t in tasks)
    assert panel.progress_bar.value == panel.progress_bar.max
    assert sorted(r.task_id for r in sandbox.resets) == sorted(t.task_id for t in tasks)


def test_the_banner_lists_a_task_left_stopped_until_it_is_started_again(
    client: RomaClient, sandbox: Sandbox
) -> None:
    [task] = _running(sandbox, 1)
    sandbox.inject("start_fails", match=task.task_id)
    log = ResultLog()
    panel = ResetPanel(client, log=log, background=False, dry_run=False)
    _pick(panel, [task])
    _confirm_and_run(panel)
    assert panel.model.outcomes()["outcome"].tolist() == ["left-stopped"]
    assert panel.left_stopped_box.layout.display is None
    assert "LEFT STOPPED" in panel.left_stopped_html.value
    assert task.task_id in panel.left_stopped_html.value

    reopened = ResetPanel(client, log=log, background=False, dry_run=False)  # the banner on load
    assert reopened.left_stopped_box.layout.display is None
    assert task.task_id in reopened.left_stopped_html.value

    sandbox.clear()
    reopened.start_again_button.click()
    assert reopened.errors == []
    assert reopened.left_stopped_box.layout.display == "none"
    assert reopened.model.left_stopped.empty
    sandbox.advance(1_000)
    row = sandbox.state.task(task.instance_id, task.task_id)
    assert row is not None and row.status == 1


def test_after_a_run_the_task_list_shows_the_states_the_run_left(
    client: RomaClient, sandbox: Sandbox
) -> None:
    """Issue 13's gap: the picker lists the tasks again after a run, not the states from before
    (here a rewind told never to start them again leaves both stopped)."""
    tasks = _running(sandbox, 2)
    panel = ResetPanel(client, background=False, dry_run=False)
    _pick(panel, tasks)
    picker = panel.task_picker
    assert {e.state for e in picker.entries} == {"running"}
    panel.restart_choice.value = "never"
    _confirm_and_run(panel)
    assert panel.errors == []
    for task in tasks:
        entry = picker.index.get(task.task_id)
        assert entry is not None and entry.state == "stopped"
        assert "roma-state-stopped" in picker.select._rows[task.task_id].html.value
    assert picker.value == tuple(t.task_id for t in tasks)  # the selection is kept
    assert "Stopped (" in str(picker.state_filter.options)
