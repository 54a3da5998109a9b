"""``PanelModel`` rewinding (issue 13, Panel): Run stops, resets, starts and verifies by default
against the sandbox's default (a reset of a running task is refused), the raw reset stays an
explicit choice, and the tasks a rewind left stopped are listed and can be started again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from roma_nb import RomaClient, TokenAuth, ValidationError
from roma_nb.history import ResultLog
from roma_nb.models import ResetResult, RewindResult
from roma_nb.panel import PanelModel, RunResult
from roma_nb.sandbox import Sandbox
from roma_nb.sandbox.data import TaskRow

HOUR_MS = 3_600_000

pytestmark = pytest.mark.usefixtures("fresh_instance_memory")


@pytest.fixture
def sandbox(roma_sandbox_factory: Callable[..., Sandbox]) -> Sandbox:
    """The default sandbox (refuses resets of running tasks) with quick stops and starts."""
    return roma_sandbox_factory(refuse_running=True, stop_delay_ms=50, start_delay_ms=50)


@pytest.fixture
def client(sandbox: Sandbox) -> Any:
    with RomaClient(
        sandbox.url, project_id=sandbox.project_id, auth=TokenAuth(sandbox.token), label="SANDBOX"
    ) as client:
        yield client


@pytest.fixture
def log() -> ResultLog:
    return ResultLog()


def _tasks(sandbox: Sandbox, *, running: bool, count: int) -> list[TaskRow]:
    instance = sandbox.state.instances[0].id
    tasks = [
        t
        for t in sandbox.state.combined_tasks(instance)
        if t.status == int(running) and t.execute_status != "ERROR"
    ]
    assert len(tasks) >= count
    return tasks[:count]


def _status(sandbox: Sandbox, task: TaskRow) -> int | None:
    row = sandbox.state.task(task.instance_id, task.task_id)
    return None if row is None else row.status


def _select(model: PanelModel, sandbox: Sandbox, tasks: list[TaskRow], **extra: Any) -> None:
    model.select(
        instance_id=tasks[0].instance_id,
        task_ids=[t.task_id for t in tasks],
        date_from=sandbox.state.now() - HOUR_MS,
        **extra,
    )


def _rewinds(results: list[RunResult]) -> list[RewindResult]:
    assert all(isinstance(r, RewindResult) for r in results)
    return [r for r in results if isinstance(r, RewindResult)]


def _batch_calls(sandbox: Sandbox) -> list[Any]:
    return [c for c in sandbox.state.calls if c.path.endswith("/batch-operation/tasks")]


def test_run_rewinds_by_default_and_the_confirmation_names_each_step(
    client: RomaClient, sandbox: Sandbox, log: ResultLog
) -> None:
    running = _tasks(sandbox, running=True, count=2)
    stopped = _tasks(sandbox, running=False, count=1)
    model = PanelModel(client, log=log)
    _select(model, sandbox, running + stopped)
    assert model.selection.procedure == "rewind" and model.selection.restart == "as_before"
    model.preview()
    text = model.confirmation_text()
    assert "procedure:   Rewind (stop, reset, start, verify)" in text
    assert "steps:       stop 2 running tasks, reset 3, start them again, verify" in text
    assert f"({running[0].task_id}): running → stop, reset to " in text
    assert f"({stopped[0].task_id}): stopped → reset to " in text
    assert "leave stopped, as it was" in text
    assert not any("advises stopping" in w for w in model.plan().warnings)

    results = _rewinds(model.run(confirm=True))
    assert [r.outcome for r in results[:2]] in (
        ["success", "success"],
        ["success", "unverified"],
        ["unverified", "success"],
        ["unverified", "unverified"],
    )
    assert results[2].outcome == "success" and results[2].start is None
    assert [_status(sandbox, t) for t in running + stopped] == [1, 1, 0]
    assert sorted(r.task_id for r in sandbox.resets) == sorted(t.task_id for t in running + stopped)

    table = model.outcomes()
    assert table["task_id"].tolist() == [t.task_id for t in running + stopped]
    assert table["stop"].tolist()[:2] == ["success", "success"]
    assert table["reset"].tolist() == ["success"] * 3
    verified = [r for r in results if r.outcome == "success" and r.verification is not None]
    for result in verified:
        row = table[table["task_id"] == result.task_id].iloc[0]
        assert row["verified_by"].startswith("execution ")
    steps = set(model.results["step"].dropna())
    assert {"look", "stop", "reset", "start"} <= steps
    assert model.left_stopped.empty


def test_a_dry_run_rewind_sends_nothing(
    client: RomaClient, sandbox: Sandbox, log: ResultLog
) -> None:
    tasks = _tasks(sandbox, running=True, count=2)
    model = PanelModel(client, log=log)
    _select(model, sandbox, tasks, dry_run=True)
    model.preview()
    assert model.plan().headline().startswith("DRY RUN (nothing is sent): would rewind")
    results = model.run(confirm=True)
    assert [r.outcome for r in results] == ["dry-run", "dry-run"]
    assert sandbox.resets == [] and _batch_calls(sandbox) == []
    assert [_status(sandbox, t) for t in tasks] == [1, 1]
    assert model.outcomes()["outcome"].tolist() == ["dry-run", "dry-run"]


def test_the_raw_reset_is_an_explicit_choice_and_warns_about_running_tasks(
    client: RomaClient, sandbox: Sandbox, log: ResultLog
) -> None:
    [task] = _tasks(sandbox, running=True, count=1)
    model = PanelModel(client, log=log)
    with pytest.raises(ValidationError, match="procedure='undo' is not one of"):
        model.select(procedure="undo")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="restart='later' is not one of"):
        model.select(restart="later")  # type: ignore[arg-type]
    _select(model, sandbox, [task], procedure="reset")
    model.preview()
    text = model.confirmation_text()
    assert "procedure:   Raw reset (experts)" in text
    assert "running → reset only (raw reset: not stopped, not started)" in text
    assert any("advises stopping" in w for w in model.plan().warnings)
    [result] = model.run(confirm=True)
    assert isinstance(result, ResetResult)
    assert result.outcome == "failed" and result.error_code == "FDI.3023"
    assert _batch_calls(sandbox) == []
    assert model.outcomes()["outcome"].tolist() == ["failed"]


def test_changing_the_procedure_after_the_preview_voids_it(
    client: RomaClient, sandbox: Sandbox, log: ResultLog
) -> None:
    tasks = _tasks(sandbox, running=False, count=1)
    model = PanelModel(client, log=log)
    _select(model, sandbox, tasks)
    model.preview()
    model.select(restart="never")
    assert not model.preview_is_current()
    with pytest.raises(Exception, match="restart/verify"):
        model.run(confirm=True)
    assert sandbox.resets == []


def test_a_task_left_stopped_is_listed_and_started_again(
    client: RomaClient, sandbox: Sandbox, log: ResultLog
) -> None:
    tasks = _tasks(sandbox, running=True, count=2)
    sandbox.inject("start_fails", match=tasks[1].task_id)
    model = PanelModel(client, log=log)
    assert model.left_stopped.empty
    _select(model, sandbox, tasks)
    model.preview()
    results = model.run(confirm=True)
    assert results[1].outcome == "left-stopped"
    assert _status(sandbox, tasks[1]) == 0
    assert model.left_stopped["task_id"].tolist() == [tasks[1].task_id]
    assert model.outcomes()["outcome"].tolist()[1] == "left-stopped"

    again = PanelModel(client, log=log)  # a new panel on the same history: the banner on load
    assert again.left_stopped["task_id"].tolist() == [tasks[1].task_id]

    sandbox.clear()
    sandbox.inject("start_fails", match=tasks[1].task_id)
    [failed] = again.start_left_stopped()
    assert failed.outcome == "failed"
    assert again.left_stopped["task_id"].tolist() == [tasks[1].task_id], "still stopped"

    sandbox.clear()
    [started] = again.start_left_stopped()
    assert started.outcome == "success" and started.task_id == tasks[1].task_id
    assert again.left_stopped.empty
    assert model.read_left_stopped().empty
    sandbox.advance(1_000)  # the start's delay passes
    assert _status(sandbox, tasks[1]) == 1
    assert again.start_left_stopped() == []
