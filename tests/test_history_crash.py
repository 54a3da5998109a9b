"""A batch killed with SIGKILL mid-flight leaves a history that accounts for every request.

The child runs ``reset_many`` over 100 targets against the sandbox on a real socket, with enough
latency that several requests are in flight when the parent kills it. Whatever the sandbox saw
must have a row: completed, or still pending (and then ``mark_interrupted`` makes it unknown).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from roma_nb.history import INTERRUPTED_MESSAGE, ResultLog

try:
    import roma_nb.client  # noqa: F401
    from roma_nb.sandbox import serve
except ImportError:  # the client arrives in another issue; this test switches itself on then
    HAVE_CLIENT = False
else:
    HAVE_CLIENT = True

CHILD = Path(__file__).with_name("history_child.py")
DATE_FROM = 1_630_052_714_000
TARGETS = 100
KILL_AFTER_RESETS = 20


def wait_for(condition: Callable[[], bool], child: subprocess.Popen[str], what: str) -> None:
    """Poll until ``condition()`` holds; fail with the child's stderr if it ends first."""
    deadline = time.monotonic() + 120
    while not condition():
        if child.poll() is not None:
            _, err = child.communicate()
            pytest.fail(f"the child ended before {what}: {err}")
        if time.monotonic() > deadline:
            child.kill()
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.01)


@pytest.mark.skipif(not HAVE_CLIENT, reason="roma_nb.client.reset_many is not there yet")
@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_sigkill_mid_batch_leaves_a_row_for_every_request(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    # raw resets of running tasks too: a server that accepts them
    with serve(
        latency_ms=150, instances=3, tasks_per_instance=100, refuse_running=False
    ) as sandbox:
        targets = [
            (instance.id, task.task_id)
            for instance in sandbox.state.instances
            for task in sandbox.state.combined_tasks(instance.id)
        ][:TARGETS]
        assert len(targets) == TARGETS
        targets_json = tmp_path / "targets.json"
        targets_json.write_text(json.dumps(targets), encoding="utf-8")
        child = subprocess.Popen(
            [
                sys.executable,
                str(CHILD),
                "batch",
                sandbox.url,
                sandbox.project_id,
                str(path),
                str(DATE_FROM),
                "4",
                str(targets_json),
            ],
            stdin=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        wait_for(lambda: len(sandbox.resets) >= KILL_AFTER_RESETS, child, "resets happened")
        os.kill(child.pid, signal.SIGKILL)
        child.communicate()
        assert child.returncode == -signal.SIGKILL
    # Leaving serve() let requests still in flight finish: the records are final now.
    sent = [c for c in sandbox.calls if c.method == "POST" and c.path.endswith("/reset")]
    done = {(r.instance_id, r.task_id) for r in sandbox.resets}
    assert KILL_AFTER_RESETS <= len(sent) < TARGETS  # killed in the middle

    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
    with ResultLog(path) as log:
        rows = {(r["instance_id"], r["task_id"]): r for r in log.records()}
        assert len(rows) == len(log)  # one row per target
        for call in sent:
            parts = call.path.split("/")
            key = (parts[parts.index("instances") + 1], parts[parts.index("multi-tasks") + 1])
            row = rows.get(key)
            assert row is not None, f"no history row for a request the sandbox received: {key}"
            assert row["date_from_ms"] == DATE_FROM
            expected = (
                {"success", "pending", "unknown"}
                if key in done
                else {"failed", "pending", "unknown"}
            )
            assert row["outcome"] in expected, (key, row["outcome"])
        pending = [r for r in rows.values() if r["outcome"] == "pending"]
        assert pending, "requests were in flight when the child was killed"
        assert log.mark_interrupted() == len(pending)
        after = {r["id"]: r for r in log.records()}
        for row in pending:
            assert after[row["id"]]["outcome"] == "unknown"
            assert after[row["id"]]["message"] == INTERRUPTED_MESSAGE
        assert not log.records(outcome="pending")


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_sigkill_between_the_stops_and_the_starts_leaves_the_stopped_tasks_listed(
    tmp_path: Path,
) -> None:
    """The child's rewind stops three running tasks (and a stopped one is in it too); its resets
    hang (a slow server), and it is killed there. ``left_stopped()`` then lists exactly the
    tasks the server shows stopped that were running before."""
    path = tmp_path / "history.sqlite3"
    with serve(tasks_per_instance=40, stop_delay_ms=100) as sandbox:
        instance = sandbox.state.instances[0].id
        tasks = [t for t in sandbox.state.combined_tasks(instance) if t.execute_status != "ERROR"]
        running = [t.task_id for t in tasks if t.status == 1][:3]
        stopped = [t.task_id for t in tasks if t.status == 0][:1]
        assert (len(running), len(stopped)) == (3, 1)
        targets_json = tmp_path / "targets.json"
        targets_json.write_text(
            json.dumps([[instance, t] for t in [*running, *stopped]]), encoding="utf-8"
        )
        sandbox.inject("slow", times=None, match="/reset", delay_s=20, effective=False)
        child = subprocess.Popen(
            [sys.executable, str(CHILD), "rewind", sandbox.url, sandbox.project_id, str(path),
             str(DATE_FROM), str(targets_json)],
            stdin=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip

        def resetting() -> bool:
            if not path.exists():
                return False
            with ResultLog(path) as log:
                return len(log.records(outcome="pending")) == 4  # the four resets in flight

        wait_for(resetting, child, "the resets were sent")
        os.kill(child.pid, signal.SIGKILL)
        child.communicate()
        assert child.returncode == -signal.SIGKILL
        shown_stopped = {t.task_id for t in sandbox.state.combined_tasks(instance) if t.status == 0}
        assert not [c for c in sandbox.calls if b'"start"' in c.body]
    expected = shown_stopped & set(running)
    assert expected == set(running)
    with ResultLog(path) as log:
        listed = log.left_stopped()
        assert sorted(listed["task_id"]) == sorted(expected)
        assert set(listed["step"]) == {"stop"} and len(set(listed["rewind_id"])) == 1
        assert log.mark_interrupted() == 4  # the pending resets become unknown
        assert sorted(log.left_stopped()["task_id"]) == sorted(expected)
