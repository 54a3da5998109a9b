"""The exit-code contract, run as a shell user runs it: 2 means bad input and nothing was sent,
3 means a plan was shown and not confirmed (or not forced), and the sandbox's records prove it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from cli_shell import roma_nb, shell_env

from roma_nb.cli.reset import EXIT_NOT_CONFIRMED
from roma_nb.history import ResultLog

Sandbox = Any
PAST = "2024-05-01T02:00Z"
PAST_MS = 1_714_528_800_000


@pytest.fixture
def env(roma_sandbox: Sandbox, tmp_path: Path) -> dict[str, str]:
    history = tmp_path / "history.sqlite"
    return shell_env(tmp_path, {**roma_sandbox.env, "ROMA_NB_HISTORY": str(history)})


def instance_named(sandbox: Sandbox, status: str) -> Any:
    return next(i for i in sandbox.state.instances if i.status == status)


def stopped_task(sandbox: Sandbox, instance: Any) -> Any:
    return next(t for t in sandbox.state.combined_tasks(instance.id) if not t.status)


def posts(sandbox: Sandbox) -> list[Any]:
    return [c for c in sandbox.calls if c.method != "GET"]


def history_rows(env: dict[str, str]) -> list[dict[str, Any]]:
    path = Path(env["ROMA_NB_HISTORY"])
    if not path.exists():
        return []
    with ResultLog(path) as log:
        return log.records()


# -- 2: a history that cannot be used is refused before the plan -------------------------------


@pytest.mark.parametrize("kind", ["directory", "not sqlite", "unwritable"])
def test_reset_refuses_an_unusable_history_before_planning(
    roma_sandbox: Sandbox, env: dict[str, str], tmp_path: Path, kind: str
) -> None:
    history = {
        "directory": tmp_path,
        "not sqlite": tmp_path / "notes.txt",
        "unwritable": Path("/proc/roma-nb/history.sqlite"),  # no one can create files there
    }[kind]
    if kind == "not sqlite":
        history.write_text("my notes\n")
    instance = instance_named(roma_sandbox, "RUNNING")
    task = stopped_task(roma_sandbox, instance)
    done = roma_nb(
        *("reset", instance.id, task.task_id, "--date-from", PAST, "--yes"),
        *("--history", str(history)),
        env=env,
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr.startswith("roma-nb reset: ")
    assert str(history) in done.stderr
    assert "RESET in" not in done.stderr  # no plan printed before the refusal
    assert roma_sandbox.calls == []  # nothing at all reached the server
    if kind == "not sqlite":
        assert history.read_text() == "my notes\n"
        assert "--history" in done.stderr


# -- 2: filters the service would refuse are normalised or refused locally ----------------------


def test_lowercase_execute_status_is_normalised(roma_sandbox: Sandbox, env: dict[str, str]) -> None:
    instance = instance_named(roma_sandbox, "RUNNING")
    done = roma_nb("tasks", instance.id, "--execute-status", "error", "--format", "json", env=env)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert rows
    assert {r["execute_status"] for r in rows} == {"ERROR"}
    listed = [c for c in roma_sandbox.calls if c.path.endswith("/tasks")]
    assert listed
    assert all("execute_status=ERROR" in c.query for c in listed)


@pytest.mark.parametrize("command", ["tasks", "monitors"])
def test_an_unknown_execute_status_is_refused_locally(
    roma_sandbox: Sandbox, env: dict[str, str], command: str
) -> None:
    instance = instance_named(roma_sandbox, "RUNNING")
    done = roma_nb(command, instance.id, "--execute-status", "broken", env=env)
    assert done.returncode == 2
    assert f"usage: roma-nb {command}" in done.stderr
    assert "UNSTARTED, WAITING, RUNNING, SUCCESS, CANCELLED, ERROR" in done.stderr
    assert roma_sandbox.calls == []


@pytest.mark.parametrize(("since", "until"), [("1h", "2h"), ("2h", "2h")])
def test_an_empty_or_inverted_monitor_window_is_refused_locally(
    roma_sandbox: Sandbox, env: dict[str, str], since: str, until: str
) -> None:
    instance = instance_named(roma_sandbox, "RUNNING")
    task = roma_sandbox.state.combined_tasks(instance.id)[0]
    done = roma_nb(
        "monitors", instance.id, task.task_id, "--since", since, "--until", until, env=env
    )
    assert done.returncode == 2
    assert f"--since {since}" in done.stderr and f"--until {until}" in done.stderr
    assert "not before" in done.stderr
    assert roma_sandbox.calls == []


# -- 5: a warning that matters needs --force as well as --yes ----------------------------------


def test_a_frozen_instance_needs_force(roma_sandbox: Sandbox, env: dict[str, str]) -> None:
    frozen = instance_named(roma_sandbox, "FROZEN")
    task = stopped_task(roma_sandbox, frozen)
    argv = ("reset", frozen.name, task.task_id, "--date-from", PAST, "--yes")

    refused = roma_nb(*argv, env=env)
    assert refused.returncode == EXIT_NOT_CONFIRMED
    lines = refused.stderr.splitlines()
    assert lines[0].startswith("WARNING (needs --force): instance")
    assert "FROZEN" in lines[0]
    assert "--force" in lines[-1]
    assert posts(roma_sandbox) == []
    assert history_rows(env) == []

    forced = roma_nb(*argv, "--force", env=env)
    assert "Nothing sent" not in forced.stderr
    assert [(c.method, c.path.rsplit("/", 2)[-2]) for c in posts(roma_sandbox)] == [
        ("POST", task.task_id)
    ]


def test_a_future_date_from_needs_force(roma_sandbox: Sandbox, env: dict[str, str]) -> None:
    instance = instance_named(roma_sandbox, "RUNNING")
    task = stopped_task(roma_sandbox, instance)
    future_ms = (time.time_ns() // 1_000_000) + 3 * 86_400_000
    argv = ("reset", instance.id, task.task_id, "--date-from", str(future_ms), "--yes")

    refused = roma_nb(*argv, env=env)
    assert refused.returncode == EXIT_NOT_CONFIRMED
    first = refused.stderr.splitlines()[0]
    assert first.startswith("WARNING (needs --force): ") and "in the future" in first
    assert posts(roma_sandbox) == []

    forced = roma_nb(*argv, "--force", env=env)
    assert forced.returncode == 0, forced.stderr
    assert [(r.task_id, r.date_from) for r in roma_sandbox.resets] == [(task.task_id, future_ms)]


def test_an_old_date_from_needs_only_yes(roma_sandbox: Sandbox, env: dict[str, str]) -> None:
    """Older than the log retention is a warning --yes accepts: it does not need --force."""
    instance = instance_named(roma_sandbox, "RUNNING")
    task = stopped_task(roma_sandbox, instance)
    done = roma_nb("reset", instance.id, task.task_id, "--date-from", PAST, "--yes", env=env)
    assert done.returncode == 0, done.stderr
    assert "needs --force" not in done.stderr
    assert "warning: " in done.stderr and "retention" in done.stderr
    assert [(r.task_id, r.date_from) for r in roma_sandbox.resets] == [(task.task_id, PAST_MS)]


# -- 6: relative times ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "ago_ms"),
    [("2h ago", 7_200_000), ("-90m", 5_400_000), ("PT2H", 7_200_000), ("now-1d", 86_400_000)],
)
def test_reset_resolves_a_relative_date_from_once(
    roma_sandbox: Sandbox, env: dict[str, str], value: str, ago_ms: int
) -> None:
    """Resolved against one clock reading, shown as the text typed and the instant it meant."""
    instance = instance_named(roma_sandbox, "RUNNING")
    task = stopped_task(roma_sandbox, instance)
    before = time.time_ns() // 1_000_000
    done = roma_nb(
        "reset", instance.id, task.task_id, "--date-from", value, "--format", "json", env=env
    )
    after = time.time_ns() // 1_000_000
    assert done.returncode == EXIT_NOT_CONFIRMED, done.stderr
    plan = json.loads(done.stdout)
    assert before - ago_ms <= plan["date_from"] <= after - ago_ms
    assert plan["date_from_typed"] == value
    assert f"date_from {plan['date_from']}, typed {value!r}" in done.stderr
    assert posts(roma_sandbox) == []


def test_yesterday_is_read_in_the_zone(roma_sandbox: Sandbox, env: dict[str, str]) -> None:
    instance = instance_named(roma_sandbox, "RUNNING")
    task = stopped_task(roma_sandbox, instance)
    done = roma_nb(
        *("reset", instance.id, task.task_id, "--date-from", "yesterday 02:00"),
        *("--tz", "Asia/Shanghai", "--format", "json"),
        env=env,
    )
    assert done.returncode == EXIT_NOT_CONFIRMED, done.stderr
    plan = json.loads(done.stdout)
    assert plan["date_from_local"].split(" ")[1:] == ["02:00:00", "CST", "(+08:00)"]
    assert plan["date_from_utc"].endswith("T18:00:00Z")


def test_an_unknown_relative_time_names_the_flag(
    roma_sandbox: Sandbox, env: dict[str, str]
) -> None:
    instance = instance_named(roma_sandbox, "RUNNING")
    done = roma_nb("reset", instance.id, "TASK", "--date-from", "2 months ago", env=env)
    assert done.returncode == 2
    assert done.stderr.startswith("roma-nb reset: --date-from: ")
    assert roma_sandbox.calls == []


def test_monitors_take_a_dash_duration(roma_sandbox: Sandbox, env: dict[str, str]) -> None:
    instance = instance_named(roma_sandbox, "RUNNING")
    task = roma_sandbox.state.combined_tasks(instance.id)[0]
    before = time.time_ns() // 1_000_000
    done = roma_nb("monitors", instance.id, task.task_id, "--since", "-2h", env=env)
    after = time.time_ns() // 1_000_000
    assert done.returncode == 0, done.stderr
    logs_call = next(c for c in roma_sandbox.calls if c.path.endswith("/monitor-logs"))
    [begin] = map(int, parse_qs(logs_call.query)["begin_time"])
    assert before - 2 * 3_600_000 <= begin <= after - 2 * 3_600_000


# -- 8: a plan not sent is JSON on stdout ---------------------------------------------------------


def test_a_plan_without_yes_is_json_on_stdout(roma_sandbox: Sandbox, env: dict[str, str]) -> None:
    instance = instance_named(roma_sandbox, "RUNNING")
    tasks = roma_sandbox.state.combined_tasks(instance.id)[:2]
    done = roma_nb(
        *("reset", instance.name, *(t.task_id for t in tasks), "--date-from", "2024-05-01T10:00"),
        *("--tz", "Asia/Shanghai", "--format", "json"),
        env=env,
    )
    assert done.returncode == EXIT_NOT_CONFIRMED
    plan = json.loads(done.stdout)
    assert plan["sent"] is False
    assert plan["instance"] == {"id": instance.id, "name": instance.name, "status": "RUNNING"}
    assert [t["task_id"] for t in plan["tasks"]] == [t.task_id for t in tasks]
    assert (plan["date_from"], plan["date_from_utc"]) == (PAST_MS, "2024-05-01T02:00:00Z")
    assert plan["tz"] == "Asia/Shanghai" and "+08:00" in plan["date_from_local"]
    assert plan["needs_force"] is False
    assert "RESET in" in done.stderr  # the plan for people is still on stderr
    assert posts(roma_sandbox) == []


def test_a_task_name_given_as_id_gets_its_id(roma_sandbox: Sandbox, env: dict[str, str]) -> None:
    instance = instance_named(roma_sandbox, "RUNNING")
    task = stopped_task(roma_sandbox, instance)
    done = roma_nb("reset", instance.id, task.task_name, "--date-from", PAST, "--yes", env=env)
    assert done.returncode == 2
    assert f"{task.task_name!r} is a task name: its id is {task.task_id}" in done.stderr
    assert posts(roma_sandbox) == []

    shown = roma_nb("monitors", instance.id, task.task_name, env=env)
    assert shown.returncode == 1
    assert f"give its id: roma-nb monitors {instance.id} {task.task_id}" in shown.stderr
