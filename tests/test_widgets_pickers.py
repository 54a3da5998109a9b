"""The pickers on their own, in plain pytest: set child values, click, assert on public state."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone

import pytest
import traitlets

from roma_nb.auth import TokenAuth
from roma_nb.client import RomaClient
from roma_nb.dates import to_epoch_ms
from roma_nb.errors import ApiError, ValidationError
from roma_nb.panel import Catalog, DateChoice, PanelError
from roma_nb.sandbox import Sandbox
from roma_nb.widgets import DateFromPicker, EnvironmentBanner, InstancePicker, TaskPicker

NOW = to_epoch_ms("2024-06-01T12:00:00Z")


pytestmark = pytest.mark.usefixtures("fresh_instance_memory")


def make_client(sandbox: Sandbox, label: str = "SANDBOX") -> RomaClient:
    return RomaClient(
        sandbox.url, project_id=sandbox.project_id, auth=TokenAuth(sandbox.token), label=label
    )


@pytest.fixture
def client(roma_sandbox: Sandbox) -> Iterator[RomaClient]:
    with make_client(roma_sandbox) as client:
        yield client


def option_values(dropdown: object) -> list[object]:
    return [value for _label, value in dropdown.options]  # type: ignore[attr-defined]


# -- banner -------------------------------------------------------------------------------------


def test_banner_names_the_environment_and_tells_sandbox_from_real() -> None:
    sandbox = EnvironmentBanner("SANDBOX")
    assert "roma-env-sandbox" in sandbox._dom_classes
    assert "SANDBOX" in sandbox.value
    real = EnvironmentBanner("roma.example.com / project <p1>", note="in memory only")
    assert "roma-env-real" in real._dom_classes
    assert "roma.example.com / project &lt;p1&gt;" in real.value
    assert "in memory only" in real.value


# -- InstancePicker -----------------------------------------------------------------------------


def test_instance_picker_lists_instances_by_name_with_status(client: RomaClient) -> None:
    picker = InstancePicker(client)
    labels = [label for label, _ in picker.dropdown.options]
    assert labels[0].startswith("—")
    assert any("roma-legacy-dr [FROZEN]" in label for label in labels)
    assert picker.value is None and picker.instance is None
    assert picker.dropdown.description == "Instance"


def test_instance_choice_is_remembered_per_environment_across_reruns(
    client: RomaClient, roma_sandbox: Sandbox
) -> None:
    first = InstancePicker(client)
    chosen: list[str | None] = []
    first.observe(lambda change: chosen.append(change["new"]), "value")
    staging = option_values(first.dropdown)[2]
    first.dropdown.value = staging
    assert chosen == [staging]
    assert first.instance is not None and first.instance.name == "roma-staging"
    rerun = InstancePicker(client)  # the cell is run again
    assert rerun.value == staging
    with make_client(roma_sandbox, label="other / project x") as elsewhere:
        assert InstancePicker(elsewhere).value is None


def test_refresh_lists_again_and_keeps_the_choice(
    client: RomaClient, roma_sandbox: Sandbox
) -> None:
    picker = InstancePicker(client)
    picker.value = str(option_values(picker.dropdown)[1])
    before = sum(1 for c in roma_sandbox.calls if c.path.endswith("/instances"))
    picker.refresh_button.click()
    after = sum(1 for c in roma_sandbox.calls if c.path.endswith("/instances"))
    assert after == before + 1
    assert picker.value == option_values(picker.dropdown)[1]
    with pytest.raises(ValueError, match="not one of the listed"):
        picker.value = "nope"


def test_listing_errors_are_shown_not_raised(roma_sandbox: Sandbox) -> None:
    with RomaClient(
        roma_sandbox.url, project_id=roma_sandbox.project_id, auth=TokenAuth("revoked")
    ) as client:
        roma_sandbox.reject_token("revoked")
        picker = InstancePicker(client)
        assert len(picker.sink.errors) == 1
        assert isinstance(picker.sink.errors[0], ApiError)
        assert "could not be listed" in picker.message.value
        assert "Listing the instances" in picker.sink.output.outputs[0]["text"]
        picker.refresh_button.click()
        assert len(picker.sink.errors) == 2


# -- TaskPicker ---------------------------------------------------------------------------------


@pytest.fixture
def picker(client: RomaClient) -> TaskPicker:
    catalog = Catalog(client)
    return TaskPicker(catalog, catalog.instances()[0].id)


def test_task_picker_offers_combined_tasks_with_status_and_last_run(picker: TaskPicker) -> None:
    entries = picker.index.entries
    assert len(picker.select.options) == len(entries) > 0
    assert all(e.task.is_combined for e in entries)
    label, value = picker.select.options[0]
    entry = entries[0]
    assert value == entry.task_id
    assert label.startswith(f"{entry.task_name} · {entry.task_id} · {entry.task.status_text}")
    assert "last run" in label or "never run" in label
    assert f"{len(entries):,} combined tasks" in picker.info.value


def test_filter_by_name_or_id_keeps_hidden_selections(picker: TaskPicker) -> None:
    changes: list[tuple[str, ...]] = []
    picker.observe(lambda change: changes.append(change["new"]), "value")
    entries = picker.index.entries
    first, second = entries[0], entries[1]
    picker.select.value = (first.task_id, second.task_id)
    assert picker.value == (first.task_id, second.task_id)
    picker.filter.value = first.task_id[:12].upper()
    assert picker.shown == (first.task_id,)
    assert list(picker.select.value) == [first.task_id]  # a list: mypy narrows tuples
    assert picker.value == (first.task_id, second.task_id)  # second is hidden, still selected
    assert "1 hidden by the filter" in picker.selected_html.value
    picker.select.value = ()  # unselect the visible one only
    assert list(picker.value) == [second.task_id]
    word = second.task_name.split("_")[0]
    picker.filter.value = f"  {word.upper()} "
    assert all(word in e.task_name.casefold() for e in picker.index.search(word).shown)
    assert set(picker.shown) == {e.task_id for e in picker.index.search(word).shown}
    assert second.task_id in picker.select.value
    picker.clear_button.click()
    assert not picker.value
    assert "No task selected" in picker.selected_html.value
    assert changes == [(first.task_id, second.task_id), (second.task_id,), ()]


def test_selected_value_can_be_set_from_code(picker: TaskPicker) -> None:
    ids = [e.task_id for e in picker.index.entries[:3]]
    picker.value = ids
    assert picker.value == tuple(ids)
    assert [t.task_id for t in picker.tasks] == ids
    with pytest.raises(ValueError, match="not combined tasks"):
        picker.value = ["nope"]


def test_reloading_the_same_instance_keeps_the_selection_another_clears_it(
    client: RomaClient, picker: TaskPicker
) -> None:
    ids = [e.task_id for e in picker.index.entries[:2]]
    picker.value = ids
    picker.refresh_button.click()
    assert picker.value == tuple(ids)
    picker.load(Catalog(client).instances()[1].id)
    assert picker.value == ()
    picker.load(None)
    assert picker.select.options == ()
    assert "Choose an instance" in picker.info.value


def test_ten_thousand_tasks_filter_with_a_capped_option_list(
    roma_sandbox_factory: Callable[..., Sandbox],
) -> None:
    sandbox = roma_sandbox_factory(instances=1, tasks_per_instance=25_000)
    with make_client(sandbox) as client:
        catalog = Catalog(client)
        picker = TaskPicker(catalog, catalog.instances()[0].id)
        total = len(picker.index)
        assert total >= 10_000
        assert len(picker.select.options) == 500
        assert f"{total - 500:,} more — refine the filter" in picker.info.value
        chosen = picker.index.entries[9_999]
        picker.value = [chosen.task_id]
        for typed in ("o", "or", "ord", "orde", "order", "orders"):
            picker.filter.value = typed  # as the person types, one keystroke at a time
            matches = picker.index.search(typed, limit=total)
            assert picker.total_matches == matches.total
            assert len(picker.select.options) == min(500, matches.total)
        assert picker.value == (chosen.task_id,)
        picker.filter.value = chosen.task_id
        assert picker.select.value == (chosen.task_id,)


# -- DateFromPicker -----------------------------------------------------------------------------


@pytest.fixture
def dates() -> DateFromPicker:
    return DateFromPicker(tz="UTC", clock=lambda: NOW)


def test_a_fresh_or_cleared_picker_says_so_and_has_no_value(dates: DateFromPicker) -> None:
    assert "No time is picked" in dates.messages.value
    with pytest.raises(ValidationError, match="No time is picked"):
        _ = dates.value
    dates.input.value = datetime(2024, 6, 1, 10, 0)
    assert dates.ok
    dates.input.value = None
    assert not dates.ok
    assert "No time is picked" in dates.messages.value
    assert "nothing can be sent" in dates.live.value


def test_live_line_shows_utc_the_zone_and_the_integer(dates: DateFromPicker) -> None:
    seen: list[DateChoice] = []
    dates.observe(lambda change: seen.append(change["new"]), "choice")
    dates.zone.value = "Asia/Shanghai"
    dates.input.value = datetime(2024, 6, 1, 9, 30)
    expected = to_epoch_ms("2024-06-01T01:30:00Z")
    assert dates.value == expected
    assert f"<code>{expected}</code>" in dates.live.value
    assert "2024-06-01T01:30:00Z" in dates.live.value
    assert "Asia/Shanghai" in dates.live.value and "09:30:00 CST (+08:00)" in dates.live.value
    assert dates.messages.value == ""
    assert seen[-1] == DateChoice.at_wall(datetime(2024, 6, 1, 9, 30), "Asia/Shanghai")
    dates.zone.value = "UTC"  # the same digits, now read in UTC
    assert dates.value == to_epoch_ms("2024-06-01T09:30:00Z")


def test_browser_typed_digits_are_the_wall_time_whatever_the_browser_zone(
    dates: DateFromPicker,
) -> None:
    # What the browser sends for a naive picker: the digits typed (months are 0-based).
    typed = {"year": 2024, "month": 0, "date": 2, "hours": 3, "minutes": 4, "seconds": 0,
             "milliseconds": 0}  # fmt: skip
    dates.input.set_state({"value": typed})
    assert dates.input.value == datetime(2024, 1, 2, 3, 4)
    assert dates.value == 1704164640000


def test_a_dst_gap_offers_the_instants_around_the_jump(dates: DateFromPicker) -> None:
    dates.zone.value = "Europe/Paris"
    dates.input.value = datetime(2024, 3, 31, 2, 30)
    assert not dates.ok
    assert "does not exist in Europe/Paris" in dates.messages.value
    assert dates.choice_buttons.layout.display is None
    labels = [label for label, _ in dates.choice_buttons.options]
    assert "Just before the jump" in labels[0] and "2024-03-31T00:59:59.999Z" in labels[0]
    assert "Just after the jump" in labels[1] and "2024-03-31T01:00:00Z" in labels[1]
    dates.choice_buttons.value = "shift_forward"
    assert dates.value == to_epoch_ms("2024-03-31T01:00:00Z")
    assert dates.choice_buttons.value == "shift_forward"  # the answer stays visible
    dates.input.value = datetime(2024, 3, 31, 2, 45)  # a new time asks again
    assert not dates.ok and dates.choice_buttons.value is None
    dates.input.value = datetime(2024, 3, 31, 12, 0)
    assert dates.ok and dates.choice_buttons.layout.display == "none"


def test_a_dst_fold_asks_which_of_the_two(dates: DateFromPicker) -> None:
    dates.zone.value = "Europe/Paris"
    dates.input.value = datetime(2024, 10, 27, 2, 30)
    assert "occurs twice in Europe/Paris" in dates.messages.value
    assert [value for _, value in dates.choice_buttons.options] == ["earlier", "later"]
    dates.choice_buttons.value = "earlier"
    assert dates.value == to_epoch_ms("2024-10-27T00:30:00Z")
    dates.choice_buttons.value = "later"
    assert dates.value == to_epoch_ms("2024-10-27T01:30:00Z")


def test_unknown_zone_is_a_message_with_a_suggestion(dates: DateFromPicker) -> None:
    dates.input.value = datetime(2024, 6, 1, 9, 30)
    dates.zone.value = "Asia/Shangai"
    assert not dates.ok
    assert "Unknown time zone" in dates.messages.value
    assert "Asia/Shanghai" in dates.messages.value


def test_future_and_retention_warnings_follow_the_retention_setting(
    dates: DateFromPicker,
) -> None:
    dates.input.value = datetime(2024, 6, 1, 13, 0)
    assert "in the future" in dates.messages.value
    dates.input.value = datetime(2024, 5, 29, 12, 0)
    assert "older than the CDC log retention of 2 days" in dates.messages.value
    retentions: list[timedelta] = []
    dates.observe(lambda _c: retentions.append(dates.retention), "retention")
    dates.retention_days.value = 4
    assert retentions == [timedelta(days=4)]
    assert dates.messages.value == ""
    assert dates.ok  # a warning never blocks


def test_empty_is_an_explicit_choice_and_the_time_comes_back(dates: DateFromPicker) -> None:
    dates.input.value = datetime(2024, 6, 1, 9, 30)
    dates.mode.value = "empty"
    assert dates.ok and dates.value is None
    assert dates.input.disabled
    assert "the service decides" in dates.live.value
    dates.mode.value = "time"
    assert dates.value == to_epoch_ms("2024-06-01T09:30:00Z")


def test_presets(dates: DateFromPicker) -> None:
    dates.zone.value = "Asia/Shanghai"
    dates.hour_ago_button.click()
    assert dates.value == NOW - 3_600_000
    assert dates.input.value == datetime(2024, 6, 1, 19, 0)  # shown in the zone
    assert "exact instant" in dates.messages.value
    dates.zone.value = "UTC"  # an exact instant stays, only its display changes
    assert dates.value == NOW - 3_600_000
    assert dates.input.value == datetime(2024, 6, 1, 11, 0)
    dates.today_button.click()
    assert dates.value == to_epoch_ms("2024-06-01T00:00:00Z")
    assert dates.last_log_button.disabled
    dates.last_log_button.click()  # clicked from code although disabled: a message, not a crash
    assert len(dates.sink.errors) == 1


def test_last_log_preset_uses_its_source_and_reports_its_refusals() -> None:
    answers: list[int | Exception] = [1717200000123, PanelError("Select a task first.")]

    def last_log() -> int:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    dates = DateFromPicker(tz="UTC", clock=lambda: NOW, last_log=last_log)
    dates.last_log_button.click()
    assert dates.value == 1717200000123
    dates.last_log_button.click()
    assert dates.value == 1717200000123
    assert [str(e) for e in dates.sink.errors] == ["Select a task first."]
    assert "Select a task first" in dates.sink.output.outputs[0]["text"]


# -- the ipywidgets way: traitlets that link ----------------------------------------------------


def test_picker_values_link_like_any_widget_value(client: RomaClient) -> None:
    catalog = Catalog(client)
    instances = InstancePicker(catalog), InstancePicker(catalog)
    traitlets.link((instances[0], "value"), (instances[1], "value"))
    instances[0].dropdown.value = option_values(instances[0].dropdown)[1]
    assert instances[1].value == instances[0].value is not None
    tasks = TaskPicker(catalog, instances[0].value), TaskPicker(catalog, instances[0].value)
    traitlets.link((tasks[0], "value"), (tasks[1], "value"))
    chosen = tuple(e.task_id for e in tasks[0].index.entries[:2])
    tasks[0].select.value = chosen
    assert tasks[1].value == chosen and tasks[1].select.value == chosen
    dates = DateFromPicker(clock=lambda: NOW), DateFromPicker(clock=lambda: NOW)
    traitlets.link((dates[0], "choice"), (dates[1], "choice"))
    dates[1].zone.value = "Asia/Shanghai"
    dates[1].input.value = datetime(2024, 6, 1, 9, 30)
    assert dates[0].value == dates[1].value == to_epoch_ms("2024-06-01T01:30:00Z")
    assert dates[0].zone.value == "Asia/Shanghai"


def test_retention_is_a_checked_traitlet(dates: DateFromPicker) -> None:
    dates.retention = timedelta(hours=12)
    assert dates.retention_days.value == 0.5
    with pytest.raises(ValidationError, match="positive"):
        dates.retention = timedelta(0)
    assert dates.retention == timedelta(hours=12)


# -- deciding with the lists (issue 14, items 4 and 7) ------------------------------------------


def test_the_prompt_is_the_selected_option_until_an_instance_is_chosen(
    client: RomaClient,
) -> None:
    """A Dropdown whose value is None has no index: the browser draws a blank box."""
    picker = InstancePicker(client)
    assert picker.value is None
    assert picker.dropdown.index == 0 and picker.dropdown.label == "— choose an instance —"
    assert picker.chosen.value == ""
    chosen = str(option_values(picker.dropdown)[1])
    picker.value = chosen
    picker.value = None  # code may clear the choice: the prompt is shown again
    assert picker.dropdown.index == 0
    with pytest.raises(ValueError, match="not one of the listed"):
        picker.value = ""


def test_the_chosen_instance_is_written_out_with_its_full_id(client: RomaClient) -> None:
    picker = InstancePicker(client)
    instance = Catalog(client).instances()[0]
    picker.dropdown.value = instance.id  # as a person picks it
    assert f"{instance.name} · {instance.status} · id" in picker.chosen.value
    assert f'<code style="user-select:all">{instance.id}</code>' in picker.chosen.value
    assert "…" not in picker.chosen.value and "…" not in str(picker.dropdown.options)
    longest = max(len(label) for label, _ in picker.dropdown.options)
    assert picker.dropdown.layout.width == f"calc({longest + 2}ch + 7em)"


def test_a_frozen_instance_warns_in_the_picker_and_in_the_confirmation(client: RomaClient) -> None:
    from roma_nb.widgets import ResetPanel

    picker = InstancePicker(client)
    frozen = next(i for i in Catalog(client).instances() if i.status == "FROZEN")
    running = next(i for i in Catalog(client).instances() if i.status == "RUNNING")
    picker.dropdown.value = running.id
    assert picker.warning is None and picker.message.value == ""
    picker.dropdown.value = frozen.id
    assert picker.warning == (
        f"Instance {frozen.name} is FROZEN, not RUNNING: its tasks may not accept a reset, "
        "or not run after it."
    )
    assert "roma-message-warning" in picker.message.value
    assert picker.warning in picker.message.value
    panel = ResetPanel(client, background=False, clock=lambda: NOW, dry_run=False)
    panel.instance_picker.dropdown.value = frozen.id
    panel.task_picker.select.value = (panel.task_picker.index.entries[0].task_id,)
    panel.date_picker.hour_ago_button.click()
    panel.preview_button.click()
    panel.confirm_button.click()
    ticks = [box.description for box in panel.warning_ticks.children]
    assert any(picker.warning in tick for tick in ticks)


def test_each_row_shows_name_full_id_coloured_state_and_last_run(picker: TaskPicker) -> None:
    assert "Last run (UTC)" in picker.select.header.value
    for entry in picker.index.entries:
        html = picker.select._rows[entry.task_id].html.value
        assert (
            f'<code style="overflow-wrap:anywhere;user-select:all">{entry.task_id}</code>' in html
        )
        assert f"roma-state-{entry.state}" in html
        assert "…" not in html
    states = {e.state for e in picker.index.entries}
    assert {"running", "stopped", "error"} <= states
    erring = next(e for e in picker.index.entries if e.execute_status == "ERROR")
    assert erring.state == "error"
    ran = next(e for e in picker.index.entries if e.last_execute_time is not None)
    stamp = datetime.fromtimestamp(ran.last_execute_time / 1000, tz=timezone.utc)  # type: ignore[operator]
    assert stamp.strftime("%Y-%m-%d %H:%M:%S") in picker.select._rows[ran.task_id].html.value


def test_ticking_a_row_adds_to_the_selection_never_replaces_it(picker: TaskPicker) -> None:
    first, second, third = (e.task_id for e in picker.index.entries[:3])
    picker.select.row(first).value = True  # a click on a checkbox
    picker.select.row(third).value = True
    assert picker.value == (first, third)
    picker.select.row(second).value = True
    assert list(picker.value) == [first, third, second]  # selection order
    picker.select.row(first).value = False
    assert picker.value == (third, second)
    picker.value = (first,)  # code ticks the boxes
    assert [picker.select.row(t).value for t in (first, second, third)] == [True, False, False]


def test_the_state_filter_shows_one_state_and_keeps_the_selection(picker: TaskPicker) -> None:
    entries = picker.index.entries
    counts = {s: sum(1 for e in entries if e.state == s) for s in ("running", "stopped", "error")}
    labels = [label for label, _ in picker.state_filter.options]
    assert labels[:4] == [
        f"All ({len(entries)})",
        f"Running ({counts['running']})",
        f"Stopped ({counts['stopped']})",
        f"Error ({counts['error']})",
    ]
    running = next(e.task_id for e in entries if e.state == "running")
    picker.value = (running,)
    picker.state_filter.value = "error"  # a click on "Error (n)"
    assert picker.state == "error"
    assert len(picker.shown) == counts["error"]
    assert all(picker.index.get(t).state == "error" for t in picker.shown)  # type: ignore[union-attr]
    assert f"{counts['error']} of {len(entries)} combined tasks in instance " in picker.info.value
    assert "match state error" in (picker.info.value)
    assert picker.value == (running,)
    assert "1 hidden by the filter" in picker.selected_html.value
    picker.select_shown_button.click()
    assert picker.value == (running, *picker.shown)
    word = picker.index.get(picker.shown[0]).task_name.split("_")[0]  # type: ignore[union-attr]
    picker.filter.value = word  # the counts follow the text filter, the state stays
    assert picker.state_filter.value == "error"
    assert picker.state_filter.options[0][0] == f"All ({picker.index.search(word).total})"
    picker.state_filter.value = "all"
    assert picker.total_matches == picker.index.search(word).total


def test_selected_is_a_count_and_a_list_folded_when_long(picker: TaskPicker) -> None:
    ids = [e.task_id for e in picker.index.entries]
    picker.value = ids[:3]
    summary = picker.selected_html.value
    assert "<details open><summary><b>Selected: 3</b>" in summary
    assert summary.count("<li>") == 3 and all(t in summary for t in ids[:3])
    picker.value = ids[:40]
    summary = picker.selected_html.value
    assert "<details><summary><b>Selected: 40</b></summary>" in summary
    assert summary.count("<li>") == 40
