"""Reading the batch start/stop answer, and judging a restart from monitor data."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from roma_nb.errors import ApiError, OutcomeUnknown, TransportError, ValidationError
from roma_nb.models import MonitorLog, StepResult, TaskMonitor
from roma_nb.procedure import (
    MAX_BATCH,
    BatchCall,
    batch_calls,
    batch_error_results,
    explain_code,
    judge,
    read_batch_answer,
)

AT = datetime(2024, 5, 1, tzinfo=timezone.utc)
CALL = BatchCall("inst-1", "stop", ("a", "b", "c"))


def outcomes(results: list[StepResult]) -> list[tuple[str, str]]:
    return [(r.task_id, r.outcome) for r in results]


def test_batch_calls_are_chunked_to_ten_in_order_without_duplicates() -> None:
    ids = [f"t{i}" for i in range(23)] + ["t0"]
    calls = batch_calls("start", "inst-1", ids)
    assert [len(c.task_ids) for c in calls] == [10, 10, 3]
    assert [t for c in calls for t in c.task_ids] == [f"t{i}" for i in range(23)]
    assert calls[0].body == {
        "action_id": "start",
        "list": [{"task_id": f"t{i}"} for i in range(10)],
    }
    assert batch_calls("stop", "inst-1", []) == ()


def test_a_batch_call_refuses_more_than_ten_tasks_or_none() -> None:
    with pytest.raises(ValueError, match="1 to 10"):
        BatchCall("i", "stop", tuple(str(n) for n in range(MAX_BATCH + 1)))
    with pytest.raises(ValueError, match="1 to 10"):
        BatchCall("i", "stop", ())


def test_a_200_with_failures_is_read_per_task() -> None:
    body = {
        "success_count": 1,
        "failure_count": 1,
        "success": [{"task_id": "a", "task_name": "A"}],
        "failure": [
            {
                "task_id": "b",
                "task_name": "B",
                "error_code": "FDI.3019",
                "error_msg": "Stop failed.",
            }
        ],
    }
    results = read_batch_answer(CALL, body, status_code=200, request_id="r-1", attempts=2, at=AT)
    assert outcomes(results) == [("a", "success"), ("b", "failed"), ("c", "unknown")]
    failed = results[1]
    assert (failed.error_code, failed.error_msg, failed.task_name) == (
        "FDI.3019",
        "Stop failed.",
        "B",
    )
    assert failed.message == "The service refused stopping the task (FDI.3019: Stop failed.)."
    assert results[2].message == "The answer to stopping does not mention this task."
    assert {(r.step, r.status_code, r.request_id, r.attempts) for r in results} == {
        ("stop", 200, "r-1", 2)
    }


def test_success_entries_may_be_plain_ids_and_failure_wins_over_success() -> None:
    body = {"success": ["a", "b"], "failure": [{"task_id": "b", "error_code": "FDI.3026"}]}
    assert outcomes(read_batch_answer(CALL, body, at=AT)) == [
        ("a", "success"),
        ("b", "failed"),
        ("c", "unknown"),
    ]


def test_counts_alone_decide_only_when_they_account_for_every_task() -> None:
    assert {
        r.outcome for r in read_batch_answer(CALL, {"success_count": 3, "failure_count": 0}, at=AT)
    } == {"success"}
    assert {
        r.outcome for r in read_batch_answer(CALL, {"success_count": 2, "failure_count": 0}, at=AT)
    } == {"unknown"}


@pytest.mark.parametrize("body", [None, [], "ok", {"success": "a"}, {"failure": [None, 3]}])
def test_an_odd_answer_is_unknown_never_success(body: object) -> None:
    assert {r.outcome for r in read_batch_answer(CALL, body, at=AT)} == {"unknown"}


def test_a_missing_task_in_the_answer_says_it_may_have_been_deleted() -> None:
    body = {"failure": [{"task_id": "a", "error_code": "FDI.3021", "error_msg": "not exist"}]}
    assert "may have been deleted" in (read_batch_answer(CALL, body, at=AT)[0].message or "")


def test_a_call_that_raised_becomes_a_result_per_task() -> None:
    error = ApiError(
        "Stopping failed: 429.",
        status_code=429,
        error_code="APIGW.0308",
        request_id="r",
        attempts=5,
    )
    results = batch_error_results(CALL, error, elapsed_ms=3.0, at=AT)
    assert outcomes(results) == [("a", "failed"), ("b", "failed"), ("c", "failed")]
    assert (results[0].status_code, results[0].error_code, results[0].attempts) == (
        429,
        "APIGW.0308",
        5,
    )
    lost = batch_error_results(CALL, OutcomeUnknown("no answer", attempts=1), at=AT)
    assert {r.outcome for r in lost} == {"unknown"}
    unsent = batch_error_results(CALL, TransportError("could not connect"), at=AT)
    assert {(r.outcome, r.message) for r in unsent} == {("failed", "could not connect")}
    assert batch_error_results(CALL, ValidationError("bad"), at=AT)[0].attempts == 0
    assert batch_error_results(CALL, KeyError("x"), at=AT)[0].message == "Unexpected KeyError: 'x'"


SINCE = 1_000_000


def log(
    log_id: str,
    start: int | None,
    status: int | None,
    position_status: str | None = "NORMAL",
    execute_status: str | None = "RUNNING",
) -> MonitorLog:
    return MonitorLog(
        id=log_id,
        start_time=start,
        status=status,
        position_status=position_status,
        execute_status=execute_status,
    )


def test_an_execution_since_the_restart_that_reads_verifies() -> None:
    verdict = judge([log("old", SINCE - 1, 102), log("new", SINCE, 102)], SINCE)
    assert verdict.state == "verified"
    assert verdict.log is not None and verdict.log.id == "new"
    assert verdict.reason == "execution new since the restart is reading data (102)"


def test_only_executions_since_the_restart_count() -> None:
    verdict = judge([log("old", SINCE - 1, 102), log("undated", None, 102)], SINCE)
    assert (verdict.state, verdict.reason) == ("waiting", "no execution since the restart yet")
    assert judge([log("old", SINCE - 5, 103, "RUNTIME_ERR")], SINCE).state == "waiting"


@pytest.mark.parametrize("status", [99, 100, 102, 502])
def test_the_reading_codes(status: int) -> None:
    assert judge([log("n", SINCE, status)], SINCE).state == "verified"


@pytest.mark.parametrize(
    ("entry", "code"),
    [
        (log("n", SINCE, 103, "RUNTIME_ERR", "ERROR"), 103),
        (log("n", SINCE, 913), 913),
        (log("n", SINCE, 102, "INTERNAL_ERR"), 102),
        (log("n", SINCE, 100, "NORMAL", "ERROR"), 100),
    ],
)
def test_failures_since_the_restart(entry: MonitorLog, code: int) -> None:
    verdict = judge([entry], SINCE, when="2024-04-30T02:00:00Z")
    assert (verdict.state, verdict.code) == ("failed", code)


def test_a_source_error_is_decoded_with_the_instant() -> None:
    verdict = judge([log("n", SINCE, 103, "RUNTIME_ERR")], SINCE, when="2024-04-30T02:00:00Z")
    assert verdict.reason == (
        "execution n since the restart failed: a source error (103): the source's change log "
        "may no longer reach back to 2024-04-30T02:00:00Z"
    )
    assert explain_code(913) == "the scheduling request failed (913)"
    assert explain_code(504) == "writer (target side): writing finished (504)"


def test_a_failure_since_the_restart_beats_a_later_read() -> None:
    logs = [log("later", SINCE + 10, 102), log("first", SINCE + 5, 103, "RUNTIME_ERR")]
    verdict = judge(logs, SINCE)
    assert verdict.state == "failed" and verdict.log is not None and verdict.log.id == "first"


def test_a_started_but_not_yet_reading_execution_keeps_waiting_with_what_it_saw() -> None:
    verdict = judge([log("n", SINCE, 900)], SINCE)
    assert verdict.state == "waiting"
    assert verdict.reason == (
        "latest execution n: scheduler / other: scheduling request received (900)"
    )
    assert judge([log("n", SINCE, 102, "NODE_END")], SINCE).state == "waiting"


def test_the_monitor_reporting_error_since_the_restart_fails_it() -> None:
    monitor = TaskMonitor(task_id="t", execute_status="ERROR", last_execute_time=SINCE + 1)
    verdict = judge([], SINCE, monitor)
    assert (verdict.state, verdict.log) == ("failed", None)
    stale = TaskMonitor(task_id="t", execute_status="ERROR", last_execute_time=SINCE - 1)
    assert judge([], SINCE, stale).state == "waiting"
