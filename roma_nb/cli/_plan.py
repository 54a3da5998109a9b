"""What ``roma-nb reset`` will do, said before it is done: for stderr, and as JSON for programs.

A plan names the environment, the instance, every task by name and id, and the instant as UTC
ISO, in ``--tz`` and as the ``date_from`` integer, with the text typed when it was relative
(``plans.DateFrom``, resolved once). Its warnings come in two kinds:

* warnings that **need --force** as well as ``--yes``, because sending anyway is rarely what was
  meant: a ``date_from`` in the future (the task would skip the changes made until then) and an
  instance that is not RUNNING (FROZEN for arrears, ERROR, CREATING...). They are printed first.
* the others, printed after the plan, which ``--yes`` alone accepts: a ``date_from`` older than
  the CDC log retention, no ``date_from``, tasks still running (the service may refuse them).

A rewind's plan (``rewind`` set) says per task its state and the steps that will run
(``procedure.describe_task``), and in one line what the whole rewind does
(``procedure.summarize``); running tasks are no warning there, since the rewind stops them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..models import Instance, Restart, Task
    from ..plans import DateFrom

__all__ = ["Plan", "PlanWarning", "RewindSteps", "build_plan"]

_READY = "RUNNING"


@dataclass(frozen=True)
class PlanWarning:
    text: str
    needs_force: bool


@dataclass(frozen=True)
class RewindSteps:
    """How a rewind runs (``--restart``, ``--no-verify``): what its plan describes."""

    restart: Restart
    verify: bool


def _was_running(task: Task) -> bool | None:
    return {1: True, 0: False}.get(task.status) if isinstance(task.status, int) else None


@dataclass(frozen=True)
class Plan:
    environment: str
    instance: Instance
    tasks: tuple[Task, ...]
    date_from: DateFrom
    dry_run: bool
    warnings: tuple[PlanWarning, ...]
    rewind: RewindSteps | None = None

    @property
    def needs_force(self) -> bool:
        return any(w.needs_force for w in self.warnings)

    def lines(self) -> list[str]:
        first = [f"WARNING (needs --force): {w.text}" for w in self.warnings if w.needs_force]
        what = "RESET" if self.rewind is None else "REWIND"
        mode = f"DRY RUN of a {what.lower()}" if self.dry_run else what
        lines = [
            *first,
            f"{mode} in {self.environment}",
            f"  instance: {self.instance.label}",
            f"  {len(self.tasks)} combined task(s):",
        ]
        lines += [
            f"    - {t.task_name or '(no name)'} ({t.task_id}) [{self._task_text(t)}]"
            for t in self.tasks
        ]
        if self.rewind is not None:
            lines.append(f"  steps: {self.summary()}")
        lines.append(f"  date_from: {self.date_from.describe()}")
        lines += [f"  warning: {w.text}" for w in self.warnings if not w.needs_force]
        return lines

    def _task_text(self, task: Task) -> str:
        """The task's state, and for a rewind the steps that will run for it."""
        if self.rewind is None:
            return task.status_text
        from ..procedure import describe_task

        r = self.rewind
        d = self.date_from
        return describe_task(_was_running(task), d.ms, r.restart, r.verify, d.zone)

    def summary(self) -> str:
        """A rewind's steps in one line (``stop 3 running tasks, reset 5, …``); "" for a reset.
        Tasks whose state is neither running nor stopped count as stopped: the look decides."""
        if self.rewind is None:
            return ""
        from ..procedure import summarize

        states = [_was_running(t) is True for t in self.tasks]
        return summarize(states, self.rewind.restart, self.rewind.verify)

    def to_json(self) -> dict[str, object]:
        """The plan for programs (``--format json`` without ``--yes``): nothing was sent."""
        return {
            "sent": False,
            "dry_run": self.dry_run,
            "environment": self.environment,
            "instance": {
                "id": self.instance.id,
                "name": self.instance.name,
                "status": self.instance.status,
            },
            "tasks": [
                {
                    "task_id": t.task_id,
                    "task_name": t.task_name,
                    "status": t.status_text,
                    **({"steps": self._task_text(t)} if self.rewind else {}),
                }
                for t in self.tasks
            ],
            **(
                {
                    "restart": self.rewind.restart,
                    "verify": self.rewind.verify,
                    "steps": self.summary(),
                }
                if self.rewind
                else {}
            ),
            "date_from": self.date_from.ms,
            "date_from_utc": self.date_from.utc_iso,
            "date_from_local": self.date_from.local,
            "date_from_typed": self.date_from.typed,
            "tz": self.date_from.zone,
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


def build_plan(
    environment: str,
    instance: Instance,
    tasks: list[Task],
    date_from: DateFrom,
    *,
    dry_run: bool,
    retention: timedelta,
    now_ms: int,
    rewind: RewindSteps | None = None,
) -> Plan:
    from ..dates import assess_date_from

    warnings = []
    instance_warning = _instance_warning(instance)
    if instance_warning is not None:
        warnings.append(instance_warning)
    future = date_from.ms is not None and date_from.ms > now_ms
    warnings += [
        PlanWarning(text, needs_force=future)
        for text in assess_date_from(date_from.ms, now_ms=now_ms, retention=retention)
    ]
    running = [t for t in tasks if t.status == 1]
    if running and rewind is None:
        names = ", ".join(t.task_name or t.task_id for t in running)
        warnings.append(
            PlanWarning(
                f"{len(running)} task(s) are running ({names}); Huawei advises stopping a task "
                "before changing it.",
                needs_force=False,
            )
        )
    return Plan(
        environment=environment,
        instance=instance,
        tasks=tuple(tasks),
        date_from=date_from,
        dry_run=dry_run,
        warnings=tuple(warnings),
        rewind=rewind,
    )
