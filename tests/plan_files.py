"""Plan files made against a sandbox as a reviewer would approve them, and what reached it:
shared by the CLI's, the panel's and the widgets' plan-file tests."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from roma_nb import RomaClient
from roma_nb.plans import (
    Environment,
    Plan,
    Procedure,
    build_plan,
    resolve_date_from,
    where_tasks_are,
)
from roma_nb.sandbox import Sandbox
from roma_nb.sandbox.data import TaskRow

HOUR = 3_600_000
AGO = "now-47h"
"""Inside the 2-day retention, and before where the ``fresh`` tasks are: a move back (replay)."""


def running_instance(sandbox: Sandbox) -> Any:
    return next(i for i in sandbox.state.instances if i.status == "RUNNING")


def fresh(sandbox: Sandbox, client: RomaClient, *, running: bool) -> list[TaskRow]:
    """The healthy combined tasks in that state whose latest successful log ended less than
    40 h ago, so a reset to ``AGO`` replays (a move back, which a plan takes without a flag)."""
    instance = running_instance(sandbox).id
    rows = [
        t
        for t in sandbox.state.combined_tasks(instance)
        if bool(t.status) == running and t.execute_status != "ERROR"
    ]
    where = where_tasks_are(client, instance, [t.task_id for t in rows])
    now = time.time_ns() // 1_000_000
    found = [t for t in rows if (at := where[t.task_id].at_ms) and now - at < 40 * HOUR]
    assert found, "the seeded data has recent tasks in each state"
    return found


def recent(sandbox: Sandbox, client: RomaClient, *, running: bool) -> TaskRow:
    """The first of ``fresh``."""
    return fresh(sandbox, client, running=running)[0]


def posts(sandbox: Sandbox) -> list[Any]:
    """Every write the sandbox received (anything but a GET)."""
    return [c for c in sandbox.calls if c.method != "GET"]


def resave(path: Path, **changes: Any) -> Plan:
    """The plan with ``changes``, saved with its id recomputed: a well-formed other plan."""
    plan = replace(Plan.load(path), **changes)
    plan.save(path, overwrite=True)
    return plan


def make_plan(client: RomaClient, tasks: list[TaskRow], path: Path, **options: Any) -> Plan:
    """The plan a reviewer approved, written as ``roma-nb rewind --export`` writes it."""
    instance = tasks[0].instance_id
    now = time.time_ns() // 1_000_000
    listed = {t.task_id: t for t in client.list_tasks(instance, combined_only=False)}
    plan = build_plan(
        environment=Environment.of(client),
        instance_id=instance,
        tasks=[listed[t.task_id] for t in tasks],
        date_from=resolve_date_from(AGO, "UTC", now_ms=now),
        now_ms=now,
        procedure=options.pop("procedure", Procedure.rewind()),
        positions=where_tasks_are(client, instance, [t.task_id for t in tasks]),
        **options,
    )
    plan.save(path)
    return plan


def writes(sandbox: Sandbox) -> list[tuple[str, str]]:
    """Each write, in order: ``(action, task_id)`` of stops, starts and resets."""
    found = []
    for call in sandbox.state.calls:
        if call.method != "POST":
            continue
        if call.path.endswith("/batch-operation/tasks"):
            body = json.loads(call.body)
            found += [(body["action_id"], item["task_id"]) for item in body["list"]]
        else:
            found.append(("reset", call.path.rsplit("/", 2)[-2]))
    return found


def check_rewound(sent: list[tuple[str, str]], running: str, stopped: str) -> None:
    """``sent`` (``writes``) is exactly a rewind of a running and a stopped task, restarted as
    before: the running one stopped, both reset, the running one started again, in that order
    for it (the resets of the two may interleave)."""
    assert sorted(sent) == sorted(
        [("stop", running), ("reset", running), ("reset", stopped), ("start", running)]
    )
    assert sent.index(("stop", running)) < sent.index(("reset", running))
    assert sent.index(("reset", running)) < sent.index(("start", running))


def start(sandbox: Sandbox, task: TaskRow) -> None:
    """Someone starts ``task`` in the console; return once the service shows it running."""
    assert sandbox.state.start_task(task) is None
    for _ in range(500):
        row = sandbox.state.task(task.instance_id, task.task_id)
        if row is not None and row.status == 1:
            return
        time.sleep(0.01)
    raise AssertionError("the sandbox never showed the task running")
