"""A small simulated ROMA Connect for the rewind machine's tests, on a fake clock.

It plays the client side of ``roma_nb.procedure.Services`` (and, wrapped, ``AsyncServices``):
tasks that stop and start after a delay, batch answers read with the real
``read_batch_answer``, resets that a running task refuses (``FDI.3023``, as the real service
may), monitor logs with a new execution after each start — and per-task faults. A start of a
task that still runs is accepted as a no-op, or, with ``refuse_running_start``, refused with
``FDI.3023`` as the sandbox does (``roma-api.md`` leaves it open). It records what it was
asked, so tests assert on the service side too.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from roma_nb.errors import ApiError, OutcomeUnknown, ServerError, ThrottledError
from roma_nb.models import (
    MonitorLog,
    Outcome,
    ResetResult,
    RewindStep,
    StepResult,
    Task,
    TaskMonitor,
)
from roma_nb.procedure import (
    MAX_BATCH,
    BatchCall,
    ResetProgress,
    StopSignal,
    TaskRef,
    read_batch_answer,
)
from roma_nb.procedure._job import utc_from_ms

BASE_MS = 1_714_528_800_000  # 2024-05-01T02:00:00Z, the fake wall clock at monotonic 0
DATE_FROM = 1_714_442_400_000  # 2024-04-30T02:00:00Z
SLOW_STOP = 1.5  # seconds after it was accepted that a "stop_slow" stop lands

Fault = Literal[
    "stop_refused",  # failure entry FDI.3019 inside a 200
    "stop_stuck",  # accepted, never reports stopped
    "stop_late",  # accepted, lands only once the task is asked to start (racing the start)
    "stop_slow",  # accepted, lands after SLOW_STOP s (later than a stop_timeout of 1 s)
    "stop_lost",  # the stop happens, but the call's answer is lost (OutcomeUnknown)
    "stop_throttled_out",  # 429 until the retries ran out: nothing sent
    "start_refused",  # failure entry FDI.3026
    "start_stuck",  # accepted, never reports running
    "start_error",  # the whole start call fails with a 500
    "reset_failed",  # 500 FDI.9999
    "reset_unknown",  # the reset happens, its answer is lost
    "deleted_after_look",  # gone after the first task list
    "verify_103",  # the first execution after the restart hits a source error
    "verify_silent",  # no execution after the restart
    "throttled",  # every batch call about it needed 3 attempts (429s, retried)
    "transitional",  # neither running nor stopped at the look
    "not_combined",
]
FAULTS: tuple[str, ...] = Fault.__args__  # type: ignore[attr-defined]


class FakeClock:
    """Monotonic seconds from 0 and the matching wall clock; moves only when told."""

    def __init__(self) -> None:
        self.now = 0.0
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        return self.now

    def epoch_ms(self) -> int:
        return BASE_MS + round(self.now * 1000)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += max(0.0, seconds)


@dataclass
class FakeTask:
    instance_id: str
    task_id: str
    running: bool
    faults: frozenset[str] = frozenset()
    status: int = 0
    deleted: bool = False
    logs: list[MonitorLog] = field(default_factory=list)
    changes: list[tuple[float, int]] = field(default_factory=list)  # (at, new status)
    stop_waits: bool = False  # a "stop_late" stop accepted, to land after the next start call


class World:
    """The fake service, with ``latency`` seconds per request on the fake clock."""

    def __init__(
        self,
        tasks: Iterable[FakeTask],
        *,
        stop_delay: float = 0.5,
        start_delay: float = 0.5,
        log_delay: float = 0.3,
        latency: float = 0.02,
        whole_call_not_found: bool = False,
        refuse_running_start: bool = False,
        whole_call_running: bool = False,
    ) -> None:
        self.clock = FakeClock()
        self.tasks = {(t.instance_id, t.task_id): t for t in tasks}
        for t in self.tasks.values():
            t.status = 2 if "transitional" in t.faults else (1 if t.running else 0)
            t.logs.append(_log(t, f"{t.task_id}-old", BASE_MS - 3_600_000, 102, "NORMAL"))
        self.stop_delay, self.start_delay, self.log_delay = stop_delay, start_delay, log_delay
        self.latency = latency
        self.whole_call_not_found = whole_call_not_found
        self.refuse_running_start = refuse_running_start
        self.whole_call_running = whole_call_running
        self.batch_calls: list[BatchCall] = []
        self.resets: list[tuple[str, str, int | None]] = []
        self.stopped_by_us: set[tuple[str, str]] = set()
        self.violations: list[str] = []
        self.lists = 0
        self._lock = threading.RLock()

    # -- the simulation ------------------------------------------------------------------------

    def sleep(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def _tick(self) -> None:
        self.clock.advance(self.latency)
        now = self.clock.monotonic()
        for t in self.tasks.values():
            due = [c for c in t.changes if c[0] <= now]
            for change in due:
                t.status = change[1]
                t.changes.remove(change)

    def settle(self) -> None:
        """Let every change still on its way land (an hour later): what a task ends as once
        nobody watches it any more."""
        with self._lock:
            self.clock.advance(3600)
            self._tick()

    def status(self, key: tuple[str, str]) -> int:
        with self._lock:
            self._tick()
            return self.tasks[key].status

    def _visible(self, instance_id: str) -> list[FakeTask]:
        return [t for t in self.tasks.values() if t.instance_id == instance_id and not t.deleted]

    # -- Services ----------------------------------------------------------------------------------

    def list_tasks(self, instance_id: str, *, combined_only: bool = True) -> list[Task]:
        assert combined_only is False  # the look must see non-combined tasks to say so
        with self._lock:
            self._tick()
            self.lists += 1
            found = [
                Task(
                    task_id=t.task_id,
                    task_name=f"name-{t.task_id}",
                    instance_id=instance_id,
                    status=t.status,
                    ext_type=None if "not_combined" in t.faults else "CDC",
                )
                for t in self._visible(instance_id)
            ]
            if self.lists == 1:
                for t in self.tasks.values():
                    if "deleted_after_look" in t.faults:
                        t.deleted = True
            return found

    def _batch(
        self, action: Literal["stop", "start"], instance_id: str, task_ids: Sequence[str]
    ) -> list[StepResult]:
        with self._lock:
            self._tick()
            call = BatchCall(instance_id, action, tuple(task_ids))
            assert len(task_ids) <= MAX_BATCH
            self.batch_calls.append(call)
            now = self.clock.monotonic()
            tasks = [self.tasks.get((instance_id, tid)) for tid in task_ids]
            live = [t for t in tasks if t is not None and not t.deleted]
            if self.whole_call_not_found and len(live) < len(tasks):
                raise ApiError(
                    "The task does not exist.",
                    status_code=400,
                    error_code="FDI.3021",
                    error_msg="Task does not exist.",
                )
            if action == "stop" and any("stop_throttled_out" in t.faults for t in live):
                raise ThrottledError(
                    "Throttled.",
                    status_code=429,
                    error_code="APIGW.0308",
                    error_msg="The request is throttled.",
                    attempts=4,
                )
            if action == "start":
                for waiting in live:
                    if waiting.stop_waits:  # the late stop lands just after the start call
                        waiting.stop_waits = False
                        waiting.changes.append((now + self.stop_delay, 0))
            if action == "start" and self.whole_call_running and any(t.status == 1 for t in live):
                # The other reading of FDI.3023: one running task refuses the whole call.
                raise ApiError(
                    "One or more tasks are running.",
                    status_code=400,
                    error_code="FDI.3023",
                    error_msg="One or more tasks are running.",
                )
            if action == "start" and any("start_error" in t.faults for t in live):
                raise ServerError(
                    "Server error.",
                    status_code=500,
                    error_code="FDI.9999",
                    error_msg="Network error.",
                )
            success: list[str] = []
            failure: list[dict[str, str]] = []
            lost = False
            for tid, t in zip(task_ids, tasks, strict=True):
                if t is None or t.deleted:
                    failure.append(
                        {
                            "task_id": tid,
                            "error_code": "FDI.3021",
                            "error_msg": "Task does not exist.",
                        }
                    )
                elif action == "stop":
                    if "stop_refused" in t.faults:
                        failure.append(
                            {
                                "task_id": tid,
                                "task_name": f"name-{tid}",
                                "error_code": "FDI.3019",
                                "error_msg": "Stop failed.",
                            }
                        )
                        continue
                    success.append(tid)
                    if t.status == 1:
                        self.stopped_by_us.add((instance_id, tid))
                        if "stop_stuck" in t.faults:
                            pass
                        elif "stop_late" in t.faults:
                            t.stop_waits = True
                        else:
                            delay = SLOW_STOP if "stop_slow" in t.faults else self.stop_delay
                            t.changes.append((now + delay, 0))
                    lost = lost or "stop_lost" in t.faults
                else:
                    if "start_refused" in t.faults:
                        failure.append(
                            {"task_id": tid, "error_code": "FDI.3026", "error_msg": "Start failed."}
                        )
                        continue
                    if self.refuse_running_start and t.status == 1:
                        failure.append(
                            {
                                "task_id": tid,
                                "error_code": "FDI.3023",
                                "error_msg": "One or more tasks are running.",
                            }
                        )
                        continue
                    success.append(tid)
                    if "start_stuck" not in t.faults and t.status != 1:
                        t.changes.append((now + self.start_delay, 1))
                        self._add_execution(t, now + self.start_delay + self.log_delay)
            if lost:
                raise OutcomeUnknown("Stopping: no answer came back.", attempts=1)
            body = {
                "success_count": len(success),
                "failure_count": len(failure),
                "success": success,
                "failure": failure,
            }
            attempts = 3 if any("throttled" in t.faults for t in live) else 1
            return read_batch_answer(
                call,
                body,
                status_code=200,
                request_id="req-1",
                attempts=attempts,
                at=utc_from_ms(self.clock.epoch_ms()),
            )

    def _add_execution(self, t: FakeTask, at: float) -> None:
        if "verify_silent" in t.faults:
            return
        ms = BASE_MS + round(at * 1000)
        if "verify_103" in t.faults:
            t.logs.append(_log(t, f"{t.task_id}-{len(t.logs)}", ms, 103, "RUNTIME_ERR", "ERROR"))
        else:
            t.logs.append(_log(t, f"{t.task_id}-{len(t.logs)}", ms, 102, "NORMAL"))

    def stop_tasks(self, instance_id: str, task_ids: Sequence[str]) -> list[StepResult]:
        return self._batch("stop", instance_id, task_ids)

    def start_tasks(self, instance_id: str, task_ids: Sequence[str]) -> list[StepResult]:
        return self._batch("start", instance_id, task_ids)

    def reset_many(
        self,
        targets: Iterable[tuple[str, str]],
        date_from: object = None,
        *,
        concurrency: int = 8,
        stop: StopSignal | None = None,
        deadline: float | None = None,
        progress: ResetProgress | None = None,
    ) -> list[ResetResult]:
        assert date_from is None or isinstance(date_from, int)
        results = []
        targets = list(targets)
        for instance_id, task_id in targets:
            with self._lock:
                self._tick()
                results.append(self._reset_one(instance_id, task_id, date_from, stop))
            if progress is not None:
                progress(len(results), len(targets), results[-1])
        return results

    def _reset_one(
        self, instance_id: str, task_id: str, date_from: int | None, stop: StopSignal | None
    ) -> ResetResult:
        t = self.tasks[(instance_id, task_id)]

        def result(
            outcome: Outcome,
            message: str,
            status_code: int | None = None,
            error_code: str | None = None,
        ) -> ResetResult:
            return ResetResult(
                instance_id=instance_id,
                task_id=task_id,
                date_from=date_from,
                outcome=outcome,
                message=message,
                attempts=0 if outcome == "skipped" else 1,
                status_code=status_code,
                error_code=error_code,
            )

        if stop is not None and stop.is_set():
            return result("skipped", "Stopped before this reset was sent.")
        if t.status != 0:
            self.violations.append(f"reset of {task_id} in status {t.status}")
            return result(
                "failed", "One or more tasks are running.", status_code=400, error_code="FDI.3023"
            )
        if "reset_failed" in t.faults:
            return result(
                "failed",
                "Resetting failed: FDI.9999 network error.",
                status_code=500,
                error_code="FDI.9999",
            )
        self.resets.append((instance_id, task_id, date_from))
        if "reset_unknown" in t.faults:
            return result("unknown", "Resetting: the request was sent but no answer came back.")
        return result("success", "Reset Success", status_code=200)

    def task_monitors(self, instance_id: str) -> list[TaskMonitor]:
        with self._lock:
            self._tick()
            return [
                TaskMonitor(
                    task_id=t.task_id,
                    instance_id=instance_id,
                    status=t.status,
                    execute_status="RUNNING" if t.status == 1 else "CANCELLED",
                )
                for t in self._visible(instance_id)
            ]

    def monitor_logs(
        self, instance_id: str, task_id: str, *, begin_time: object = None
    ) -> list[MonitorLog]:
        with self._lock:
            self._tick()
            now_ms = self.clock.epoch_ms()
            t = self.tasks[(instance_id, task_id)]
            begin = begin_time if isinstance(begin_time, int) else 0
            return [log for log in t.logs if begin <= (log.start_time or 0) <= now_ms]


def _log(
    t: FakeTask,
    log_id: str,
    start: int,
    status: int,
    position_status: str,
    execute_status: str = "RUNNING",
) -> MonitorLog:
    return MonitorLog(
        id=log_id,
        task_id=t.task_id,
        start_time=start,
        status=status,
        position="READER",
        position_status=position_status,
        execute_status=execute_status,
    )


class MemoryRecorder:
    """A ``StepRecorder`` in a list: completing a row keeps its place, as the history does."""

    def __init__(self, fail_steps: Iterable[str] = ()) -> None:
        self.rows: list[RewindStep] = []
        self.fail_steps = frozenset(fail_steps)

    def _check(self, row: RewindStep) -> None:
        if row.step in self.fail_steps:
            raise OSError("disk full")

    def begin_step(self, row: RewindStep) -> int:
        assert row.outcome == "pending"
        self._check(row)
        self.rows.append(row)
        return len(self.rows) - 1

    def complete_step(self, row_id: int, row: RewindStep) -> None:
        assert self.rows[row_id].outcome == "pending"
        assert (self.rows[row_id].step, self.rows[row_id].task_id) == (row.step, row.task_id)
        self.rows[row_id] = row

    def append_step(self, row: RewindStep) -> int:
        assert row.outcome != "pending"
        self._check(row)
        self.rows.append(row)
        return len(self.rows) - 1


def make_world(
    specs: Sequence[tuple[bool, Iterable[str]]],
    instances: int = 1,
    *,
    whole_call_not_found: bool = False,
    refuse_running_start: bool = False,
    whole_call_running: bool = False,
) -> tuple[World, list[TaskRef]]:
    """Tasks ``t0``, ``t1``, … spread over ``instances``; each spec is (running, faults)."""
    tasks = [
        FakeTask(f"inst-{i % instances}", f"t{i}", running, frozenset(faults))
        for i, (running, faults) in enumerate(specs)
    ]
    world = World(
        tasks,
        whole_call_not_found=whole_call_not_found,
        refuse_running_start=refuse_running_start,
        whole_call_running=whole_call_running,
    )
    return world, [TaskRef(t.instance_id, t.task_id) for t in tasks]
