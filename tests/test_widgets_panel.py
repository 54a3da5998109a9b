"""``ResetPanel`` driven through its child widgets in plain pytest, against the sandbox.

Values are set and buttons clicked as a person would (``Button.click()`` even works on a
disabled button, which is how a double click or a stale click is simulated); assertions are on
the model, the preview frame, the sandbox's recorded resets and the history.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
import traitlets

from roma_nb.client import RomaClient
from roma_nb.dates import to_epoch_ms
from roma_nb.errors import ApiError, ValidationError
from roma_nb.history import ResultLog
from roma_nb.panel import DateChoice, Selection
from roma_nb.sandbox import Sandbox
from roma_nb.widgets import ResetPanel

NOW = to_epoch_ms("2024-06-01T12:00:00Z")
WALL = datetime(2024, 6, 1, 9, 30)  # typed in Asia/Shanghai
WALL_MS = to_epoch_ms("2024-06-01T01:30:00Z")


pytestmark = pytest.mark.usefixtures("fresh_instance_memory")


@pytest.fixture
def roma_sandbox(lenient_sandbox: Sandbox) -> Sandbox:
    """These tests send raw resets to tasks whether they run or not: a sandbox that allows it
    (``refuse_running=False``; the default refuses them, and a rewind stops them first)."""
    return lenient_sandbox


def make_panel(client: RomaClient, *, procedure: str = "reset", **options: Any) -> ResetPanel:
    """A panel with its Procedure chosen as a person would (the raw reset here: these tests
    are about the flow's safety rules; the rewind's are in ``test_widgets_rewind.py``)."""
    options.setdefault("background", False)
    options.setdefault("clock", lambda: NOW)
    options.setdefault("dry_run", False)  # these tests send; a panel opens with dry run ticked
    panel = ResetPanel(client, **options)
    panel.procedure_choice.value = procedure
    return panel


@pytest.fixture
def panel(client: RomaClient) -> ResetPanel:
    return make_panel(client)


def pick(
    panel: ResetPanel, count: int, *, wall: datetime = WALL, zone: str = "Asia/Shanghai"
) -> list[str]:
    """Choose the first instance, ``count`` tasks and a time, through the child widgets."""
    dropdown = panel.instance_picker.dropdown
    dropdown.value = dropdown.options[1][1]
    select = panel.task_picker.select
    ids = [value for _label, value in select.options[:count]]
    select.value = tuple(ids)
    panel.date_picker.zone.value = zone
    panel.date_picker.input.value = wall
    return ids


def confirm(panel: ResetPanel) -> None:
    panel.preview_button.click()
    panel.confirm_button.click()
    for tick in panel.warning_ticks.children:
        tick.value = True
    panel.confirm_box.value = True


def css_classes(widget: Any) -> set[str]:
    found = set(getattr(widget, "_dom_classes", ()))
    for child in getattr(widget, "children", ()):
        found |= css_classes(child)
    return found


# -- the whole flow -----------------------------------------------------------------------------


def test_preview_confirm_run_through_the_widgets(panel: ResetPanel, roma_sandbox: Sandbox) -> None:
    assert panel.preview_button.disabled and panel.stop_button.disabled
    assert "Select an instance" in panel.hint.value
    ids = pick(panel, 3)
    assert panel.model.task_ids == tuple(ids)
    assert panel.model.resolution().ms == WALL_MS
    assert not panel.preview_button.disabled
    assert panel.confirm_button.disabled and panel.run_button.disabled

    panel.preview_button.click()
    assert panel.model.previewed is not None
    assert panel.preview_html.value.count("</tr>") == 1 + 3  # header and one row per call
    assert str(WALL_MS) in panel.preview_html.value
    assert not panel.confirm_button.disabled and panel.run_button.disabled

    panel.confirm_button.click()
    shown = panel.confirmation_html.value
    assert "sends resets to the SANDBOX" in shown and "on SANDBOX" in shown
    assert "REAL" not in shown
    assert "2024-06-01T01:30:00Z = 2024-06-01 09:30:00 CST (+08:00) in Asia/Shanghai" in shown
    assert all(task_id in shown for task_id in ids)
    assert panel.confirm_box.layout.display is None
    assert panel.run_button.disabled  # the box is not ticked yet
    panel.confirm_box.value = True
    for tick in panel.warning_ticks.children:  # running tasks: one tick each warning (issue 14)
        tick.value = True
    assert not panel.run_button.disabled
    assert roma_sandbox.resets == []

    panel.run_button.click()
    assert sorted((r.task_id, r.date_from) for r in roma_sandbox.resets) == sorted(
        (t, WALL_MS) for t in ids
    )
    assert "Done: 3 success" in panel.status.value
    assert panel.progress_bar.value == panel.progress_bar.max == 3
    assert panel.results_html.value.count("success") == 3
    assert list(panel.results["outcome"]) == ["success"] * 3
    assert panel.run_button.disabled and panel.confirm_box.layout.display == "none"
    assert panel.errors == []


def test_a_second_click_on_run_sends_nothing_more(panel: ResetPanel, roma_sandbox: Sandbox) -> None:
    pick(panel, 2)
    confirm(panel)
    panel.run_button.click()
    panel.run_button.click()  # a double click, or a click on the now disabled button
    assert len(roma_sandbox.resets) == 2
    assert "Nothing was sent" in panel.sink.notices[-1]
    assert panel.errors == []


def test_double_click_during_a_background_run_sends_once(
    client: RomaClient, roma_sandbox: Sandbox
) -> None:
    panel = make_panel(client, background=True, concurrency=2)
    ids = pick(panel, 4)
    confirm(panel)
    roma_sandbox.set_latency(30)
    panel.run_button.click()
    panel.run_button.click()
    assert panel.wait(timeout=60)
    assert sorted(r.task_id for r in roma_sandbox.resets) == sorted(ids)
    assert any("ignored" in n or "Nothing was sent" in n for n in panel.sink.notices)
    assert "Done: 4 success" in panel.status.value
    assert panel.stop_button.disabled and panel.errors == []


def test_run_without_ticking_the_confirmation_sends_nothing(
    panel: ResetPanel, roma_sandbox: Sandbox
) -> None:
    pick(panel, 1)
    panel.preview_button.click()
    panel.run_button.click()  # disabled, clicked anyway
    panel.confirm_button.click()
    panel.run_button.click()
    assert roma_sandbox.resets == []
    assert len(panel.sink.notices) == 2
    assert all("Nothing was sent" in n for n in panel.sink.notices)
    assert panel.errors == []


def test_changing_the_selection_after_confirming_voids_the_confirmation(
    panel: ResetPanel, roma_sandbox: Sandbox
) -> None:
    ids = pick(panel, 2)
    confirm(panel)
    panel.task_picker.select.value = (ids[0],)
    assert panel.confirm_box.value is False
    assert panel.confirm_box.layout.display == "none"
    assert panel.confirmation_html.value == ""
    assert panel.run_button.disabled and panel.confirm_button.disabled
    assert "changed since this preview" in panel.preview_html.value
    panel.run_button.click()
    panel.confirm_box.value = True  # ticking a hidden box does not bring it back
    panel.run_button.click()
    assert roma_sandbox.resets == []
    panel.date_picker.input.value = datetime(2024, 6, 1, 9, 31)
    confirm(panel)
    panel.date_picker.zone.value = "UTC"  # same digits, another instant
    assert panel.run_button.disabled
    assert roma_sandbox.resets == []


def test_stop_button_skips_what_was_not_sent(client: RomaClient, roma_sandbox: Sandbox) -> None:
    panel = make_panel(client, background=True, concurrency=1)
    pick(panel, 8)
    confirm(panel)
    roma_sandbox.set_latency(20)
    during: list[dict[str, bool]] = []

    def after_first(change: dict[str, Any]) -> None:
        if change["new"] == 1:  # called on the run's thread while the batch is in flight
            during.append(
                {
                    name: getattr(panel, f"{name}_button").disabled
                    for name in ("preview", "confirm", "run", "stop", "retry")
                }
            )
            panel.stop_button.click()

    panel.progress_bar.observe(after_first, "value")
    panel.run_button.click()
    assert panel.wait(timeout=60)
    assert during == [{"preview": True, "confirm": True, "run": True, "stop": False, "retry": True}]
    assert panel.stop_button.disabled
    outcomes = [r.outcome for r in panel.model.last_results]
    assert outcomes[0] == "success" and "skipped" in outcomes
    assert set(outcomes) <= {"success", "skipped"}
    sent = {r.task_id for r in panel.model.last_results if r.outcome == "success"}
    assert {r.task_id for r in roma_sandbox.resets} == sent
    assert any("Stop requested" in n for n in panel.sink.notices)
    assert "skipped" in panel.status.value
    assert (panel.results["outcome"] == "skipped").sum() == outcomes.count("skipped")
    assert panel.errors == []


def test_dry_run_toggle_sends_nothing_and_records_dry_runs(
    panel: ResetPanel, roma_sandbox: Sandbox
) -> None:
    pick(panel, 2)
    panel.dry_run_box.value = True
    confirm(panel)
    assert "a DRY RUN" in panel.confirmation_html.value
    panel.run_button.click()
    assert roma_sandbox.resets == []
    frame = panel.results
    assert list(frame["outcome"]) == ["dry-run", "dry-run"]
    assert frame["dry_run"].all()
    assert "Done: 2 dry-run" in panel.status.value


def test_toggling_dry_run_after_confirming_needs_a_new_preview(
    panel: ResetPanel, roma_sandbox: Sandbox
) -> None:
    pick(panel, 1)
    panel.dry_run_box.value = True
    confirm(panel)
    panel.dry_run_box.value = False
    assert panel.run_button.disabled and not panel.confirm_box.value
    panel.run_button.click()
    assert roma_sandbox.resets == []


# -- errors are shown, never raised, never lost -------------------------------------------------


def test_a_refused_task_shows_in_the_output_and_the_results(
    panel: ResetPanel, roma_sandbox: Sandbox
) -> None:
    ids = pick(panel, 2)
    roma_sandbox.inject("task_running", match=ids[1], times=None)
    confirm(panel)
    panel.run_button.click()
    assert [r.task_id for r in roma_sandbox.resets] == [ids[0]]
    failed = [n for n in panel.sink.notices if n.startswith("FAILED")]
    assert len(failed) == 1 and ids[1] in failed[0] and "running" in failed[0]
    assert "request id" in failed[0]
    assert "1 failed, 1 success" in panel.status.value
    assert "FDI.3023" in panel.results_html.value
    assert any(ids[1] in o["text"] for o in panel.output.outputs)


def test_retry_unknown_button(panel: ResetPanel, roma_sandbox: Sandbox) -> None:
    ids = pick(panel, 2)
    roma_sandbox.inject("drop", match=f"{ids[1]}/reset", times=1)  # not its monitor logs
    confirm(panel)
    panel.run_button.click()
    assert any(n.startswith("UNKNOWN") for n in panel.sink.notices)
    assert not panel.retry_button.disabled
    assert panel.retry_button.description == "Retry unknown (1)"
    roma_sandbox.clear_records()
    panel.retry_button.click()
    assert [(r.task_id, r.date_from) for r in roma_sandbox.resets] == [(ids[1], WALL_MS)]
    assert panel.retry_button.disabled
    assert panel.retry_button.description == "Retry unknown (0)"
    panel.retry_button.click()
    assert "Nothing to retry" in panel.sink.notices[-1]


def test_callback_exceptions_land_in_errors_and_the_output(
    panel: ResetPanel, monkeypatch: pytest.MonkeyPatch
) -> None:
    pick(panel, 1)

    def broken(instance_id: str, task_id: str) -> int:
        raise RuntimeError("monitor logs exploded")

    monkeypatch.setattr(panel.model.catalog, "last_log_start", broken)
    panel.date_picker.last_log_button.click()
    assert [type(e) for e in panel.errors] == [RuntimeError]
    text = panel.output.outputs[-1]["text"]
    assert "The last monitor log preset failed" in text
    assert "Traceback" in text and "monitor logs exploded" in text


def test_api_errors_of_a_refresh_are_messages(panel: ResetPanel, roma_sandbox: Sandbox) -> None:
    pick(panel, 1)
    roma_sandbox.inject("server_error", match="/tasks", times=None)
    panel.task_picker.refresh_button.click()
    assert len(panel.errors) == 1 and isinstance(panel.errors[0], ApiError)
    assert "Refreshing the tasks" in panel.output.outputs[-1]["text"]
    assert "could not be listed" in panel.task_picker.info.value


def test_dst_and_cleared_picker_block_the_preview_with_a_message(panel: ResetPanel) -> None:
    pick(panel, 1, wall=datetime(2024, 10, 27, 2, 30), zone="Europe/Paris")
    assert panel.preview_button.disabled
    assert "occurs twice in Europe/Paris" in panel.hint.value
    assert "ambiguous=" not in panel.hint.value  # words, not code (issue 14)
    panel.date_picker.choice_buttons.value = "later"
    assert not panel.preview_button.disabled
    assert panel.preview()["date_from"].tolist() == [to_epoch_ms("2024-10-27T01:30:00Z")]
    panel.date_picker.input.value = None
    assert panel.preview_button.disabled
    assert "No time is picked" in panel.hint.value
    panel.preview_button.click()  # disabled, clicked anyway: a message, not an exception
    assert "No time is picked" in str(panel.errors[-1])


# -- code drives the same panel -----------------------------------------------------------------


def test_select_preview_run_from_code_show_in_the_widgets(
    panel: ResetPanel, roma_sandbox: Sandbox
) -> None:
    instance = panel.model.catalog.instances()[1]
    ids = [e.task_id for e in panel.model.catalog.tasks(instance.id).entries[:2]]
    panel.select(instance_id=instance.id, task_ids=ids, date_from=WALL, tz="Asia/Shanghai")
    assert panel.instance_picker.value == instance.id
    assert panel.task_picker.value == tuple(ids)
    assert panel.date_picker.input.value == WALL
    assert panel.date_picker.zone.value == "Asia/Shanghai"
    assert str(WALL_MS) in panel.date_picker.live.value
    frame = panel.preview()
    assert frame["date_from"].tolist() == [WALL_MS, WALL_MS]
    assert "Confirm" in panel.hint.value
    assert "on SANDBOX" in panel.confirmation_text()
    results = panel.run(confirm=True)
    assert [r.outcome for r in results] == ["success", "success"]
    assert sorted(r.task_id for r in roma_sandbox.resets) == sorted(ids)
    assert "Done: 2 success" in panel.status.value
    panel.select(date_from=None)
    assert panel.date_picker.mode.value == "empty"
    panel.select(dry_run=True)
    assert panel.dry_run_box.value is True


def test_a_rerun_cell_preselects_the_instance_and_lists_its_tasks(
    client: RomaClient, panel: ResetPanel
) -> None:
    pick(panel, 1)
    chosen = panel.instance_picker.value
    again = make_panel(client)
    assert again.instance_picker.value == chosen
    assert again.model.instance_id == chosen
    assert len(again.task_picker.select.options) > 0
    assert again.task_picker.value == ()


def test_the_panel_writes_to_the_log_it_is_given(client: RomaClient) -> None:
    log = ResultLog()
    panel = make_panel(client, log=log)
    pick(panel, 1)
    confirm(panel)
    panel.run_button.click()
    assert len(log) == 1
    assert panel.model.log is log


def test_every_interactive_part_has_a_stable_class_and_a_description(panel: ResetPanel) -> None:
    classes = css_classes(panel)
    expected = {
        "roma-reset-panel", "roma-env-banner", "roma-env-sandbox", "roma-instance-picker",
        "roma-instance-select", "roma-instance-refresh", "roma-instance-message",
        "roma-task-picker", "roma-task-filter", "roma-task-select", "roma-task-info",
        "roma-task-selected", "roma-task-clear", "roma-task-refresh", "roma-date-picker",
        "roma-date-mode", "roma-date-input", "roma-date-zone", "roma-date-choice",
        "roma-preset-hour-ago", "roma-preset-today", "roma-preset-last-log",
        "roma-date-retention", "roma-date-live", "roma-date-messages", "roma-dry-run",
        "roma-preview", "roma-confirm", "roma-hint", "roma-preview-table", "roma-confirmation",
        "roma-confirm-check", "roma-run", "roma-stop", "roma-progress", "roma-status",
        "roma-retry-unknown", "roma-results-table", "roma-output",
    }  # fmt: skip
    assert expected <= classes
    interactive = [
        panel.instance_picker.dropdown, panel.instance_picker.refresh_button,
        panel.task_picker.filter, panel.task_picker.select, panel.task_picker.clear_button,
        panel.task_picker.refresh_button, panel.date_picker.mode, panel.date_picker.input,
        panel.date_picker.zone, panel.date_picker.choice_buttons,
        panel.date_picker.hour_ago_button, panel.date_picker.today_button,
        panel.date_picker.last_log_button, panel.date_picker.retention_days, panel.dry_run_box,
        panel.preview_button, panel.confirm_button, panel.confirm_box, panel.run_button,
        panel.stop_button, panel.retry_button,
    ]  # fmt: skip
    assert all(widget.description for widget in interactive)


def test_each_warning_of_the_confirmation_needs_its_own_tick_before_run(
    panel: ResetPanel, roma_sandbox: Sandbox
) -> None:
    """Issue 14, item 5: a time older than the retention, and running tasks, each ticked."""
    pick(panel, 2, wall=WALL - timedelta(days=30))
    panel.preview_button.click()
    panel.confirm_button.click()
    ticks = list(panel.warning_ticks.children)
    assert ticks and all("roma-warning-tick" in t._dom_classes for t in ticks)
    assert any("retention" in t.description for t in ticks)
    panel.confirm_box.value = True
    for tick in ticks:
        assert panel.run_button.disabled
        assert "tick each warning" in panel.hint.value
        tick.value = True
    assert not panel.run_button.disabled
    ticks[0].value = False
    assert panel.run_button.disabled
    ticks[0].value = True
    panel.run_button.click()
    assert len(roma_sandbox.resets) == 2
    assert panel.warning_ticks.children == ()  # a run consumes its confirmation


# -- value: the selection as a traitlet ---------------------------------------------------------


def test_value_is_the_selection_observed_once_per_change(panel: ResetPanel) -> None:
    seen: list[Selection] = []
    panel.observe(lambda change: seen.append(change["new"]), "value")
    ids = pick(panel, 2)
    assert panel.value == panel.model.selection
    assert panel.value.task_ids == tuple(ids)
    assert panel.value.date_from == DateChoice.at_wall(WALL, "Asia/Shanghai")
    assert seen[-1] == panel.value and len(seen) == len(set(seen))  # no echo, no repeats
    panel.dry_run_box.value = True
    assert seen[-1].dry_run is True


def test_setting_value_selects_and_a_bad_one_changes_nothing(panel: ResetPanel) -> None:
    instance = panel.model.catalog.instances()[1]
    ids = tuple(e.task_id for e in panel.model.catalog.tasks(instance.id).entries[:2])
    panel.value = Selection(instance.id, ids, DateChoice.exact(WALL_MS, "UTC"), dry_run=True)
    assert panel.task_picker.value == ids
    assert panel.date_picker.value == WALL_MS and panel.dry_run_box.value is True
    assert not panel.preview_button.disabled
    with pytest.raises(ValidationError, match="Not combined tasks"):
        panel.value = replace(panel.value, task_ids=("no-such-task",))
    assert panel.value.task_ids == ids == panel.model.task_ids


def test_two_panels_linked_by_value_show_the_same_selection(client: RomaClient) -> None:
    first, second = make_panel(client), make_panel(client)
    link = traitlets.link((first, "value"), (second, "value"))
    ids = pick(first, 1)
    assert second.task_picker.value == tuple(ids)
    assert second.date_picker.input.value == WALL
    link.unlink()
    second.dry_run_box.value = True
    assert first.dry_run_box.value is False


def test_the_confirmation_headline_comes_from_the_plan(panel: ResetPanel) -> None:
    pick(panel, 1)
    confirm(panel)
    plan = panel.model.previewed
    assert plan is not None and plan.sandbox
    assert plan.confirmation_headline() in panel.confirmation_html.value


def test_a_panel_opens_with_dry_run_ticked_and_then_sends_nothing(
    client: RomaClient, roma_sandbox: Sandbox
) -> None:
    """Issue 14, item 3: one default everywhere: an interactive panel records what would be
    sent until a person unticks "Dry run" (``dry_run=False`` in code)."""
    panel = ResetPanel(client, background=False, clock=lambda: NOW)
    assert panel.dry_run_box.value is True and panel.model.dry_run is True
    panel.procedure_choice.value = "reset"
    ids = pick(panel, 2)
    panel.preview()
    results = panel.run(confirm=True)
    assert [r.outcome for r in results] == ["dry-run"] * 2
    assert roma_sandbox.resets == []
    assert sorted(panel.results["task_id"]) == sorted(ids)
    assert ResetPanel(client, background=False, dry_run=False).dry_run_box.value is False


@pytest.mark.parametrize("procedure", ["reset", "rewind"])
def test_the_in_flight_line_says_how_long_a_throttled_batch_still_takes(
    client: RomaClient, roma_sandbox: Sandbox, procedure: str
) -> None:
    """Issue 17, item 4: while the gateway throttles a batch and no result arrives, the panel
    says so and how long the rest is expected to take (as the CLI's progress lines do); for a
    rewind, while its reset step is throttled (its stops and starts are not)."""
    panel = make_panel(client, procedure=procedure, background=True, concurrency=1)
    pick(panel, 3)
    panel.preview()
    roma_sandbox.inject("throttle", times=2, retry_after=3, method="POST", match="/reset")
    confirm(panel)
    panel.run_button.click()
    seen: list[str] = []
    give_up = time.monotonic() + 60  # a bound on the test, not a timing under test
    while panel.model.running and time.monotonic() < give_up:
        seen += [line for line in panel.show_in_flight() if "throttled" in line]
        if seen:
            break
        time.sleep(0.05)
    assert seen and "the batch is throttled by the gateway, about" in seen[0], seen
    assert panel.wait(timeout=60)
    assert sorted(r.task_id for r in roma_sandbox.resets) == sorted(panel.model.selection.task_ids)
