"""``roma-nb instances / tasks / monitors / reset`` against the sandbox over a real socket.

Configuration comes from the environment, as a user's shell would give it; what was sent is read
from the sandbox's own records, and what was recorded from the history file.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from roma_nb.cli import main
from roma_nb.cli.reset import EXIT_NOT_CONFIRMED
from roma_nb.config import ENVIRONMENT_VARIABLES
from roma_nb.history import ResultLog

Sandbox = Any


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, isolated_home: Path) -> Path:
    """No configuration from the machine; history in a throw-away file."""
    for name in ENVIRONMENT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    history = isolated_home / "history.sqlite"
    monkeypatch.setenv("ROMA_NB_HISTORY", str(history))
    return history


@pytest.fixture
def sandbox_env(roma_sandbox: Sandbox, clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name, value in roma_sandbox.env.items():
        monkeypatch.setenv(name, value)
    return clean_env


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def instance(sandbox: Sandbox, index: int = 0) -> Any:
    return sandbox.state.instances[index]


def combined(sandbox: Sandbox, *, running: bool | None = None, index: int = 0) -> list[Any]:
    tasks = sandbox.state.combined_tasks(instance(sandbox, index).id)
    return [t for t in tasks if running is None or bool(t.status) == running]


# -- instances, tasks, monitors ------------------------------------------------------------------


def test_instances_in_three_formats(
    roma_sandbox: Sandbox, sandbox_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = [(i.id, i.name, i.status) for i in roma_sandbox.state.instances]

    code, out, _ = run(capsys, "instances", "--format", "json")
    assert code == 0
    assert [(r["id"], r["name"], r["status"]) for r in json.loads(out)] == expected

    code, out, _ = run(capsys, "instances", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["id"], r["name"], r["status"]) for r in rows] == expected

    code, out, _ = run(capsys, "instances")
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["id", "name", "status"]
    assert set(lines[1]) <= {"-", " "}
    for (iid, name, _status), line in zip(expected, lines[2:], strict=True):
        assert line.split()[:2] == [iid, name]


def test_tasks_by_instance_name_or_id_and_filters(
    roma_sandbox: Sandbox, sandbox_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inst = instance(roma_sandbox)
    expected = {t.task_id for t in roma_sandbox.state.combined_tasks(inst.id)}

    _, by_id, _ = run(capsys, "tasks", inst.id, "--format", "json")
    _, by_name, _ = run(capsys, "tasks", inst.name, "--format", "json")
    assert by_id == by_name
    rows = json.loads(by_id)
    assert {r["task_id"] for r in rows} == expected
    assert {r["ext_type"] for r in rows} == {"CDC"}

    _, everything, _ = run(capsys, "tasks", inst.name, "--all", "--format", "json")
    assert len(json.loads(everything)) == len(roma_sandbox.state.tasks(inst.id)) > len(rows)

    _, failing, _ = run(capsys, "tasks", inst.name, "--execute-status", "ERROR", "--format", "json")
    errors = json.loads(failing)
    assert errors
    assert {r["execute_status"] for r in errors} == {"ERROR"}


def test_unknown_instance_lists_the_known_ones(
    roma_sandbox: Sandbox, sandbox_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "tasks", "no-such-instance")
    assert code == 2
    assert out == ""
    assert "no-such-instance" in err
    assert instance(roma_sandbox).name in err


def test_monitor_state_and_decoded_logs(
    roma_sandbox: Sandbox, sandbox_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inst = instance(roma_sandbox)
    code, out, _ = run(capsys, "monitors", inst.name, "--format", "json")
    assert code == 0
    state = json.loads(out)
    assert {r["task_id"] for r in state} == {t.task_id for t in roma_sandbox.state.tasks(inst.id)}

    # not a task whose execution is running: its counts grow between the two calls below
    task = next(t for t in roma_sandbox.state.combined_tasks(inst.id) if t.status == 0)
    code, out, _ = run(capsys, "monitors", inst.name, task.task_id, "--format", "json")
    logs = json.loads(out)
    assert run(capsys, "monitors", inst.name, "--task", task.task_id, "--format", "json")[1] == out
    raw = roma_sandbox.state.monitor_logs(task)
    assert len(logs) == len(raw) > 0
    starts = [r["start_time"] for r in logs]
    assert starts == sorted(starts)
    by_id = {str(r["id"]): r for r in raw}
    for row in logs:
        code_ = by_id[row["id"]]["status"]
        assert row["status"] == code_
        assert row["side"] == ("reader" if code_ < 500 else "writer" if code_ < 900 else "other")
        assert row["meaning"].startswith(
            {"reader": "reader", "writer": "writer", "other": "scheduler"}[row["side"]]
        )


def test_monitor_logs_since_keeps_only_later_logs(
    roma_sandbox: Sandbox, sandbox_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inst = instance(roma_sandbox)
    task = roma_sandbox.state.combined_tasks(inst.id)[0]
    raw = sorted(log["start_time"] for log in roma_sandbox.state.monitor_logs(task))
    middle = raw[len(raw) // 2]
    since = datetime.fromtimestamp(middle / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    code, out, _ = run(
        capsys, "monitors", inst.id, "--task", task.task_id, "--since", since, "--format", "json"
    )
    assert code == 0
    kept = json.loads(out)
    assert 0 < len(kept) < len(raw)
    assert all(r["start_time"] >= since for r in kept)


def test_monitor_time_filters_need_a_task(
    roma_sandbox: Sandbox, sandbox_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "monitors", instance(roma_sandbox).id, "--since", "24h")
    assert code == 2
    assert "TASK_ID" in err


# -- reset -----------------------------------------------------------------------------------------


def test_reset_without_yes_shows_the_plan_and_sends_nothing(
    roma_sandbox: Sandbox, sandbox_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inst = instance(roma_sandbox)
    a, b = combined(roma_sandbox)[:2]
    code, out, err = run(
        capsys, "reset", inst.name, a.task_id, b.task_id, "--date-from", "2024-01-02T03:04"
    )
    assert code == EXIT_NOT_CONFIRMED
    assert out == ""
    assert roma_sandbox.resets == []
    assert not sandbox_env.exists()
    for text in (inst.id, a.task_id, a.task_name, b.task_id, b.task_name, "1704164640000"):
        assert text in err
    assert "2024-01-02T03:04:00Z" in err
    assert "--yes" in err


def test_reset_with_yes_sends_the_instant_in_the_given_zone_and_records_it(
    roma_sandbox: Sandbox, sandbox_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inst = instance(roma_sandbox)
    targets = combined(roma_sandbox, running=False)[:3]  # a running task would be refused
    ids = [t.task_id for t in targets]
    expected = int(datetime(2024, 1, 2, 3, 4, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()) * 1000

    code, out, err = run(
        capsys,
        *("reset", inst.id, *ids),
        *("--date-from", "2024-01-02T03:04", "--tz", "Asia/Shanghai", "--yes", "--format", "json"),
    )
    assert code == 0, err
    assert sorted((r.task_id, r.date_from) for r in roma_sandbox.resets) == sorted(
        (i, expected) for i in ids
    )
    results = json.loads(out)
    assert [r["task_id"] for r in results] == ids
    assert {r["outcome"] for r in results} == {"success"}
    assert {r["date_from"] for r in results} == {expected}
    assert "Asia/Shanghai" in err
    with ResultLog(sandbox_env) as log:
        rows = log.records()
    assert sorted(r["task_id"] for r in rows) == sorted(ids)
    assert {(r["outcome"], r["date_from_ms"], r["dry_run"]) for r in rows} == {
        ("success", expected, False)
    }


def test_reset_dry_run_records_without_sending(
    roma_sandbox: Sandbox, sandbox_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inst = instance(roma_sandbox)
    task = combined(roma_sandbox, running=False)[0]
    code, out, _ = run(
        capsys,
        "reset",
        inst.id,
        task.task_id,
        "--date-from",
        "1704164640000",
        "--dry-run",
        "--format",
        "csv",
    )
    assert code == 0
    assert roma_sandbox.resets == []
    (row,) = csv.DictReader(io.StringIO(out))
    assert (row["outcome"], row["date_from"]) == ("dry-run", "1704164640000")
    with ResultLog(sandbox_env) as log:
        (record,) = log.records()
    assert record["dry_run"] is True
    assert record["date_from_ms"] == 1704164640000


def test_reset_without_date_from_sends_an_empty_body(
    roma_sandbox: Sandbox, sandbox_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    task = combined(roma_sandbox, running=False)[0]  # a running task would be refused
    code, _, err = run(
        capsys, "reset", instance(roma_sandbox).id, task.task_id, "--no-date-from", "--yes"
    )
    assert code == 0, err
    assert [(r.task_id, r.date_from) for r in roma_sandbox.resets] == [(task.task_id, None)]
    assert "service decides" in err


def test_reset_refuses_unknown_and_normal_tasks_before_sending(
    roma_sandbox: Sandbox, sandbox_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inst = instance(roma_sandbox)
    good = combined(roma_sandbox)[0]
    normal = next(t for t in roma_sandbox.state.tasks(inst.id) if t.ext_type != "CDC")
    code, _, err = run(
        capsys,
        *("reset", inst.id, good.task_id, "missing-task", normal.task_id),
        *("--date-from", "2024-01-02T03:04Z", "--yes"),
    )
    assert code == 2
    assert roma_sandbox.resets == []
    assert "missing-task" in err
    assert normal.task_id in err
    assert "Nothing was sent" in err


@pytest.mark.parametrize(
    ("value", "words"),
    [("1704164640", "seconds"), ("last week", "last week"), ("2024-02-30T00:00", "2024-02-30")],
)
def test_reset_refuses_bad_times_before_connecting(
    clean_env: Path, capsys: pytest.CaptureFixture[str], value: str, words: str
) -> None:
    # No configuration at all: the time is checked first, so the error is about the time.
    code, out, err = run(capsys, "reset", "inst", "task", "--date-from", value, "--yes")
    assert code == 2
    assert out == ""
    assert words in err
    assert "Traceback" not in err


def test_reset_exit_code_is_1_when_any_task_fails(
    roma_sandbox_factory: Any,
    clean_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sandbox = roma_sandbox_factory(tasks_per_instance=20, refuse_running=True)
    for name, value in sandbox.env.items():
        monkeypatch.setenv(name, value)
    stopped = combined(sandbox, running=False)[0]
    running = combined(sandbox, running=True)[0]
    code, out, err = run(
        capsys,
        *("reset", instance(sandbox).id, stopped.task_id, running.task_id),
        *("--date-from", "2024-01-02T03:04Z", "--yes", "--format", "json"),
    )
    assert code == 1
    outcomes = {r["task_id"]: (r["outcome"], r["error_code"]) for r in json.loads(out)}
    assert outcomes == {
        stopped.task_id: ("success", None),
        running.task_id: ("failed", "FDI.3023"),
    }
    assert [r.task_id for r in sandbox.resets] == [stopped.task_id]
    assert "running" in err


# -- configuration ---------------------------------------------------------------------------------


def test_flags_override_the_environment_and_secrets_stay_out_of_output(
    roma_sandbox: Sandbox,
    clean_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ROMA_NB_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("HUAWEICLOUD_SDK_PROJECT_ID", "0" * 32)
    monkeypatch.setenv("ROMA_NB_TOKEN", roma_sandbox.token)
    code, out, err = run(
        capsys,
        *("instances", "--endpoint", roma_sandbox.url),
        *("--project-id", roma_sandbox.project_id, "--format", "json"),
    )
    assert code == 0, err
    assert len(json.loads(out)) == len(roma_sandbox.state.instances)
    assert roma_sandbox.token not in out + err


def test_missing_configuration_is_one_clear_message(
    clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "instances")
    assert code == 2
    assert out == ""
    assert "ROMA_NB_ENDPOINT" in err
    assert "Traceback" not in err


def test_unreachable_endpoint_exits_1(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ROMA_NB_TOKEN", "some-token-value")
    code, _, err = run(
        capsys, "instances", "--endpoint", "http://127.0.0.1:9", "--project-id", "0" * 32
    )
    assert code == 1
    assert "127.0.0.1:9" in err
    assert "some-token-value" not in err


def test_embedded_sandbox_endpoint(clean_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "instances", "--endpoint", "sandbox", "--format", "json")
    assert code == 0
    assert json.loads(out)


@pytest.mark.parametrize("command", ["instances", "tasks", "monitors", "reset"])
def test_help_names_configuration_and_examples(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # whatever the terminal width
    assert "--format" in out
    assert "ROMA_NB_ENDPOINT" in out
    assert "never taken from the command line" in out
    if command == "reset":
        for flag in ("--date-from", "--tz", "--dry-run", "--yes", "exit codes"):
            assert flag in out


def test_reset_stops_at_its_deadline_and_says_so(
    roma_sandbox: Sandbox, sandbox_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 17, item 4: under throttling, ``--deadline`` ends the batch; the rest is skipped."""
    inst = instance(roma_sandbox)
    ids = [t.task_id for t in combined(roma_sandbox, running=False)[:12]]
    roma_sandbox.set_rate_limit(1, burst=1)
    code, out, err = run(
        capsys,
        *("reset", inst.id, *ids, "--date-from", "1704164640000", "--yes"),
        *("--concurrency", "2", "--deadline", "2", "--format", "json"),
    )
    results = json.loads(out)
    assert code == 1, err
    skipped = [r for r in results if r["outcome"] == "skipped"]
    assert skipped and len(results) == len(ids)
    assert f"The deadline of 2 s passed: {len(skipped)} reset(s) were not sent" in err
    with ResultLog(sandbox_env) as log:
        assert len(log.records()) == len(ids)


def test_the_time_left_is_read_from_the_pace_so_far() -> None:
    from roma_nb.client._batch import _time_left
    from roma_nb.client._throttle import Throttle

    assert _time_left(10.0, 2, 12, Throttle(4)) == (50.0, False)
    assert _time_left(0.0, 0, 12, Throttle(4)) == (None, False)


def test_a_throttled_reset_says_how_long_is_left(
    roma_sandbox: Sandbox, sandbox_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 17, item 4: throttled, the CLI says so and how long it expects, also while no
    result arrives (a ``Retry-After`` of 12 s holds the whole batch back)."""
    inst = instance(roma_sandbox)
    ids = [t.task_id for t in combined(roma_sandbox, running=False)[:3]]
    roma_sandbox.inject("throttle", match=f"{ids[0]}/reset", retry_after=12)
    code, out, err = run(
        capsys,
        *("reset", inst.id, *ids, "--date-from", "1704164640000", "--yes"),
        *("--concurrency", "2", "--format", "json"),
    )
    assert code == 0, err
    assert [r["outcome"] for r in json.loads(out)] == ["success"] * 3
    assert re.search(r"\[\d/3\] \S+: success — throttled by the gateway, about \d+ s left", err)
    assert re.search(r"\[\d/3\] waiting — throttled by the gateway, about \d+ s left", err), err


def test_a_full_disk_mid_batch_prints_what_is_known_and_exits_1(
    roma_sandbox: Sandbox,
    sandbox_env: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 17, item 9: the second completion finds the disk full; the batch stops there."""
    from roma_nb.history import HistoryError

    inst = instance(roma_sandbox)
    ids = [t.task_id for t in combined(roma_sandbox, running=False)[:6]]
    real_complete = ResultLog.complete
    completed: list[int] = []

    def complete(self: ResultLog, row_id: int, result: Any) -> None:
        if completed:
            raise HistoryError(f"history file {str(sandbox_env)!r}: database or disk is full")
        completed.append(row_id)
        real_complete(self, row_id, result)

    monkeypatch.setattr(ResultLog, "complete", complete)
    code, out, err = run(
        capsys,
        *("reset", inst.id, *ids, "--date-from", "1704164640000", "--yes"),
        *("--concurrency", "1", "--format", "json"),
    )
    assert code == 1, err
    results = json.loads(out)
    assert [r["task_id"] for r in results] == ids  # every task, with what is known of it
    sent = [r for r in results if r["outcome"] == "success"]
    assert len(sent) == len(roma_sandbox.resets) == 2
    assert all(r["outcome"] == "skipped" for r in results[2:])
    assert "database or disk is full" in err
    assert "1 reset(s) were already sent and are recorded as pending" in err
    with ResultLog(sandbox_env) as log:
        outcomes = sorted(r["outcome"] for r in log.records())
    assert outcomes == ["pending", "skipped", "skipped", "skipped", "skipped", "success"]
