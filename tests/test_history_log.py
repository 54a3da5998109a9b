"""ResultLog's write-ahead protocol: begin / complete / append, checks, crash recovery, threads."""

from __future__ import annotations

import math
import os
import sqlite3
import subprocess
import sys
import threading
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from roma_nb.errors import ValidationError
from roma_nb.history import INTERRUPTED_MESSAGE, HistoryError, RecordContext, ResultLog
from roma_nb.models import ResetResult

DATE_FROM = 1_630_052_714_000
CTX = RecordContext(project_id="p1", endpoint_label="SANDBOX", actor="ada")


def result(task_id: str = "t1", outcome: Any = "success", **fields: Any) -> ResetResult:
    fields.setdefault("date_from", DATE_FROM)
    return ResetResult(instance_id="i1", task_id=task_id, outcome=outcome, **fields)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "history.sqlite3"


@pytest.fixture(params=["memory", "file"])
def log(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    where = None if request.param == "memory" else tmp_path / "h.sqlite3"
    with ResultLog(where, context=CTX) as opened:
        yield opened


def test_begin_is_visible_to_another_connection_before_it_returns(path: Path) -> None:
    with ResultLog(path, context=CTX) as log:
        row = log.begin("i1", "t1", date_from=DATE_FROM, task_name="orders")
        # A separate process would see exactly this: the committed pending row.
        conn = sqlite3.connect(path)
        seen = conn.execute(
            "SELECT id, task_id, task_name, outcome, date_from_ms, completed_at_us FROM history"
        ).fetchall()
        conn.close()
    assert seen == [(row, "t1", "orders", "pending", DATE_FROM, None)]


def test_complete_fills_the_pending_row(log: ResultLog) -> None:
    row = log.begin("i1", "t1", date_from=DATE_FROM)
    begun = log.records()[0]
    answer = result(
        task_name="orders",
        status_code=200,
        message="Reset Success",
        request_id="req-1",
        elapsed_ms=12.5,
        attempts=1,
        at=datetime(2000, 1, 1, tzinfo=timezone.utc),
    )
    log.complete(row, answer)
    [done] = log.records()
    assert done["id"] == row
    assert done["outcome"] == "success"
    assert (done["task_name"], done["status_code"], done["message"]) == (
        "orders",
        200,
        "Reset Success",
    )
    assert (done["request_id"], done["elapsed_ms"], done["attempts"]) == ("req-1", 12.5, 1)
    assert done["at"] == begun["at"]  # when it was begun, as written ahead
    assert done["completed_at"] is not None and done["completed_at"] >= done["at"]
    assert (done["project_id"], done["endpoint"], done["actor"]) == ("p1", "SANDBOX", "ada")
    assert len(log) == 1


def test_complete_keeps_the_name_from_begin_when_the_answer_has_none(log: ResultLog) -> None:
    row = log.begin("i1", "t1", date_from=DATE_FROM, task_name="orders")
    log.complete(row, result(outcome="failed", error_code="FDI.3023"))
    assert log.records()[0]["task_name"] == "orders"


def test_a_row_is_completed_once(log: ResultLog) -> None:
    row = log.begin("i1", "t1", date_from=DATE_FROM)
    log.complete(row, result(message="first"))
    with pytest.raises(HistoryError, match="already completed"):
        log.complete(row, result(outcome="failed", message="second"))
    assert log.records()[0]["message"] == "first"


@pytest.mark.parametrize(
    "wrong",
    [
        ResetResult(instance_id="i1", task_id="other", outcome="success", date_from=DATE_FROM),
        ResetResult(instance_id="i2", task_id="t1", outcome="success", date_from=DATE_FROM),
        ResetResult(instance_id="i1", task_id="t1", outcome="success", date_from=DATE_FROM + 1),
        ResetResult(instance_id="i1", task_id="t1", outcome="success", date_from=None),
    ],
)
def test_complete_refuses_a_result_for_another_attempt(log: ResultLog, wrong: ResetResult) -> None:
    row = log.begin("i1", "t1", date_from=DATE_FROM)
    with pytest.raises(HistoryError, match="not for the result given"):
        log.complete(row, wrong)
    assert log.records()[0]["outcome"] == "pending"


def test_complete_of_a_missing_row(log: ResultLog) -> None:
    with pytest.raises(HistoryError, match="does not exist"):
        log.complete(42, result())


def test_append_records_dry_runs_and_skips(log: ResultLog) -> None:
    log.append(result(outcome="dry-run"))
    log.append(result("t2", outcome="skipped"), dry_run=True)  # stopped during a dry run
    log.append(result("t3", outcome="skipped"))
    assert [(r["outcome"], r["dry_run"]) for r in log.records()] == [
        ("dry-run", True),
        ("skipped", True),
        ("skipped", False),
    ]


def test_a_dry_run_result_cannot_be_recorded_as_real(log: ResultLog) -> None:
    with pytest.raises(ValidationError, match="dry-run"):
        log.append(result(outcome="dry-run"), dry_run=False)
    assert len(log) == 0


def test_extend_is_all_or_nothing(log: ResultLog) -> None:
    assert log.extend([result("a"), result("b")]) == 2
    bad = result("c", status_code=2**64)
    with pytest.raises(ValidationError, match="64 bits"):
        log.extend([result("d"), bad])
    assert [r["task_id"] for r in log.records()] == ["a", "b"]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda log: log.begin("i1", "t1", date_from=2**63), "64 bits"),
        (lambda log: log.begin("i1", "t1", date_from=-(2**63) - 1), "64 bits"),
        (lambda log: log.begin("i1", "t1", date_from="1630052714000"), "integer"),
        (lambda log: log.begin("i1", "t1", date_from=True), "integer"),
        (lambda log: log.begin("i1", 7, date_from=None), "task_id must be a string"),
        (lambda log: log.begin(None, "t1", date_from=None), "instance_id must be a string"),
        (lambda log: log.begin("i1", "t1", date_from=None, dry_run="yes"), "dry_run"),
        (lambda log: log.append(result(outcome="maybe")), "outcome 'maybe'"),
        (lambda log: log.append(result(attempts=None)), "attempts"),
        (lambda log: log.append(result(message=b"bytes")), "message must be a string"),
    ],
)
def test_unstorable_values_are_refused_before_writing(
    log: ResultLog, make: Any, message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        make(log)
    assert len(log) == 0


def test_ids_the_service_would_refuse_are_still_recorded(log: ResultLog) -> None:
    """A bad target becomes a failed result in reset_many: the history must keep it too."""
    log.append(
        ResetResult(instance_id="", task_id="a/../b", outcome="failed", error_code="VALIDATION")
    )
    assert (log.records()[0]["instance_id"], log.records()[0]["task_id"]) == ("", "a/../b")


def test_nan_elapsed_is_stored_as_missing(log: ResultLog) -> None:
    log.append(result(elapsed_ms=math.nan))
    log.append(result("t2", elapsed_ms=math.inf))
    assert [r["elapsed_ms"] for r in log.records()] == [None, math.inf]


def test_naive_at_is_read_as_utc(log: ResultLog) -> None:
    log.append(result(at=datetime(2024, 5, 1, 2, 0)))
    log.append(result("t2", at=datetime(2024, 5, 1, 4, 0, tzinfo=timezone(timedelta(hours=2)))))
    expected = datetime(2024, 5, 1, 2, 0, tzinfo=timezone.utc)
    assert [r["at"] for r in log.records()] == [expected, expected]


def test_a_call_may_bring_its_own_context(log: ResultLog) -> None:
    other = RecordContext(project_id="p2", endpoint_label="roma.example.com", actor="bob")
    log.append(result(), context=other)
    row = log.begin("i1", "t2", date_from=None, context=other)
    log.append(result("t3"))
    records = log.records()
    assert [(r["project_id"], r["actor"]) for r in records] == [
        ("p2", "bob"),
        ("p2", "bob"),
        ("p1", "ada"),
    ]
    assert records[1]["id"] == row


def test_no_credential_in_an_endpoint_url_reaches_the_file(path: Path) -> None:
    url = "https://alice:s3cret-pw@roma.example.com:8443/v2/?X-Auth-Token=tok-abc123"
    with ResultLog(path, context=RecordContext(endpoint_label=url, actor="ada")) as log:
        log.append(result())
        assert log.records()[0]["endpoint"] == "roma.example.com:8443"
    stored = b"".join(p.read_bytes() for p in path.parent.iterdir())
    for secret in (b"s3cret-pw", b"tok-abc123", b"alice"):
        assert secret not in stored


def test_pending_rows_of_a_killed_process_become_unknown(path: Path) -> None:
    code = (
        "import os, sys; from roma_nb.history import ResultLog\n"
        "log = ResultLog(sys.argv[1])\n"
        "log.begin('i1', 'gone', date_from=1)\n"
        "os._exit(0)  # no completion, no clean close: as if the kernel died\n"
    )
    subprocess.run([sys.executable, "-c", code, str(path)], check=True)
    with ResultLog(path) as log:
        mine = log.begin("i1", "alive", date_from=1)  # this process still runs: left alone
        assert log.mark_interrupted() == 1
        by_task = {r["task_id"]: r for r in log.records()}
        assert by_task["gone"]["outcome"] == "unknown"
        assert by_task["gone"]["message"] == INTERRUPTED_MESSAGE
        assert by_task["gone"]["completed_at"] is not None
        assert by_task["alive"]["outcome"] == "pending"
        assert log.mark_interrupted() == 0  # nothing left to mark
        log.complete(mine, result("alive", date_from=1))
        assert log.records(task_id="alive")[0]["outcome"] == "success"


def test_old_pending_rows_from_other_hosts_need_an_age(path: Path) -> None:
    with ResultLog(path) as log:
        log.begin("i1", "elsewhere", date_from=None)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE writers SET host = 'another-host'")
    conn.execute("UPDATE attempts SET at_us = at_us - 3600 * 1000000")
    conn.commit()
    conn.close()
    with ResultLog(path) as log:
        assert log.mark_interrupted() == 0  # cannot know: it may still be running there
        assert log.mark_interrupted(older_than=timedelta(hours=2)) == 0
        assert log.mark_interrupted(older_than=timedelta(minutes=30)) == 1
        assert log.records()[0]["outcome"] == "unknown"


def test_a_real_answer_replaces_an_interrupted_guess(path: Path) -> None:
    with ResultLog(path) as log:
        row = log.begin("i1", "slow", date_from=DATE_FROM)
        assert log.mark_interrupted(older_than=timedelta(0)) == 1
        log.complete(row, result("slow", message="Reset Success"))
        [record] = log.records()
    assert (record["outcome"], record["message"]) == ("success", "Reset Success")


@pytest.mark.parametrize("where", ["memory", "file"])
def test_threads_writing_at_once(tmp_path: Path, where: str) -> None:
    target = None if where == "memory" else tmp_path / "h.sqlite3"
    errors: list[BaseException] = []
    with ResultLog(target, context=CTX, durability="normal") as log:

        def work(worker: int) -> None:
            try:
                for n in range(100):
                    task = f"w{worker}-{n}"
                    row = log.begin("i1", task, date_from=DATE_FROM)
                    log.complete(row, result(task))
                    if n % 25 == 0:
                        log.to_frame()  # readers alongside the writers
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert len(log) == 800
        assert log.records(outcome="pending") == []
        assert len({r["task_id"] for r in log.records()}) == 800


def test_a_closed_log_says_so(path: Path) -> None:
    log = ResultLog(path)
    log.close()
    assert "closed" in repr(log)
    with pytest.raises(HistoryError, match="closed"):
        log.append(result())
    with pytest.raises(HistoryError, match="closed"):
        len(log)


def test_in_memory_logs_are_separate() -> None:
    with ResultLog() as first, ResultLog() as second:
        first.append(result())
        assert (len(first), len(second)) == (1, 0)
        assert first.path is None
        assert repr(first) == "ResultLog(in memory)"


def test_durability_must_be_known(path: Path) -> None:
    with pytest.raises(ValueError, match="durability"):
        ResultLog(path, durability="sometimes")  # type: ignore[arg-type]


def test_resultlog_is_a_batch_recorder() -> None:
    """``reset_many(log=...)`` takes a ``Recorder``: mypy checks this assignment structurally."""
    from roma_nb.client import Recorder

    with ResultLog() as log:
        recorder: Recorder = log
        row = recorder.begin("i1", "t1", date_from=DATE_FROM, task_name=None, dry_run=False)
        recorder.complete(row, result())
        recorder.append(result("t2", outcome="skipped"), dry_run=True)
        assert [r["outcome"] for r in log.records()] == ["success", "skipped"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
def test_a_forked_child_writes_with_its_own_connections(path: Path) -> None:
    with ResultLog(path, context=CTX) as log:
        log.append(result("parent-before"))  # the pool now holds a connection
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads, 3.12+
            pid = os.fork()
        if pid == 0:  # the child: must not touch the parent's connections
            status = 1
            try:
                log.append(result("child"))
                status = 0 if len(log) == 2 else 1
            finally:
                os._exit(status)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        log.append(result("parent-after"))
        assert [r["task_id"] for r in log.records()] == ["parent-before", "child", "parent-after"]
        writers = {r["actor"] for r in log.records()}
        assert writers == {"ada"}
    conn = sqlite3.connect(path)
    pids = [row[0] for row in conn.execute("SELECT pid FROM writers ORDER BY id")]
    conn.close()
    assert pids == [os.getpid(), pid]  # the child wrote as itself
