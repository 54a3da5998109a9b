"""``ResetPlan``: exactly what a run would do, frozen so "the same plan" is a plain ``==``.

The confirmation a person gives is for one plan: this environment, this instance, these tasks,
this instant, real or dry. The model keeps the plan it previewed and compares it with the plan
at run time; any difference voids the confirmation. Warnings are carried for display but are not
part of the comparison (they depend on the clock, which moves on).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..dates import InstantView, format_instant
from ..models import Restart
from ..procedure import describe_task, plan_steps, summarize

__all__ = ["PROCEDURES", "PanelProcedure", "PlannedTask", "ResetPlan", "describe_changes"]

PanelProcedure = Literal["rewind", "reset"]
"""What Run does: the whole rewind (the default) or only the reset call (for experts)."""

PROCEDURES: dict[PanelProcedure, str] = {
    "rewind": "Rewind (stop, reset, start, verify)",
    "reset": "Raw reset (experts)",
}
"""Each procedure with the words the panel's choice shows."""


@dataclass(frozen=True, slots=True)
class PlannedTask:
    """One target of a plan, shaped once: what the batch sends (``instance_id``, ``task_id``,
    ``task_name``: the attributes ``reset_many`` reads) and how the confirmation names it."""

    task_id: str
    task_name: str = ""
    instance_id: str = ""
    was_running: bool | None = None
    """The state the task list showed (None: not known); a rewind looks again before acting."""

    @property
    def shown(self) -> str:
        return f"{self.task_name or '(no name)'} ({self.task_id})"

    @property
    def state(self) -> str:
        if self.was_running is None:
            return "state unknown"
        return "running" if self.was_running else "stopped"


@dataclass(frozen=True, slots=True)
class ResetPlan:
    """One batch of resets as it will be sent."""

    environment: str
    instance_id: str
    instance_name: str
    targets: tuple[PlannedTask, ...]
    date_from: int | None
    zone: str
    dry_run: bool
    warnings: tuple[str, ...] = field(default=(), compare=False)
    sandbox: bool = False
    """Whether ``environment`` is the SANDBOX (decides the confirmation's words)."""
    procedure: PanelProcedure = "reset"
    """A plan made by hand is a raw reset, as before; the panel's plans carry its choice
    (``Selection.procedure``, a rewind by default)."""
    restart: Restart = "as_before"
    verify: bool = True

    @property
    def rewinds(self) -> bool:
        return self.procedure == "rewind"

    def task_steps(self, task: PlannedTask) -> str:
        """What will happen to one task, in words: ``running → stop, reset to …, start again,
        verify`` for a rewind, ``reset to …`` for a raw reset."""
        if not self.rewinds:
            return f"{task.state} → reset only (raw reset: not stopped, not started)"
        return describe_task(task.was_running, self.date_from, self.restart, self.verify, self.zone)

    def step_count(self) -> int:
        """How many steps a run plans if all goes well: per task a look and its steps for a
        rewind, one reset for a raw reset (what the progress counts to)."""
        if not self.rewinds:
            return len(self.targets)
        return sum(
            1 + len(plan_steps(t.was_running is not False, self.restart, self.verify))
            for t in self.targets
        )

    def steps_summary(self) -> str:
        """The confirmation's line: ``stop 3 running tasks, reset 5, start them again, verify``."""
        if not self.rewinds:
            return f"reset {len(self.targets)} (raw reset: running tasks are not stopped first)"
        states = [t.was_running is not False for t in self.targets]
        return summarize(states, self.restart, self.verify)

    @property
    def task_ids(self) -> tuple[str, ...]:
        return tuple(t.task_id for t in self.targets)

    def instant(self) -> InstantView | None:
        return None if self.date_from is None else format_instant(self.date_from, self.zone)

    def describe_instant(self) -> str:
        """``2024-01-02T03:04:00Z = 2024-01-02 11:04:00 CST (+08:00) = date_from 1704164640000``."""
        view = self.instant()
        if view is None:
            return "empty: no date_from is sent, the service decides the start point"
        local = f" = {view.local_iso} in {view.zone}" if view.zone != "UTC" else ""
        return f"{view.utc_iso}{local} = date_from {view.ms}"

    def instance_shown(self) -> str:
        if self.instance_name and self.instance_name != self.instance_id:
            return f"{self.instance_name} ({self.instance_id})"
        return self.instance_id

    def headline(self) -> str:
        count = len(self.targets)
        noun = "combined task" if count == 1 else "combined tasks"
        action = "rewind" if self.rewinds else "reset"
        verb = f"DRY RUN (nothing is sent): would {action}" if self.dry_run else action.upper()
        return f"{verb} the progress of {count} {noun} on {self.environment}"

    def confirmation_headline(self) -> str:
        """The line above the confirmation: what pressing Run will really do."""
        if self.dry_run:
            return "Please read: this records a DRY RUN; nothing is sent."
        calls = "stops, resets and starts" if self.rewinds else "resets"
        if self.sandbox:
            return f"Please read: this sends {calls} to the SANDBOX (nothing real)."
        return f"Please read: this sends REAL {calls}."

    def confirmation_text(self) -> str:
        """The words a person confirms: environment, instance, instant, every task, warnings."""
        lines = [
            self.headline(),
            f"environment: {self.environment}",
            f"instance:    {self.instance_shown()}",
            f"date_from:   {self.describe_instant()}",
            f"procedure:   {PROCEDURES[self.procedure]}",
            f"steps:       {self.steps_summary()}",
            f"tasks ({len(self.targets)}):",
            *(f"  - {t.shown}: {self.task_steps(t)}" for t in self.targets),
        ]
        if self.warnings:
            lines.append("warnings:")
            lines.extend(f"  ! {w}" for w in self.warnings)
        return "\n".join(lines)


def describe_changes(before: ResetPlan, after: ResetPlan) -> str:
    """What differs between a previewed plan and the current one, in a short phrase."""
    changes: list[str] = []
    if before.environment != after.environment:
        changes.append(f"environment {before.environment} → {after.environment}")
    if before.instance_id != after.instance_id:
        changes.append(f"instance {before.instance_shown()} → {after.instance_shown()}")
    old, new = set(before.task_ids), set(after.task_ids)
    added, removed = len(new - old), len(old - new)
    if added or removed:
        changes.append(f"tasks +{added} −{removed}")
    elif before.task_ids != after.task_ids:
        changes.append("task order")
    if before.date_from != after.date_from:
        changes.append(f"date_from {before.date_from} → {after.date_from}")
    if before.zone != after.zone:
        changes.append(f"zone {before.zone} → {after.zone}")
    if before.procedure != after.procedure:
        changes.append(f"procedure {before.procedure} → {after.procedure}")
    if before.restart != after.restart or before.verify != after.verify:
        changes.append("restart/verify")
    if before.dry_run != after.dry_run:
        changes.append("dry run → real run" if before.dry_run else "real run → dry run")
    return ", ".join(changes) or "nothing visible"
