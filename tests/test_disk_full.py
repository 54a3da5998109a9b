"""A disk that fills up mid-batch, for real (issue 17, item 9).

``roma-nb reset`` runs in a process of its own with its history on a tiny tmpfs; when the sandbox
receives the second reset, the test fills that filesystem to the last byte. The CLI must print
the per-task results known so far, say how many resets were already sent and are recorded as
pending, and exit 1, and the history must still hold a row for every reset the server received.

Mounting needs root (CI runs as root); elsewhere the test is skipped, saying why. The simulated
variant (``ResultLog.complete`` raising) is in ``test_cli_commands``.
"""

from __future__ import annotations

import errno
import json
import os
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_shell import roma_nb, shell_env

from roma_nb.auth import TokenAuth
from roma_nb.client import RomaClient
from roma_nb.history import ResultLog

Sandbox = Any
DATE_FROM = "1704164640000"
WAIT = 60.0  # seconds: the test's own bound on waiting for the sandbox, far above what it needs


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs mounted for this test, unmounted after it."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"this machine does not allow mounting a tmpfs: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    """Write a file until the filesystem has no byte left; the file, to free the space after."""
    filler = disk / "filler"
    full = 0
    with filler.open("wb", buffering=0) as out:
        for size in (4096, 1):  # whole pages, then the last bytes one at a time
            while True:
                try:
                    out.write(b"\0" * size)
                except OSError as exc:
                    full = exc.errno or 0
                    break
    assert full == errno.ENOSPC, os.strerror(full)
    return filler


def fill_when_reset(sandbox: Sandbox, task_id: str, disk: Path, filled: list[Path]) -> None:
    """Fill ``disk`` as soon as the sandbox has taken the reset of ``task_id``."""
    ends = time.monotonic() + WAIT
    while time.monotonic() < ends:
        if any(r.task_id == task_id for r in sandbox.resets):
            filled.append(fill(disk))
            return
        time.sleep(0.02)


def test_a_disk_full_mid_batch_prints_what_is_known_and_exits_1(
    lenient_sandbox: Sandbox, tiny_disk: Path, tmp_path: Path
) -> None:
    sandbox = lenient_sandbox
    with RomaClient(sandbox.url, project_id=sandbox.project_id, auth=TokenAuth("t")) as client:
        instance = client.list_instances()[0].id
        ids = [t.task_id for t in client.list_tasks(instance)[:6]]
    # The second reset takes effect at once and is answered 2 s later: time to fill the disk.
    sandbox.inject("slow", match=f"{ids[1]}/reset", delay_s=2)  # not its monitor-log read
    history = tiny_disk / "history.sqlite"
    filled: list[Path] = []
    watcher = threading.Thread(target=fill_when_reset, args=(sandbox, ids[1], tiny_disk, filled))
    watcher.start()
    try:
        done = roma_nb(
            *("reset", instance, *ids, "--date-from", DATE_FROM, "--yes"),
            *("--concurrency", "1", "--format", "json", "--history", str(history)),
            env=shell_env(tmp_path, sandbox.env),
        )
    finally:
        watcher.join(WAIT)
    assert filled, "the disk was filled while the batch ran"
    filled[0].unlink()  # room again, to read the history back

    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    results = json.loads(done.stdout)
    assert [r["task_id"] for r in results] == ids  # every task, with what is known of it
    said = re.search(r"(\d+) reset\(s\) were already sent and are recorded as pending", done.stderr)
    assert said, done.stderr
    assert "disk is full" in done.stderr
    pending = int(said.group(1))

    outcomes = [r["outcome"] for r in results]
    received = [r.task_id for r in sandbox.resets]
    assert sorted(received) == sorted(set(received))  # nothing was sent twice
    assert ids[1] in received and ids[-1] not in received  # it stopped mid-batch
    assert all(outcomes[ids.index(t)] == "success" for t in received)
    assert all(o == "skipped" for t, o in zip(ids, outcomes, strict=True) if t not in received)
    with ResultLog(history) as log:
        rows = {r["task_id"]: r["outcome"] for r in log.records()}
    # Every reset the server received has its row: completed, or pending when it could not be.
    assert all(rows.get(t) in ("success", "pending") for t in received), rows
    assert sum(1 for o in rows.values() if o == "pending") == pending
