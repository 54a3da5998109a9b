"""``PlannedRun``: a ``plans.Plan`` as the panel previews, confirms and runs it.

The plan is ``roma_nb.plans``' one plan type — the same the CLI exports and ``apply`` reads —
whether the panel built it from the pickers or loaded it from a file. What the panel adds is
only how it runs (really or as a dry run), where a loaded plan came from, and the words of its
preview and confirmation, all derived from the plan.

The confirmation a person gives is for one run: this environment, this instance, these tasks,
this instant and procedure, real or dry. The model keeps the run it previewed and compares it
with the run at run time (``==``: ``Plan.work`` and the mode); any difference voids the
confirmation. When the plan was made, by whom, and its warnings are not compared: they depend
on the clock, which moves on.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from ..dates import InstantView, format_instant
from ..models import Restart, Task
from ..plans import Plan, PlannedTask
from ..procedure import describe_task, plan_steps, summarize

__all__ = [
    "PROCEDURES",
    "PanelProcedure",
    "PlannedRun",
    "describe_changes",
    "task_state",
]

PanelProcedure = Literal["rewind", "reset"]
"""What Run does: the whole rewind (the default) or only the reset call (for experts)."""

PROCEDURES: dict[PanelProcedure, str] = {
    "rewind": "Rewind (stop, reset, start, verify)",
    "reset": "Raw reset (experts)",
}
"""Each procedure with the words the panel's choice shows."""


def task_state(task: PlannedTask) -> str:
    """``running``, ``stopped`` or ``state unknown``: how the preview names a task's state."""
    return "state unknown" if task.status == "unknown" else task.status


@dataclass(frozen=True, slots=True, eq=False)
class PlannedRun:
    """One plan and how it runs. ``source`` is the file a loaded plan came from (``None`` for a
    plan the panel built): a loaded plan is checked against the world before it runs, and its
    history rows carry its ``plan_id``."""

    plan: Plan
    dry_run: bool = False
    source: Path | None = None
    apply_warnings: tuple[str, ...] = ()
    """What checking a loaded plan against the world warned of (``plans.check_apply``): shown
    with the plan's own warnings, each to be ticked."""
    file_plan_id: str | None = None
    """The ``plan_id`` of the loaded file, which every history row of this run carries (kept
    when Retry unknown narrows the run to fewer tasks, whose own id then differs)."""

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PlannedRun):
            return NotImplemented
        return (self.plan.work(), self.dry_run, self.source) == (
            other.plan.work(),
            other.dry_run,
            other.source,
        )

    def __hash__(self) -> int:
        return hash((self.plan.work(), self.dry_run, self.source))

    def with_dry_run(self, dry_run: bool) -> PlannedRun:
        return replace(self, dry_run=dry_run)

    def narrowed(self, task_ids: set[str]) -> PlannedRun:
        """The same run for only these tasks (Retry unknown)."""
        tasks = tuple(t for t in self.plan.tasks if t.id in task_ids)
        return replace(self, plan=replace(self.plan, tasks=tasks))

    # -- what is sent -----------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        return self.source is not None

    @property
    def environment(self) -> str:
        """``SANDBOX`` or ``host / project X``: what every confirmation names."""
        return self.plan.environment.label

    @property
    def sandbox(self) -> bool:
        """Whether the plan is for the SANDBOX (decides the confirmation's words)."""
        return self.plan.environment.is_sandbox

    @property
    def instance_id(self) -> str:
        return self.plan.instance_id

    @property
    def tasks(self) -> tuple[PlannedTask, ...]:
        return self.plan.tasks

    def targets(self) -> list[Task]:
        """The tasks as ``Task`` records for ``client.rewind`` / ``reset_many``."""
        return self.plan.targets()

    @property
    def task_ids(self) -> tuple[str, ...]:
        return tuple(t.id for t in self.plan.tasks)

    @property
    def date_from(self) -> int | None:
        return self.plan.date_from.ms

    @property
    def zone(self) -> str:
        return self.plan.date_from.zone

    @property
    def warnings(self) -> tuple[str, ...]:
        """The plan's warnings, then what the check at load warned of."""
        return (*self.plan.warnings, *self.apply_warnings)

    @property
    def rewinds(self) -> bool:
        return self.plan.procedure.kind == "rewind"

    @property
    def restart(self) -> Restart:
        return self.plan.procedure.restart or "as_before"

    @property
    def verify(self) -> bool:
        return bool(self.plan.procedure.verify)

    # -- in words ---------------------------------------------------------------------------

    def task_steps(self, task: PlannedTask) -> str:
        """What will happen to one task, in words: ``running → stop, reset to …, start again,
        verify`` for a rewind, ``reset to …`` for a raw reset."""
        if not self.rewinds:
            return f"{task_state(task)} → reset only (raw reset: not stopped, not started)"
        return describe_task(task.was_running, self.date_from, self.restart, self.verify, self.zone)

    def step_count(self) -> int:
        """How many steps a run plans if all goes well: per task a look and its steps for a
        rewind, one reset for a raw reset (what the progress counts to)."""
        if not self.rewinds:
            return len(self.plan.tasks)
        return sum(
            1 + len(plan_steps(t.was_running is not False, self.restart, self.verify))
            for t in self.plan.tasks
        )

    def steps_summary(self) -> str:
        """The confirmation's line: ``stop 3 running tasks, reset 5, start them again, verify``."""
        if not self.rewinds:
            return f"reset {len(self.plan.tasks)} (raw reset: running tasks are not stopped first)"
        states = [t.was_running is not False for t in self.plan.tasks]
        return summarize(states, self.restart, self.verify)

    def instant(self) -> InstantView | None:
        return None if self.date_from is None else format_instant(self.date_from, self.zone)

    def describe_instant(self) -> str:
        """``2024-01-02T03:04:00Z = 2024-01-02 11:04:00 CST (+08:00) = date_from 1704164640000``,
        with the text typed if the plan was made from one."""
        return self.plan.date_from.describe()

    def instance_shown(self) -> str:
        name, iid = self.plan.instance_name, self.plan.instance_id
        return f"{name} ({iid})" if name and name != iid else iid

    def headline(self) -> str:
        count = len(self.plan.tasks)
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

    def file_lines(self) -> list[str]:
        """For a loaded plan, what the reviewer approved: the file, its ``plan_id``, who planned
        it, when, and until when (the confirmation's first lines); none for a built plan."""
        if self.source is None:
            return []
        plan = self.plan
        return [
            f"plan file:   {self.source}",
            f"plan_id:     {plan.plan_id}",
            f"planned by:  {plan.planner} at {format_instant(plan.created_ms).utc_iso}; "
            f"expires {format_instant(plan.expires_ms).utc_iso}",
        ]

    def confirmation_text(self) -> str:
        """The words a person confirms: environment, instance, instant, every task, warnings;
        for a loaded plan also the file, who planned it, until when, and its ``plan_id``."""
        lines = [self.headline(), *self.file_lines()]
        lines += [
            f"environment: {self.environment}",
            f"instance:    {self.instance_shown()}",
            f"date_from:   {self.describe_instant()}",
            f"procedure:   {PROCEDURES[self.plan.procedure.kind]}",
            f"steps:       {self.steps_summary()}",
            f"tasks ({len(self.plan.tasks)}):",
            *(f"  - {t.shown}: {self.task_steps(t)}" for t in self.plan.tasks),
        ]
        if self.warnings:
            lines.append("warnings:")
            lines.extend(f"  ! {w}" for w in self.warnings)
        return "\n".join(lines)


def describe_changes(before: PlannedRun, after: PlannedRun) -> str:
    """What differs between a previewed run and the current one, in a short phrase."""
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
    if before.plan.procedure.kind != after.plan.procedure.kind:
        changes.append(f"procedure {before.plan.procedure.kind} → {after.plan.procedure.kind}")
    elif before.plan.procedure != after.plan.procedure:
        changes.append("restart/verify")
    if before.dry_run != after.dry_run:
        changes.append("dry run → real run" if before.dry_run else "real run → dry run")
    return ", ".join(changes) or "nothing visible"
