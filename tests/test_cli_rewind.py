"""``roma-nb rewind`` and ``roma-nb history --left-stopped`` run as a shell user runs them: the
plan first (exit 3, nothing sent), then the rewind with ``--yes`` (exit 0 / 1), the bad input
refused (exit 2, nothing sent), and the sandbox's records prove what reached the server."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_shell import PYTHON_ISMS, roma_nb, shell_env

from roma_nb import RomaClient, TokenAuth
from roma_nb.cli.reset import EXIT_NOT_CONFIRMED
from roma_nb.plans import where_tasks_are
from roma_nb.sandbox import Sandbox
from roma_nb.sandbox.data import TaskRow

PAST = "2024-05-01T02:00Z"


@pytest.fixture
def sandbox(roma_sandbox_factory: Callable[..., Sandbox]) -> Sandbox:
    return roma_sandbox_factory(tasks_per_instance=40, stop_delay_ms=50, start_delay_ms=50)


@pytest.fixture
def env(sandbox: Sandbox, tmp_path: Path) -> dict[str, str]:
    return shell_env(tmp_path, {**sandbox.env, "ROMA_NB_HISTORY": str(tmp_path / "h.sqlite")})


def _instance(sandbox: Sandbox) -> str:
    return sandbox.state.instances[0].id


def _tasks(sandbox: Sandbox, *, running: bool, count: int) -> list[TaskRow]:
    tasks = [
        t
        for t in sandbox.state.combined_tasks(_instance(sandbox))
        if t.status == int(running) and t.execute_status != "ERROR"
    ]
    return tasks[:count]


def _posts(sandbox: Sandbox) -> list[Any]:
    return [c for c in sandbox.calls if c.method != "GET"]


def _recent(sandbox: Sandbox, tasks: list[TaskRow]) -> str:
    """A date_from that replays every one of ``tasks``: an hour before the earliest point any
    of them is known to have read (a later one would move a task forward, and the plan would
    need ``--force``)."""
    with RomaClient(sandbox.url, project_id=sandbox.project_id, auth=TokenAuth("t")) as client:
        where = where_tasks_are(client, _instance(sandbox), [t.task_id for t in tasks])
    known = [p.at_ms for p in where.values() if p.at_ms is not None]
    return str(min([sandbox.state.now(), *known]) - 3_600_000)


def test_the_plan_names_each_task_its_state_and_steps_and_sends_nothing(
    sandbox: Sandbox, env: dict[str, str]
) -> None:
    [running] = _tasks(sandbox, running=True, count=1)
    [stopped] = _tasks(sandbox, running=False, count=1)
    done = roma_nb(
        "rewind", _instance(sandbox), running.task_id, stopped.task_id, "--date-from", PAST,
        env=env,
    )  # fmt: skip
    assert done.returncode == EXIT_NOT_CONFIRMED, done.stderr
    assert f"REWIND in {sandbox.url.removeprefix('http://')} / project" in done.stderr
    assert (
        f"({running.task_id}) [running → stop, reset to 2024-05-01T02:00:00Z, start again, verify;"
        " replays " in done.stderr
    )
    assert f"({stopped.task_id}) [stopped → reset to 2024-05-01T02:00:00Z, leave stopped" in (
        done.stderr
    )
    assert "steps: stop 1 running task, reset 2, start it again, verify" in done.stderr
    assert "Add --yes to send the rewind" in done.stderr
    assert not any(word in done.stderr for word in PYTHON_ISMS)
    assert _posts(sandbox) == []

    as_json = roma_nb(
        "rewind", _instance(sandbox), running.task_id, "--date-from", PAST,
        "--restart", "never", "--no-verify", "--format", "json",
        env=env,
    )  # fmt: skip
    assert as_json.returncode == EXIT_NOT_CONFIRMED
    plan = json.loads(as_json.stdout)
    assert (plan["sent"], plan["restart"], plan["verify"]) == (False, "never", False)
    assert plan["steps"] == "stop 1 running task, reset 1, leave it stopped (restart='never')"
    assert plan["tasks"][0]["steps"].startswith("running → stop, reset to")
    assert _posts(sandbox) == []


def test_yes_rewinds_and_verifies(sandbox: Sandbox, env: dict[str, str]) -> None:
    tasks = [*_tasks(sandbox, running=True, count=2), *_tasks(sandbox, running=False, count=1)]
    done = roma_nb(
        "rewind", _instance(sandbox), *(t.task_id for t in tasks),
        "--date-from", _recent(sandbox, tasks), "--yes", "--format", "json",
        env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [(r["task_id"], r["outcome"]) for r in rows] == [(t.task_id, "success") for t in tasks]
    assert [(r["stop"], r["reset"], r["start"], r["verify"]) for r in rows] == [
        ("success", "success", "success", "success"),
        ("success", "success", "success", "success"),
        (None, "success", None, None),
    ]
    assert len({r["rewind_id"] for r in rows}) == 1
    assert "3 success. History:" in done.stderr
    assert sorted(r.task_id for r in sandbox.resets) == sorted(t.task_id for t in tasks)

    listed = roma_nb("history", "--left-stopped", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "no task is left stopped" in listed.stderr


def test_a_failed_start_exits_1_and_history_lists_it_left_stopped(
    sandbox: Sandbox, env: dict[str, str]
) -> None:
    bad, good = _tasks(sandbox, running=True, count=2)
    sandbox.inject("start_fails", match=bad.task_id)
    done = roma_nb(
        "rewind", _instance(sandbox), bad.task_id, good.task_id,
        "--date-from", _recent(sandbox, [bad, good]), "--yes", "--no-verify", "--format", "json",
        env=env,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    rows = {r["task_id"]: r for r in json.loads(done.stdout)}
    assert rows[bad.task_id]["outcome"] == "left-stopped"
    assert "LEFT STOPPED" in rows[bad.task_id]["message"]
    assert rows[good.task_id]["outcome"] == "success"
    assert "start  " + bad.task_id + ": failed" in done.stderr  # progress per step

    listed = roma_nb("history", "--left-stopped", "--format", "json", env=env)
    assert listed.returncode == 1, listed.stderr
    assert [(r["task_id"], r["step"]) for r in json.loads(listed.stdout)] == [(bad.task_id, "stop")]
    assert "1 task(s) LEFT STOPPED" in listed.stderr
    table = roma_nb("history", "--left-stopped", env=env)
    assert table.returncode == 1 and bad.task_id in table.stdout


@pytest.mark.parametrize(
    "extra",
    [
        ["--restart", "sometimes"],
        ["--stop-timeout", "0"],
        ["--deadline", "0"],
        ["--date-from-typo"],
    ],
)
def test_bad_input_exits_2_and_sends_nothing(
    sandbox: Sandbox, env: dict[str, str], extra: list[str]
) -> None:
    [task] = _tasks(sandbox, running=True, count=1)
    done = roma_nb(
        "rewind", _instance(sandbox), task.task_id, "--date-from", PAST, "--yes", *extra,
        env=env,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert not any(word in done.stderr for word in PYTHON_ISMS)
    assert _posts(sandbox) == []


def test_a_task_that_is_not_combined_is_refused_before_anything_is_sent(
    sandbox: Sandbox, env: dict[str, str]
) -> None:
    normal = next(t for t in sandbox.state.tasks(_instance(sandbox)) if not t.combined)
    done = roma_nb(
        "rewind", _instance(sandbox), normal.task_id, "--date-from", PAST, "--yes", env=env
    )
    assert done.returncode == 2
    assert "not combined (CDC) tasks" in done.stderr
    assert _posts(sandbox) == []


def test_a_throttled_rewind_stops_at_its_deadline_and_says_so(
    sandbox: Sandbox, env: dict[str, str]
) -> None:
    """Issue 17, item 4: at ``--deadline`` what was not done is ``skipped`` (exit 1), a task the
    rewind stopped is still started again, and no skipped task had its reset sent. At 2
    requests a second the look, the stop, its polls and four resets need more than 2 s."""
    tasks = _tasks(sandbox, running=True, count=4)
    sandbox.set_rate_limit(2, burst=2)
    done = roma_nb(
        "rewind", _instance(sandbox), *(t.task_id for t in tasks),
        "--date-from", _recent(sandbox, tasks), "--yes", "--no-verify", "--deadline", "2",
        "--format", "json",
        env=env,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    rows = {r["task_id"]: r for r in json.loads(done.stdout)}
    assert sorted(rows) == sorted(t.task_id for t in tasks)
    skipped = [r for r in rows.values() if r["outcome"] == "skipped"]
    assert skipped and all("deadline passed" in r["message"] for r in skipped)
    assert f"The deadline of 2 s passed: {len(skipped)} task(s) not rewound" in done.stderr
    assert "(the deadline stops it in " in done.stderr  # each step line says how long is left
    for row in rows.values():
        assert row["outcome"] != "left-stopped"
        assert row["stop"] == "skipped" or row["start"] == "success"  # put back all the same
    reset = {r.task_id for r in sandbox.resets}
    assert reset == {t for t, r in rows.items() if r["reset"] == "success"}

    listed = roma_nb("history", "--left-stopped", env=env)
    assert listed.returncode == 0, listed.stderr


def _ahead(sandbox: Sandbox, task: TaskRow) -> tuple[str, int]:
    """A date_from an hour after the point ``task`` is known to have read (still in the past),
    and that point (epoch ms)."""
    with RomaClient(sandbox.url, project_id=sandbox.project_id, auth=TokenAuth("t")) as client:
        at = where_tasks_are(client, _instance(sandbox), [task.task_id])[task.task_id].at_ms
    assert at is not None and at + 3_600_000 < sandbox.state.now()
    return str(at + 3_600_000), at


def test_a_move_forward_needs_force_and_says_what_would_be_lost(
    sandbox: Sandbox, env: dict[str, str]
) -> None:
    """A date_from after where a task is known to have read skips the changes in between: the
    plan says so per task, and --yes alone sends nothing (as for a future date_from)."""
    [task] = _tasks(sandbox, running=True, count=1)
    ahead, _ = _ahead(sandbox, task)
    refused = roma_nb(
        "rewind", _instance(sandbox), task.task_id, "--date-from", ahead, "--yes", env=env
    )
    assert refused.returncode == EXIT_NOT_CONFIRMED, refused.stderr
    assert "WARNING (needs --force): 1 of the 1 tasks may SKIP changes" in refused.stderr
    assert f"({task.task_id}) [running → stop, reset to " in refused.stderr
    assert "verify; may SKIP up to 1 h of changes]" in refused.stderr
    assert "Nothing sent: the warning above needs --force as well as --yes." in refused.stderr
    assert _posts(sandbox) == []

    as_json = roma_nb(
        "rewind", _instance(sandbox), task.task_id, "--date-from", ahead, "--format", "json",
        env=env,
    )  # fmt: skip
    [planned] = json.loads(as_json.stdout)["tasks"]
    assert planned["move"] == {
        "direction": "skip",
        "amount_ms": 3_600_000,
        "text": "skips 1 h of changes",
    }
    assert planned["position"]["evidence"] == "monitor-log"
    assert json.loads(as_json.stdout)["needs_force"] is True

    forced = roma_nb(
        "rewind", _instance(sandbox), task.task_id, "--date-from", ahead, "--yes", "--force",
        "--no-verify", "--format", "json",
        env=env,
    )  # fmt: skip
    assert forced.returncode == 0, forced.stderr
    assert [r.task_id for r in sandbox.resets] == [task.task_id]


def test_a_position_that_cannot_be_read_is_said_and_the_direction_is_unknown(
    sandbox: Sandbox, env: dict[str, str]
) -> None:
    """The monitor API failing is no evidence either way: the plan says it could not tell, and
    a forward move is not claimed (nor refused)."""
    [task] = _tasks(sandbox, running=False, count=1)
    ahead, _ = _ahead(sandbox, task)
    sandbox.inject("server_error", times=50, method="GET", match="monitor")
    done = roma_nb("rewind", _instance(sandbox), task.task_id, "--date-from", ahead, env=env)
    assert done.returncode == EXIT_NOT_CONFIRMED, done.stderr
    assert "where the tasks are now could not be read" in done.stderr
    assert "replay or skip unknown (no record of where it is)]" in done.stderr
    assert "needs --force" not in done.stderr
    assert not any(word in done.stderr for word in PYTHON_ISMS)
    assert _posts(sandbox) == []
