"""``build_plan``: the plan for these tasks and this instant, or every reason it cannot be one.

A plan is refused when it cannot be carried out as intended, and the refusal names each task:

- a task that is not a combined task, listed twice, or on another instance;
- a ``date_from`` older than the change-log retention (the source may no longer hold the
  changes: the API accepts the reset and the task fails after its restart);
- a forward move (a ``date_from`` after where a task is now, or in the future) unless
  ``allow_forward``: it skips changes the target will never receive.

What is worth a second look but not wrong becomes a warning carried in the plan: an empty
``date_from``, a task with no evidence of where it is, an allowed forward move, a plan that
outlives the retention of its own ``date_from``.
"""

from __future__ import annotations

import getpass
from collections.abc import Mapping, Sequence
from datetime import timedelta

from ..dates import (
    DEFAULT_RETENTION,
    assess_date_from,
    format_duration,
    format_instant,
    validate_date_from,
)
from ..errors import ValidationError
from ..models import Task
from ._document import DEFAULT_EXPIRY, Plan, PlannedTask
from ._environment import Environment
from ._position import Position, move_of, skip_sentence
from ._procedure import Procedure
from ._target import DateFrom

__all__ = ["PlanRefused", "build_plan", "planner_name", "retention_refusal"]

_ONE_MS = timedelta(milliseconds=1)


class PlanRefused(ValidationError):
    """The plan cannot be made; ``reasons`` holds one sentence per problem."""

    def __init__(self, reasons: Sequence[str]) -> None:
        self.reasons = tuple(reasons)
        listed = "\n".join(f"  - {reason}" for reason in self.reasons)
        super().__init__(f"The plan is refused ({len(self.reasons)} reason(s)):\n{listed}")


def planner_name() -> str:
    """Who is planning: the OS user, as a plan records it."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        return "unknown-user"


def _positive(value: timedelta, name: str) -> int:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise ValidationError(f"{name} must be a positive timedelta, not {value!r}.")
    return max(1, value // _ONE_MS)


def retention_refusal(date_from: DateFrom, *, now_ms: int, retention_ms: int) -> str | None:
    """The sentence refusing ``date_from`` as older than the retention, or ``None`` if it is not.

    Used when planning and again when applying (time has passed since).
    """
    if date_from.ms is None or now_ms - date_from.ms <= retention_ms:
        return None
    [sentence] = assess_date_from(
        date_from.ms, now_ms=now_ms, retention=timedelta(milliseconds=retention_ms)
    )
    return f"{sentence} Pick a later date_from, or raise the retention setting if it keeps more."


def build_plan(
    *,
    environment: Environment,
    instance_id: str,
    instance_name: str = "",
    tasks: Sequence[Task],
    date_from: DateFrom,
    now_ms: int,
    procedure: Procedure | None = None,
    positions: Mapping[str, Position] | None = None,
    retention: timedelta = DEFAULT_RETENTION,
    expires_in: timedelta = DEFAULT_EXPIRY,
    planner: str | None = None,
) -> Plan:
    """The plan, or ``PlanRefused`` with every reason at once.

    ``tasks`` are the records as listed now (``list_tasks(..., combined_only=False)``, so a task
    that is not combined is named rather than silently missing); ``positions`` maps task ids to
    ``where_now(...)`` (a task without one has an unknown direction); ``date_from`` comes from
    ``resolve_date_from`` with the same ``now_ms``. ``planner`` defaults to the OS user.
    """
    now = validate_date_from(now_ms)
    if now is None:
        raise ValidationError("now_ms is required: the plan is checked against that clock.")
    retention_ms = _positive(retention, "retention")
    expires_ms = now + _positive(expires_in, "expires_in")
    procedure = procedure or Procedure()
    positions = positions or {}
    refusals: list[str] = []
    warnings: list[str] = []
    planned: list[PlannedTask] = []
    seen: set[str] = set()
    for task in tasks:
        shown = f"{task.task_name or '(no name)'} ({task.task_id})"
        if task.task_id in seen:
            refusals.append(f"Task {shown} is listed twice; a plan lists each task once.")
            continue
        seen.add(task.task_id)
        if task.instance_id is not None and task.instance_id != instance_id:
            refusals.append(
                f"Task {shown} belongs to instance {task.instance_id}, not to {instance_id}."
            )
        if not task.is_combined:
            refusals.append(
                f"Task {shown} is not a combined task (ext_type {task.ext_type!r}); only "
                "combined (CDC) tasks have a progress to reset."
            )
        planned.append(PlannedTask.of(task, positions.get(task.task_id)))
    if not tasks:
        refusals.append("A plan needs at least one task.")
    retention_text = retention_refusal(date_from, now_ms=now, retention_ms=retention_ms)
    if retention_text:
        refusals.append(retention_text)
    _direction(date_from, planned, now, procedure.allow_forward, refusals, warnings)
    if date_from.ms is not None and not retention_text:
        leaves = date_from.ms + retention_ms
        if leaves < expires_ms:
            warnings.append(
                f"date_from leaves the retention of {format_duration(retention_ms)} at "
                f"{format_instant(leaves).utc_iso}, before this plan expires: applying it after "
                "then will be refused."
            )
    if refusals:
        raise PlanRefused(refusals)
    return Plan(
        environment=environment,
        instance_id=instance_id,
        instance_name=instance_name,
        tasks=tuple(planned),
        date_from=date_from,
        procedure=procedure,
        planner=planner_name() if planner is None else planner,
        created_ms=now,
        expires_ms=expires_ms,
        retention_ms=retention_ms,
        warnings=tuple(warnings),
    )


def _direction(
    date_from: DateFrom,
    tasks: Sequence[PlannedTask],
    now: int,
    allow_forward: bool,
    refusals: list[str],
    warnings: list[str],
) -> None:
    """Sort each task's move into a refusal (forward, not allowed) or a warning."""
    if date_from.ms is None:
        warnings.extend(assess_date_from(None, now_ms=now))
        return
    if date_from.ms > now:
        ahead = format_duration(date_from.ms - now)
        sentence = (
            f"date_from {date_from.utc_iso} is {ahead} in the future: every task would skip the "
            "changes made until then, and the target would never receive them."
        )
        if allow_forward:
            warnings.append(f"Allowed by allow_forward: {sentence}")
        else:
            refusals.append(f"{sentence} Pass allow_forward=True if that is what you want.")
    for task in tasks:
        move = move_of(date_from.ms, task.position)
        if move.direction == "unknown":
            warnings.append(
                f"Task {task.shown}: no evidence where it is now (no successful monitor log and "
                "no last execution time), so whether the reset replays or skips changes is "
                "unknown."
            )
        elif move.forward:
            sentence = skip_sentence(task.shown, date_from.ms, task.position)
            if allow_forward:
                warnings.append(f"Allowed by allow_forward: {sentence}")
            else:
                refusals.append(f"{sentence} Pass allow_forward=True if that is what you want.")
