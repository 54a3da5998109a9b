"""``PanelModel.load_plan`` against a sandbox over a socket: a reviewed plan file becomes the run
to confirm, whatever the selection; Run sends exactly its calls, and its history rows carry its
``plan_id``; a file that is edited, for another project, expired or names a deleted task is
refused with the check's sentences and nothing sent; a state change after loading stops Run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from plan_files import check_rewound, fresh, make_plan, recent, start, writes

from roma_nb import RomaClient, TokenAuth
from roma_nb.history import ResultLog
from roma_nb.panel import ConfirmationRequired, PanelError, PanelModel, PlanChanged
from roma_nb.plans import Plan, PlanFileError, PlannedTask, Procedure
from roma_nb.sandbox import Sandbox
from roma_nb.sandbox.data import TaskRow

HOUR = 3_600_000

pytestmark = pytest.mark.usefixtures("fresh_instance_memory")


@pytest.fixture
def sandbox(roma_sandbox_factory: Callable[..., Sandbox]) -> Sandbox:
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


@pytest.fixture
def planned(sandbox: Sandbox, client: RomaClient, tmp_path: Path) -> tuple[Path, TaskRow, TaskRow]:
    running = recent(sandbox, client, running=True)
    stopped = recent(sandbox, client, running=False)
    path = tmp_path / "plan.json"
    make_plan(client, [running, stopped], path)
    sandbox.clear_records()
    return path, running, stopped


def test_a_loaded_plan_runs_exactly_as_planned_and_its_rows_carry_its_id(
    client: RomaClient, sandbox: Sandbox, log: ResultLog, planned: tuple[Path, TaskRow, TaskRow]
) -> None:
    path, running, stopped = planned
    plan = Plan.load(path)
    model = PanelModel(client, log=log)
    run = model.load_plan(path)
    assert run.plan == plan and run.loaded and not run.dry_run
    state = model.state()
    assert state.current and state.problem is None  # no selection is needed
    text = model.confirmation_text()
    assert f"plan_id:     {plan.plan_id}" in text and f"plan file:   {path}" in text
    assert writes(sandbox) == []
    with pytest.raises(ConfirmationRequired):
        model.run()
    results = model.run(confirm=True)
    assert [(r.task_id, r.outcome) for r in results] == [
        (running.task_id, "success"),
        (stopped.task_id, "success"),
    ]
    check_rewound(writes(sandbox), running.task_id, stopped.task_id)
    assert {r.date_from for r in sandbox.resets} == {plan.date_from.ms}
    rows = log.records()
    assert rows and {r["plan_id"] for r in rows} == {plan.plan_id}
    assert model.previewed is None  # a run uses up its confirmation


def test_a_loaded_reset_plan_runs_the_raw_resets(
    client: RomaClient, sandbox: Sandbox, log: ResultLog, tmp_path: Path
) -> None:
    stopped = recent(sandbox, client, running=False)
    path = tmp_path / "reset.json"
    plan = make_plan(client, [stopped], path, procedure=Procedure.reset())
    sandbox.clear_records()
    model = PanelModel(client, log=log)
    model.load_plan(path)
    [result] = model.run(confirm=True)
    assert result.outcome == "success"
    assert writes(sandbox) == [("reset", stopped.task_id)]
    assert [r["plan_id"] for r in log.records()] == [plan.plan_id]


def refused_edited(path: Path, client: RomaClient, sandbox: Sandbox) -> None:
    path.write_bytes(path.read_bytes().replace(b'"now-47h"', b'"now-46h"'))


def refused_other_project(path: Path, client: RomaClient, sandbox: Sandbox) -> None:
    plan = Plan.load(path)
    other = replace(plan.environment, project_id="0" * 32)
    replace(plan, environment=other).save(path, overwrite=True)


def refused_expired(path: Path, client: RomaClient, sandbox: Sandbox) -> None:
    plan = Plan.load(path)
    replace(plan, created_ms=plan.created_ms - 2 * HOUR, expires_ms=plan.created_ms - HOUR).save(
        path, overwrite=True
    )


def refused_deleted_task(path: Path, client: RomaClient, sandbox: Sandbox) -> None:
    plan = Plan.load(path)
    gone = PlannedTask("f" * 32, "dropped_sync", "stopped", "ERROR")
    replace(plan, tasks=(*plan.tasks, gone)).save(path, overwrite=True)


@pytest.mark.parametrize(
    ("change", "error", "words"),
    [
        (refused_edited, PlanFileError, "was changed after it was planned"),
        (refused_other_project, PanelError, "but the client talks to"),
        (refused_expired, PanelError, "The plan expired at"),
        (refused_deleted_task, PanelError, f"Task dropped_sync ({'f' * 32}) no longer exists"),
    ],
)
def test_a_plan_the_world_refuses_is_not_loaded_and_nothing_is_sent(
    client: RomaClient,
    sandbox: Sandbox,
    log: ResultLog,
    planned: tuple[Path, TaskRow, TaskRow],
    change: Callable[[Path, RomaClient, Sandbox], None],
    error: type[Exception],
    words: str,
) -> None:
    path, _, _ = planned
    change(path, client, sandbox)
    model = PanelModel(client, log=log)
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        model.load_plan(path)
    assert model.previewed is None
    with pytest.raises(ConfirmationRequired):
        model.run(confirm=True)
    assert writes(sandbox) == []
    assert log.records() == []


def test_a_state_changed_before_loading_is_a_warning_to_tick(
    client: RomaClient, sandbox: Sandbox, log: ResultLog, planned: tuple[Path, TaskRow, TaskRow]
) -> None:
    path, _, stopped = planned
    start(sandbox, stopped)  # since planning
    model = PanelModel(client, log=log)
    run = model.load_plan(path)
    [warning] = [w for w in run.warnings if stopped.task_id in w]
    assert "was stopped (UNSTARTED) when planned and is running (RUNNING) now." in warning
    assert f"! {warning}" in model.confirmation_text()


def test_a_state_changed_after_loading_stops_run_with_nothing_sent(
    client: RomaClient, sandbox: Sandbox, log: ResultLog, planned: tuple[Path, TaskRow, TaskRow]
) -> None:
    path, _, stopped = planned
    model = PanelModel(client, log=log)
    model.load_plan(path)
    start(sandbox, stopped)  # while the plan was being read
    sandbox.clear_records()
    with pytest.raises(PlanChanged, match="the world changed since the plan was loaded"):
        model.run(confirm=True)
    assert writes(sandbox) == []
    assert log.records() == []


def test_retry_unknown_of_a_loaded_plan_carries_the_files_plan_id(
    client: RomaClient, sandbox: Sandbox, log: ResultLog, tmp_path: Path
) -> None:
    """Retry narrows the run to the unknown tasks (a plan with another id): its rows still
    carry the id of the file that was approved."""
    tasks = fresh(sandbox, client, running=False)[:2]
    path = tmp_path / "reset.json"
    plan = make_plan(client, tasks, path, procedure=Procedure.reset())
    sandbox.inject("drop", match=f"{tasks[1].task_id}/reset", times=1)
    model = PanelModel(client, log=log)
    model.load_plan(path)
    assert [r.outcome for r in model.run(confirm=True)] == ["success", "unknown"]
    [again] = model.retry_unknown()
    assert (again.task_id, again.outcome) == (tasks[1].task_id, "success")
    assert {r["plan_id"] for r in log.records()} == {plan.plan_id}
    assert len(log.records()) == 3
