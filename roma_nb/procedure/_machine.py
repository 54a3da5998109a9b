"""The rewind as a sans-IO step machine: look, stop, wait, reset, start, wait, verify.

The machine runs in phases across all its tasks, so the batch calls are shared and the wall time
is one round of each, not one per task: one look (the task list of each instance), one round of
stop calls (≤ 10 tasks each), one wait until the stopped tasks report stopped, one reset batch,
one round of start calls, one wait until they report running, one verification watch. It is a
generator: it yields the effects of ``_effects`` and receives their results, so the blocking and
the asyncio clients drive the same decisions (``_drive``), and tests drive it with a script.

Safe points, which every path ends at: a stop that is refused → not reset, nothing to undo; a
stop not confirmed in time → not reset, started again, and watched (below); a reset that
failed, is unknown or was skipped → started again if the rewind stopped it; a start that fails
→ ``left-stopped``. The deadline and the stop signal skip what was not done, but never the
starts that put back what the rewind stopped, nor waiting for those to report running, nor the
watch. Each step is written ahead to the history (``pending``, completed once confirmed).

The watch: a stop the service accepted but that did not report stopped within
``stop_timeout`` may still land after the task was started again, and leave it stopped with
nobody looking. Its start either finds the task running (refused with ``FDI.3023``, as the
sandbox does, or accepted as a no-op) or not; either way the task is then watched for another
``stop_timeout``. If the late stop lands, the task is started once more (a second start row in
the history) and waited for as any start; if it stays running, the stop is taken as not having
taken effect: running, not reset. The first start row stays ``pending`` during the watch, so a
crash then leaves the task listed by ``left_stopped``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from ..dates import validate_date_from
from ..models import (
    Outcome,
    ResetResult,
    RewindResult,
    StepName,
    StepResult,
    Task,
    TaskMonitor,
)
from ._answers import NOT_FOUND_CODES, RUNNING_CODE, batch_error_results, error_fields
from ._conclude import conclude
from ._effects import (
    Action,
    BatchCall,
    Effect,
    ListTasks,
    LogRequest,
    ReadMonitorLogs,
    ReadMonitors,
    Record,
    ResetTasks,
    SendBatch,
    Sleep,
    StepWrite,
    StopSignal,
    TaskRef,
    batch_calls,
)
from ._job import Job, LateStop, utc_from_ms
from ._plan import RewindOptions, describe_instant, plan_steps
from ._verify import judge

__all__ = ["SYSTEM_CLOCK", "Clock", "Procedure", "RewindTarget", "rewind_procedure"]

Procedure = Generator[Effect, Any, list[RewindResult]]
"""A rewind in progress: send it each effect's result, it returns one result per target."""


class Clock(Protocol):
    """Where the machine reads time: ``monotonic()`` for timeouts and the deadline (seconds),
    ``epoch_ms()`` for what is compared with the service's timestamps."""

    def monotonic(self) -> float: ...

    def epoch_ms(self) -> int: ...


class _SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def epoch_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def __repr__(self) -> str:
        return "SYSTEM_CLOCK"


SYSTEM_CLOCK: Clock = _SystemClock()


class RewindTarget(Protocol):
    """A target as the client resolves it (its ``ResetTarget`` fits, and so does ``TaskRef``):
    ``problem`` says why it cannot be sent (a bad id), and then nothing is done to it."""

    @property
    def instance_id(self) -> str: ...
    @property
    def task_id(self) -> str: ...
    @property
    def task_name(self) -> str | None: ...
    @property
    def problem(self) -> str | None: ...


def rewind_procedure(
    targets: Iterable[RewindTarget],
    date_from: object = None,
    options: RewindOptions | None = None,
    *,
    rewind_id: str | None = None,
    clock: Clock = SYSTEM_CLOCK,
    stop: StopSignal | None = None,
) -> Procedure:
    """The rewind of ``targets`` to ``date_from`` as a generator of effects.

    ``date_from`` is validated here (``ValidationError`` before anything is yielded);
    ``rewind_id`` (default: a random hex id) ties the history rows together; ``stop`` is a user's
    stop signal, honoured like the deadline.
    """
    ms = validate_date_from(date_from)
    machine = _Machine(
        targets, ms, options or RewindOptions(), rewind_id or uuid.uuid4().hex, clock, stop
    )
    return machine.run()


class _Interrupt:
    """The deadline or the user's stop signal, as the ``StopSignal`` the reset batch honours."""

    def __init__(self, clock: Clock, deadline: float | None, stop: StopSignal | None) -> None:
        self._clock = clock
        self._deadline_at = None if deadline is None else clock.monotonic() + deadline
        self._stop = stop

    def is_set(self) -> bool:
        return self.reason is not None

    def time_left(self) -> float | None:
        """Seconds until the deadline (None: no deadline), never less than a millisecond."""
        if self._deadline_at is None:
            return None
        return max(self._deadline_at - self._clock.monotonic(), 0.001)

    @property
    def reason(self) -> str | None:
        if self._stop is not None and self._stop.is_set():
            return "a stop was asked"
        if self._deadline_at is not None and self._clock.monotonic() >= self._deadline_at:
            return "the deadline passed"
        return None


Decide = Callable[[Job, Task | None, float, int], bool]
"""A poll's judgement of one task: (job, its row in the task list or None, ms since the step's
calls, epoch ms now) → settled?"""


class _Machine:
    def __init__(
        self,
        targets: Iterable[RewindTarget],
        date_from: int | None,
        options: RewindOptions,
        rewind_id: str,
        clock: Clock,
        stop: StopSignal | None,
    ) -> None:
        self.date_from = date_from
        self.options = options
        self.rewind_id = rewind_id
        self.clock = clock
        self.interrupt = _Interrupt(clock, options.deadline, stop)
        self.when = describe_instant(date_from)
        self.history_error: BaseException | None = None
        self.stop_began = 0.0  # when the round of stop calls began (monotonic)
        self.jobs = [
            Job(i, t.instance_id, t.task_id, t.task_name, problem=t.problem)
            for i, t in enumerate(targets)
        ]

    # -- the procedure ------------------------------------------------------------------------

    def run(self) -> Procedure:
        yield from self._look()
        if self.options.dry_run:
            yield from self._dry_run()
        else:
            yield from self._stop()
            yield from self._reset()
            yield from self._start()
            yield from self._verify()
        note = None
        if self.history_error is not None:
            note = f"(The history could not be written: {self.history_error}.)"
        return [
            conclude(
                job,
                restart=self.options.restart,
                verify=self.options.verify,
                dry_run=self.options.dry_run,
                date_from=self.date_from,
                rewind_id=self.rewind_id,
                note=note,
            )
            for job in self.jobs
        ]

    def _look(self) -> Generator[Effect, Any, None]:
        at, started = self._now(), self.clock.monotonic()
        for job in self.jobs:
            if job.problem is not None:
                job.look = replace(
                    job.step("look", "failed", f"{job.problem}; nothing was done.", at=at),
                    error_code="VALIDATION",
                )
        wanted = [job for job in self.jobs if job.problem is None]
        lists: dict[str, Any] = {}
        if wanted:
            lists = _index((yield ListTasks(_instances(wanted))))
        elapsed, seen_ms = self._ms_since(started), self.clock.epoch_ms()
        for job in wanted:
            job.look = replace(_look_at(job, lists.get(job.instance_id), at), elapsed_ms=elapsed)
            if job.looked and not job.was_running:
                job.since_ms = seen_ms
        yield from self._append([job.look for job in self.jobs if job.look is not None])

    def _dry_run(self) -> Generator[Effect, Any, None]:
        at = self._now()
        rows = []
        for job in (j for j in self.jobs if j.looked):
            assert job.was_running is not None
            for step in plan_steps(job.was_running, self.options.restart, self.options.verify):
                if step == "reset":
                    job.reset = self._reset_result(job, "dry-run", "Dry run: not sent.", at)
                    rows.append(job.row(self.rewind_id, job.reset, date_from=self.date_from))
                    continue
                result = job.step(step, "dry-run", "Dry run: not sent.", at=at)
                setattr(job, "verification" if step == "verify" else step, result)
                rows.append(job.row(self.rewind_id, result, date_from=self.date_from))
        yield from self._write([StepWrite(None, replace(row, dry_run=True)) for row in rows])

    def _stop(self) -> Generator[Effect, Any, None]:
        running = [job for job in self.jobs if job.looked and job.was_running]
        if not running:
            return
        at = self._now()
        reason = self.interrupt.reason
        if reason is not None:
            for job in running:
                job.stop = job.step(
                    "stop", "skipped", f"Skipped: {reason} before it was stopped.", at=at
                )
            yield from self._append([job.stop for job in running if job.stop is not None])
            return
        if not (yield from self._begin(running, "stop", at)):
            for job in running:
                job.stop = self._not_written(job, "stop", at)
            return
        results, started = yield from self._round("stop", running)
        self.stop_began = started
        waiting: list[Job] = []
        for job in running:
            job.stop = results[job.key]
            job.stop_accepted = job.stop.outcome == "success"
            if job.stop.outcome != "failed":
                job.stop_sent = True
                waiting.append(job)
        left = yield from self._poll(waiting, _stopped, self.options.stop_timeout, started, True)
        if left and self.interrupt.reason is not None:
            # The deadline (or a stop asked) cut the wait short, but a stop the service accepted
            # may still take effect, and it would undo a start sent before it lands: the task
            # would end stopped although "started again". So wait for it as long as without a
            # deadline; the start that follows then comes after it, as for any stopped task.
            rest = max(started + self.options.stop_timeout - self.clock.monotonic(), 0.0)
            left = yield from self._poll(left, _stopped, rest, started, False)
        why = (
            f"{self.interrupt.reason}, and it did not report stopped within "
            f"{self.options.stop_timeout:g} s"
            if self.interrupt.reason is not None
            else f"it did not report stopped within {self.options.stop_timeout:g} s"
        )
        for job in left:
            assert job.stop is not None
            job.stop = replace(
                job.stop,
                outcome="unknown",
                message=f"Asked to stop, but {why}.",
                elapsed_ms=self._ms_since(started),
            )
        yield from self._complete(running, "stop")
        reason = self.interrupt.reason
        if left and reason is not None:
            # Cut short by the deadline: the reset is what was not done.
            for job in left:
                job.reset = self._reset_result(
                    job, "skipped", f"Skipped: {reason} before it reported stopped.", self._now()
                )
            yield from self._append([job.reset for job in left if job.reset is not None])

    def _reset(self) -> Generator[Effect, Any, None]:
        ready = [job for job in self.jobs if job.looked and _may_reset(job)]
        if not ready:
            return
        at = self._now()
        reason = self.interrupt.reason
        if reason is not None:
            for job in ready:
                job.reset = self._reset_result(
                    job, "skipped", f"Skipped: {reason} before this reset was sent.", at
                )
            yield from self._append([job.reset for job in ready if job.reset is not None])
            return
        if not (yield from self._begin(ready, "reset", at)):
            for job in ready:
                message = self._not_written(job, "reset", at).message or ""
                job.reset = self._reset_result(job, "failed", message, at)
            return
        targets = tuple(TaskRef(job.instance_id, job.task_id, job.task_name) for job in ready)
        results: Sequence[ResetResult] = yield ResetTasks(
            targets,
            self.date_from,
            self.options.concurrency,
            self.interrupt,
            self.interrupt.time_left(),
        )
        for index, job in enumerate(ready):
            if index < len(results):
                result = results[index]
                job.reset = replace(result, task_name=result.task_name or job.task_name)
            else:
                job.reset = self._reset_result(
                    job, "unknown", "No result came back for this reset.", at
                )
        yield from self._complete(ready, "reset")

    def _start(self) -> Generator[Effect, Any, None]:
        chosen = [job for job in self.jobs if job.looked and self._wants_start(job)]
        if not chosen:
            return
        for job in chosen:
            job.restoring = job.stop_sent  # putting back what the rewind stopped
        at = self._now()
        reason = self.interrupt.reason
        skipped = [job for job in chosen if not job.restoring] if reason is not None else []
        for job in skipped:
            job.start = job.step(
                "start", "skipped", f"Skipped: {reason} before it was started.", at=at
            )
        yield from self._append([job.start for job in skipped if job.start is not None])
        chosen = [job for job in chosen if job not in skipped]
        if not (yield from self._begin(chosen, "start", at)):
            # Putting back what the rewind stopped beats a missing history row; nothing else
            # is sent without one.
            for job in chosen:
                if not job.restoring:
                    job.start = self._not_written(job, "start", at)
            chosen = [job for job in chosen if job.restoring]
        if not chosen:
            return
        calls = yield from self._send_starts(chosen, first=True)
        watched = [job for job in chosen if _may_stop_late(job)]
        yield from self._complete([job for job in chosen if job not in watched], "start")
        if not watched:
            return
        landed = yield from self._watch(watched, calls)
        yield from self._complete(watched, "start")
        if not landed:
            return
        # The late stop landed: one more round of starts, written ahead as rows of its own.
        for job in landed:
            job.rows.pop("start", None)
        yield from self._begin(landed, "start", self._now())
        yield from self._send_starts(landed, first=False)
        yield from self._complete(landed, "start")

    def _send_starts(
        self, jobs: Sequence[Job], *, first: bool
    ) -> Generator[Effect, Any, dict[tuple[str, str], StepResult]]:
        """One round of starts, then the wait until they report running (``start_timeout``);
        returns what each start call answered. In the ``first`` round, a start refused because
        the task still runs after a stop not confirmed in time is not waited for: the watch
        that follows (``_watch``) decides it."""
        calls, started = yield from self._round("start", jobs)
        for job in jobs:
            job.start = calls[job.key]
        waiting = [job for job in jobs if not (first and _refused_as_running(job))]
        left = yield from self._poll(waiting, _running, self.options.start_timeout, started, False)
        for job in left:
            assert job.start is not None
            if job.start.outcome != "failed":
                job.start = replace(
                    job.start,
                    outcome="unknown",
                    message=(
                        "The start was sent, but the task did not report running within "
                        f"{self.options.start_timeout:g} s."
                    ),
                    elapsed_ms=self._ms_since(started),
                )
        return calls

    def _watch(
        self, jobs: Sequence[Job], calls: Mapping[tuple[str, str], StepResult]
    ) -> Generator[Effect, Any, list[Job]]:
        """Watch tasks whose stop was not confirmed in time for another ``stop_timeout`` after
        their start (``calls``: what each start call answered); return those whose stop landed
        meanwhile (``job.start`` then says it is not running). The others are running
        (``success``) or, not seen running, ``unknown``. Not cut by the deadline: what it
        guards was stopped by the rewind."""
        landed: list[Job] = []
        gone: list[Job] = []

        def decide(job: Job, task: Task | None, elapsed_ms: float, now_ms: int) -> bool:
            after = self.clock.monotonic() - self.stop_began
            if task is None:
                gone.append(job)
                return _running(job, task, elapsed_ms, now_ms)  # disappeared: failed
            ran = calls[job.key].error_code == RUNNING_CODE
            if task.status == 0:
                job.late = LateStop(True, after, now_ms, ran_at_start=ran)
                landed.append(job)
                return True
            job.late = (
                LateStop(False, after, now_ms, ran_at_start=ran) if task.status == 1 else None
            )
            return False

        began = self.clock.monotonic()
        yield from self._poll(jobs, decide, self.options.stop_timeout, began, False)
        for job in jobs:
            assert job.start is not None
            if job not in gone:
                outcome, message = _watched(job.late, calls[job.key], self.options.stop_timeout)
                job.start = replace(
                    job.start, outcome=outcome, message=message, elapsed_ms=self._ms_since(began)
                )
        return landed

    def _verify(self) -> Generator[Effect, Any, None]:
        if not self.options.verify:
            return
        todo = [job for job in self.jobs if _running_again(job)]
        if not todo:
            return
        at, started = self._now(), self.clock.monotonic()
        deadline = started + self.options.verify_timeout
        seen = {job.key: "no execution since the restart yet" for job in todo}
        pending, polled = todo, started
        while pending and not self.interrupt.is_set():
            now = self.clock.monotonic()
            if now >= deadline:
                break
            yield Sleep(min(self._pause(started, polled, now), deadline - now))
            polled = self.clock.monotonic()
            monitors = _index((yield ReadMonitors(_instances(pending))))
            requests = tuple(
                LogRequest(job.instance_id, job.task_id, self._since(job)) for job in pending
            )
            logs: Sequence[Any] = yield ReadMonitorLogs(requests)
            pending = self._judge(pending, monitors, logs, seen, at, started)
        why = self.interrupt.reason or (
            f"nothing decisive within {self.options.verify_timeout:g} s"
        )
        outcome: Outcome = "skipped" if self.interrupt.is_set() else "unknown"
        for job in pending:
            job.verification = replace(
                job.step("verify", outcome, f"Not verified: {why}; {seen[job.key]}.", at=at),
                elapsed_ms=self._ms_since(started),
            )
        yield from self._append([job.verification for job in todo if job.verification])

    def _judge(
        self,
        jobs: list[Job],
        monitors: dict[str, Any],
        logs: Sequence[Any],
        seen: dict[tuple[str, str], str],
        at: datetime,
        started: float,
    ) -> list[Job]:
        """Settle each job whose monitor data since its restart is decisive; return the rest
        (``seen`` keeps what was last seen of them, for the message if time runs out)."""
        still: list[Job] = []
        for index, job in enumerate(jobs):
            got = logs[index] if index < len(logs) else None
            if not isinstance(got, list):
                seen[job.key] = f"its monitor logs could not be read ({got})"
                still.append(job)
                continue
            by_id = monitors.get(job.instance_id)
            monitor = by_id.get(job.task_id) if isinstance(by_id, dict) else None
            verdict = judge(got, self._since(job), monitor, self.when)
            if verdict.state == "waiting":
                seen[job.key] = verdict.reason
                still.append(job)
                continue
            failed = verdict.state == "failed"
            job.verification = replace(
                job.step("verify", "failed" if failed else "success", verdict.reason, at=at),
                error_code=str(verdict.code) if failed and verdict.code is not None else None,
                monitor_log=verdict.log,
                elapsed_ms=self._ms_since(started),
            )
        return still

    # -- the pieces -----------------------------------------------------------------------------

    def _wants_start(self, job: Job) -> bool:
        """Start it if the rewind may have stopped it (putting it back), or if the reset
        succeeded and ``restart`` asks for it; never with ``restart="never"``."""
        if self.options.restart == "never":
            return False
        if job.stop_sent:
            return True
        return (
            job.reset is not None
            and job.reset.outcome == "success"
            and job.was_running is not None
            and "start" in plan_steps(job.was_running, self.options.restart, self.options.verify)
        )

    def _round(
        self, action: Action, jobs: Sequence[Job]
    ) -> Generator[Effect, Any, tuple[dict[tuple[str, str], StepResult], float]]:
        """One round of batch calls for ``jobs``; per task its result, and when it began.

        One task can make the service refuse a whole call: a missing one (``FDI.3021``) and,
        in one reading of the service, one that still runs (``FDI.3023`` "One or more tasks are
        running", after a stop not confirmed in time). When every task of a call came back
        with the same such code, each is asked again alone, so that one task does not fail the
        nine beside it (and leave them stopped).
        """
        started = self.clock.monotonic()
        ids: dict[str, list[str]] = {}
        for job in jobs:
            ids.setdefault(job.instance_id, []).append(job.task_id)
        calls = tuple(c for iid, tids in ids.items() for c in batch_calls(action, iid, tids))
        results = yield from self._send(action, calls)
        again = tuple(
            BatchCall(call.instance_id, action, (task_id,))
            for call in calls
            if len(call.task_ids) > 1 and _refused_for_one(call, results)
            for task_id in call.task_ids
        )
        if again:
            results.update((yield from self._send(action, again)))
        names = {job.key: job.task_name for job in jobs}
        return (
            {
                key: replace(result, task_name=result.task_name or names.get(key))
                for key, result in results.items()
            },
            started,
        )

    def _send(
        self, action: Action, calls: tuple[BatchCall, ...]
    ) -> Generator[Effect, Any, dict[tuple[str, str], StepResult]]:
        at, started = self._now(), self.clock.monotonic()
        answers: Sequence[Any] = yield SendBatch(action, calls)
        elapsed = self._ms_since(started)
        results: dict[tuple[str, str], StepResult] = {}
        for index, call in enumerate(calls):
            answer = answers[index] if index < len(answers) else None
            if isinstance(answer, BaseException):
                got = batch_error_results(call, answer, elapsed_ms=elapsed, at=at)
            else:
                got = [r for r in answer or () if isinstance(r, StepResult)]
            by_id = {r.task_id: r for r in got}
            for task_id in call.task_ids:
                results[(call.instance_id, task_id)] = by_id.get(task_id) or StepResult(
                    step=action,
                    instance_id=call.instance_id,
                    task_id=task_id,
                    outcome="unknown",
                    message="No result came back for this task.",
                    elapsed_ms=elapsed,
                    at=at,
                )
        return results

    def _poll(
        self,
        jobs: Sequence[Job],
        decide: Decide,
        timeout: float,
        started: float,
        interruptible: bool,
    ) -> Generator[Effect, Any, list[Job]]:
        """Read the task lists, with growing pauses (``_pause``), until ``decide`` settles every
        job or ``timeout`` (or, if ``interruptible``, the deadline) passes; return the unsettled."""
        pending = list(jobs)
        limit, polled = self.clock.monotonic() + timeout, started
        while pending:
            now = self.clock.monotonic()
            if now >= limit or (interruptible and self.interrupt.is_set()):
                break
            yield Sleep(min(self._pause(started, polled, now), limit - now))
            polled = self.clock.monotonic()
            lists = _index((yield ListTasks(_instances(pending))))
            elapsed, now_ms = self._ms_since(started), self.clock.epoch_ms()
            still: list[Job] = []
            for job in pending:
                tasks = lists.get(job.instance_id)
                if not isinstance(tasks, dict):
                    still.append(job)  # the list could not be read this time: ask again
                elif not decide(job, tasks.get(job.task_id), elapsed, now_ms):
                    still.append(job)
            pending = still
        return pending

    def _pause(self, started: float, polled: float, now: float) -> float:
        """The pause before the next poll of a wait that began at ``started`` and last polled at
        ``polled`` (``started`` before the first poll).

        Polls are spaced by a share (``poll_backoff - 1``) of the time waited so far, so a
        poll sees a task settle at most that share of the wait late; at least ``poll_interval``
        and at most ``max_poll_interval`` apart. The spacing runs from one poll's sending to the
        next, so a slow answer does not add its round trip to the spacing. (Pauses that grew by
        a factor from a fixed first pause saw a half-second stop up to 0.3 s late.)
        """
        options = self.options
        share = (options.poll_backoff - 1) * (polled - started)
        spacing = min(max(options.poll_interval, share), options.max_poll_interval)
        return max(0.0, polled + spacing - now)

    # -- history --------------------------------------------------------------------------------

    def _write(self, writes: list[StepWrite]) -> Generator[Effect, Any, list[int | None] | None]:
        """Write rows; None (and the error kept for the messages) when the history failed."""
        if not writes:
            return []
        result = yield Record(tuple(writes))
        if isinstance(result, BaseException):
            self.history_error = result
            return None
        return list(result) if isinstance(result, list) else [None] * len(writes)

    def _append(self, results: Sequence[StepResult | ResetResult]) -> Generator[Effect, Any, None]:
        by_key = {job.key: job for job in self.jobs}
        rows = [
            by_key[(r.instance_id, r.task_id)].row(self.rewind_id, r, date_from=self.date_from)
            for r in results
        ]
        yield from self._write([StepWrite(None, row) for row in rows])

    def _begin(
        self, jobs: Sequence[Job], step: StepName, at: datetime
    ) -> Generator[Effect, Any, bool]:
        rows = [
            job.pending_row(self.rewind_id, step, date_from=self.date_from, at=at) for job in jobs
        ]
        ids = yield from self._write([StepWrite(None, row) for row in rows])
        if ids is None:
            return False
        for job, row_id in zip(jobs, ids, strict=False):
            job.rows[step] = row_id
        return True

    def _complete(self, jobs: Sequence[Job], step: StepName) -> Generator[Effect, Any, None]:
        writes = []
        for job in jobs:
            result = job.reset if step == "reset" else getattr(job, step)
            if result is not None:
                row = job.row(self.rewind_id, result, date_from=self.date_from)
                writes.append(StepWrite(job.rows.get(step), row))
        yield from self._write(writes)

    def _not_written(self, job: Job, step: StepName, at: datetime) -> StepResult:
        return job.step(
            step,
            "failed",
            f"Not sent: the history could not be written ahead ({self.history_error}).",
            at=at,
        )

    # -- small helpers ----------------------------------------------------------------------

    def _now(self) -> datetime:
        return utc_from_ms(self.clock.epoch_ms())

    def _ms_since(self, started: float) -> float:
        return max(0.0, (self.clock.monotonic() - started) * 1000)

    def _since(self, job: Job) -> int:
        assert job.since_ms is not None  # set when it was seen stopped, before any reset
        return job.since_ms

    def _reset_result(self, job: Job, outcome: Outcome, message: str, at: datetime) -> ResetResult:
        return ResetResult(
            instance_id=job.instance_id,
            task_id=job.task_id,
            task_name=job.task_name,
            outcome=outcome,
            date_from=self.date_from,
            message=message,
            at=at,
        )


def _instances(jobs: Iterable[Job]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(job.instance_id for job in jobs))


def _index(found: Mapping[str, Any]) -> dict[str, Any]:
    """Per instance, its listed records by task id (one lookup per task, not one scan), or the
    error that stood in for the list."""
    return {
        instance_id: (
            {r.task_id: r for r in records if isinstance(r, (Task, TaskMonitor))}
            if isinstance(records, list)
            else records
        )
        for instance_id, records in found.items()
    }


def _look_at(job: Job, listing: object, at: datetime) -> StepResult:
    """What the look found of one task: running or stopped (success), or why nothing is done.
    ``listing``: its instance's tasks by id, or the error that stood in for them."""
    if isinstance(listing, BaseException):
        fields = error_fields(listing)
        message = f"Could not read the tasks of instance {job.instance_id}: {fields.pop('message')}"
        return replace(job.step("look", "failed", f"{message} Nothing was done.", at=at), **fields)
    task = listing.get(job.task_id) if isinstance(listing, dict) else None
    if task is None:
        return job.step(
            "look",
            "failed",
            f"Task {job.task_id} is not in instance {job.instance_id} (deleted, or another "
            "instance?); nothing was done.",
            at=at,
        )
    job.adopt(task)
    if not task.is_combined:
        return job.step(
            "look",
            "failed",
            f"Task {job.task_id} is not a combined (CDC) task; a rewind resets combined tasks "
            "only, so nothing was done.",
            at=at,
        )
    if task.status not in (0, 1):
        return job.step(
            "look",
            "failed",
            f"Task {job.task_id} is neither running nor stopped ({task.status_text}, status "
            f"{task.status!r}); nothing was done — try again once it has settled.",
            at=at,
        )
    job.was_running = task.status == 1
    return job.step("look", "success", "Running." if job.was_running else "Stopped.", at=at)


def _may_reset(job: Job) -> bool:
    """Reset only a task confirmed stopped: stopped at the look, or stopped by this rewind."""
    if job.was_running is False:
        return True
    return job.stop is not None and job.stop.outcome == "success"


def _running_again(job: Job) -> bool:
    return (
        job.start is not None
        and job.start.outcome == "success"
        and job.reset is not None
        and job.reset.outcome == "success"
    )


def _stopped(job: Job, task: Task | None, elapsed_ms: float, now_ms: int) -> bool:
    assert job.stop is not None
    if task is None:
        job.stop = replace(
            job.stop,
            outcome="failed",
            message=f"Task {job.task_id} disappeared from its instance while stopping (deleted?).",
            elapsed_ms=elapsed_ms,
        )
        job.stop_sent = False  # nothing left to start again
        return True
    if task.status != 0:
        return False
    lost = " (the answer to the stop was lost, but it reports stopped)"
    message = "Stopped" + (lost if job.stop.outcome == "unknown" else "") + "."
    job.stop = replace(job.stop, outcome="success", message=message, elapsed_ms=elapsed_ms)
    job.since_ms = now_ms
    return True


def _refused_for_one(call: BatchCall, results: Mapping[tuple[str, str], StepResult]) -> bool:
    """Every task of ``call`` failed with a code that one task can cause for the whole call:
    each "not found", or each "running" (``FDI.3023``)."""
    answers = [results[(call.instance_id, task_id)] for task_id in call.task_ids]
    if any(answer.outcome != "failed" for answer in answers):
        return False
    codes = {answer.error_code for answer in answers}
    return codes <= NOT_FOUND_CODES or codes == {RUNNING_CODE}


def _refused_as_running(job: Job) -> bool:
    """A start refused because the task still runs (``FDI.3023``), after a stop that was not
    confirmed in time: not a failure, the late stop may land yet (``_watch``)."""
    return (
        job.stop is not None
        and job.stop.outcome == "unknown"
        and job.start is not None
        and job.start.outcome == "failed"
        and job.start.error_code == RUNNING_CODE
    )


def _may_stop_late(job: Job) -> bool:
    """A task whose stop was not confirmed in time and whose start did not plainly fail: a late
    stop may still leave it stopped, so it is watched (``_watch``)."""
    if job.stop is None or job.stop.outcome != "unknown" or job.start is None:
        return False
    return job.start.outcome != "failed" or _refused_as_running(job)


def _watched(late: LateStop | None, call: StepResult, timeout: float) -> tuple[Outcome, str]:
    """The start's outcome and message once the watch is over: running (``success``), stopped
    by the late stop (``failed``: it is started again), or never seen running (``unknown``)."""
    said = ""
    if call.outcome != "success":
        said = f" (the start call said: {(call.message or '').rstrip('.')})"
    if late is None:
        return "unknown", (
            f"Not seen running{said} when the watch ended, {timeout:g} s after the start; its "
            "stop was not confirmed."
        )
    if late.landed:
        return "failed", (
            f"Not running{said}: it reported stopped {late.after} s after its stop was sent; it "
            "is started again."
        )
    return "success", f"Running{said}: still running {late.after} s after its stop was sent."


def _running(job: Job, task: Task | None, elapsed_ms: float, now_ms: int) -> bool:
    assert job.start is not None
    if task is None:
        job.start = replace(
            job.start,
            outcome="failed",
            message=f"Task {job.task_id} disappeared from its instance while starting (deleted?).",
            elapsed_ms=elapsed_ms,
        )
        return True
    if task.status == 1:
        said = (
            "" if job.start.outcome == "success" else f" (the start call said: {job.start.message})"
        )
        verb = "Running again" if job.restoring else "Running"
        job.start = replace(
            job.start, outcome="success", message=f"{verb}{said}.", elapsed_ms=elapsed_ms
        )
        return True
    return job.start.outcome == "failed"  # refused and not running: nothing to wait for
