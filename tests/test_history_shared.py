"""One history file, two Unix users (issue 17, items 7–8).

A reader who may read the file but not write it must create nothing beside it: a ``-wal`` or
``-shm`` owned by the reader blocks the owner's next append ("attempt to write a readonly
database"). Two users need root to ``setuid`` forked children (CI runs as root); elsewhere the
two-user tests skip, saying why. Children are forked, not started afresh, because the
interpreter lives under ``/root``, which other users cannot enter.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from roma_nb.history import HistoryError, ResultLog
from roma_nb.history._schema import unreadable
from roma_nb.models import ResetResult

OWNER, READER = 40001, 65534  # any two uids other than root's; 65534 is "nobody"

two_users = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0,
    reason="two Unix users need root to setuid a child process (CI runs as root)",
)


def result(task: str) -> ResetResult:
    return ResetResult(instance_id="i-1", task_id=task, outcome="success", date_from=1)


def as_user(uid: int, work: Callable[[], Any]) -> Any:
    """Run ``work`` in a forked child as ``uid``; what it returned, or its error as text."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns to pytest
        os.close(read)
        try:
            os.setgid(uid)
            os.setuid(uid)
            answer: Any = {"ok": work()}
        except BaseException as exc:
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        with os.fdopen(write, "w") as out:
            json.dump(answer, out)
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as answers:
        text = answers.read()
    os.waitpid(pid, 0)
    return json.loads(text)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory every user may write, like /tmp (pytest's own tmp_path is root's only)."""
    path = Path(tempfile.mkdtemp(prefix="roma-shared-", dir="/tmp"))
    path.chmod(0o1777)
    yield path
    for child in path.iterdir():
        child.unlink()
    path.rmdir()


@two_users
def test_a_read_only_reader_creates_nothing_and_never_blocks_the_owner(shared_dir: Path) -> None:
    ResultLog().to_frame()  # pandas imported here: the children cannot read /root
    path = shared_dir / "history.sqlite"

    def append(task: str) -> Callable[[], int]:
        def work() -> int:
            with ResultLog(path) as log:
                log.append(result(task))
                return len(log)

        return work

    def read() -> dict[str, Any]:
        with ResultLog(path) as log:
            rows = len(log.to_frame())
            try:
                log.append(result("t-reader"))
                refused = ""
            except HistoryError as exc:
                refused = str(exc)
        return {"rows": rows, "refused": refused}

    assert as_user(OWNER, append("t-1")) == {"ok": 1}
    assert path.stat().st_uid == OWNER and oct(path.stat().st_mode & 0o777) == "0o644"
    seen = as_user(READER, read)
    assert seen["ok"]["rows"] == 1, seen
    assert "read-only for this user" in seen["ok"]["refused"], seen
    beside = sorted(p.name for p in shared_dir.iterdir())
    assert beside == ["history.sqlite"], beside  # no -wal, no -shm of the reader's
    assert as_user(OWNER, append("t-2")) == {"ok": 2}


@two_users
def test_a_reader_of_a_file_being_written_reads_it(shared_dir: Path) -> None:
    """With the owner's ``-wal`` present (a writer at work), the reader still reads, read-only."""
    ResultLog().to_frame()
    path = shared_dir / "history.sqlite"
    with ResultLog(path) as owner:  # root: holds -wal and -shm open meanwhile
        owner.append(result("t-1"))
        os.chmod(path, 0o644)
        for extra in ("-wal", "-shm"):
            os.chmod(f"{path}{extra}", 0o644)

        def read() -> int:
            with ResultLog(path) as log:
                return len(log.to_frame())

        assert as_user(READER, read) == {"ok": 1}
        owner.append(result("t-2"))
        assert len(owner) == 2


def test_a_healthy_file_that_cannot_be_opened_is_not_called_corrupt(tmp_path: Path) -> None:
    """``integrity_check`` decides: a healthy file (read-only directory, full disk) says so."""
    path = tmp_path / "history.sqlite"
    with ResultLog(path) as log:
        log.append(result("t-1"))
    full = sqlite3.OperationalError("database or disk is full")
    said = str(unreadable(path, "history file", full))
    assert "is healthy (integrity check: ok)" in said and "corrupt" not in said
    data = bytearray(path.read_bytes())
    data[4096:8192] = b"\xff" * 4096  # a damaged page
    path.write_bytes(bytes(data))
    assert "may be corrupt" in str(unreadable(path, "history file", full))


@two_users
def test_a_healthy_file_in_a_read_only_directory_is_read(shared_dir: Path) -> None:
    ResultLog().to_frame()
    locked = shared_dir / "locked"
    locked.mkdir()
    path = locked / "history.sqlite"
    with ResultLog(path) as log:
        log.append(result("t-1"))
    path.chmod(0o666)  # the file itself writable by all, its directory not
    locked.chmod(0o755)

    def read() -> int:
        with ResultLog(path) as log:
            return len(log.to_frame())

    try:
        assert as_user(READER, read) == {"ok": 1}
        assert sorted(p.name for p in locked.iterdir()) == ["history.sqlite"]
    finally:
        path.unlink()
        locked.rmdir()
