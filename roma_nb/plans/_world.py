"""The world a plan is made for, or applied in, as a client sees it now.

The rest of ``roma_nb.plans`` is pure; this module is where callers (``roma-nb reset --export``
and ``apply``, the runbook, the panel) fetch what it needs, through a ``Reads`` protocol so that
plans never import the client. A plan is checked at apply against exactly what it was built
from: the instance's tasks (**all** of them, so a task that stopped being combined is told apart
from one that is gone) and where each task is now (``where_now`` over the instance's monitors and
the task's monitor logs).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from ..errors import NotFoundError
from ..models import MonitorLog, Task, TaskMonitor
from ._apply import ApplyCheck, World, check_apply
from ._document import Plan
from ._environment import Environment, Located
from ._position import Position, where_now

__all__ = ["Reads", "check_apply_now", "where_tasks_are"]


class Reads(Located, Protocol):
    """What these functions ask of a client (``RomaClient`` fits)."""

    def list_tasks(self, instance_id: str, *, combined_only: bool = ...) -> Sequence[Task]: ...

    def task_monitors(self, instance_id: str) -> Sequence[TaskMonitor]: ...

    def monitor_logs(self, instance_id: str, task_id: str) -> Sequence[MonitorLog]: ...


def where_tasks_are(
    client: Reads, instance_id: str, task_ids: Iterable[str]
) -> dict[str, Position]:
    """Task id → where it is now: one monitors call for the instance, one logs call per task."""
    wanted = list(dict.fromkeys(task_ids))
    monitors = {m.task_id: m for m in client.task_monitors(instance_id)}
    return {
        task_id: where_now(
            logs=client.monitor_logs(instance_id, task_id), monitor=monitors.get(task_id)
        )
        for task_id in wanted
    }


def check_apply_now(client: Reads, plan: Plan, now_ms: int) -> ApplyCheck:
    """``check_apply`` in the world ``client`` sees at ``now_ms``, asking it only what is needed:
    nothing for another environment or project or an expired plan (so such a plan asks nothing
    of a place it was not made for), and positions only once every task is still there."""
    here = Environment.of(client)
    verdict = check_apply(plan, World(here, now_ms, None))
    if not verdict.ok:
        return verdict
    try:
        listed = client.list_tasks(plan.instance_id, combined_only=False)
    except NotFoundError:  # the instance is gone, and every task with it
        listed = []
    verdict = check_apply(plan, World(here, now_ms, listed))
    if not verdict.ok:
        return verdict
    where = where_tasks_are(client, plan.instance_id, (t.id for t in plan.tasks))
    return check_apply(plan, World(here, now_ms, listed, where))
