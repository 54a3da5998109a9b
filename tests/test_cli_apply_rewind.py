"""Rewind plans over a socket, as a shell user makes and applies them: ``rewind --export`` sends
nothing, ``apply`` runs exactly the planned procedure (stop the running task, reset both, start
it again, verify) and refuses — with nothing sent, as the sandbox's records prove — an edited
byte, another project, an expired plan and a deleted task; a changed state stops it without
``--force``. Also: a history that fails mid-apply is said, with exit 1.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_shell import PYTHON_ISMS, roma_nb, shell_env
from plan_files import (
    AGO,
    HOUR,
    check_rewound,
    fresh,
    posts,
    recent,
    resave,
    running_instance,
    writes,
)

from roma_nb.cli import main
from roma_nb.cli.reset import EXIT_NOT_CONFIRMED
from roma_nb.client import RomaClient
from roma_nb.history import HistoryError, ResultLog
from roma_nb.plans import Plan, PlannedTask

Sandbox = Any


@pytest.fixture
def env(roma_sandbox: Sandbox, tmp_path: Path) -> dict[str, str]:
    history = tmp_path / "history.sqlite"
    return shell_env(tmp_path, {**roma_sandbox.env, "ROMA_NB_HISTORY": str(history)})


@pytest.fixture
def planned(
    roma_sandbox: Sandbox, client: RomaClient, env: dict[str, str], tmp_path: Path
) -> tuple[Path, Any, Any]:
    """A rewind plan file for one running and one stopped task, exported as a person would."""
    running = recent(roma_sandbox, client, running=True)
    stopped = recent(roma_sandbox, client, running=False)
    path = tmp_path / "rewind.json"
    done = roma_nb(
        *("rewind", running_instance(roma_sandbox).id, running.task_id, stopped.task_id),
        *("--date-from", AGO, "--export", str(path)),
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert posts(roma_sandbox) == []
    roma_sandbox.clear_records()
    return path, running, stopped


def test_rewind_export_writes_a_rewind_plan_and_sends_nothing(
    roma_sandbox: Sandbox, client: RomaClient, env: dict[str, str], tmp_path: Path
) -> None:
    running = recent(roma_sandbox, client, running=True)
    path = tmp_path / "never.json"
    done = roma_nb(
        *("rewind", running_instance(roma_sandbox).id, running.task_id, "--date-from", AGO),
        *("--restart", "never", "--no-verify", "--export", str(path)),
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert posts(roma_sandbox) == []
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["procedure"] == {
        "kind": "rewind",
        "restart": "never",
        "verify": False,
        "allow_forward": False,
    }
    assert "PLAN: REWIND 1 combined task" in done.stderr
    assert "rewind: stop if running, reset, leave every task stopped, no verification" in (
        done.stderr
    )
    assert f"roma-nb apply {path}" in done.stderr
    assert not any(word in done.stderr for word in PYTHON_ISMS)


def test_apply_runs_exactly_the_planned_rewind(
    roma_sandbox: Sandbox, env: dict[str, str], planned: tuple[Path, Any, Any]
) -> None:
    path, running, stopped = planned
    plan = Plan.load(path)

    shown = roma_nb("apply", str(path), env=env)
    assert shown.returncode == EXIT_NOT_CONFIRMED
    assert "Add --yes to apply this plan" in shown.stderr
    assert posts(roma_sandbox) == []

    done = roma_nb("apply", str(path), "--yes", "--format", "json", env=env)
    assert done.returncode == 0, done.stderr
    check_rewound(writes(roma_sandbox), running.task_id, stopped.task_id)
    assert sorted((r.task_id, r.date_from) for r in roma_sandbox.resets) == sorted(
        [(running.task_id, plan.date_from.ms), (stopped.task_id, plan.date_from.ms)]
    )
    rows = json.loads(done.stdout)
    assert [(r["task_id"], r["outcome"]) for r in rows] == [
        (running.task_id, "success"),
        (stopped.task_id, "success"),
    ]
    assert [(r["stop"], r["reset"], r["start"], r["verify"]) for r in rows] == [
        ("success", "success", "success", "success"),
        (None, "success", None, None),
    ]
    assert f"plan_id {plan.plan_id}" in done.stderr

    history = roma_nb("history", "--format", "json", env=env)
    assert history.returncode == 0, history.stderr
    every = json.loads(history.stdout)
    assert len(every) >= 4  # the looks, stop, resets, start, verification
    assert {r["plan_id"] for r in every} == {plan.plan_id}


def test_an_edited_byte_is_refused_before_any_call(
    roma_sandbox: Sandbox, env: dict[str, str], planned: tuple[Path, Any, Any]
) -> None:
    path, _, _ = planned
    data = path.read_bytes()
    path.write_bytes(data.replace(b'"restart": "as_before"', b'"restart": "always"', 1))
    done = roma_nb("apply", str(path), "--yes", env=env)
    assert done.returncode == 2
    assert "was changed after it was planned" in done.stderr
    assert roma_sandbox.calls == []


def test_another_project_is_refused_before_any_call(
    roma_sandbox: Sandbox, env: dict[str, str], planned: tuple[Path, Any, Any]
) -> None:
    path, _, _ = planned
    done = roma_nb("apply", str(path), "--yes", env={**env, "HUAWEICLOUD_SDK_PROJECT_ID": "0" * 32})
    assert done.returncode == 2
    assert f"project {roma_sandbox.project_id}, but the client talks to" in done.stderr
    assert roma_sandbox.calls == []


def test_an_expired_plan_is_refused_before_any_call(
    roma_sandbox: Sandbox, env: dict[str, str], planned: tuple[Path, Any, Any]
) -> None:
    path, _, _ = planned
    plan = Plan.load(path)
    resave(path, created_ms=plan.created_ms - 2 * HOUR, expires_ms=plan.created_ms - HOUR)
    done = roma_nb("apply", str(path), "--yes", env=env)
    assert done.returncode == 2
    assert "The plan expired at" in done.stderr
    assert roma_sandbox.calls == []


def test_a_deleted_task_is_refused_with_nothing_sent(
    roma_sandbox: Sandbox, env: dict[str, str], planned: tuple[Path, Any, Any]
) -> None:
    path, _, _ = planned
    plan = Plan.load(path)
    gone = PlannedTask("f" * 32, "dropped_sync", "stopped", "ERROR")
    resave(path, tasks=(*plan.tasks, gone))
    done = roma_nb("apply", str(path), "--yes", env=env)
    assert done.returncode == 2
    assert f"Task dropped_sync ({'f' * 32}) no longer exists on instance" in done.stderr
    assert posts(roma_sandbox) == []


def test_a_changed_state_needs_force(
    roma_sandbox: Sandbox, env: dict[str, str], planned: tuple[Path, Any, Any]
) -> None:
    path, running, stopped = planned
    assert roma_sandbox.state.start_task(stopped) is None  # someone started it meanwhile
    roma_sandbox.clear_records()

    warned = roma_nb("apply", str(path), "--yes", env=env)
    assert warned.returncode == EXIT_NOT_CONFIRMED
    assert f"({stopped.task_id}) was stopped" in warned.stderr and "is running" in warned.stderr
    assert "add --force with --yes" in warned.stderr
    assert posts(roma_sandbox) == []

    forced = roma_nb("apply", str(path), "--yes", "--force", "--format", "json", env=env)
    assert forced.returncode == 0, forced.stderr
    sent = writes(roma_sandbox)  # the rewind looks again: both are stopped first
    assert sorted(t for action, t in sent if action == "stop") == sorted(
        [running.task_id, stopped.task_id]
    )
    assert sorted(r.task_id for r in roma_sandbox.resets) == sorted(
        [running.task_id, stopped.task_id]
    )


def test_a_history_that_fails_mid_apply_is_said_and_exits_1(
    roma_sandbox: Sandbox,
    client: RomaClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 17, item 9, for ``apply``: the second completion finds the disk full."""
    instance = running_instance(roma_sandbox)
    history = tmp_path / "history.sqlite"
    for name, value in shell_env(
        tmp_path, {**roma_sandbox.env, "ROMA_NB_HISTORY": str(history)}
    ).items():
        monkeypatch.setenv(name, value)
    ids = [t.task_id for t in fresh(roma_sandbox, client, running=False)][:3]
    assert len(ids) == 3, "the seeded data has recent stopped tasks"
    path = tmp_path / "plan.json"
    assert main(["reset", instance.id, *ids, "--date-from", AGO, "--export", str(path)]) == 0
    roma_sandbox.clear_records()

    real_complete = ResultLog.complete
    completed: list[int] = []

    def complete(self: ResultLog, row_id: int, result: Any) -> None:
        if completed:
            raise HistoryError(f"history file {str(history)!r}: database or disk is full")
        completed.append(row_id)
        real_complete(self, row_id, result)

    monkeypatch.setattr(ResultLog, "complete", complete)
    capsys.readouterr()
    code = main(["apply", str(path), "--yes", "--concurrency", "1", "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 1, err
    results = json.loads(out)
    assert [r["task_id"] for r in results] == ids
    assert [r["outcome"] for r in results] == ["success", "success", "skipped"]
    assert len(roma_sandbox.resets) == 2
    assert "database or disk is full" in err
    assert "1 reset(s) were already sent and are recorded as pending" in err
    assert "Traceback" not in err
