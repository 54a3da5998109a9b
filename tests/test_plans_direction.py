"""Where a task is now, which way a reset moves it, and what ``build_plan`` refuses."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from plans_data import INSTANCE, NOW, SANDBOX, H, M, sample_plan, task

from roma_nb.errors import ValidationError
from roma_nb.models import MonitorLog, TaskMonitor
from roma_nb.plans import DateFrom, Move, PlanRefused, Position, Procedure, move_of, where_now

D = 24 * H


def log(end: int | None, status: str | None = "SUCCESS", start: int | None = None) -> MonitorLog:
    return MonitorLog(id=f"log-{end}", start_time=start, end_time=end, execute_status=status)


def refused(**changes: object) -> tuple[str, ...]:
    with pytest.raises(PlanRefused) as caught:
        sample_plan(**changes)
    assert str(caught.value).startswith(f"The plan is refused ({len(caught.value.reasons)} ")
    return caught.value.reasons


# --- where a task is now ---------------------------------------------------------------------


def test_the_latest_successful_monitor_log_is_the_best_evidence() -> None:
    logs = [
        log(NOW - 3 * H),
        log(NOW - 1 * H),
        log(NOW - 2 * H),
        log(NOW - 10 * M, "ERROR"),  # failed: not evidence of progress
        log(None, "RUNNING", start=NOW - 5 * M),  # no end yet
        log(NOW - 20 * M, " success "),
    ]
    monitor = TaskMonitor(task_id="t1", last_execute_time=NOW - 1 * M)
    assert where_now(logs=logs, monitor=monitor) == Position("monitor-log", NOW - 20 * M)


def test_the_last_execution_time_is_the_fallback_and_then_nothing() -> None:
    monitor = TaskMonitor(task_id="t1", last_execute_time=NOW - 1 * M)
    failed = [log(NOW - 10 * M, "ERROR"), log(NOW - 5 * M, "CANCELLED")]
    assert where_now(logs=failed, monitor=monitor) == Position("last-execute-time", NOW - M)
    assert where_now(logs=failed) == Position()
    assert where_now(monitor=TaskMonitor(task_id="t1")) == Position()
    # values no date_from could be are not evidence: 0, or seconds for milliseconds
    assert where_now(logs=[log(0)], monitor=TaskMonitor("t1", last_execute_time=NOW // 1000)) == (
        Position()
    )


def test_positions_say_which_evidence_they_rest_on() -> None:
    assert Position("monitor-log", NOW).describe() == (
        "the end of its latest successful monitor log, 2024-03-10T12:00:00Z"
    )
    assert Position("last-execute-time", NOW).describe().startswith("its last execution time")
    assert Position().describe().startswith("unknown: no successful monitor log")
    with pytest.raises(ValidationError, match="has an instant exactly when it has evidence"):
        Position("monitor-log")
    with pytest.raises(ValidationError, match="evidence must be one of"):
        Position("gut-feeling", NOW)  # type: ignore[arg-type]


# --- the move --------------------------------------------------------------------------------


@given(
    date_from=st.integers(10**12, 2 * 10**12),
    at=st.integers(10**12, 2 * 10**12),
)
def test_the_move_is_the_signed_distance_from_where_the_task_is(date_from: int, at: int) -> None:
    move = move_of(date_from, Position("monitor-log", at))
    signed = {"replay": -1, "skip": 1, "same": 0}[move.direction] * (move.amount_ms or 0)
    assert signed == date_from - at
    assert move.forward == (date_from > at)


def test_moves_in_words() -> None:
    replay = move_of(NOW - (6 * H + 12 * M), Position("monitor-log", NOW))
    assert replay == Move("replay", 6 * H + 12 * M)
    assert replay.summary() == "replays 6 h 12 min"
    assert "duplicates" in replay.consequence() and "at least once" in replay.consequence()
    skip = move_of(NOW, Position("monitor-log", NOW - 35 * M))
    assert skip.summary() == "skips 35 min of changes"
    assert "will not receive them" in skip.consequence()
    assert move_of(None, Position("monitor-log", NOW)) == Move("unknown")
    assert move_of(NOW, Position()).summary() == "direction unknown"
    assert move_of(NOW, Position("monitor-log", NOW)).summary().startswith("starts where it is")


# --- build_plan ------------------------------------------------------------------------------


def test_a_forward_move_is_refused_with_what_would_be_lost() -> None:
    positions = {"t1": Position("monitor-log", NOW - 2 * H - 35 * M)}
    [reason] = refused(positions=positions, tasks=[task("t1", "orders")])
    assert reason == (
        "Task orders (t1): date_from 2024-03-10T10:00:00Z is 35 min after where the task is now "
        "(the end of its latest successful monitor log, 2024-03-10T09:25:00Z): the reset would "
        "skip 35 min of changes, which the target would never receive. Pass allow_forward=True "
        "if that is what you want."
    )


def test_allow_forward_turns_the_refusal_into_a_warning() -> None:
    positions = {"t1": Position("last-execute-time", NOW - 3 * H)}
    plan = sample_plan(
        positions=positions, tasks=[task("t1")], procedure=Procedure.rewind(allow_forward=True)
    )
    [warning] = plan.warnings
    assert warning.startswith("Allowed by allow_forward: Task name-t1 (t1): date_from")
    assert "its last execution time" in warning and "skip 1 h" in warning
    assert plan.to_document()["tasks"][0]["move"]["text"] == "skips 1 h of changes"


def test_a_future_date_from_is_a_forward_move_for_every_task() -> None:
    ahead = DateFrom(NOW + 15 * M, "UTC", "now+15m")
    [reason] = refused(date_from=ahead, positions={}, tasks=[task("t1")])
    assert reason.startswith("date_from 2024-03-10T12:15:00Z is 15 min in the future")
    plan = sample_plan(date_from=ahead, positions={}, tasks=[task("t1")],
                       procedure=Procedure.reset(allow_forward=True))  # fmt: skip
    assert any("15 min in the future" in w for w in plan.warnings)


def test_a_date_from_older_than_the_retention_is_refused() -> None:
    old = DateFrom(NOW - 2 * D - H, "UTC", "49h ago")
    [reason] = refused(date_from=old, positions={})
    assert "2 days 1 h ago, older than the CDC log retention of 2 days" in reason
    assert "Pick a later date_from, or raise the retention setting" in reason
    plan = sample_plan(date_from=old, positions={}, retention=timedelta(days=3))
    assert plan.retention_ms == 3 * D


def test_a_plan_that_outlives_its_date_froms_retention_says_when() -> None:
    plan = sample_plan(date_from=DateFrom(NOW - 36 * H), positions={})
    assert any(
        w.startswith("date_from leaves the retention of 2 days at 2024-03-11T00:00:00Z, before")
        for w in plan.warnings
    )
    assert not any("leaves the retention" in w for w in sample_plan().warnings)


def test_tasks_that_cannot_be_planned_are_each_named() -> None:
    reasons = refused(
        tasks=[
            task("t1", "orders"),
            task("t1", "orders"),
            task("n1", "nightly", ext_type=None),
            task("x1", "elsewhere", instance_id="inst-2"),
        ],
        positions={},
    )
    assert reasons == (
        "Task orders (t1) is listed twice; a plan lists each task once.",
        "Task nightly (n1) is not a combined task (ext_type None); only combined (CDC) tasks "
        "have a progress to reset.",
        "Task elsewhere (x1) belongs to instance inst-2, not to inst-1.",
    )
    assert refused(tasks=[]) == ("A plan needs at least one task.",)


def test_every_reason_is_given_at_once() -> None:
    old = DateFrom(NOW - 3 * D)
    reasons = refused(date_from=old, tasks=[task("n1", ext_type="")], positions={})
    assert len(reasons) == 2


def test_unknown_directions_and_an_empty_date_from_are_warnings() -> None:
    plan = sample_plan(positions={"t1": Position("monitor-log", NOW)})
    assert plan.warnings == (
        "Task customers (t2): no evidence where it is now (no successful monitor log and no last "
        "execution time), so whether the reset replays or skips changes is unknown.",
    )
    empty = sample_plan(date_from=DateFrom(None, "UTC"))
    assert empty.warnings == ("date_from is empty: the service decides the start point.",)
    assert [t["move"]["direction"] for t in empty.to_document()["tasks"]] == ["unknown"] * 2


def test_the_plan_records_the_state_the_planner_saw() -> None:
    plan = sample_plan(
        tasks=[task("t1", status=None, execute_status=None), task("t2", status=0)], positions={}
    )
    assert [(t.status, t.execute_status) for t in plan.tasks] == [
        ("unknown", None),
        ("stopped", "RUNNING"),
    ]
    assert plan.environment == SANDBOX and plan.instance_id == INSTANCE
    assert plan.created_ms == NOW and plan.expires_ms == NOW + D


def test_bad_settings_are_refused_before_planning() -> None:
    with pytest.raises(ValidationError, match="retention must be a positive timedelta"):
        sample_plan(retention=timedelta(0))
    with pytest.raises(ValidationError, match="expires_in must be a positive timedelta"):
        sample_plan(expires_in=-timedelta(hours=1))
    with pytest.raises(ValidationError, match="looks like seconds"):
        sample_plan(now_ms=NOW // 1000)
    with pytest.raises(ValidationError, match="now_ms is required"):
        sample_plan(now_ms=None)


def test_the_planner_defaults_to_the_os_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("getpass.getuser", lambda: "carol")
    assert sample_plan(planner=None).planner == "carol"

    def no_user() -> str:
        raise KeyError("uid not found")

    monkeypatch.setattr("getpass.getuser", no_user)
    assert sample_plan(planner=None).planner == "unknown-user"
