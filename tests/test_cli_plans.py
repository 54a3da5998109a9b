"""Plan files over a socket, as a shell user makes and applies them: ``reset --export`` sends
nothing, ``apply`` sends exactly what was planned, and every way the world can have moved on
since is refused (exit 2) or stops for a second look (exit 3) with nothing sent, as the
sandbox's records prove.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from cli_shell import roma_nb, shell_env
from plan_files import AGO, HOUR, fresh, posts, resave, running_instance

from roma_nb.cli.reset import EXIT_NOT_CONFIRMED
from roma_nb.client import RomaClient
from roma_nb.plans import Plan, PlannedTask

Sandbox = Any


@pytest.fixture
def env(roma_sandbox: Sandbox, tmp_path: Path) -> dict[str, str]:
    history = tmp_path / "history.sqlite"
    return shell_env(tmp_path, {**roma_sandbox.env, "ROMA_NB_HISTORY": str(history)})


def stopped(sandbox: Sandbox, client: RomaClient) -> list[Any]:
    """Stopped combined tasks a reset to ``AGO`` replays (``plan_files.fresh``)."""
    found = fresh(sandbox, client, running=False)
    assert len(found) >= 2, "the seeded data has recent stopped tasks"
    return found


def export(sandbox: Sandbox, env: dict[str, str], path: Path, tasks: list[Any], *extra: str) -> Any:
    instance = running_instance(sandbox)
    return roma_nb(
        *("reset", instance.id, *(t.task_id for t in tasks), "--date-from", AGO),
        *("--export", str(path), *extra),
        env=env,
    )


@pytest.fixture
def planned(
    roma_sandbox: Sandbox, client: RomaClient, env: dict[str, str], tmp_path: Path
) -> tuple[Path, list[Any]]:
    """A plan file for two stopped tasks, exported as a person would; nothing sent."""
    tasks = stopped(roma_sandbox, client)[:2]
    path = tmp_path / "plan.json"
    done = export(roma_sandbox, env, path, tasks)
    assert done.returncode == 0, done.stderr
    assert posts(roma_sandbox) == []
    roma_sandbox.clear_records()
    return path, tasks


# -- export -----------------------------------------------------------------------------------


def test_export_writes_a_reviewable_plan_and_sends_nothing(
    roma_sandbox: Sandbox, client: RomaClient, env: dict[str, str], tmp_path: Path
) -> None:
    tasks = stopped(roma_sandbox, client)[:2]
    path = tmp_path / "plan.json"
    before = time.time_ns() // 1_000_000
    done = export(roma_sandbox, env, path, tasks)
    after = time.time_ns() // 1_000_000
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert posts(roma_sandbox) == []
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["format"] == "roma-nb plan"
    assert document["environment"]["project_id"] == roma_sandbox.project_id
    assert [t["id"] for t in document["tasks"]] == [t.task_id for t in tasks]
    assert {t["move"]["direction"] for t in document["tasks"]} == {"replay"}
    assert document["procedure"]["kind"] == "reset"
    assert document["date_from"]["typed"] == AGO
    assert before - 47 * HOUR <= document["date_from"]["ms"] <= after - 47 * HOUR
    assert f"plan_id: {document['plan_id']}" in done.stderr
    assert f"typed {AGO!r}" in done.stderr and "replays" in done.stderr


def test_export_does_not_overwrite_a_plan(
    roma_sandbox: Sandbox, env: dict[str, str], planned: tuple[Path, list[Any]]
) -> None:
    path, tasks = planned
    text = path.read_text()
    done = export(roma_sandbox, env, path, tasks)
    assert done.returncode == 2
    assert "already exists; choose another name for --export." in done.stderr
    assert path.read_text() == text


@pytest.mark.parametrize("flag", ["--yes", "--dry-run"])
def test_export_refuses_flags_that_send(
    roma_sandbox: Sandbox, client: RomaClient, env: dict[str, str], tmp_path: Path, flag: str
) -> None:
    path = tmp_path / "plan.json"
    done = export(roma_sandbox, env, path, stopped(roma_sandbox, client)[:1], flag)
    assert done.returncode == 2
    assert f"--export writes a plan and sends nothing; leave out {flag}" in done.stderr
    assert not path.exists()
    assert posts(roma_sandbox) == []


def test_a_forward_move_needs_allow_forward(
    roma_sandbox: Sandbox, client: RomaClient, env: dict[str, str], tmp_path: Path
) -> None:
    instance = running_instance(roma_sandbox)
    [task] = stopped(roma_sandbox, client)[:1]
    path = tmp_path / "forward.json"
    argv = ("reset", instance.id, task.task_id, "--date-from", "-1m", "--export", str(path))

    refused = roma_nb(*argv, env=env)
    assert refused.returncode == 2
    assert "the reset would skip" in refused.stderr
    assert "which the target would never receive. Give --allow-forward if it is." in (
        refused.stderr
    )
    assert not path.exists()

    allowed = roma_nb(*argv, "--allow-forward", env=env)
    assert allowed.returncode == 0, allowed.stderr
    document = json.loads(path.read_text())
    assert document["procedure"]["allow_forward"] is True
    assert document["tasks"][0]["move"]["direction"] == "skip"
    assert posts(roma_sandbox) == []


def test_an_old_date_from_is_refused_in_the_plan(
    roma_sandbox: Sandbox, client: RomaClient, env: dict[str, str], tmp_path: Path
) -> None:
    instance = running_instance(roma_sandbox)
    [task] = stopped(roma_sandbox, client)[:1]
    path = tmp_path / "old.json"
    done = roma_nb(
        *("reset", instance.id, task.task_id, "--date-from", "3 days ago"),
        *("--export", str(path)),
        env=env,
    )
    assert done.returncode == 2
    assert "retention" in done.stderr and "--retention-days" in done.stderr
    assert not path.exists()


# -- apply ------------------------------------------------------------------------------------


def test_apply_sends_exactly_the_planned_calls(
    roma_sandbox: Sandbox, env: dict[str, str], planned: tuple[Path, list[Any]]
) -> None:
    path, tasks = planned
    plan = Plan.load(path)

    shown = roma_nb("apply", str(path), env=env)
    assert shown.returncode == EXIT_NOT_CONFIRMED
    assert "Add --yes to apply this plan" in shown.stderr
    assert posts(roma_sandbox) == []

    done = roma_nb("apply", str(path), "--yes", "--format", "json", env=env)
    assert done.returncode == 0, done.stderr
    # The resets run concurrently: they reach the sandbox in any order, each exactly once.
    assert sorted((r.task_id, r.date_from) for r in roma_sandbox.resets) == sorted(
        (t.task_id, plan.date_from.ms) for t in tasks
    )
    assert len(posts(roma_sandbox)) == len(tasks)
    rows = json.loads(done.stdout)
    assert {r["outcome"] for r in rows} == {"success"}
    assert f"plan_id {plan.plan_id}" in done.stderr


def test_an_edited_byte_is_refused_before_any_call(
    roma_sandbox: Sandbox, env: dict[str, str], planned: tuple[Path, list[Any]]
) -> None:
    path, _ = planned
    data = path.read_bytes()
    index = data.index(b'"typed": "now-47h"') + len(b'"typed": "now-4')
    path.write_bytes(data[:index] + b"8" + data[index + 1 :])  # now-47h -> now-48h
    done = roma_nb("apply", str(path), "--yes", env=env)
    assert done.returncode == 2
    assert "was changed after it was planned" in done.stderr
    assert "Nothing was sent" in done.stderr
    assert roma_sandbox.calls == []


def test_another_project_is_refused_before_any_call(
    roma_sandbox: Sandbox, env: dict[str, str], planned: tuple[Path, list[Any]]
) -> None:
    path, _ = planned
    other = {**env, "HUAWEICLOUD_SDK_PROJECT_ID": "0" * 32}
    done = roma_nb("apply", str(path), "--yes", env=other)
    assert done.returncode == 2
    assert f"project {roma_sandbox.project_id}, but the client talks to" in done.stderr
    assert f"project {'0' * 32}" in done.stderr
    assert "Nothing sent: the plan is refused." in done.stderr
    assert roma_sandbox.calls == []


def test_another_sandbox_is_refused(
    roma_sandbox: Sandbox,
    roma_sandbox_factory: Any,
    env: dict[str, str],
    planned: tuple[Path, list[Any]],
    tmp_path: Path,
) -> None:
    path, _ = planned
    elsewhere = roma_sandbox_factory(instances=1, project_id="1" * 32)
    done = roma_nb("apply", str(path), "--yes", env=shell_env(tmp_path, elsewhere.env))
    assert done.returncode == 2
    assert "but the client talks to" in done.stderr
    assert elsewhere.calls == []
    assert roma_sandbox.calls == []


def test_an_expired_plan_is_refused(
    roma_sandbox: Sandbox, env: dict[str, str], planned: tuple[Path, list[Any]]
) -> None:
    path, _ = planned
    plan = Plan.load(path)
    resave(path, created_ms=plan.created_ms - 2 * HOUR, expires_ms=plan.created_ms - HOUR)
    done = roma_nb("apply", str(path), "--yes", env=env)
    assert done.returncode == 2
    assert "The plan expired at" in done.stderr and "Make the plan again." in done.stderr
    assert roma_sandbox.calls == []


def test_a_deleted_task_is_refused(
    roma_sandbox: Sandbox, env: dict[str, str], planned: tuple[Path, list[Any]]
) -> None:
    path, _ = planned
    plan = Plan.load(path)
    gone = PlannedTask("f" * 32, "dropped_sync", "stopped", "ERROR")
    resave(path, tasks=(*plan.tasks, gone))
    done = roma_nb("apply", str(path), "--yes", env=env)
    assert done.returncode == 2
    assert f"Task dropped_sync ({'f' * 32}) no longer exists on instance" in done.stderr
    assert posts(roma_sandbox) == []


def test_a_deleted_instance_is_refused(
    roma_sandbox: Sandbox, env: dict[str, str], planned: tuple[Path, list[Any]]
) -> None:
    path, tasks = planned
    gone = "0f0f0f0f-0f0f-0f0f-0f0f-0f0f0f0f0f0f"
    resave(path, instance_id=gone)
    done = roma_nb("apply", str(path), "--yes", env=env)
    assert done.returncode == 2, done.stderr
    for task in tasks:
        assert f"({task.task_id}) no longer exists on instance {gone}" in done.stderr
    assert posts(roma_sandbox) == []


def test_a_changed_state_needs_force(
    roma_sandbox: Sandbox, env: dict[str, str], planned: tuple[Path, list[Any]]
) -> None:
    path, tasks = planned
    assert roma_sandbox.state.start_task(tasks[0]) is None  # someone started it meanwhile
    roma_sandbox.clear_records()

    warned = roma_nb("apply", str(path), "--yes", env=env)
    assert warned.returncode == EXIT_NOT_CONFIRMED
    assert f"({tasks[0].task_id}) was stopped" in warned.stderr
    assert "is running" in warned.stderr
    assert "add --force with --yes" in warned.stderr
    assert posts(roma_sandbox) == []

    forced = roma_nb("apply", str(path), "--yes", "--force", env=env)
    assert forced.returncode in (0, 1), forced.stderr  # the service may refuse a running task
    assert sorted(c.path.rsplit("/", 2)[-2] for c in posts(roma_sandbox)) == sorted(
        t.task_id for t in tasks
    )


def test_history_rows_of_an_applied_plan_carry_its_plan_id(
    roma_sandbox: Sandbox, env: dict[str, str], planned: tuple[Path, list[Any]]
) -> None:
    path, tasks = planned
    plan_id = Plan.load(path).plan_id
    instance = running_instance(roma_sandbox)
    other = roma_nb(*("reset", instance.id, tasks[0].task_id, "--date-from", AGO, "--yes"), env=env)
    assert other.returncode == 0, other.stderr
    applied = roma_nb("apply", str(path), "--yes", env=env)
    assert applied.returncode == 0, applied.stderr

    shown = roma_nb("history", "--plan-id", plan_id.upper(), "--format", "json", env=env)
    assert shown.returncode == 0, shown.stderr
    rows = json.loads(shown.stdout)
    assert sorted(r["task_id"] for r in rows) == sorted(t.task_id for t in tasks)
    assert {r["plan_id"] for r in rows} == {plan_id}
    every = json.loads(roma_nb("history", "--format", "json", env=env).stdout)
    assert len(every) == len(tasks) + 1
    assert [r["plan_id"] for r in every if r["id"] not in {x["id"] for x in rows}] == [None]
