"""The history file: shared by processes, recognised before use, never clobbered, migrated."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from roma_nb.errors import RomaError
from roma_nb.history import (
    ENV_VAR,
    FORMAT,
    MIGRATIONS,
    HistoryError,
    RecordContext,
    ResultLog,
    default_history_path,
    user_data_dir,
)
from roma_nb.models import ResetResult

CHILD = Path(__file__).with_name("history_child.py")


def result(task_id: str = "t1", **fields: object) -> ResetResult:
    return ResetResult(instance_id="i1", task_id=task_id, outcome="success", **fields)  # type: ignore[arg-type]


def files_of(path: Path) -> dict[str, bytes]:
    """The file and any sidecars, byte for byte."""
    return {p.name: p.read_bytes() for p in path.parent.iterdir() if p.name.startswith(path.name)}


def test_four_processes_appending_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    writers = [f"w{n}" for n in range(4)]
    children = [
        subprocess.Popen(
            [sys.executable, str(CHILD), "append", str(path), actor, "1000"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for actor in writers
    ]
    for child in children:  # all started: release them together, so they open and write at once
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    for child in children:
        _, err = child.communicate()
        assert child.returncode == 0, err
    with ResultLog(path) as log:
        assert len(log) == 4000
        records = log.records()
    assert sorted(r["id"] for r in records) == list(range(1, 4001))
    assert Counter(r["actor"] for r in records) == dict.fromkeys(writers, 1000)
    for actor in writers:  # each writer's rows are all there, in the order it wrote them
        mine = [r["task_id"] for r in records if r["actor"] == actor]
        assert mine == [f"{actor}-{n}" for n in range(1000)]
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.close()


def test_a_new_file_is_wal_marked_and_versioned(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    ResultLog(path).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert conn.execute("PRAGMA application_id").fetchone() == (0x524F4D41,)
    meta = dict(conn.execute("SELECT key, value FROM roma_nb_meta").fetchall())
    conn.close()
    assert meta == {"format": FORMAT, "schema_version": str(len(MIGRATIONS))}


def test_reopening_keeps_rows(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    with ResultLog(path) as log:
        log.append(result())
    with ResultLog(path) as log:
        assert len(log) == 1
        log.append(result("t2"))
        assert len(log) == 2


def test_random_bytes_are_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    path.write_bytes(os.urandom(8192))
    before = files_of(path)
    with pytest.raises(HistoryError, match="not an SQLite database"):
        ResultLog(path)
    assert files_of(path) == before


def test_a_text_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "history.txt"
    path.write_text("id,at\n1,2\n")
    with pytest.raises(HistoryError, match="left untouched"):
        ResultLog(path)
    assert path.read_text() == "id,at\n1,2\n"


def test_an_sqlite_header_over_garbage_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "broken.sqlite3"
    path.write_bytes(b"SQLite format 3\x00" + os.urandom(4096 * 3))
    before = files_of(path)
    with pytest.raises(HistoryError) as caught:
        ResultLog(path)
    assert isinstance(caught.value, RomaError)
    assert "untouched" in str(caught.value)
    assert files_of(path) == before


@pytest.mark.parametrize("journal", ["delete", "wal"])
def test_another_applications_database_is_refused_untouched(tmp_path: Path, journal: str) -> None:
    path = tmp_path / "app.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA journal_mode = {journal}")
    conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO users (name) VALUES ('ada')")
    conn.commit()
    conn.close()
    before = files_of(path)
    with pytest.raises(HistoryError, match=r"not a roma_nb history \(tables: users\)"):
        ResultLog(path)
    assert files_of(path) == before


def test_an_empty_database_of_another_application_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA application_id = 1234")
    conn.commit()
    conn.close()
    before = files_of(path)
    with pytest.raises(HistoryError, match="another application"):
        ResultLog(path)
    assert files_of(path) == before


def test_a_meta_table_of_another_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE roma_nb_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute("INSERT INTO roma_nb_meta VALUES ('format', 'something.else')")
    conn.commit()
    conn.close()
    with pytest.raises(HistoryError, match="not a roma_nb history"):
        ResultLog(path)


def test_a_newer_schema_is_refused_without_writing(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    with ResultLog(path) as log:
        log.append(result())
    conn = sqlite3.connect(path)
    conn.execute("UPDATE roma_nb_meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    before = files_of(path)
    with pytest.raises(HistoryError, match=r"newer roma_nb .*schema 99.*upgrade"):
        ResultLog(path)
    assert files_of(path) == before


def test_an_older_file_is_migrated_in_place_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    with ResultLog(path) as log:
        log.append(result(message="kept"))

    def add_note(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE attempts ADD COLUMN note TEXT")

    later = (*MIGRATIONS, add_note)
    with ResultLog(path, _migrations=later) as log:
        assert [r["message"] for r in log.records()] == ["kept"]
        log.append(result("t2"))
    conn = sqlite3.connect(path)
    version = conn.execute("SELECT value FROM roma_nb_meta WHERE key = 'schema_version'")
    assert version.fetchone() == (str(len(later)),)
    assert "note" in [row[1] for row in conn.execute("PRAGMA table_info(attempts)")]
    conn.close()
    # The code without the new migration now finds a newer file and leaves it alone.
    with pytest.raises(HistoryError, match="newer"):
        ResultLog(path)


def test_a_failing_migration_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    with ResultLog(path) as log:
        log.append(result())

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE attempts ADD COLUMN half_done TEXT")
        conn.execute("THIS IS NOT SQL")

    with pytest.raises(HistoryError):
        ResultLog(path, _migrations=(*MIGRATIONS, broken))
    with ResultLog(path) as log:  # still version 1, still readable, the column rolled back
        assert len(log) == 1
    conn = sqlite3.connect(path)
    assert "half_done" not in [row[1] for row in conn.execute("PRAGMA table_info(attempts)")]
    conn.close()


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match="is a directory"):
        ResultLog(tmp_path)


def test_a_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match="cannot open"):
        ResultLog(tmp_path / "no" / "such" / "dir" / "h.sqlite3")


def test_default_uses_the_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "sub" / "mine.sqlite3"
    monkeypatch.setenv(ENV_VAR, str(target))
    assert default_history_path() == target
    with ResultLog.default(context=RecordContext(actor="me")) as log:
        log.append(result())
        assert log.path == target
    assert target.exists()


def test_default_falls_back_to_the_user_data_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setattr(sys, "platform", "linux")
    assert user_data_dir() == tmp_path / "data" / "roma-nb"
    assert default_history_path() == tmp_path / "data" / "roma-nb" / "history.sqlite3"
    monkeypatch.setenv(ENV_VAR, "   ")  # blank means unset
    assert default_history_path() == tmp_path / "data" / "roma-nb" / "history.sqlite3"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/dir")  # invalid per the XDG spec: ignored
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert user_data_dir() == tmp_path / "home" / ".local" / "share" / "roma-nb"


def test_the_history_view_names_everything(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    context = RecordContext(project_id="p1", endpoint_label="SANDBOX", actor="ada")
    with ResultLog(path, context=context) as log:
        log.append(result(task_name="orders", date_from=1_630_052_714_000))
    conn = sqlite3.connect(path)
    row = conn.execute(
        "SELECT at, instance_id, task_id, task_name, date_from_ms, outcome, project_id, "
        "endpoint, actor FROM history"
    ).fetchone()
    conn.close()
    assert row[0].endswith("Z")
    assert row[1:] == ("i1", "t1", "orders", 1_630_052_714_000, "success", "p1", "SANDBOX", "ada")
