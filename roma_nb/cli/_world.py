"""The world a plan is made for, or applied in, as the client sees it now.

``reset --export`` and ``apply`` both need the same facts: the instance's tasks (**all** of them,
not only combined ones, so a task that stopped being combined is told apart from one that is
gone) and where each planned task is now, the evidence ``plans.where_now`` reads from the
instance's monitors and the task's monitor logs. One module fetches them, so a plan is checked
at apply against exactly what it was built from.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..client import RomaClient
    from ..plans import Position

__all__ = ["positions"]


def positions(client: RomaClient, instance_id: str, task_ids: Iterable[str]) -> dict[str, Position]:
    """Task id → where it is now: one monitors call for the instance, one logs call per task."""
    from ..plans import where_now

    wanted = list(dict.fromkeys(task_ids))
    monitors = {m.task_id: m for m in client.task_monitors(instance_id)}
    return {
        task_id: where_now(
            logs=client.monitor_logs(instance_id, task_id), monitor=monitors.get(task_id)
        )
        for task_id in wanted
    }
