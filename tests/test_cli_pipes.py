"""Output cut by its reader (``| head -1``) ends quietly: no traceback, exit 141 (128 + SIGPIPE).

The listings here are far larger than a pipe's buffer (64 KiB) plus what ``head`` reads before it
exits (one 8 KiB block), so ``roma-nb`` is certain to write again after its reader has gone:
the broken pipe happens on every run, not by chance.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cli_shell import ROMA_NB, roma_nb, shell_env

from roma_nb.cli import EXIT_BROKEN_PIPE
from roma_nb.history import RecordContext, ResultLog
from roma_nb.models import ResetResult
from roma_nb.sandbox import Sandbox, serve

TASKS = 1500  # per instance: CSV of every task is about 170 KB, JSON about 400 KB


@pytest.fixture(scope="module")
def big_sandbox() -> Iterator[Sandbox]:
    with serve(tasks_per_instance=TASKS) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(big_sandbox: Sandbox) -> Sandbox:
    big_sandbox.reset_state()
    return big_sandbox


@pytest.fixture
def env(sandbox: Sandbox, tmp_path: Path) -> dict[str, str]:
    history = tmp_path / "history.sqlite"
    return shell_env(tmp_path, {**sandbox.env, "ROMA_NB_HISTORY": str(history)})


def piped(argv: list[str], reader: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """``roma-nb ARGV | READER``: roma-nb's exit code and stderr, and what the reader printed."""
    with subprocess.Popen(
        [ROMA_NB, *argv], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as writer:
        assert writer.stdout is not None and writer.stderr is not None
        consumer = subprocess.run(
            reader, stdin=writer.stdout, capture_output=True, text=True, check=True
        )
        writer.stdout.close()  # only the reader held the pipe's read end, and it has exited
        error = writer.stderr.read()
        return writer.wait(timeout=120), error, consumer.stdout


@pytest.mark.parametrize(
    ("fmt", "reader", "first"),
    [
        ("csv", ["head", "-1"], "task_id,task_name,status,execute_status,task_type,ext_type"),
        ("json", ["head", "-1"], "["),
        ("json", ["awk", "{ print; exit }"], "["),
    ],
)
def test_a_listing_cut_by_its_reader_ends_quietly(
    sandbox: Sandbox, env: dict[str, str], fmt: str, reader: list[str], first: str
) -> None:
    instance = sandbox.state.instances[0]
    code, error, shown = piped(["tasks", instance.id, "--all", "--format", fmt], reader, env)
    assert shown.startswith(first)
    assert shown.count("\n") == 1
    assert error == ""
    assert code == EXIT_BROKEN_PIPE


def test_the_history_cut_by_head_ends_quietly(tmp_path: Path, env: dict[str, str]) -> None:
    path = Path(env["ROMA_NB_HISTORY"])
    start = datetime(2024, 5, 1, tzinfo=timezone.utc)
    with ResultLog(path, context=RecordContext(project_id="p1", actor="ada")) as log:
        log.extend(
            ResetResult(
                instance_id="i1",
                task_id=f"task-{n}",
                task_name=f"sync number {n}",
                date_from=1_714_528_800_000,
                outcome="success",
                at=start + timedelta(seconds=n),
            )
            for n in range(1000)  # about 250 KB of CSV
        )
    code, error, shown = piped(["history", "--format", "csv"], ["head", "-3"], env)
    lines = shown.splitlines()
    assert lines[0].startswith("id,at,instance_id,task_id")
    assert lines[1].startswith("1,2024-05-01T00:00:00.000+00:00,i1,task-0,")
    assert len(lines) == 3
    assert (code, error) == (EXIT_BROKEN_PIPE, "")


def test_a_reset_whose_reader_is_gone_still_records_and_reports(
    sandbox: Sandbox, env: dict[str, str]
) -> None:
    """The resets were sent before the output was written: the history has them, the summary
    still reaches stderr, and only the results on stdout are lost to the closed pipe."""
    instance = sandbox.state.instances[0]
    task = next(t for t in sandbox.state.combined_tasks(instance.id) if not t.status)
    read_end, write_end = os.pipe()
    os.close(read_end)  # a reader that went away before anything was written
    try:
        done = roma_nb(
            *("reset", instance.id, task.task_id, "--date-from", "2024-05-01T02:00Z"),
            *("--yes", "--format", "json"),
            env=env,
            stdout=write_end,
            stderr=subprocess.PIPE,
        )
    finally:
        os.close(write_end)
    assert done.returncode == EXIT_BROKEN_PIPE
    assert "Traceback" not in done.stderr
    assert f"1 success. History: {env['ROMA_NB_HISTORY']}" in done.stderr
    assert [(r.task_id, r.date_from) for r in sandbox.resets] == [(task.task_id, 1_714_528_800_000)]
    with ResultLog(env["ROMA_NB_HISTORY"]) as log:
        rows: list[dict[str, Any]] = log.records()
    assert [(r["task_id"], r["outcome"]) for r in rows] == [(task.task_id, "success")]


def test_a_whole_listing_still_reads_as_json(sandbox: Sandbox, env: dict[str, str]) -> None:
    """The control: with a reader that reads everything, the same command exits 0."""
    done = roma_nb("tasks", sandbox.state.instances[0].id, "--all", "--format", "json", env=env)
    assert done.returncode == 0
    assert len(json.loads(done.stdout)) == TASKS
