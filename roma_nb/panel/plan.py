"""``ResetPlan``: exactly what a run would do, frozen so "the same plan" is a plain ``==``.

The confirmation a person gives is for one plan: this environment, this instance, these tasks,
this instant, real or dry. The model keeps the plan it previewed and compares it with the plan
at run time; any difference voids the confirmation. Warnings are carried for display but are not
part of the comparison (they depend on the clock, which moves on).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..dates import InstantView, format_instant

__all__ = ["PlannedTask", "ResetPlan", "describe_changes"]


@dataclass(frozen=True, slots=True)
class PlannedTask:
    """One target of a plan, shaped once: what the batch sends (``instance_id``, ``task_id``,
    ``task_name``: the attributes ``reset_many`` reads) and how the confirmation names it."""

    task_id: str
    task_name: str = ""
    instance_id: str = ""

    @property
    def shown(self) -> str:
        return f"{self.task_name or '(no name)'} ({self.task_id})"


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
        verb = "DRY RUN (nothing is sent): would reset" if self.dry_run else "RESET"
        return f"{verb} the progress of {count} {noun} on {self.environment}"

    def confirmation_headline(self) -> str:
        """The line above the confirmation: what pressing Run will really do."""
        if self.dry_run:
            return "Please read: this records a DRY RUN; nothing is sent."
        if self.sandbox:
            return "Please read: this sends resets to the SANDBOX (nothing real)."
        return "Please read: this sends REAL resets."

    def confirmation_text(self) -> str:
        """The words a person confirms: environment, instance, instant, every task, warnings."""
        lines = [
            self.headline(),
            f"environment: {self.environment}",
            f"instance:    {self.instance_shown()}",
            f"date_from:   {self.describe_instant()}",
            f"tasks ({len(self.targets)}):",
            *(f"  - {t.shown}" for t in self.targets),
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
    if before.dry_run != after.dry_run:
        changes.append("dry run → real run" if before.dry_run else "real run → dry run")
    return ", ".join(changes) or "nothing visible"
