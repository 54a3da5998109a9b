"""Plans a second person can review: what will happen to each task, saved, checked, applied.

The pure part: no client, no I/O except reading and writing a plan file. Callers (CLI, runbook,
panel) fetch the world with a client and pass plain records, or let ``where_tasks_are`` /
``check_apply_now`` (``_world``) fetch it through the client they pass.

Planning::

    now = ...                                  # one clock reading, epoch ms
    target = resolve_date_from("yesterday 02:00", "Europe/Paris", now_ms=now)
    positions = {t.task_id: where_now(logs=logs[t.task_id], monitor=monitors.get(t.task_id))
                 for t in tasks}
    plan = build_plan(environment=Environment.of(client), instance_id=iid, instance_name=name,
                      tasks=tasks, date_from=target, now_ms=now, positions=positions,
                      procedure=Procedure.rewind(restart="as_before", verify=True))
    print(plan.review_text()); plan.save("plan.json")   # PlanRefused lists every reason

Applying::

    plan = Plan.load("plan.json")                        # PlanFileError if edited or unknown
    verdict = check_apply(plan, World(Environment.of(client), now, client_tasks, positions))
    verdict = check_apply_now(client, plan, now)         # the same, fetched with the client
    if verdict.ok: client.rewind(plan.targets(), plan.date_from.ms, restart=..., ...)
"""

from __future__ import annotations

from ._apply import ApplyCheck, World, check_apply
from ._build import PlanRefused, build_plan, planner_name, retention_refusal
from ._canonical import canonical_json, content_id
from ._document import DEFAULT_EXPIRY, FORMAT, FORMAT_VERSION, Plan, PlanFileError, PlannedTask
from ._environment import Environment, Located
from ._position import Move, Position, move_of, where_now
from ._procedure import Procedure
from ._reading import MAX_PLAN_BYTES
from ._target import DateFrom, resolve_date_from
from ._world import Reads, check_apply_now, where_tasks_are

__all__ = [
    "DEFAULT_EXPIRY",
    "FORMAT",
    "FORMAT_VERSION",
    "MAX_PLAN_BYTES",
    "ApplyCheck",
    "DateFrom",
    "Environment",
    "Located",
    "Move",
    "Plan",
    "PlanFileError",
    "PlanRefused",
    "PlannedTask",
    "Position",
    "Procedure",
    "Reads",
    "World",
    "build_plan",
    "canonical_json",
    "check_apply",
    "check_apply_now",
    "content_id",
    "move_of",
    "planner_name",
    "resolve_date_from",
    "retention_refusal",
    "where_now",
    "where_tasks_are",
]
