"""``stop_tasks``, ``start_tasks`` and ``rewind`` of both clients over a real socket, against the
sandbox's task lifecycle (delayed stops and starts, running tasks refused a reset), with each
fault of the rewind (issue 13, "Bad input and faults"): the step outcomes seen by the client and
the task's state seen by the server."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from roma_nb import AsyncRomaClient, RomaClient, TokenAuth, ValidationError
from roma_nb.history import ResultLog
from roma_nb.models import RewindResult, RewindStep, StepResult
from roma_nb.procedure import RewindOptions, final_state
from roma_nb.sandbox import Sandbox
from roma_nb.sandbox.data import TaskRow

HOUR_MS = 3_600_000
CLIENTS = ["sync", "async"]

Rewind = Callable[..., list[RewindResult]]


def _sandbox(factory: Callable[..., Sandbox], **options: Any) -> Sandbox:
    """A sandbox that refuses resets of running tasks and starts and stops after 100 ms."""
    settings: dict[str, Any] = {
        "tasks_per_instance": 40,
        "refuse_running": True,
        "stop_delay_ms": 100,
        "start_delay_ms": 100,
    }
    return factory(**{**settings, **options})


def _instance(sandbox: Sandbox) -> str:
    return sandbox.state.instances[0].id


def _tasks(sandbox: Sandbox, *, running: bool, count: int) -> list[TaskRow]:
    tasks = [
        t
        for t in sandbox.state.combined_tasks(_instance(sandbox))
        if t.status == int(running) and t.execute_status != "ERROR"
    ]
    assert len(tasks) >= count
    return tasks[:count]


def _status(sandbox: Sandbox, task: TaskRow) -> int | None:
    row = sandbox.state.task(task.instance_id, task.task_id)
    return None if row is None else row.status


def _date_from(sandbox: Sandbox) -> int:
    return sandbox.state.now() - HOUR_MS


def _reset_ids(sandbox: Sandbox) -> list[str]:
    return [r.task_id for r in sandbox.state.resets]


def _client_args(sandbox: Sandbox) -> dict[str, Any]:
    return {"project_id": sandbox.project_id, "auth": TokenAuth(sandbox.token), "label": "SANDBOX"}


def _call(kind: str, sandbox: Sandbox, method: str, *args: Any, **kwargs: Any) -> Any:
    """``method`` of a fresh client of ``kind`` ("sync" or "async") on ``sandbox``."""
    if kind == "sync":
        with RomaClient(sandbox.url, **_client_args(sandbox)) as client:
            return getattr(client, method)(*args, **kwargs)

    async def run() -> Any:
        async with AsyncRomaClient(sandbox.url, **_client_args(sandbox)) as client:
            return await getattr(client, method)(*args, **kwargs)

    return asyncio.run(run())


def _rewind(kind: str, sandbox: Sandbox, tasks: Sequence[TaskRow], **kwargs: Any) -> Any:
    options: dict[str, Any] = {"verify": False, "stop_timeout": 5.0, "start_timeout": 5.0}
    targets = [(t.instance_id, t.task_id) for t in tasks]
    return _call(kind, sandbox, "rewind", targets, _date_from(sandbox), **{**options, **kwargs})


def _outcomes(result: RewindResult) -> tuple[str | None, ...]:
    """(stop, reset, start, verification, rewind) outcomes; None for a step that did not run."""
    steps = (result.stop, result.reset, result.start, result.verification)
    return (*(s.outcome if s is not None else None for s in steps), result.outcome)


# -- stop_tasks / start_tasks ------------------------------------------------------------


@pytest.mark.parametrize("kind", CLIENTS)
def test_stop_and_start_chunk_by_ten_and_read_failures_inside_a_200(
    roma_sandbox_factory: Callable[..., Sandbox], kind: str
) -> None:
    sandbox = _sandbox(
        roma_sandbox_factory, tasks_per_instance=200, stop_delay_ms=0, start_delay_ms=0
    )
    tasks = _tasks(sandbox, running=True, count=12)
    sandbox.inject("stop_fails", match=tasks[3].task_id)
    ids = [t.task_id for t in tasks]
    stops: list[StepResult] = _call(kind, sandbox, "stop_tasks", _instance(sandbox), ids)
    assert [r.task_id for r in stops] == ids
    assert {r.step for r in stops} == {"stop"}
    assert [r.outcome for r in stops] == ["success"] * 3 + ["failed"] + ["success"] * 8
    assert stops[3].status_code == 200 and stops[3].error_code == "FDI.3019"
    batch_calls = [c for c in sandbox.state.calls if c.path.endswith("/batch-operation/tasks")]
    assert sorted(c.body.count(b'"task_id"') for c in batch_calls) == [2, 10]
    assert [_status(sandbox, t) for t in tasks] == [0, 0, 0, 1] + [0] * 8

    starts: list[StepResult] = _call(kind, sandbox, "start_tasks", _instance(sandbox), ids)
    assert [r.outcome for r in starts] == ["success"] * 3 + ["failed"] + ["success"] * 8
    assert starts[3].error_code == "FDI.3023", "the one that was not stopped is still running"
    assert [_status(sandbox, t) for t in tasks] == [1] * 12


@pytest.mark.parametrize("kind", CLIENTS)
def test_a_batch_call_that_fails_as_a_whole_gives_each_task_the_error(
    roma_sandbox_factory: Callable[..., Sandbox], kind: str
) -> None:
    sandbox = _sandbox(roma_sandbox_factory)
    tasks = _tasks(sandbox, running=True, count=2)
    sandbox.inject("server_error", match="batch-operation")
    ids = [t.task_id for t in tasks]
    stops: list[StepResult] = _call(kind, sandbox, "stop_tasks", _instance(sandbox), ids)
    assert [(r.outcome, r.status_code, r.error_code) for r in stops] == [
        ("failed", 500, "FDI.9999")
    ] * 2


@pytest.mark.parametrize("kind", CLIENTS)
def test_bad_ids_are_refused_before_anything_is_sent(
    roma_sandbox_factory: Callable[..., Sandbox], kind: str
) -> None:
    sandbox = _sandbox(roma_sandbox_factory)
    with pytest.raises(ValidationError):
        _call(kind, sandbox, "stop_tasks", _instance(sandbox), ["ok", "a" * 65])
    with pytest.raises(ValidationError):
        _call(kind, sandbox, "start_tasks", _instance(sandbox), "one-task-id")
    with pytest.raises(ValidationError):
        _call(kind, sandbox, "rewind", [(_instance(sandbox), "x")], 1_700_000_000)  # seconds
    assert sandbox.state.calls == []


# -- rewind ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", CLIENTS)
def test_rewind_stops_resets_starts_and_verifies(
    roma_sandbox_factory: Callable[..., Sandbox], kind: str
) -> None:
    sandbox = _sandbox(roma_sandbox_factory)
    running = _tasks(sandbox, running=True, count=3)
    [stopped] = _tasks(sandbox, running=False, count=1)
    rows: list[RewindStep] = []
    results = _rewind(
        kind, sandbox, [*running, stopped], verify=True, verify_timeout=10.0, progress=rows.append
    )
    assert [_outcomes(r) for r in results] == [
        ("success", "success", "success", "success", "success")
    ] * 3 + [(None, "success", None, None, "success")]
    assert all(r.verification and r.verification.monitor_log for r in results[:3])
    assert sorted(_reset_ids(sandbox)) == sorted(t.task_id for t in [*running, stopped])
    assert [_status(sandbox, t) for t in [*running, stopped]] == [1, 1, 1, 0]
    assert {r.step for r in rows} == {"look", "stop", "reset", "start", "verify"}
    assert len({r.rewind_id for r in rows}) == 1


@pytest.mark.parametrize("kind", CLIENTS)
def test_the_reset_step_reports_each_reset_to_reset_progress(
    roma_sandbox_factory: Callable[..., Sandbox], kind: str
) -> None:
    """``reset_progress`` hears the reset step's batch as ``reset_many``'s ``progress`` does
    (what lets the panel say how long a throttled reset step still takes)."""
    sandbox = _sandbox(roma_sandbox_factory)
    tasks = [*_tasks(sandbox, running=True, count=2), *_tasks(sandbox, running=False, count=1)]
    heard: list[tuple[int, int, str]] = []
    _rewind(kind, sandbox, tasks, reset_progress=lambda d, n, r: heard.append((d, n, r.task_id)))
    assert [(d, n) for d, n, _ in heard] == [(1, 3), (2, 3), (3, 3)]
    assert sorted(t for _, _, t in heard) == sorted(t.task_id for t in tasks)


@pytest.mark.parametrize("kind", CLIENTS)
def test_a_refused_stop_is_not_reset_and_stays_running(
    roma_sandbox_factory: Callable[..., Sandbox], kind: str
) -> None:
    sandbox = _sandbox(roma_sandbox_factory)
    bad, good = _tasks(sandbox, running=True, count=2)
    sandbox.inject("stop_fails", match=bad.task_id)
    refused, rewound = _rewind(kind, sandbox, [bad, good])
    assert _outcomes(refused) == ("failed", None, None, None, "failed")
    assert refused.stop is not None and refused.stop.error_code == "FDI.3019"
    assert _outcomes(rewound) == ("success", "success", "success", None, "success")
    assert _reset_ids(sandbox) == [good.task_id]
    assert (_status(sandbox, bad), _status(sandbox, good)) == (1, 1)


def _starts(sandbox: Sandbox) -> list[Any]:
    """The batch calls that asked to start tasks."""
    return [
        c
        for c in sandbox.state.calls
        if c.path.endswith("batch-operation/tasks") and b'"start"' in c.body
    ]


NEVER_LANDS = (
    r"Not rewound, not reset: its stop was accepted but never took effect within [\d.]+ s; it is "
    r"running \(checked at \d\d:\d\d:\d\d UTC\)\."
)
LANDS_LATE = (
    r"Not rewound, not reset: its stop landed late \(seen stopped after [\d.]+ s\); it was "
    r"started again and is running\."
)


@pytest.mark.parametrize("kind", CLIENTS)
@pytest.mark.parametrize(
    ("fault", "starts", "words"),
    [
        # The start of the still running task is refused (FDI.3023): not a failure; watched
        # for another stop_timeout, it stays running and is said to be running.
        ("stuck_stopping", ["success"], NEVER_LANDS),
        # The stop lands only after that refused start: the watch sees it stopped and starts
        # it once more (a second start row), and it ends running.
        ("late_stopping", ["failed", "success"], LANDS_LATE),
    ],
    ids=["never-lands", "lands-after-the-start"],
)
def test_a_stop_not_confirmed_in_time_is_not_reset_and_the_task_ends_running(
    roma_sandbox_factory: Callable[..., Sandbox],
    kind: str,
    tmp_path: Path,
    fault: str,
    starts: list[str],
    words: str,
) -> None:
    sandbox = _sandbox(roma_sandbox_factory)
    [task, other] = _tasks(sandbox, running=True, count=2)
    sandbox.inject(fault, match=task.task_id)
    with ResultLog(tmp_path / "history.sqlite") as log:
        late, rewound = _rewind(kind, sandbox, [task, other], stop_timeout=1.0, log=log)
        rows = [(r["task_id"], r["step"], r["outcome"]) for r in log.records()]
        assert [(s, o) for t, s, o in rows if t == task.task_id] == [
            ("look", "success"),
            ("stop", "unknown"),
            *(("start", outcome) for outcome in starts),
        ]
        assert all(o != "pending" for _, _, o in rows)
        assert log.left_stopped().empty
    assert _outcomes(late) == ("unknown", None, "success", None, "failed")
    assert re.fullmatch(words, late.message), late.message
    assert final_state(late) == "running, not reset (its stop was not confirmed in time)"
    assert _outcomes(rewound) == ("success", "success", "success", None, "success")
    assert _reset_ids(sandbox) == [other.task_id]
    assert len(_starts(sandbox)) == len(starts)
    assert (_status(sandbox, task), _status(sandbox, other)) == (1, 1)


@pytest.mark.parametrize("kind", CLIENTS)
def test_a_start_that_fails_is_left_stopped(
    roma_sandbox_factory: Callable[..., Sandbox], kind: str
) -> None:
    sandbox = _sandbox(roma_sandbox_factory)
    [task] = _tasks(sandbox, running=True, count=1)
    sandbox.inject("start_fails", match=task.task_id)
    [result] = _rewind(kind, sandbox, [task], verify=True, verify_timeout=2.0)
    assert _outcomes(result) == ("success", "success", "failed", None, "left-stopped")
    assert "LEFT STOPPED" in result.message
    assert result.start is not None and result.start.error_code == "FDI.3026"
    assert _reset_ids(sandbox) == [task.task_id]
    assert _status(sandbox, task) == 0


@pytest.mark.parametrize("kind", CLIENTS)
@pytest.mark.parametrize(
    ("fault", "reset_outcome", "reached"),
    [("server_error", "failed", False), ("drop", "unknown", True)],
)
def test_a_reset_that_fails_or_is_unknown_is_started_again(
    roma_sandbox_factory: Callable[..., Sandbox],
    kind: str,
    fault: str,
    reset_outcome: str,
    reached: bool,
) -> None:
    sandbox = _sandbox(roma_sandbox_factory)
    [task] = _tasks(sandbox, running=True, count=1)
    sandbox.inject(fault, match=f"/multi-tasks/{task.task_id}/reset")
    [result] = _rewind(kind, sandbox, [task])
    assert _outcomes(result) == ("success", reset_outcome, "success", None, reset_outcome)
    assert _status(sandbox, task) == 1
    resets = [c for c in sandbox.state.calls if c.path.endswith("/reset")]
    assert len(resets) == 1, "neither a failed nor an unknown reset is sent again"


@pytest.mark.parametrize("kind", CLIENTS)
@pytest.mark.parametrize(
    "step", ["/tasks", "batch-operation", "/reset", "task-monitors", "monitor-logs"]
)
def test_throttling_during_a_step_is_waited_out(
    roma_sandbox_factory: Callable[..., Sandbox], kind: str, step: str
) -> None:
    sandbox = _sandbox(roma_sandbox_factory)
    [task] = _tasks(sandbox, running=True, count=1)
    sandbox.inject("throttle", match=step, times=2, retry_after=0)
    [result] = _rewind(kind, sandbox, [task], verify=True, verify_timeout=10.0)
    assert _outcomes(result) == ("success",) * 5
    throttled = [c for c in sandbox.state.calls if c.status == 429]
    assert len(throttled) == 2 and all(step in c.path for c in throttled)
    assert _status(sandbox, task) == 1


@pytest.mark.parametrize("kind", CLIENTS)
def test_a_task_deleted_between_look_and_stop(
    roma_sandbox_factory: Callable[..., Sandbox], kind: str
) -> None:
    sandbox = _sandbox(roma_sandbox_factory)
    gone, kept = _tasks(sandbox, running=True, count=2)

    def delete_after_look(row: RewindStep) -> None:
        if row.step == "look" and row.task_id == gone.task_id:
            assert sandbox.delete_task(gone.instance_id, gone.task_id)

    deleted, rewound = _rewind(kind, sandbox, [gone, kept], progress=delete_after_look)
    assert _outcomes(deleted) == ("failed", None, None, None, "failed")
    assert deleted.stop is not None and deleted.stop.error_code == "FDI.3021"
    assert "deleted" in (deleted.stop.message or "")
    assert _outcomes(rewound) == ("success", "success", "success", None, "success")
    assert _reset_ids(sandbox) == [kept.task_id]


@pytest.mark.parametrize("kind", CLIENTS)
def test_a_dry_run_sends_nothing_that_changes_anything(
    roma_sandbox_factory: Callable[..., Sandbox], kind: str
) -> None:
    sandbox = _sandbox(roma_sandbox_factory)
    [task] = _tasks(sandbox, running=True, count=1)
    [result] = _rewind(kind, sandbox, [task], dry_run=True)
    assert result.outcome == "dry-run"
    assert "stop, reset to" in result.message
    assert {c.method for c in sandbox.state.calls} == {"GET"}
    assert _status(sandbox, task) == 1


def test_rewind_waits_for_the_stop_delay_before_resetting(
    roma_sandbox_factory: Callable[..., Sandbox],
) -> None:
    """With a refusing server, a reset sent before the task reports stopped would fail: a
    successful reset after a 300 ms stop delay shows the wait happened."""
    sandbox = _sandbox(roma_sandbox_factory, stop_delay_ms=300)
    [task] = _tasks(sandbox, running=True, count=1)
    [result] = _rewind("sync", sandbox, [task])
    assert _outcomes(result) == ("success", "success", "success", None, "success")
    assert not [c for c in sandbox.state.calls if c.status == 400]


@pytest.mark.parametrize("kind", CLIENTS)
def test_options_whole_or_by_keyword_the_keywords_winning(
    roma_sandbox_factory: Callable[..., Sandbox], kind: str
) -> None:
    """``rewind(targets, date_from, RewindOptions(...), restart=...)``: the options object and
    the keywords are one set of settings; a bad one is refused before anything is sent."""
    sandbox = _sandbox(roma_sandbox_factory)
    [task] = _tasks(sandbox, running=True, count=1)
    whole = RewindOptions(verify=False, restart="never", stop_timeout=5.0)
    targets = [(task.instance_id, task.task_id)]
    [result] = _call(kind, sandbox, "rewind", targets, _date_from(sandbox), whole, dry_run=True)
    assert result.outcome == "dry-run"
    assert "leave stopped (restart='never')" in result.message  # the options' restart
    with pytest.raises(ValidationError, match="options must be a RewindOptions"):
        _call(kind, sandbox, "rewind", targets, _date_from(sandbox), {"verify": False})
    with pytest.raises(ValidationError, match="concurrency"):
        _call(kind, sandbox, "rewind", targets, _date_from(sandbox), whole, concurrency=0)
    assert {c.method for c in sandbox.state.calls} == {"GET"}


@pytest.mark.parametrize("kind", CLIENTS)
def test_a_throttled_reset_step_is_not_retried_past_the_rewinds_deadline(
    roma_sandbox_factory: Callable[..., Sandbox], kind: str
) -> None:
    """Issue 17, item 4, inside a rewind: the gateway answers every reset 429 with a 40 s
    Retry-After; a rewind with ``deadline=3`` does not wait it out (its reset step takes the
    time left as ``reset_many``'s deadline), and what it stopped it starts again."""
    sandbox = _sandbox(roma_sandbox_factory)
    tasks = _tasks(sandbox, running=True, count=2)
    sandbox.inject("throttle", times=None, retry_after=40, method="POST", match="/reset")
    started = time.monotonic()
    results = _rewind(kind, sandbox, tasks, deadline=3)
    assert time.monotonic() - started < 30  # a bound on the test: 40 s when retried
    resets = [r.reset for r in results]
    assert all(r is not None for r in resets)
    # the first 429 pauses the whole batch: a reset refused is not sent again, one not yet
    # sent is skipped (which of the two is refused first depends on the scheduling)
    refused = [r for r in resets if r is not None and r.outcome == "failed"]
    assert refused and all("Not sent again" in (r.message or "") for r in refused), resets
    assert all(r.outcome in ("failed", "skipped") for r in resets if r is not None), resets
    assert all(r.start is not None and r.start.outcome == "success" for r in results), results
    assert _reset_ids(sandbox) == []
    assert [_status(sandbox, t) for t in tasks] == [1, 1]
