"""What the panel's tables say (issue 14, items 5 and 6), as plain text, without a browser.

The preview's rows come from a ``PlannedRun`` (a ``plans.Plan``) and what is known of each task;
the results from a real ``ResultLog``'s frame. The HTML they are drawn with is checked for what
a person relies on: whole ids, no ``<NA>``, a cue when rows scroll.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from roma_nb.dates import to_epoch_ms
from roma_nb.history import ResultLog
from roma_nb.models import Outcome, ResetResult, Restart
from roma_nb.panel import (
    RESULT_VIEW_COLUMNS,
    TASK_COLUMNS,
    PlannedRun,
    TaskFacts,
    in_flight,
    results_view,
    task_frame,
    wall_second,
)
from roma_nb.panel.views import skip_warnings
from roma_nb.plans import DateFrom, Environment, Plan, PlannedTask, Position, Procedure
from roma_nb.widgets._html import table_html

HOUR = 3_600_000
DATE_FROM = to_epoch_ms("2024-06-01T02:00:00Z")
LONG_ID = "9f" * 16  # a 32-character id: never shortened


def plan(
    *tasks: PlannedTask, procedure: str = "rewind", restart: Restart = "as_before"
) -> PlannedRun:
    return PlannedRun(
        Plan(
            environment=Environment("SANDBOX", "SANDBOX", "project-1"),
            instance_id="inst-1",
            instance_name="prod",
            tasks=tasks,
            date_from=DateFrom(DATE_FROM, "Asia/Shanghai"),
            procedure=(
                Procedure.rewind(restart=restart) if procedure == "rewind" else Procedure.reset()
            ),
            planner="alice",
            created_ms=DATE_FROM,
            expires_ms=DATE_FROM + 24 * HOUR,
            retention_ms=48 * HOUR,
        )
    )


def at(ms: int) -> Position:
    return Position("monitor-log", ms)


# -- times ---------------------------------------------------------------------------------------


def test_wall_second_is_to_the_second_in_the_zone_with_its_offset() -> None:
    assert wall_second(DATE_FROM + 123, "Asia/Shanghai") == "2024-06-01 10:00:00 +08:00"
    assert wall_second(DATE_FROM, "UTC") == "2024-06-01 02:00:00 +00:00"
    assert wall_second(None, "UTC") == ""


def test_wall_second_tells_the_two_times_of_a_fold_apart() -> None:
    first = to_epoch_ms("2024-11-03T05:30:00Z")  # 01:30 EDT
    second = first + HOUR  # 01:30 EST
    shown = {wall_second(first, "America/New_York"), wall_second(second, "America/New_York")}
    assert shown == {"2024-11-03 01:30:00 -04:00", "2024-11-03 01:30:00 -05:00"}


# -- the preview's rows --------------------------------------------------------------------------


def test_one_row_per_task_says_what_will_happen_and_how_much_is_replayed_or_skipped() -> None:
    running = PlannedTask(LONG_ID, "orders", "running")
    stopped = PlannedTask("t-stopped", "", "stopped")
    unknown = PlannedTask("t-new", "fresh", "unknown")
    facts = {
        LONG_ID: TaskFacts(last_run_ms=DATE_FROM + 2 * HOUR, position=at(DATE_FROM + 2 * HOUR)),
        "t-stopped": TaskFacts(position=at(DATE_FROM - 35 * 60_000)),
    }
    frame = task_frame(plan(running, stopped, unknown), facts)
    assert list(frame.columns) == list(TASK_COLUMNS)
    assert frame["task_id"].tolist() == [LONG_ID, "t-stopped", "t-new"]
    assert frame["task"].tolist() == ["orders", "(no name)", "fresh"]
    assert frame["state"].tolist() == ["running", "stopped", "state unknown"]
    assert frame["last_run"].tolist() == ["2024-06-01 12:00:00 +08:00", "never", "never"]
    assert frame["will_happen"].tolist() == [
        "stop, reset, start again, verify; replays 2 h",
        "reset, leave stopped; may SKIP up to 35 min of changes",
        "look first, then as a running or a stopped task; "
        "replay or skip unknown (no record of where it is)",
    ]


def test_a_raw_reset_and_restart_always_are_said_as_such() -> None:
    stopped = PlannedTask("t1", "a", "stopped")
    facts = {"t1": TaskFacts(position=at(DATE_FROM))}
    raw = task_frame(plan(stopped, procedure="reset"), facts)["will_happen"].tolist()
    assert raw == ["reset only (raw reset: not stopped, not started); " + (
        "starts where it is: nothing replayed, nothing skipped"
    )]  # fmt: skip
    always = task_frame(plan(stopped, restart="always"), facts)["will_happen"].tolist()
    assert always[0].startswith("reset, start, verify; ")


def test_a_skip_is_one_warning_naming_the_tasks_and_how_much() -> None:
    tasks = [PlannedTask(f"t{i}", f"task{i}", "running") for i in range(7)]
    facts = {t.id: TaskFacts(position=at(DATE_FROM - 10 * 60_000)) for t in tasks}
    facts["t0"] = TaskFacts(position=at(DATE_FROM + HOUR))  # replays: not named
    [warning] = skip_warnings(plan(*tasks), facts)
    assert warning.startswith("6 of the 7 tasks may SKIP changes (task1 (10 min), ")
    assert "and 1 more" in warning and "task0" not in warning
    assert skip_warnings(plan(tasks[0]), facts) == []


def test_a_plan_loaded_without_facts_says_where_its_tasks_were_when_planned() -> None:
    planned = PlannedTask("t1", "a", "running", position=at(DATE_FROM - 10 * 60_000))
    read = PlannedTask("t2", "b", "running", position=at(DATE_FROM - 10 * 60_000))
    facts = {"t2": TaskFacts(position=at(DATE_FROM + HOUR))}  # what the preview read wins
    frame = task_frame(replace(plan(planned, read), source=Path("plan.json")), facts)
    assert frame["last_run"].tolist() == ["not read", "never"]
    assert frame["will_happen"].tolist() == [
        "stop, reset, start again, verify; may SKIP up to 10 min of changes",
        "stop, reset, start again, verify; replays 1 h",
    ]
    [warning] = skip_warnings(plan(planned, read), facts)
    assert warning.startswith("1 of the 2 tasks may SKIP changes (a (10 min))")


# -- results -------------------------------------------------------------------------------------


def result(task_id: str, outcome: Outcome, when: datetime, **fields: Any) -> ResetResult:
    return ResetResult("inst-1", task_id, outcome, date_from=DATE_FROM, at=when, **fields)


def test_results_are_newest_first_in_the_zone_as_sentences_without_na() -> None:
    log = ResultLog()
    start = datetime(2024, 6, 1, 3, 0, 5, 750_000, tzinfo=timezone.utc)
    log.append(result("t-late", "success", start + timedelta(seconds=2), message="Reset Success"))
    log.append(
        result(
            "t-early",
            "failed",
            start,
            task_name="orders",
            status_code=400,
            error_code="FDI.3023",
            error_msg="One or more tasks are running",
            request_id="req-1",
            attempts=2,
        )
    )
    log.append(result("t-same", "skipped", start + timedelta(seconds=2)))  # ties: written last
    view = results_view(log.to_frame(), "Asia/Shanghai")
    assert list(view.columns) == list(RESULT_VIEW_COLUMNS)
    assert view["task_id"].tolist() == ["t-same", "t-late", "t-early"]
    assert view["at"].tolist()[2] == "2024-06-01 11:00:05 +08:00"
    assert set(view["date_from"]) == {"2024-06-01 10:00:00 +08:00"}
    assert view["step"].tolist() == ["reset"] * 3
    assert view["message"].tolist()[1:] == [
        "Reset Success.",
        "FDI.3023: One or more tasks are running. (HTTP 400, 2 attempts, request id req-1)",
    ]
    cells = " ".join(view.astype(str).to_numpy().ravel())
    assert "<NA>" not in cells and "nan" not in cells and "NaT" not in cells


def test_a_message_that_already_says_the_error_is_not_repeated() -> None:
    log = ResultLog()
    said = "Resetting t1 failed with HTTP 400. Service said: FDI.3023 running. Request id: r9."
    log.append(
        result(
            "t1",
            "failed",
            datetime(2024, 6, 1, tzinfo=timezone.utc),
            status_code=400,
            message=said,
            error_code="FDI.3023",
            error_msg="running",
            request_id="r9",
        )
    )
    assert results_view(log.to_frame(), "UTC")["message"].tolist() == [said]


def test_requests_in_flight_say_how_long_they_have_waited_oldest_first() -> None:
    log = ResultLog()
    first = log.begin("inst-1", "t-a", date_from=DATE_FROM, task_name="orders")
    log.begin("inst-1", "t-b", date_from=None)
    done = log.begin("inst-1", "t-c", date_from=DATE_FROM)
    log.complete(done, ResetResult("inst-1", "t-c", "success", date_from=DATE_FROM))
    frame = log.to_frame()
    started = int(frame.loc[frame["id"] == first, "at"].iloc[0].value // 1_000_000)
    lines = in_flight(frame, started + 12_400)
    assert len(lines) == 2
    assert lines[0] == "orders (t-a): reset, 12 s"
    assert lines[1].startswith("(no name) (t-b): reset, ")
    view = results_view(frame, "UTC", now_ms=started + 12_400)
    waiting = view.loc[view["task_id"] == "t-a", "message"].iloc[0]
    assert waiting == "Waiting for the answer: sent 12 s ago."
    assert view.loc[view["task_id"] == "t-b", "date_from"].iloc[0] == "none sent"
    assert in_flight(frame.iloc[0:0], started) == []


# -- the HTML ------------------------------------------------------------------------------------


def test_the_table_keeps_ids_whole_labels_outcomes_and_says_when_it_scrolls() -> None:
    frame = task_frame(
        plan(*(PlannedTask(f"{LONG_ID}{i:02d}", f"n{i}", "running") for i in range(13))), {}
    )
    html = table_html(frame, limit=200, what="tasks", ids=("task_id",), labels=("state",))
    assert all(f"{LONG_ID}{i:02d}</code>" in html for i in range(13))
    assert "…" not in html and "&lt;NA&gt;" not in html
    assert html.count('class="roma-label"') == 13
    assert "13 tasks: the table scrolls" in html
    few = table_html(frame.head(3), limit=200, what="tasks")
    assert "scrolls" not in few
    capped = table_html(frame, limit=5, what="tasks")
    assert "Showing 5 of 13 tasks." in capped and capped.count("<tr>") == 1 + 5


@pytest.mark.parametrize("value", [None, float("nan")])
def test_missing_values_are_empty_cells(value: object) -> None:
    import pandas as pd

    frame = pd.DataFrame({"a": [value], "b": pd.array([None], dtype="boolean")})
    html = table_html(frame, limit=10)
    assert "nan" not in html and "NA" not in html and "None" not in html
