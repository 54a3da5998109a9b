"""The task lifecycle: start, stop, run, terminate and reset as ROMA Connect's tasks live them.

``roma-api.md`` §2: the batch call starts and stops continuous tasks, and both take effect
*asynchronously*: a start or stop is accepted at once, but the task keeps showing its old
``status`` / ``execute_status`` until ``start_delay_ms`` / ``stop_delay_ms`` have passed. Here a
request leaves a ``Pending`` change on the task, and every read first ``settle``s the changes
that are due, so nothing runs in the background and a delay of 0 takes effect before the
answer leaves. ``run`` (one scheduling, a finished execution) and ``terminate`` (cancel the
current execution) leave the task's ``status`` alone: they are not start and stop.

A start that takes effect begins a new ``Execution`` at that instant (``last_execute_time``).
After a reset it reads the change log from the reset's ``date_from``, unless ``date_from`` is
older than the source keeps change logs (``log_retention_days``): then it fails at once with
reader code 103, ``RUNTIME_ERR``, ``execute_status`` ERROR, as the real service fails "later, at
run time". Without a reset since the last start it resumes from the saved position.

Time comes from ``clock`` (epoch ms) plus an offset that ``advance(ms)`` moves forward, so a
test can see a delayed change happen without sleeping. The caller holds the state's lock.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from .codes import START_FAILED, STOP_FAILED, TASKS_RUNNING
from .data import DAY_MS, TaskRow
from .faults import FaultPlan
from .monitoring import Execution, describe_start, make_executions, new_execution, too_old_remark

__all__ = ["Clock", "Lifecycle", "Pending", "TaskLife"]


class Clock:
    """Epoch milliseconds from ``wall`` (default: the system clock) plus a test-set offset."""

    def __init__(self, wall: Callable[[], int] | None = None) -> None:
        self._wall = wall
        self.offset_ms = 0

    def now_ms(self) -> int:
        wall = self._wall() if self._wall is not None else int(time.time() * 1000)
        return wall + self.offset_ms


@dataclass(slots=True)
class Pending:
    """A start or stop accepted but not yet visible; ``due_ms`` is inf for a stuck stop, and for
    a ``late`` stop until the task's next start call."""

    action: Literal["start", "stop"]
    due_ms: float
    late: bool = False


@dataclass(slots=True)
class TaskLife:
    """What happened to one task: its executions (newest first), a pending change, a reset."""

    executions: list[Execution]
    pending: Pending | None = None
    reset: tuple[int | None] | None = None  # (date_from,) of a reset not yet read by a start
    begun: int = 0  # executions begun here, for their ids


@dataclass
class Lifecycle:
    """Every task's life in one sandbox; all methods expect the state's lock to be held."""

    seed: int
    logs_per_task: int
    log_days: int
    start_delay_ms: float
    stop_delay_ms: float
    log_retention_days: float
    faults: FaultPlan
    clock: Clock = field(default_factory=Clock)
    _lives: dict[str, TaskLife] = field(default_factory=dict)
    _pending: dict[str, TaskRow] = field(default_factory=dict)

    def life(self, task: TaskRow) -> TaskLife:
        """The task's life, its seeded history made on first use (before anything changes it)."""
        life = self._lives.get(task.task_id)
        if life is None:
            executions = make_executions(self.seed, task, self.logs_per_task, self.log_days)
            life = self._lives[task.task_id] = TaskLife(executions)
        return life

    def settle(self) -> None:
        """Make every pending change that is due visible, at the instant it fell due."""
        if not self._pending:
            return
        now = self.clock.now_ms()
        for task_id, task in list(self._pending.items()):
            pending = self.life(task).pending
            if pending is None or pending.due_ms > now:
                continue
            del self._pending[task_id]
            self._apply(task, pending)

    def monitor_logs(self, task: TaskRow) -> list[dict[str, object]]:
        now = self.clock.now_ms()
        return [e.to_log(now) for e in self.life(task).executions]

    # -- the batch call, per task ---------------------------------------------------------------

    def start(self, task: TaskRow) -> tuple[str, str] | None:
        """Accept a start (``None``) or say why not (an FDI code and message for ``failure[]``):
        the task shows running (FDI.3023), or a ``start_fails`` fault hits it. A ``late`` stop
        waiting for this call lands ``stop_delay_ms`` after it."""
        life = self.life(task)
        if task.status == 1:
            pending = life.pending
            if pending is not None and pending.late:
                self._schedule(task, Pending("stop", self.clock.now_ms() + self.stop_delay_ms))
            return TASKS_RUNNING
        fault = self.faults.take_for_task("start_fails", task.task_id)
        if fault is not None:
            code = fault.error_code or "FDI.3026"
            return code, START_FAILED[code]
        if life.pending is None:
            self._schedule(task, Pending("start", self.clock.now_ms() + self.start_delay_ms))
        return None

    def stop(self, task: TaskRow) -> tuple[str, str] | None:
        """Accept a stop (``None``) or fail it: a ``stop_fails`` fault gives FDI.3019 for a
        real-time task and FDI.3020 for a scheduled one (the error-code page); after a
        ``stuck_stopping`` fault the task never shows stopped, after a ``late_stopping`` fault
        only once a start was asked for. Stopping a stopped task is fine."""
        life = self.life(task)
        fault = self.faults.take_for_task("stop_fails", task.task_id)
        if fault is not None:
            code = fault.error_code or ("FDI.3019" if task.task_type == "REALTIME" else "FDI.3020")
            return code, STOP_FAILED[code]
        if task.status == 0:
            if life.pending is not None:  # a start not yet visible: it never happens
                life.pending = None
                self._pending.pop(task.task_id, None)
            return None
        if life.pending is None:
            stuck = self.faults.take_for_task("stuck_stopping", task.task_id) is not None
            late = (
                not stuck and self.faults.take_for_task("late_stopping", task.task_id) is not None
            )
            due = math.inf if stuck or late else self.clock.now_ms() + self.stop_delay_ms
            self._schedule(task, Pending("stop", due, late=late))
        return None

    # -- single-task calls ------------------------------------------------------------------

    def run(self, task: TaskRow) -> bool:
        """One scheduling now (a finished execution); ``False`` if one is running already."""
        life = self.life(task)
        if any(e.running for e in life.executions):
            return False
        now = self.clock.now_ms()
        execution = self._begin(task, life, now, reads_from="the saved position", begun_by=900)
        execution.finish(now, 901)
        execution.fixed_rows = self._rng(task, life.begun).randrange(0, 50_000)
        task.execute_status, task.position, task.last_execute_ms = "SUCCESS", "ADAPTER", now
        return True

    def terminate(self, task: TaskRow) -> None:
        """Cancel the current execution, if one runs; the task stays started or stopped."""
        life = self.life(task)
        now = self.clock.now_ms()
        for execution in life.executions:
            if execution.running:
                execution.finish(now, 106)
                task.execute_status, task.position = "CANCELLED", "READER"

    def record_reset(self, task: TaskRow, date_from: int | None) -> None:
        """A reset took effect: the next start reads from ``date_from``."""
        self.life(task).reset = (date_from,)
        task.last_modified_ms = max(task.last_modified_ms, self.clock.now_ms())

    # -- inside -----------------------------------------------------------------------------

    def _schedule(self, task: TaskRow, pending: Pending) -> None:
        self.life(task).pending = pending
        self._pending[task.task_id] = task
        self.settle()  # a delay of 0 takes effect before the answer leaves

    def _apply(self, task: TaskRow, pending: Pending) -> None:
        life = self.life(task)
        life.pending = None
        at = int(pending.due_ms)
        for execution in life.executions:
            if execution.running:
                execution.finish(at, 106)
                task.position = "READER"
        if pending.action == "stop":
            task.status, task.execute_status = 0, "CANCELLED"
            return
        reset, life.reset = life.reset, None
        date_from = reset[0] if reset is not None else None
        reads_from = describe_start(date_from, reset is not None)
        execution = self._begin(task, life, at, reads_from=reads_from, begun_by=99)
        task.status, task.position, task.last_execute_ms = 1, "READER", at
        oldest = at - int(self.log_retention_days * DAY_MS)
        if date_from is not None and date_from < oldest:
            remark = too_old_remark(date_from, oldest, self.log_retention_days)
            execution.finish(at, 103, remark)
            task.execute_status = "ERROR"
        else:
            task.execute_status = "RUNNING"

    def _begin(
        self, task: TaskRow, life: TaskLife, at: int, *, reads_from: str, begun_by: int
    ) -> Execution:
        life.begun += 1
        rng = self._rng(task, life.begun)
        execution = new_execution(rng, task, at, reads_from=reads_from, begun_by=begun_by)
        life.executions.insert(0, execution)
        return execution

    def _rng(self, task: TaskRow, n: int) -> random.Random:
        return random.Random(f"roma-sandbox/{self.seed}/executions/{task.task_id}/{n}")
