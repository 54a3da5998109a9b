"""One task's way through a rewind: what the machine knows of it so far, and its history rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from ..models import Outcome, ResetResult, RewindStep, StepName, StepResult, Task

__all__ = ["Job", "LateStop", "utc_from_ms"]


def utc_from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, timezone.utc)


@dataclass(frozen=True, slots=True)
class LateStop:
    """What the watch after the start saw of a stop that was not confirmed in time: it
    ``landed`` (the task reported stopped) ``after_s`` seconds after the stop was sent, or, not
    landed, the task was last seen running ``after_s`` seconds after it (at ``seen_ms``, epoch
    ms). ``ran_at_start``: the start was refused because the task still ran (``FDI.3023``), so
    a stop never seen did not take effect; a start accepted may have put back a stop that
    landed just before it."""

    landed: bool
    after_s: float
    seen_ms: int
    ran_at_start: bool = False

    @property
    def after(self) -> str:
        """``after_s`` for a sentence: ``12``, ``1.5``, ``0.6``."""
        return f"{round(self.after_s, 1):g}"

    @property
    def seen(self) -> str:
        """When it was last seen, as a time of day: ``02:00:07 UTC``."""
        return utc_from_ms(self.seen_ms).strftime("%H:%M:%S UTC")


@dataclass
class Job:
    """The machine's record of one target. ``stop_sent``: the rewind may have stopped it (a stop
    accepted, or its answer lost), so it must be started again or reported left stopped;
    ``stop_accepted``: the service's answer accepted it. ``late``: what the watch for a stop
    not confirmed in time saw (None: not watched, or never seen since).
    ``since_ms``: when it was seen stopped; executions after that began after the restart."""

    index: int
    instance_id: str
    task_id: str
    task_name: str | None
    problem: str | None = None
    was_running: bool | None = None
    look: StepResult | None = None
    stop: StepResult | None = None
    reset: ResetResult | None = None
    start: StepResult | None = None
    verification: StepResult | None = None
    stop_sent: bool = False
    stop_accepted: bool = False
    late: LateStop | None = None
    restoring: bool = False
    since_ms: int | None = None
    rows: dict[StepName, int | None] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.instance_id, self.task_id)

    @property
    def looked(self) -> bool:
        """The look found it, combined and settled: the procedure may act on it."""
        return self.look is not None and self.look.outcome == "success"

    def adopt(self, task: Task) -> None:
        self.task_name = task.task_name or self.task_name

    def step(self, step: StepName, outcome: Outcome, message: str, *, at: datetime) -> StepResult:
        """A ``StepResult`` of this task that involved no request of its own."""
        return StepResult(
            step=step,
            instance_id=self.instance_id,
            task_id=self.task_id,
            outcome=outcome,
            task_name=self.task_name,
            message=message,
            at=at,
        )

    def row(
        self,
        rewind_id: str,
        result: StepResult | ResetResult,
        *,
        date_from: int | None,
        dry_run: bool = False,
    ) -> RewindStep:
        """The history row of a finished step."""
        return RewindStep.of(
            rewind_id,
            result,
            task_name=self.task_name,
            was_running=self.was_running,
            date_from=date_from,
            dry_run=dry_run,
        )

    def pending_row(
        self, rewind_id: str, step: StepName, *, date_from: int | None, at: datetime
    ) -> RewindStep:
        """The row written before the step's request is sent."""
        return RewindStep(
            rewind_id=rewind_id,
            step=step,
            instance_id=self.instance_id,
            task_id=self.task_id,
            outcome="pending",
            task_name=self.task_name,
            date_from=date_from,
            was_running=self.was_running,
            at=at,
        )
