"""``roma-nb history`` as a shell user reads it: whole ids, one time format in every output, times
in ``--tz``, task names understood, instance names explained — and never a call to the service.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cli_shell import roma_nb, shell_env

from roma_nb.history import RecordContext, ResultLog
from roma_nb.models import ResetResult

Sandbox = Any
T0 = datetime(2024, 5, 1, tzinfo=timezone.utc)
LONG_ID = "t" * 64  # the longest task id the service allows
INSTANCE = "9a1d2f0d-0f8f-860e-311a-0d1e25e8e09d"


@pytest.fixture
def history(tmp_path: Path) -> Path:
    path = tmp_path / "history.sqlite"
    with ResultLog(path, context=RecordContext(project_id="p1", actor="ada")) as log:
        log.append(
            ResetResult(
                instance_id=INSTANCE,
                task_id=LONG_ID,
                task_name="orders_gaussdb_to_clickhouse_with_a_rather_long_name_too",
                date_from=1_714_528_800_000,
                outcome="success",
                at=T0,
            )
        )
        log.append(
            ResetResult(
                instance_id="other-instance",
                task_id="short",
                task_name="payments",
                date_from=None,
                outcome="failed",
                at=T0 + timedelta(hours=2),
            )
        )
    return path


@pytest.fixture
def env(roma_sandbox: Sandbox, tmp_path: Path, history: Path) -> dict[str, str]:
    """Configured for the sandbox, so that any call the history made would be recorded."""
    return shell_env(tmp_path, {**roma_sandbox.env, "ROMA_NB_HISTORY": str(history)})


@pytest.fixture(autouse=True)
def nothing_is_called(roma_sandbox: Sandbox) -> Any:
    yield
    assert roma_sandbox.calls == []


def test_the_table_shows_whole_ids(env: dict[str, str]) -> None:
    done = roma_nb("history", env=env)
    assert done.returncode == 0
    header, _, first, _ = done.stdout.splitlines()
    assert header.split()[:6] == ["id", "at", "instance_id", "task_id", "task_name", "date_from"]
    assert f" {INSTANCE} " in first and f" {LONG_ID} " in first
    assert "orders_gaussdb_to_clickhouse_with_a_rather_long_name_too" in first


def test_one_time_format_in_every_output_and_zone(env: dict[str, str]) -> None:
    shanghai = ("2024-05-01T08:00:00.000+08:00", "2024-05-01T10:00:00.000+08:00")
    table = roma_nb("history", "--tz", "Asia/Shanghai", env=env).stdout
    rows = json.loads(
        roma_nb("history", "--tz", "Asia/Shanghai", "--format", "json", env=env).stdout
    )
    text = roma_nb("history", "--tz", "Asia/Shanghai", "--format", "csv", env=env).stdout
    table_rows = table.splitlines()[2:]
    csv_rows = list(csv.DictReader(io.StringIO(text)))
    for moment, line, row, cells in zip(shanghai, table_rows, rows, csv_rows, strict=True):
        assert line.split()[1] == row["at"] == cells["at"] == moment
    assert rows[0]["date_from"] == csv_rows[0]["date_from"] == "2024-05-01T10:00:00.000+08:00"
    assert "2024-05-01T10:00:00.000+08:00" in table_rows[0]
    utc = json.loads(roma_nb("history", "--format", "json", env=env).stdout)
    assert [r["at"] for r in utc] == [
        "2024-05-01T00:00:00.000+00:00",
        "2024-05-01T02:00:00.000+00:00",
    ]


def test_since_is_read_in_the_zone(env: dict[str, str]) -> None:
    done = roma_nb(
        *("history", "--since", "2024-05-01T09:00", "--tz", "Asia/Shanghai", "--format", "json"),
        env=env,
    )
    assert [r["task_id"] for r in json.loads(done.stdout)] == ["short"]  # 09:00+08:00 = 01:00Z


def test_a_task_name_selects_its_task(env: dict[str, str]) -> None:
    done = roma_nb("history", "--task", "payments", "--format", "json", env=env)
    assert done.returncode == 0
    assert [r["task_id"] for r in json.loads(done.stdout)] == ["short"]
    assert "'payments' is a task name; showing task id short" in done.stderr


def test_an_instance_name_is_explained(env: dict[str, str]) -> None:
    done = roma_nb("history", "--instance", "roma-prod-cn-north-4", "--format", "json", env=env)
    assert done.returncode == 0
    assert json.loads(done.stdout) == []
    assert "'roma-prod-cn-north-4'" in done.stderr
    assert "records instance ids, not names" in done.stderr
    assert f"it holds: {INSTANCE}, other-instance." in done.stderr

    by_id = roma_nb("history", "--instance", INSTANCE, "--format", "json", env=env)
    assert [r["task_id"] for r in json.loads(by_id.stdout)] == [LONG_ID]
    assert by_id.stderr == ""
