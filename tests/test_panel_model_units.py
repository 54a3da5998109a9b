"""Unit tests of the panel model's pure parts: date choices, the task index, plans."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roma_nb.dates import MAX_MS, to_epoch_ms
from roma_nb.errors import ValidationError
from roma_nb.models import Task, TaskMonitor
from roma_nb.panel import (
    DateChoice,
    PlannedRun,
    TaskEntry,
    TaskIndex,
    choice_from_value,
    hour_ago,
    start_of_today,
)
from roma_nb.panel.plan import describe_changes
from roma_nb.plans import DateFrom, Environment, Plan, PlannedTask, Procedure

PARIS = "Europe/Paris"
GAP_WALL = datetime(2024, 3, 31, 2, 30)  # Paris skipped 02:00-03:00
FOLD_WALL = datetime(2024, 10, 27, 2, 30)  # Paris showed 02:00-03:00 twice


# -- DateChoice ---------------------------------------------------------------------------------


def test_unset_and_cleared_picker_name_no_instant_and_say_so() -> None:
    for choice in (DateChoice.unset(), DateChoice.at_wall(None, PARIS)):
        resolution = choice.resolve()
        assert not resolution.ok
        assert resolution.problem == "unset"
        assert resolution.message is not None and "empty" in resolution.message


def test_empty_is_a_deliberate_none() -> None:
    resolution = DateChoice.empty(PARIS).resolve()
    assert resolution.ok and resolution.ms is None and resolution.view is None


def test_wall_time_is_read_in_its_zone() -> None:
    resolution = DateChoice.at_wall(datetime(2024, 1, 2, 11, 4), "Asia/Shanghai").resolve()
    assert resolution.ok
    assert resolution.ms == 1704164640000
    assert resolution.view is not None
    assert resolution.view.utc_iso == "2024-01-02T03:04:00Z"
    assert resolution.view.zone == "Asia/Shanghai"


def test_changing_the_zone_rereads_digits_but_keeps_an_exact_instant() -> None:
    wall = DateChoice.at_wall(datetime(2024, 1, 2, 3, 4), "UTC")
    assert wall.with_zone("Asia/Shanghai").resolve().ms == 1704164640000 - 8 * 3_600_000
    exact = DateChoice.exact(1704164640000, "UTC")
    assert exact.with_zone("Asia/Shanghai").resolve().ms == 1704164640000
    assert exact.with_zone("Asia/Shanghai").displayed_wall() == datetime(2024, 1, 2, 11, 4)


def test_gap_is_a_question_with_the_two_real_instants() -> None:
    resolution = DateChoice.at_wall(GAP_WALL, PARIS).resolve()
    assert not resolution.ok
    assert resolution.problem == "gap"
    assert resolution.candidates is not None
    before, after = resolution.candidates
    assert (before.ms, after.ms) == (1711846799999, 1711846800000)
    assert resolution.message is not None and "does not exist" in resolution.message


def test_fold_is_a_question_with_the_two_occurrences() -> None:
    resolution = DateChoice.at_wall(FOLD_WALL, PARIS).resolve()
    assert not resolution.ok
    assert resolution.problem == "fold"
    assert resolution.candidates is not None
    earlier, later = resolution.candidates
    assert later.ms - earlier.ms == 3_600_000
    assert earlier.utc_iso == "2024-10-27T00:30:00Z"


@pytest.mark.parametrize(
    ("wall", "policy", "expected"),
    [
        (FOLD_WALL, {"ambiguous": "earlier"}, 1729989000000),
        (FOLD_WALL, {"ambiguous": "later"}, 1729992600000),
        (GAP_WALL, {"nonexistent": "shift_backward"}, 1711846799999),
        (GAP_WALL, {"nonexistent": "shift_forward"}, 1711846800000),
    ],
)
def test_an_answered_question_resolves(
    wall: datetime, policy: dict[str, str], expected: int
) -> None:
    choice = DateChoice.at_wall(wall, PARIS).with_policy(**policy)  # type: ignore[arg-type]
    assert choice.resolve().ms == expected


def test_an_answered_question_keeps_its_candidates_for_the_picker() -> None:
    asked = DateChoice.at_wall(FOLD_WALL, PARIS).resolve()
    answered = DateChoice.at_wall(FOLD_WALL, PARIS).with_policy(ambiguous="later").resolve()
    assert answered.ok and answered.problem is None
    assert answered.question == asked.question == "fold"
    assert answered.candidates == asked.candidates
    plain = DateChoice.at_wall(datetime(2024, 6, 1, 9, 30), PARIS).resolve()
    assert plain.question is None and plain.candidates is None


def test_a_bad_zone_is_a_message_not_an_exception() -> None:
    resolution = DateChoice.at_wall(datetime(2024, 1, 1), "Asia/Shangai").resolve()
    assert not resolution.ok
    assert resolution.problem == "invalid"
    assert resolution.message is not None and "Asia/Shanghai" in resolution.message
    assert DateChoice.empty("").resolve().problem == "invalid"


def test_an_exact_instant_out_of_range_is_a_message() -> None:
    resolution = DateChoice.exact(MAX_MS + 1).resolve()
    assert not resolution.ok and resolution.problem == "invalid"


def test_aware_wall_time_is_refused() -> None:
    with pytest.raises(ValidationError, match="naive"):
        DateChoice.at_wall(datetime(2024, 1, 1, tzinfo=timezone.utc))


def test_warnings_only_for_a_resolvable_choice() -> None:
    now = 1704164640000
    day = 86_400_000
    future = DateChoice.exact(now + day).warnings(now_ms=now, retention=timedelta(days=2))
    assert len(future) == 1 and "future" in future[0]
    old = DateChoice.exact(now - 3 * day).warnings(now_ms=now, retention=timedelta(days=2))
    assert len(old) == 1 and "retention" in old[0]
    fine = DateChoice.exact(now - 3 * day).warnings(now_ms=now, retention=timedelta(days=4))
    assert fine == []
    assert DateChoice.unset().warnings(now_ms=now, retention=timedelta(days=2)) == []


def test_choice_from_value() -> None:
    assert choice_from_value(None, PARIS) == DateChoice.empty(PARIS)
    naive = datetime(2024, 1, 2, 3, 4)
    assert choice_from_value(naive, PARIS) == DateChoice.at_wall(naive, PARIS)
    assert choice_from_value(1704164640000) == DateChoice.exact(1704164640000)
    assert choice_from_value("2024-01-02T03:04:00Z", PARIS).ms == 1704164640000
    assert choice_from_value(date(2024, 1, 2), "UTC").ms == 1704153600000
    with pytest.raises(ValidationError, match="seconds"):
        choice_from_value(1704164640)


@given(st.integers(min_value=3_600_000 + 60_000, max_value=MAX_MS))
def test_hour_ago_is_a_whole_minute_within_the_last_minute_before_an_hour_ago(now: int) -> None:
    ms = hour_ago(now).ms
    assert ms is not None
    assert ms % 60_000 == 0
    assert now - 3_600_000 - 60_000 < ms <= now - 3_600_000


def test_start_of_today_is_midnight_of_today_in_the_zone() -> None:
    now = to_epoch_ms("2024-01-02T20:00:00Z")  # already Jan 3 in Shanghai
    shanghai = start_of_today(now, "Asia/Shanghai")
    assert shanghai.wall == datetime(2024, 1, 3)
    assert shanghai.resolve().ms == to_epoch_ms("2024-01-02T16:00:00Z")
    assert start_of_today(now, "UTC").wall == datetime(2024, 1, 2)


# -- TaskIndex ----------------------------------------------------------------------------------


def _entry(i: int) -> TaskEntry:
    task = Task(
        task_id=f"{i:032x}",
        task_name=f"{['orders', 'Payments', 'ledger'][i % 3]}_sync_{i}",
        instance_id="inst",
        status=i % 2,
        execute_status="RUNNING" if i % 2 else "CANCELLED",
        ext_type="CDC",
    )
    monitor = TaskMonitor(task_id=task.task_id, last_execute_time=1704164640000 + i)
    return TaskEntry(task, monitor if i % 5 else None)


def test_entry_label_names_name_id_status_execute_status_last_run() -> None:
    entry = _entry(1)
    assert entry.label == (
        f"Payments_sync_1 · {1:032x} · running · RUNNING · last run 2024-01-02T03:04:00.001Z"
    )
    assert "never run" in _entry(5).label


def test_search_ten_thousand_tasks_by_name_or_id_case_insensitively() -> None:
    index = TaskIndex(_entry(i) for i in range(10_000))
    everything = index.search("", limit=500)
    assert (len(everything.shown), everything.total, everything.hidden) == (500, 10_000, 9_500)
    payments = index.search("PAYMENTS", limit=500)
    assert payments.total == 3_333
    assert all("Payments" in e.task_name for e in payments.shown)
    by_id = index.search(f"{1234:032x}")
    assert [e.task_id for e in by_id.shown] == [f"{1234:032x}"]
    both_terms = index.search("ledger 99", limit=10_000)
    expected = [e for e in index.entries if "ledger" in e.task_name and "99" in e.search_key]
    assert list(both_terms.shown) == expected
    assert index.search("no-such-task").total == 0


# -- plans --------------------------------------------------------------------------------------


INST = "a" * 32
T1, T2, T3 = "1" * 32, "2" * 32, "3" * 32
RESET = Procedure.reset()
SANDBOX = Environment("SANDBOX", "SANDBOX", "p" * 32)


def _plan(
    *,
    tasks: tuple[PlannedTask, ...] = (PlannedTask(T1, "orders"), PlannedTask(T2, "")),
    date_from: int | None = 1704164640000,
    zone: str = "Asia/Shanghai",
    procedure: Procedure = RESET,
    dry_run: bool = False,
    warnings: tuple[str, ...] = ("old",),
    created_ms: int = 1704164640000,
    environment: Environment = SANDBOX,
) -> PlannedRun:
    plan = Plan(
        environment=environment,
        instance_id=INST,
        instance_name="prod",
        tasks=tasks,
        date_from=DateFrom(date_from, zone),
        procedure=procedure,
        planner="alice",
        created_ms=created_ms,
        expires_ms=created_ms + 86_400_000,
        retention_ms=2 * 86_400_000,
        warnings=warnings,
    )
    return PlannedRun(plan, dry_run)


def test_plan_equality_ignores_warnings_and_the_clock_but_not_anything_sent() -> None:
    assert _plan() == _plan(warnings=())
    assert _plan() == _plan(created_ms=1704164640000 + 60_000)  # previewed a minute earlier
    assert _plan() != _plan(date_from=1704164640001)
    assert _plan() != _plan(tasks=(PlannedTask(T1, "orders"),))
    assert _plan() != _plan(dry_run=True)
    assert _plan() == _plan(dry_run=True).with_dry_run(False)


def test_a_rewind_plan_names_the_steps_of_each_task() -> None:
    tasks = (PlannedTask(T1, "orders", "running"), PlannedTask(T2, "", "stopped"))
    plan = _plan(procedure=Procedure.rewind(), tasks=tasks, date_from=None, zone="UTC")
    text = plan.confirmation_text()
    assert text.startswith("REWIND the progress of 2 combined tasks on SANDBOX")
    assert "steps:       stop 1 running task, reset 2, start it again, verify" in text
    assert f"orders ({T1}): running → stop, reset to the start point the service chooses" in text
    assert f"(no name) ({T2}): stopped → reset to the start point" in text
    assert plan.step_count() == (1 + 4) + (1 + 1)
    assert plan.confirmation_headline() == (
        "Please read: this sends stops, resets and starts to the SANDBOX (nothing real)."
    )
    real = Environment("roma.example.com / project p", "https://roma.example.com", "p" * 32)
    assert _plan(procedure=Procedure.rewind(), environment=real).confirmation_headline() == (
        "Please read: this sends REAL stops, resets and starts."
    )
    assert plan != _plan(procedure=Procedure.reset(), tasks=tasks, date_from=None, zone="UTC")
    never = _plan(procedure=Procedure.rewind(restart="never"), tasks=tasks)
    assert "leave it stopped (restart='never')" in never.steps_summary()


def test_confirmation_text_names_environment_instance_instant_and_every_task() -> None:
    text = _plan().confirmation_text()
    assert text.startswith("RESET the progress of 2 combined tasks on SANDBOX")
    assert f"prod ({INST})" in text
    assert "2024-01-02T03:04:00Z = 2024-01-02 11:04:00 CST (+08:00) in Asia/Shanghai" in text
    assert "date_from 1704164640000" in text
    assert f"orders ({T1})" in text and f"(no name) ({T2})" in text
    assert "! old" in text
    assert "plan_id" not in text  # a plan the panel built is not a file anyone reviewed
    empty = _plan(date_from=None, dry_run=True).confirmation_text()
    assert empty.startswith("DRY RUN")
    assert "the service decides" in empty


def test_a_loaded_plan_names_its_file_planner_and_plan_id(tmp_path: Path) -> None:
    run = _plan()
    path = run.plan.save(tmp_path / "plan.json")
    loaded = PlannedRun(Plan.load(path), False, path, ("Task orders was stopped …",))
    assert loaded.plan.plan_id == run.plan.plan_id and loaded != run
    text = loaded.confirmation_text()
    assert f"plan file:   {path}" in text
    assert text.splitlines()[1:4] == [
        f"plan file:   {path}",
        f"plan_id:     {run.plan.plan_id}",
        "planned by:  alice at 2024-01-02T03:04:00Z; expires 2024-01-03T03:04:00Z",
    ]
    assert loaded.warnings == ("old", "Task orders was stopped …")


def test_describe_changes() -> None:
    changed = _plan(tasks=(PlannedTask(T3),), date_from=1, dry_run=True)
    text = describe_changes(_plan(), changed)
    assert "tasks +1 −2" in text
    assert "date_from 1704164640000 → 1" in text
    assert "real run → dry run" in text
    assert describe_changes(_plan(), _plan()) == "nothing visible"
