"""``PanelModel`` driven from code against the sandbox over a real socket."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from roma_nb.client import RomaClient
from roma_nb.dates import to_epoch_ms
from roma_nb.errors import ValidationError
from roma_nb.history import ResultLog
from roma_nb.models import ResetResult
from roma_nb.panel import (
    PREVIEW_COLUMNS,
    ConfirmationRequired,
    PanelError,
    PanelModel,
    PlanChanged,
    RunInProgress,
    RunResult,
    default_log,
    recall_instance,
)
from roma_nb.sandbox import Sandbox

NOW = to_epoch_ms("2024-06-01T12:00:00Z")
WALL = datetime(2024, 6, 1, 9, 30)  # in Asia/Shanghai: 2024-06-01T01:30:00Z
WALL_MS = to_epoch_ms("2024-06-01T01:30:00Z")


pytestmark = pytest.mark.usefixtures("fresh_instance_memory")


@pytest.fixture
def roma_sandbox(lenient_sandbox: Sandbox) -> Sandbox:
    """These tests send raw resets to tasks whether they run or not: a sandbox that allows it
    (``refuse_running=False``; the default refuses them, and a rewind stops them first)."""
    return lenient_sandbox


@pytest.fixture
def log() -> ResultLog:
    return ResultLog()


@pytest.fixture
def model(client: RomaClient, log: ResultLog) -> PanelModel:
    """A panel set to the raw reset: these tests are about its safety rules, which hold for
    both procedures (the rewind's are in ``test_panel_rewind.py``)."""
    panel = PanelModel(client, log=log, tz="Asia/Shanghai", clock=lambda: NOW)
    panel.select(procedure="reset")
    return panel


def _resets(results: list[RunResult]) -> list[ResetResult]:
    """The results of a raw reset, typed as such."""
    assert all(isinstance(r, ResetResult) for r in results)
    return [r for r in results if isinstance(r, ResetResult)]


def instance_id(model: PanelModel, index: int = 0) -> str:
    return model.catalog.instances()[index].id


def task_ids(model: PanelModel, count: int, *, instance: int = 0) -> list[str]:
    entries = model.catalog.tasks(instance_id(model, instance)).entries
    assert len(entries) >= count
    return [e.task_id for e in entries[:count]]


def ready(model: PanelModel, count: int = 3, **extra: object) -> list[str]:
    """Select the first instance, ``count`` of its tasks and ``WALL`` in Asia/Shanghai."""
    ids = task_ids(model, count)
    model.select(instance_id=instance_id(model), task_ids=ids, date_from=WALL, **extra)  # type: ignore[arg-type]
    return ids


# -- selecting ----------------------------------------------------------------------------------


def test_select_checks_what_it_is_given_and_changes_nothing_on_error(model: PanelModel) -> None:
    with pytest.raises(ValidationError, match="not an instance"):
        model.select(instance_id="no-such-instance")
    with pytest.raises(ValidationError, match="Select an instance"):
        model.select(task_ids=["abc"])
    ids = ready(model, 2)
    other = task_ids(model, 1, instance=1)
    with pytest.raises(ValidationError, match="Not combined tasks"):
        model.select(task_ids=other)
    with pytest.raises(ValidationError, match="list of task ids"):
        model.select(task_ids=ids[0])
    with pytest.raises(ValidationError, match="Unknown time zone"):
        model.select(date_from=datetime(2024, 1, 1), tz="Mars/Olympus")
    with pytest.raises(ValidationError, match="retention"):
        model.select(retention=timedelta(0))
    assert model.task_ids == tuple(ids)
    assert model.date_choice.wall == WALL
    assert model.zone == "Asia/Shanghai"


def test_another_instance_clears_the_tasks_and_is_remembered(model: PanelModel) -> None:
    ready(model, 2)
    model.select(instance_id=instance_id(model))
    assert len(model.task_ids) == 2
    model.select(instance_id=instance_id(model, 1))
    assert not model.task_ids
    assert recall_instance("SANDBOX") == instance_id(model, 1)
    assert model.instance is not None and model.instance.name == "roma-staging"


def test_tasks_can_be_selected_with_the_instance_in_one_call(model: PanelModel) -> None:
    ids = task_ids(model, 2, instance=1)
    model.select(instance_id=instance_id(model, 1), task_ids=ids)
    assert model.task_ids == tuple(ids)


def test_state_is_one_snapshot_of_what_the_selection_means(model: PanelModel) -> None:
    empty = model.state()
    assert empty.plan is None and empty.problem == "Select an instance first."
    ids = ready(model, 2)
    state = model.state()
    assert state.selection == model.selection and state.selection.task_ids == tuple(ids)
    assert state.resolution.ms == WALL_MS and state.problem is None
    assert (
        state.plan is not None
        and [t.instance_id for t in state.plan.targets()] == [instance_id(model)] * 2
    )
    assert not state.current and not state.running and state.unknown == 0
    model.preview()
    assert model.state().current and model.state().previewed == state.plan


def test_a_whole_selection_is_applied_at_once(model: PanelModel) -> None:
    ids = ready(model, 2)
    chosen = model.selection
    model.select(instance_id=instance_id(model, 1))
    assert model.select(chosen) == chosen and model.task_ids == tuple(ids)


# -- preview ------------------------------------------------------------------------------------


def test_preview_has_one_row_per_call_with_the_request_as_sent(
    model: PanelModel, roma_sandbox: Sandbox
) -> None:
    ids = ready(model, 3)
    frame = model.preview()
    assert list(frame.columns) == list(PREVIEW_COLUMNS)
    assert list(frame["task_id"]) == ids
    names = [model.catalog.tasks(instance_id(model)).get(t).task_name for t in ids]  # type: ignore[union-attr]
    assert list(frame["task_name"]) == names
    row = frame.iloc[0]
    assert row["environment"] == "SANDBOX"
    assert row["instance_id"] == instance_id(model)
    assert row["instance_name"] == "roma-prod-cn-north-4"
    assert row["date_from"] == WALL_MS
    assert row["date_from_utc"] == "2024-06-01T01:30:00Z"
    assert row["date_from_local"] == "2024-06-01 09:30:00 CST (+08:00)"
    assert row["zone"] == "Asia/Shanghai"
    assert not row["dry_run"]
    assert row["request"] == (
        f"POST /v2/{roma_sandbox.project_id}/fdi/instances/{instance_id(model)}"
        f"/multi-tasks/{ids[0]}/reset"
    )
    assert row["body"] == f'{{"date_from":{WALL_MS}}}'
    assert str(frame["date_from"].dtype) == "Int64"
    assert str(frame["dry_run"].dtype) == "boolean"
    assert [w for w in frame.attrs["warnings"] if "running" not in w] == []  # dates: none
    assert roma_sandbox.resets == []


def test_preview_of_an_empty_date_from_sends_an_empty_body(model: PanelModel) -> None:
    ready(model, 1)
    model.select(date_from=None)
    frame = model.preview()
    assert frame["date_from"].isna().all()
    assert frame["body"].tolist() == ["{}"]
    assert frame["date_from_utc"].isna().all()
    assert "empty" in frame.attrs["warnings"][0]
    assert "the service decides" in model.confirmation_text()


@pytest.mark.parametrize(
    ("selection", "message"),
    [
        ({}, "Select an instance"),
        ({"instance": True}, "at least one combined task"),
        ({"instance": True, "tasks": True}, "No time is picked"),
        (
            {"instance": True, "tasks": True, "wall": datetime(2024, 3, 31, 2, 30)},
            "does not exist in Europe/Paris",
        ),
        (
            {"instance": True, "tasks": True, "wall": datetime(2024, 10, 27, 2, 30)},
            "occurs twice in Europe/Paris",
        ),
    ],
)
def test_preview_says_what_is_missing(
    model: PanelModel, selection: dict[str, object], message: str
) -> None:
    if selection.get("instance"):
        model.select(instance_id=instance_id(model))
    if selection.get("tasks"):
        model.select(task_ids=task_ids(model, 1))
    if "wall" in selection:
        model.select(date_from=selection["wall"], tz="Europe/Paris")
    with pytest.raises(ValidationError, match=message):
        model.preview()
    assert model.previewed is None


def test_a_fold_answered_in_code_previews_the_chosen_instant(model: PanelModel) -> None:
    ready(model, 1)
    model.select(date_from=datetime(2024, 10, 27, 2, 30), tz="Europe/Paris", ambiguous="later")
    assert model.preview()["date_from"].tolist() == [to_epoch_ms("2024-10-27T01:30:00Z")]


def test_future_and_retention_warnings_reach_the_plan_and_the_confirmation(
    model: PanelModel,
) -> None:
    ready(model, 1)
    model.select(date_from=NOW + 3_600_000)
    assert "future" in model.preview().attrs["warnings"][0]
    model.select(date_from=NOW - 3 * 86_400_000)
    frame = model.preview()
    assert "retention" in frame.attrs["warnings"][0]
    assert "! " in model.confirmation_text()
    model.select(retention=timedelta(days=4))
    assert [w for w in model.preview().attrs["warnings"] if "running" not in w] == []


# -- confirmation and running -------------------------------------------------------------------


def test_nothing_is_sent_without_confirm_true_or_without_a_preview(
    model: PanelModel, roma_sandbox: Sandbox
) -> None:
    ready(model)
    with pytest.raises(ConfirmationRequired, match="preview"):
        model.run(confirm=True)
    with pytest.raises(ConfirmationRequired, match="Preview the plan first"):
        model.confirmation_text()
    model.preview()
    with pytest.raises(ConfirmationRequired, match="confirm=True"):
        model.run()
    with pytest.raises(ConfirmationRequired, match="confirm=True"):
        model.run(confirm="yes")  # type: ignore[arg-type]
    assert roma_sandbox.resets == []
    assert len(model.log) == 0


def test_run_sends_the_exact_instant_to_every_task_and_records_each(
    model: PanelModel, roma_sandbox: Sandbox, log: ResultLog
) -> None:
    ids = ready(model, 3)
    model.preview()
    text = model.confirmation_text()
    assert "SANDBOX" in text and all(t in text for t in ids)
    seen: list[tuple[int, int]] = []
    results = model.run(confirm=True, progress=lambda done, total, _r: seen.append((done, total)))
    assert [r.task_id for r in results] == ids
    assert {r.outcome for r in results} == {"success"}
    assert all(r.task_name for r in results)
    assert sorted((r.task_id, r.date_from) for r in roma_sandbox.resets) == sorted(
        (t, WALL_MS) for t in ids
    )
    assert seen[-1] == (3, 3) and model.progress == (3, 3)
    frame = model.results
    assert len(frame) == 3
    assert frame["id"].is_monotonic_decreasing
    assert set(frame["outcome"]) == {"success"}
    assert set(frame["date_from_ms"]) == {WALL_MS}
    assert len(log.to_frame()) == 3


def test_a_run_uses_up_its_preview(model: PanelModel, roma_sandbox: Sandbox) -> None:
    ready(model, 2)
    model.preview()
    model.run(confirm=True)
    with pytest.raises(ConfirmationRequired, match="each run needs its own"):
        model.run(confirm=True)
    assert len(roma_sandbox.resets) == 2


@pytest.mark.parametrize(
    "change",
    [
        {"tasks": 1},
        {"date_from": WALL_MS + 1},
        {"tz": "UTC"},
        {"date_from": None},
        {"dry_run": True, "then_real": True},
        {"instance": 1},
    ],
)
def test_any_change_after_the_preview_voids_the_confirmation(
    model: PanelModel, roma_sandbox: Sandbox, change: dict[str, object]
) -> None:
    ready(model, 2)
    model.preview()
    if "tasks" in change:
        model.select(task_ids=task_ids(model, 1))
    if "date_from" in change:
        model.select(date_from=change["date_from"])
    if "tz" in change:
        model.select(tz=str(change["tz"]))
    if "instance" in change:
        model.select(instance_id=instance_id(model, 1), task_ids=task_ids(model, 1, instance=1))
    if change.get("then_real"):
        model.select(dry_run=True)
        model.preview()
        model.select(dry_run=False)
    assert not model.preview_is_current()
    with pytest.raises(PlanChanged, match="changed since the preview"):
        model.run(confirm=True)
    with pytest.raises(PlanChanged):
        model.confirmation_text()
    assert roma_sandbox.resets == []


def test_going_back_to_the_previewed_selection_makes_it_confirmable_again(
    model: PanelModel, roma_sandbox: Sandbox
) -> None:
    ids = ready(model, 2)
    model.preview()
    model.select(task_ids=ids[:1])
    model.select(task_ids=ids)
    assert model.preview_is_current()
    assert len(model.run(confirm=True)) == 2


def test_dry_run_sends_nothing_and_records_every_target(
    model: PanelModel, roma_sandbox: Sandbox
) -> None:
    ids = ready(model, 3, dry_run=True)
    frame = model.preview()
    assert frame["dry_run"].all()
    assert model.confirmation_text().startswith("DRY RUN")
    results = model.run(confirm=True)
    assert [r.outcome for r in results] == ["dry-run"] * 3
    assert {r.date_from for r in results} == {WALL_MS}
    assert roma_sandbox.resets == []
    history = model.results
    assert sorted(history["task_id"]) == sorted(ids)
    assert history["dry_run"].all()


def test_a_previewed_real_run_may_be_run_dry_but_not_the_reverse(
    model: PanelModel, roma_sandbox: Sandbox
) -> None:
    ready(model, 2)
    model.preview()
    assert {r.outcome for r in model.run(confirm=True, dry_run=True)} == {"dry-run"}
    model.select(dry_run=True)
    model.preview()
    with pytest.raises(PlanChanged, match="dry run → real run"):
        model.run(confirm=True, dry_run=False)
    assert roma_sandbox.resets == []


def test_a_second_run_while_one_is_in_flight_is_refused_not_queued(
    model: PanelModel, roma_sandbox: Sandbox
) -> None:
    ids = ready(model, 3)
    model.preview()
    refusals: list[Exception] = []

    def try_again(done: int, total: int, result: ResetResult) -> None:
        assert model.running
        try:
            model.run(confirm=True)
        except RunInProgress as exc:
            refusals.append(exc)
        try:
            model.retry_unknown()
        except RunInProgress as exc:
            refusals.append(exc)

    model.run(confirm=True, progress=try_again)
    assert len(refusals) == 6
    assert not model.running
    assert sorted(r.task_id for r in roma_sandbox.resets) == sorted(ids)


def test_background_run_claims_at_once_and_reports_when_done(
    model: PanelModel, roma_sandbox: Sandbox
) -> None:
    ids = ready(model, 4)
    model.preview()
    finished = threading.Event()
    outcome: list[object] = []

    def done(results: list[RunResult] | None, error: BaseException | None) -> None:
        outcome.append(results if error is None else error)
        finished.set()

    model.run_in_background(confirm=True, done=done)
    with pytest.raises(PanelError):  # in flight, or already finished with its preview used up
        model.run_in_background(confirm=True, done=done)
    assert model.wait(timeout=60)
    assert finished.is_set()
    assert len(outcome) == 1
    assert isinstance(outcome[0], list) and len(outcome[0]) == 4
    assert sorted(r.task_id for r in roma_sandbox.resets) == sorted(ids)


def test_stop_records_what_was_not_sent_as_skipped(
    client: RomaClient, log: ResultLog, roma_sandbox: Sandbox
) -> None:
    model = PanelModel(client, log=log, concurrency=1, clock=lambda: NOW)
    model.select(procedure="reset")
    ids = ready(model, 8)
    model.preview()
    roma_sandbox.set_latency(20)
    asked: list[bool] = []

    def stop_after_first(done: int, total: int, result: ResetResult) -> None:
        if done == 1:
            asked.append(model.stop())

    results = model.run(confirm=True, progress=stop_after_first)
    assert asked == [True]
    assert not model.stop()  # nothing runs any more
    outcomes = [r.outcome for r in results]
    assert set(outcomes) <= {"success", "skipped"}
    assert outcomes[0] == "success"
    assert "skipped" in outcomes
    sent = {r.task_id for r in results if r.outcome == "success"}
    assert {r.task_id for r in roma_sandbox.resets} == sent
    skipped = [r for r in _resets(results) if r.outcome == "skipped"]
    assert all(r.attempts == 0 for r in skipped)
    frame = model.results
    assert sorted(frame["task_id"]) == sorted(ids)
    assert (frame["outcome"] == "skipped").sum() == len(skipped)


def test_a_stop_signal_set_before_the_run_sends_nothing(
    model: PanelModel, roma_sandbox: Sandbox
) -> None:
    ready(model, 3)
    model.preview()
    stop = threading.Event()
    stop.set()
    results = model.run(confirm=True, stop=stop)
    assert [r.outcome for r in results] == ["skipped"] * 3
    assert roma_sandbox.resets == []


def test_a_refused_task_is_a_failed_result_and_the_others_go_through(
    model: PanelModel, roma_sandbox: Sandbox
) -> None:
    ids = ready(model, 3)
    roma_sandbox.inject("task_running", match=ids[1], times=None)
    model.preview()
    results = model.run(confirm=True)
    assert [r.outcome for r in results] == ["success", "failed", "success"]
    failed = _resets(results)[1]
    assert failed.error_code == "FDI.3023"
    assert failed.status_code == 400
    assert failed.message
    assert {r.task_id for r in roma_sandbox.resets} == {ids[0], ids[2]}
    frame = model.results
    row = frame[frame["task_id"] == ids[1]].iloc[0]
    assert row["outcome"] == "failed" and row["error_code"] == "FDI.3023"


def test_retry_unknown_resends_only_the_unknown_targets(
    model: PanelModel, roma_sandbox: Sandbox
) -> None:
    ids = ready(model, 3)
    roma_sandbox.inject("drop", match=f"{ids[2]}/reset", times=1)  # not its monitor logs
    model.preview()
    first = model.run(confirm=True)
    assert [r.outcome for r in first] == ["success", "success", "unknown"]
    assert [r.task_id for r in model.unknown_targets()] == [ids[2]]
    roma_sandbox.clear_records()
    again = model.retry_unknown()
    assert [(r.task_id, r.outcome) for r in again] == [(ids[2], "success")]
    assert [(r.task_id, r.date_from) for r in roma_sandbox.resets] == [(ids[2], WALL_MS)]
    assert [r.outcome for r in model.last_results] == ["success"] * 3
    with pytest.raises(PanelError, match="Nothing to retry"):
        model.retry_unknown()
    history = model.results
    assert history[history["task_id"] == ids[2]]["outcome"].tolist() == ["success", "unknown"]


def test_last_log_preset_is_the_newest_log_start_of_the_selected_tasks(
    model: PanelModel, client: RomaClient
) -> None:
    with pytest.raises(PanelError, match="Select a task"):
        model.last_log_instant()
    ids = ready(model, 2)
    newest = [
        max(log.start_time for log in client.monitor_logs(instance_id(model), t) if log.start_time)
        for t in ids
    ]
    assert model.last_log_instant() == min(newest)


def test_monitor_failures_leave_the_task_list_usable_with_a_note(
    model: PanelModel, roma_sandbox: Sandbox
) -> None:
    roma_sandbox.inject("server_error", match="task-monitors", times=None)
    index = model.catalog.tasks(instance_id(model))
    assert len(index) > 0
    assert all(e.monitor is None for e in index.entries)
    assert "Monitor state unavailable" in model.catalog.notes[instance_id(model)]


# -- the default history ------------------------------------------------------------------------


def test_default_log_is_in_memory_for_the_sandbox_and_stamps_its_rows(
    client: RomaClient, roma_sandbox: Sandbox
) -> None:
    log, note = default_log(client)
    assert log.path is None and note is None
    model = PanelModel(client, clock=lambda: NOW)
    model.select(procedure="reset")  # one row per reset; a rewind writes one per step
    assert model.log.path is None
    ready(model, 1)
    model.preview()
    model.run(confirm=True)
    frame = model.results
    assert frame["endpoint"].tolist() == ["SANDBOX"]
    assert frame["project_id"].tolist() == [roma_sandbox.project_id]


def test_default_log_is_the_durable_history_for_a_real_service(
    roma_sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROMA_NB_HISTORY", str(tmp_path / "history.sqlite3"))
    with RomaClient(roma_sandbox.url, project_id=roma_sandbox.project_id) as real:
        model = PanelModel(real)
        assert model.log.path == tmp_path / "history.sqlite3"
        assert model.log_note is None
        assert model.log.context.project_id == roma_sandbox.project_id
        assert model.log.context.endpoint_label == roma_sandbox.url.split("//")[1]
        model.log.close()
        blocker = tmp_path / "a-file"
        blocker.write_text("")
        monkeypatch.setenv("ROMA_NB_HISTORY", str(blocker / "history.sqlite3"))
        log, note = default_log(real)
        assert log.path is None
        assert note is not None and "in memory only" in note
