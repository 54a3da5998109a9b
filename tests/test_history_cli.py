"""``roma-nb history``: table, CSV and JSON with the same filters as the API."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from roma_nb.cli import main
from roma_nb.history import COLUMNS, ENV_VAR, RecordContext, ResultLog, read_csv
from roma_nb.models import ResetResult

T0 = datetime(2024, 5, 1, tzinfo=timezone.utc)
DATE_FROM = 1_630_052_714_000


def result(task_id: str, outcome: Any = "success", **fields: Any) -> ResetResult:
    fields.setdefault("date_from", DATE_FROM)
    fields.setdefault("instance_id", "i1")
    return ResetResult(task_id=task_id, outcome=outcome, **fields)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    target = tmp_path / "history.sqlite3"
    with ResultLog(target, context=RecordContext(project_id="p1", actor="ada")) as log:
        log.append(result("a", at=T0, task_name="orders", status_code=200, message="Reset Success"))
        log.append(
            result(
                "b",
                "failed",
                at=T0 + timedelta(hours=1),
                status_code=400,
                error_code="FDI.3023",
                error_msg="One or more tasks are running.",
            )
        )
        log.append(result("a", "dry-run", at=T0 + timedelta(hours=2)))
        log.append(result("c", "skipped", at=T0 + timedelta(hours=3), instance_id="i2"))
        log.append(result("d", date_from=2**63 - 1, at=T0 + timedelta(hours=4)))
    return target


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["history", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_table(capsys: pytest.CaptureFixture[str], path: Path) -> None:
    code, out, _ = run(capsys, "--path", str(path))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "id", "at", "instance_id", "task_id", "task_name", "date_from", "outcome", "status",
        "error", "detail", "by",
    ]  # fmt: skip
    assert len(lines) == 2 + 5
    assert lines[2].split()[:6] == [
        "1", "2024-05-01T00:00:00.000+00:00", "i1", "a", "orders", "2021-08-27T08:25:14.000+00:00"
    ]  # fmt: skip
    assert "One or more tasks are running." in lines[3] and "FDI.3023" in lines[3]
    assert "9223372036854775807" in lines[6]  # beyond a datetime: the exact integer


def test_json_has_every_column_and_exact_integers(
    capsys: pytest.CaptureFixture[str], path: Path
) -> None:
    code, out, _ = run(capsys, "--path", str(path), "--format", "json")
    assert code == 0
    rows = json.loads(out)
    assert [list(row) for row in rows] == [list(COLUMNS)] * 5
    assert rows[0]["at"] == "2024-05-01T00:00:00.000+00:00"
    assert rows[0]["date_from"] == "2021-08-27T08:25:14.000+00:00"
    assert rows[0]["date_from_ms"] == DATE_FROM
    assert rows[4]["date_from_ms"] == 2**63 - 1 and rows[4]["date_from"] is None
    assert rows[2]["dry_run"] is True
    assert rows[0]["project_id"] == "p1"


def test_csv_reads_back_as_the_frame_to_the_millisecond(
    capsys: pytest.CaptureFixture[str], path: Path
) -> None:
    """The CSV writes times as every format does (ISO, milliseconds, offset): ``read_csv`` gives
    back ``to_frame``'s frame, times floored to the millisecond."""
    code, out, _ = run(capsys, "--path", str(path), "--format", "csv", "--task", "a")
    assert code == 0
    with ResultLog(path) as log:
        expected = log.to_frame(task_id="a")
    for name in ("at", "completed_at"):
        expected[name] = expected[name].dt.floor("ms")
    pd.testing.assert_frame_equal(read_csv(io.StringIO(out)), expected)


@pytest.mark.parametrize(
    ("argv", "tasks"),
    [
        (["--task", "a"], ["a", "a"]),
        (["--task", "a", "--task", "b"], ["a", "b", "a"]),
        (["--instance", "i2"], ["c"]),
        (["--outcome", "failed", "--outcome", "skipped"], ["b", "c"]),
        (["--since", "2024-05-01T01:00:00Z", "--until", "2024-05-01T03:00:00Z"], ["b", "a"]),
        (["--since", "2024-05-01T03:00:00"], ["c", "d"]),
        (["--dry-runs", "only"], ["a"]),
        (["--dry-runs", "exclude", "--task", "a"], ["a"]),
        (["--latest"], ["a", "b", "c", "d"]),
        (["--latest", "--dry-runs", "include"], ["b", "a", "c", "d"]),
        (["--latest", "--outcome", "failed"], ["b"]),
        (["--limit", "2"], ["c", "d"]),
        (["--limit", "0"], []),
    ],
)
@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_filters(
    capsys: pytest.CaptureFixture[str], path: Path, argv: list[str], tasks: list[str], fmt: str
) -> None:
    code, out, _ = run(capsys, "--path", str(path), "--format", fmt, *argv)
    assert code == 0
    if fmt == "json":
        assert [row["task_id"] for row in json.loads(out)] == tasks
    else:
        assert list(read_csv(io.StringIO(out))["task_id"]) == tasks


def test_the_environment_variable_picks_the_file(
    capsys: pytest.CaptureFixture[str], path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_VAR, str(path))
    code, out, _ = run(capsys, "--format", "json", "--outcome", "failed")
    assert code == 0
    assert [row["task_id"] for row in json.loads(out)] == ["b"]


@pytest.mark.parametrize(("fmt", "empty"), [("json", "[]\n"), ("table", "(none)\n")])
def test_a_missing_file_is_not_created(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fmt: str, empty: str
) -> None:
    missing = tmp_path / "nothing.sqlite3"
    code, out, err = run(capsys, "--path", str(missing), "--format", fmt)
    assert (code, out) == (0, empty)
    assert "no history" in err
    assert not missing.exists()


def test_a_missing_file_as_csv_is_just_the_header(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = run(capsys, "--path", str(tmp_path / "none.sqlite3"), "--format", "csv")
    assert code == 0
    assert out.splitlines() == [",".join(COLUMNS)]


def test_a_foreign_file_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    foreign = tmp_path / "notes.txt"
    foreign.write_text("hello")
    code, out, err = run(capsys, "--path", str(foreign))
    assert (code, out) == (2, "")  # a file refused before anything happened is bad input
    assert err.startswith("roma-nb history:") and "not a roma_nb history" in err
    assert "Traceback" not in err
    assert foreign.read_text() == "hello"


@pytest.mark.parametrize(
    "argv", [["--since", "last tuesday"], ["--until", "2024-13-01"], ["--limit", "-1"]]
)
def test_bad_arguments_exit_2(
    capsys: pytest.CaptureFixture[str], path: Path, argv: list[str]
) -> None:
    code, out, err = run(capsys, "--path", str(path), *argv)
    assert (code, out) == (2, "")
    assert err.startswith("roma-nb history:")


def test_mark_interrupted(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "crashed.sqlite3"
    code = (
        "import os, sys; from roma_nb.history import ResultLog\n"
        "ResultLog(sys.argv[1]).begin('i1', 'lost', date_from=1)\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", code, str(target)], check=True)
    status, out, _ = run(capsys, "--path", str(target), "--format", "json")
    assert [row["outcome"] for row in json.loads(out)] == ["pending"]  # reading changes nothing
    status, out, err = run(capsys, "--path", str(target), "--format", "json", "--mark-interrupted")
    assert status == 0
    assert "marked 1 interrupted" in err
    [row] = json.loads(out)
    assert row["outcome"] == "unknown" and row["message"].startswith("interrupted")
