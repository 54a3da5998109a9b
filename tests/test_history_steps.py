"""A rewind's step rows in the history (memory and SQLite): written ahead like resets, stamped
with where they went, read back as frames, and ``left_stopped()``."""

from __future__ import annotations

from pathlib import Path

import pytest

from roma_nb.errors import ValidationError
from roma_nb.history import HistoryError, RecordContext, ResultLog
from roma_nb.models import RewindStep

DATE_FROM = 1_714_442_400_000


def _row(step: str, task: str, outcome: str, **fields: object) -> RewindStep:
    values: dict[str, object] = {
        "rewind_id": "r1",
        "step": step,
        "instance_id": "inst",
        "task_id": task,
        "outcome": outcome,
        "date_from": DATE_FROM,
        "was_running": True,
        **fields,
    }
    return RewindStep(**values)  # type: ignore[arg-type]


@pytest.fixture(params=["memory", "file"])
def log(request: pytest.FixtureRequest, tmp_path: Path) -> ResultLog:
    path = None if request.param == "memory" else tmp_path / "history.sqlite3"
    located = ResultLog(path).located(project_id="proj", endpoint_label="SANDBOX")
    return located


def test_steps_are_written_ahead_and_stamped(log: ResultLog) -> None:
    log.append_step(_row("look", "a", "success", message="Running."))
    row_id = log.begin_step(_row("stop", "a", "pending"))
    assert log.records(row_id=row_id)[0]["outcome"] == "pending"
    log.complete_step(row_id, _row("stop", "a", "success", status_code=200, attempts=1))
    records = log.records()
    assert [(r["step"], r["outcome"], r["was_running"]) for r in records] == [
        ("look", "success", True),
        ("stop", "success", True),
    ]
    assert {(r["project_id"], r["endpoint"], r["rewind_id"]) for r in records} == {
        ("proj", "SANDBOX", "r1")
    }
    frame = log.to_frame()
    assert list(frame["step"]) == ["look", "stop"]
    assert str(frame["was_running"].dtype) == "boolean"


def test_a_plain_reset_row_has_no_step(log: ResultLog) -> None:
    from roma_nb.models import ResetResult

    log.append(ResetResult(instance_id="inst", task_id="a", outcome="success", attempts=1))
    [record] = log.records()
    assert (record["step"], record["rewind_id"], record["was_running"]) == (None, None, None)


def test_a_step_row_cannot_be_completed_twice_or_for_another_task(log: ResultLog) -> None:
    row_id = log.begin_step(_row("start", "a", "pending"))
    with pytest.raises(HistoryError):
        log.complete_step(row_id, _row("start", "b", "success"))
    log.complete_step(row_id, _row("start", "a", "success"))
    with pytest.raises(HistoryError):
        log.complete_step(row_id, _row("start", "a", "failed"))


def test_a_bad_step_is_refused_before_anything_is_written(log: ResultLog) -> None:
    with pytest.raises(ValidationError):
        log.append_step(_row("rewind", "a", "success"))
    assert len(log) == 0


def test_left_stopped_lists_each_stopped_task_once(log: ResultLog) -> None:
    assert list(log.left_stopped()["task_id"]) == []
    assert "task_id" in log.left_stopped().columns
    for task in ("a", "b", "c", "d"):
        log.append_step(_row("look", task, "success"))
    for task in ("a", "b", "c"):
        log.complete_step(
            log.begin_step(_row("stop", task, "pending")), _row("stop", task, "success")
        )
    log.append_step(_row("stop", "d", "failed"))  # a refused stop stopped nothing
    log.complete_step(log.begin_step(_row("start", "a", "pending")), _row("start", "a", "success"))
    log.complete_step(log.begin_step(_row("start", "b", "pending")), _row("start", "b", "failed"))
    log.begin_step(_row("start", "c", "pending"))  # killed while starting: may be stopped
    listed = log.left_stopped()
    assert list(listed["task_id"]) == ["b", "c"]
    assert set(listed["step"]) == {"stop"}

    # a later rewind that sees b running clears it
    log.append_step(_row("look", "b", "success", rewind_id="r2", was_running=True))
    assert list(log.left_stopped()["task_id"]) == ["c"]


def test_left_stopped_survives_reopening_the_file(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with ResultLog(path, context=RecordContext(project_id="p")) as log:
        log.begin_step(_row("stop", "a", "pending"))
    with ResultLog(path) as log:
        assert list(log.left_stopped()["task_id"]) == ["a"]
