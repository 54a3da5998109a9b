"""``check_apply``: is the world still the one the plan was made for? A pure function.

Applying a plan later, perhaps by someone else, is only safe if what was reviewed is what will
happen. The caller fetches the world as the client sees it now (environment, clock, the
instance's tasks, optionally where they are) and passes plain data; this module decides.

Refusals (nothing may be sent): another plan than the one approved (``approved_plan_id``),
another environment or project, an expired plan, a ``date_from`` that has left the retention
since planning, a task that no longer exists or is no longer combined, and a task that now
would move forward although the plan does not allow it. Warnings (ask again before sending): a
task whose state or name changed since planning, or whose direction changed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..dates import format_duration, format_instant, validate_date_from
from ..errors import ValidationError
from ..models import Task
from ._build import retention_refusal
from ._document import Plan, PlannedTask
from ._environment import Environment
from ._position import Position, move_of, skip_sentence

__all__ = ["ApplyCheck", "World", "check_apply"]


@dataclass(frozen=True, slots=True)
class World:
    """What the client sees now.

    ``tasks`` are the plan's instance's tasks as listed now, **not** filtered to combined ones
    (``list_tasks(instance_id, combined_only=False)``), so a task that stopped being combined is
    told apart from one that is gone; ``None`` when they are not listed yet: then only what
    needs no call is checked (environment, expiry, retention), so a plan for another project is
    refused before anything is asked of it. ``positions`` (task id → ``where_now(...)``) is
    optional: given, each move is checked again.
    """

    environment: Environment
    now_ms: int
    tasks: Sequence[Task] | None
    positions: Mapping[str, Position] | None = None


@dataclass(frozen=True, slots=True)
class ApplyCheck:
    """The verdict: ``refusals`` stop the apply, ``warnings`` need a second confirmation."""

    plan_id: str
    refusals: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Nothing refuses the apply (warnings may still ask for confirmation)."""
        return not self.refusals

    def text(self) -> str:
        """Refusals then warnings, one per line, for a terminal or an output area."""
        verdict = "REFUSED" if self.refusals else "OK" if not self.warnings else "OK, with warnings"
        lines = [f"plan {self.plan_id[:16]}…: {verdict}"]
        lines.extend(f"  x {refusal}" for refusal in self.refusals)
        lines.extend(f"  ! {warning}" for warning in self.warnings)
        return "\n".join(lines)


def check_apply(plan: Plan, world: World, *, approved_plan_id: str | None = None) -> ApplyCheck:
    """Every refusal and warning for applying ``plan`` in ``world``, each a sentence."""
    now = validate_date_from(world.now_ms)
    if now is None:
        raise ValidationError("World.now_ms is required: the plan's expiry is checked against it.")
    plan_id = plan.plan_id
    refusals: list[str] = []
    warnings: list[str] = []
    if approved_plan_id is not None and approved_plan_id.strip().lower() != plan_id:
        refusals.append(
            f"This plan's id is {plan_id}, not the approved {approved_plan_id.strip()}: it is "
            "another plan than the one reviewed."
        )
    if not plan.environment.same_place(world.environment):
        refusals.append(
            f"The plan is for {plan.environment.shown()}, but the client talks to "
            f"{world.environment.shown()}."
        )
    if now >= plan.expires_ms:
        refusals.append(
            f"The plan expired at {format_instant(plan.expires_ms).utc_iso} "
            f"({format_duration(now - plan.expires_ms)} ago; {plan.planner} made it at "
            f"{format_instant(plan.created_ms).utc_iso}). Make the plan again."
        )
    retention = retention_refusal(plan.date_from, now_ms=now, retention_ms=plan.retention_ms)
    if retention:
        refusals.append(retention)
    if world.tasks is None:
        return ApplyCheck(plan_id, tuple(refusals), tuple(warnings))
    current = {
        task.task_id: task for task in world.tasks if task.instance_id in (None, plan.instance_id)
    }
    for planned in plan.tasks:
        task = current.get(planned.id)
        if task is None:
            refusals.append(
                f"Task {planned.shown} no longer exists on instance {plan.instance_id}."
            )
            continue
        if not task.is_combined:
            refusals.append(
                f"Task {planned.shown} is no longer a combined task (ext_type is now "
                f"{task.ext_type!r})."
            )
        warnings.extend(_changes(planned, task))
        if world.positions is not None and planned.id in world.positions:
            _recheck_move(plan, planned, world.positions[planned.id], refusals, warnings)
    return ApplyCheck(plan_id, tuple(refusals), tuple(warnings))


def _changes(planned: PlannedTask, task: Task) -> list[str]:
    now = PlannedTask.of(task)
    found = []
    if now.state() != planned.state():
        found.append(
            f"Task {planned.shown} was {planned.state()} when planned and is {now.state()} now."
        )
    if now.name != planned.name:
        found.append(f"Task {planned.shown} is now named {now.name or '(no name)'!r}.")
    return found


def _recheck_move(
    plan: Plan,
    planned: PlannedTask,
    position: Position,
    refusals: list[str],
    warnings: list[str],
) -> None:
    ms = plan.date_from.ms
    before, after = plan.move(planned), move_of(ms, position)
    if ms is not None and after.forward and not plan.procedure.allow_forward:
        refusals.append(
            f"{skip_sentence(planned.shown, ms, position)} When planned it "
            f"{before.summary()}; the plan does not allow forward moves."
        )
    elif after.direction != before.direction:
        warnings.append(
            f"Task {planned.shown} now {after.summary()} (when planned: {before.summary()})."
        )
