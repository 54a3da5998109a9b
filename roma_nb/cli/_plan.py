"""What ``roma-nb reset`` / ``rewind`` will do, said before it is done: for stderr, and as JSON.

The plan is ``roma_nb.plans``' one plan type (``plans.Plan``, the one ``--export`` writes and
the panel runs); ``PlanPreview`` adds only what the shell needs on top: dry run or not, the
instance's status, and which warnings need ``--force``. It names the environment, the instance,
every task by name and id, and the instant as UTC ISO, in ``--tz`` and as the ``date_from``
integer, with the text typed when it was relative. Its warnings come in two kinds:

* warnings that **need --force** as well as ``--yes``, because sending anyway is rarely what was
  meant: a ``date_from`` in the future (the task would skip the changes made until then), a
  ``date_from`` after where a task is known to have read (the same loss, for that task), and an
  instance that is not RUNNING (FROZEN for arrears, ERROR, CREATING...). They are printed first.
* the others, printed after the plan, which ``--yes`` alone accepts: a ``date_from`` older than
  the CDC log retention, no ``date_from``, tasks still running (the service may refuse them).

A rewind's plan says per task its state and the steps that will run (``procedure.describe_task``),
and in one line what the whole rewind does (``procedure.summarize``); running tasks are no
warning there, since the rewind stops them. Each task's row also says where the task is now (the
best evidence, ``plans.where_tasks_are``) and what the reset does relative to it: "replays 3 h",
or "may SKIP up to 1 day of changes". A move forward needs ``--force``, as a future ``date_from``
does: the changes in between would never reach the target (``--export`` refuses it without
``--allow-forward``; the panel asks for its own tick).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..models import Instance, Task
    from ..plans import DateFrom, Environment, Plan, PlannedTask, Position, Procedure

__all__ = ["PlanPreview", "PlanWarning", "preview_plan"]

_READY = "RUNNING"


@dataclass(frozen=True)
class PlanWarning:
    text: str
    needs_force: bool


@dataclass(frozen=True)
class PlanPreview:
    """A ``plans.Plan`` as the shell shows it before sending."""

    plan: Plan
    instance_status: str | None
    dry_run: bool
    warnings: tuple[PlanWarning, ...]

    @property
    def needs_force(self) -> bool:
        return any(w.needs_force for w in self.warnings)

    @property
    def rewinds(self) -> bool:
        return self.plan.procedure.kind == "rewind"

    def _instance_label(self) -> str:
        """``name [STATUS] (id)``: ``Instance.label``."""
        from ..models import Instance

        plan = self.plan
        return Instance(plan.instance_id, plan.instance_name, self.instance_status).label

    def lines(self) -> list[str]:
        first = [f"WARNING (needs --force): {w.text}" for w in self.warnings if w.needs_force]
        what = "REWIND" if self.rewinds else "RESET"
        mode = f"DRY RUN of a {what.lower()}" if self.dry_run else what
        lines = [
            *first,
            f"{mode} in {self.plan.environment.label}",
            f"  instance: {self._instance_label()}",
            f"  {len(self.plan.tasks)} combined task(s):",
        ]
        lines += [f"    - {t.shown} [{self._task_text(t)}]" for t in self.plan.tasks]
        if self.rewinds:
            lines.append(f"  steps: {self.summary()}")
        lines.append(f"  date_from: {self.plan.date_from.describe()}")
        lines += [f"  warning: {w.text}" for w in self.warnings if not w.needs_force]
        return lines

    def _task_text(self, task: PlannedTask) -> str:
        """The task's state (for a rewind, with the steps that will run for it), and what the
        reset does relative to where it is now (nothing to say without a ``date_from``)."""
        steps = self._steps(task)
        if self.plan.date_from.ms is None:
            return steps
        return f"{steps}; {self.plan.move(task).row_text()}"

    def _steps(self, task: PlannedTask) -> str:
        """The task's state, and for a rewind the steps that will run for it."""
        if not self.rewinds:
            return task.status
        from ..procedure import describe_task

        procedure, d = self.plan.procedure, self.plan.date_from
        assert procedure.restart is not None and procedure.verify is not None
        return describe_task(task.was_running, d.ms, procedure.restart, procedure.verify, d.zone)

    def summary(self) -> str:
        """A rewind's steps in one line (``stop 3 running tasks, reset 5, …``); "" for a reset.
        Tasks whose state is neither running nor stopped count as stopped: the look decides."""
        procedure = self.plan.procedure
        if procedure.restart is None or procedure.verify is None:
            return ""
        from ..procedure import summarize

        states = [t.was_running is True for t in self.plan.tasks]
        return summarize(states, procedure.restart, procedure.verify)

    def _task_json(self, task: PlannedTask) -> dict[str, object]:
        """One task for ``to_json``: its state, a rewind's steps, and where it is now and what
        the reset does from there, as the plan file writes them."""
        document = self.plan.task_document(task)
        return {
            "task_id": task.id,
            "task_name": task.name,
            "status": task.status,
            **({"steps": self._steps(task)} if self.rewinds else {}),
            "position": document["position"],
            "move": document["move"],
        }

    def to_json(self) -> dict[str, object]:
        """The plan for programs (``--format json`` without ``--yes``): nothing was sent."""
        plan, date_from = self.plan, self.plan.date_from
        return {
            "sent": False,
            "dry_run": self.dry_run,
            "environment": plan.environment.label,
            "instance": {
                "id": plan.instance_id,
                "name": plan.instance_name,
                "status": self.instance_status,
            },
            "tasks": [self._task_json(t) for t in plan.tasks],
            **(
                {
                    "restart": plan.procedure.restart,
                    "verify": plan.procedure.verify,
                    "steps": self.summary(),
                }
                if self.rewinds
                else {}
            ),
            "date_from": date_from.ms,
            "date_from_utc": date_from.utc_iso,
            "date_from_local": date_from.local,
            "date_from_typed": date_from.typed,
            "tz": date_from.zone,
            "warnings": [{"text": w.text, "needs_force": w.needs_force} for w in self.warnings],
            "needs_force": self.needs_force,
        }


def _instance_warning(instance: Instance) -> PlanWarning | None:
    if instance.status == _READY:
        return None
    state = f"is {instance.status}" if instance.status else "has no status"
    return PlanWarning(
        f"instance {instance.name or instance.id} {state}, not {_READY}: its tasks may not run "
        "after the reset, or the service may refuse it.",
        needs_force=True,
    )


def preview_plan(
    environment: Environment,
    instance: Instance,
    tasks: list[Task],
    date_from: DateFrom,
    procedure: Procedure,
    *,
    dry_run: bool,
    retention: timedelta,
    expires_in: timedelta,
    now_ms: int,
    positions: Mapping[str, Position] | Exception | None = None,
) -> PlanPreview:
    """The plan of these tasks and its shell warnings; ``positions`` (task id → where it is
    now, or the error that kept it from being read) says what each reset replays or skips.
    Nothing is refused here (``plans.build_plan``'s refusals are ``--export``'s): what would be
    lost needs ``--force``."""
    from ..dates import assess_date_from
    from ..plans import Plan, PlannedTask, planner_name

    where = positions if isinstance(positions, Mapping) else {}

    warnings = []
    instance_warning = _instance_warning(instance)
    if instance_warning is not None:
        warnings.append(instance_warning)
    if isinstance(positions, Exception):
        warnings.append(
            PlanWarning(
                "where the tasks are now could not be read, so the plan cannot say what each "
                f"reset replays or skips: {positions}",
                needs_force=False,
            )
        )
    future = date_from.ms is not None and date_from.ms > now_ms
    warnings += [
        PlanWarning(text, needs_force=future)
        for text in assess_date_from(date_from.ms, now_ms=now_ms, retention=retention)
    ]
    running = [t for t in tasks if t.status == 1]
    if running and procedure.kind == "reset":
        names = ", ".join(t.task_name or t.task_id for t in running)
        warnings.append(
            PlanWarning(
                f"{len(running)} task(s) are running ({names}); Huawei advises stopping a task "
                "before changing it.",
                needs_force=False,
            )
        )
    one_ms = timedelta(milliseconds=1)
    plan = Plan(
        environment=environment,
        instance_id=instance.id,
        instance_name=instance.name or "",
        tasks=tuple(PlannedTask.of(t, where.get(t.task_id)) for t in tasks),
        date_from=date_from,
        procedure=procedure,
        planner=planner_name(),
        created_ms=now_ms,
        expires_ms=now_ms + max(1, expires_in // one_ms),
        retention_ms=max(1, retention // one_ms),
        warnings=tuple(w.text for w in warnings),
    )
    skip = None if future else plan.skip_warning()  # a future date_from is warned of already
    if skip is not None:
        warnings.append(PlanWarning(skip, needs_force=True))
        plan = replace(plan, warnings=(*plan.warnings, skip))
    return PlanPreview(plan, instance.status, dry_run, tuple(warnings))
