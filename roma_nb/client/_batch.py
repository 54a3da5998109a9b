"""The batch types of ``reset_many``, and what happens to each target, without I/O.

A batch must never raise for one target's failure, must record every attempt before sending it,
and must slow down as a whole when the gateway throttles (``_throttle``). ``Batch.flow`` is one
target's life as an engine flow (``_engine``): the pending row, the send, the completed row, the
result. The sync client runs these flows on a thread pool, the async client as asyncio tasks;
both then hand each result to ``Batch.deliver``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from functools import partial
from typing import Protocol, cast

from ..dates import DateFrom
from ..errors import ApiError, OutcomeUnknown, RecordingFailed, RomaError, ValidationError
from ..ids import check_id
from ..models import Outcome, ResetResult
from ._engine import Cutoff, Flow, Record, Skipped, StopSignal
from ._throttle import Throttle

__all__ = [
    "Batch",
    "BatchOutlook",
    "BatchWatch",
    "PlannedTarget",
    "Progress",
    "Recorder",
    "ResetTarget",
    "Target",
    "failed_result",
    "resolve_targets",
]

logger = logging.getLogger("roma_nb.client")


class PlannedTarget(Protocol):
    """Anything that names one task to reset: a ``Task``, a planned task of the panel, ..."""

    @property
    def instance_id(self) -> str | None: ...

    @property
    def task_id(self) -> str: ...

    @property
    def task_name(self) -> str | None: ...


Target = PlannedTarget | tuple[str, str]
"""A target of ``reset_many``: a planned target (``Task`` fits) or an ``(instance_id, task_id)``."""

Progress = Callable[[int, int, ResetResult], None]
"""``progress(done, total, result)``, called as each result arrives."""


@dataclass(frozen=True, slots=True)
class BatchOutlook:
    """Where a running batch stands, for the person waiting on it (CLI and panel progress).

    ``elapsed`` and ``time_left`` are seconds; ``time_left`` is the expected time until the
    last result (None: too early to tell), read from the pace the throttle allows once the
    gateway throttled the batch (``throttled``), else from the pace of the results so far, and
    never beyond the batch's deadline: ``deadline_left`` is the time until the deadline stops
    sending (None without one), and ``ends_at_deadline`` says the deadline comes first, so
    what is not sent by then will be ``skipped``.
    """

    done: int
    total: int
    elapsed: float
    throttled: bool
    time_left: float | None
    deadline_left: float | None = None
    ends_at_deadline: bool = False

    def describe(self, *, worth_saying: float = 5.0) -> str:
        """``throttled by the gateway, about 40 s left`` — what the CLI's progress lines and the
        panel's in-flight line add; ``""`` when there is nothing to say (an unthrottled batch
        expected to end within ``worth_saying`` seconds, too early to tell, past the deadline).
        """
        left = self.time_left
        if left is None or not (self.throttled or left >= worth_saying):
            return ""
        if self.deadline_left is not None and self.deadline_left <= 0:
            return ""  # past the deadline: the summary says what was not sent
        text = "throttled by the gateway, " if self.throttled else ""
        if self.ends_at_deadline:
            stops = f"the deadline stops it in {left:.0f} s"
            return f"{text}{stops}; what is not sent by then is skipped"
        text += f"about {left:.0f} s left"
        if self.deadline_left is not None:
            text += f" (the deadline stops it in {self.deadline_left:.0f} s)"
        return text


def _time_left(
    elapsed: float, done: int, total: int, throttle: Throttle
) -> tuple[float | None, bool]:
    """Expected seconds until the last result, and whether the gateway throttled the batch.

    The pace the throttle holds the batch to, once it has one; else the pace of the results
    so far, leaving out the time spent in pauses (a ``Retry-After`` of a minute is not the
    pace of the rest). The current pause is always still to come.
    """
    throttled = throttle.throttled > 0
    left = total - done
    if left <= 0:
        return 0.0, throttled
    paused, pause = throttle.pauses()
    if throttle.rate is not None:
        return pause + left / throttle.rate, throttled
    if done:
        return pause + max(elapsed - paused, 0.0) / done * left, throttled
    return (pause, throttled) if pause > 0 else (None, throttled)


class Recorder(Protocol):
    """Where a batch writes its attempts (``ResultLog`` fits): pending first, completed after."""

    def begin(
        self,
        instance_id: str,
        task_id: str,
        *,
        date_from: int | None,
        task_name: str | None = None,
        dry_run: bool = False,
    ) -> int: ...

    def complete(self, row_id: int, result: ResetResult) -> None: ...

    def append(self, result: ResetResult, *, dry_run: bool = False) -> int: ...

    def located(self, *, project_id: str | None, endpoint_label: str | None) -> Recorder:
        """This recorder, stamping rows with the project and endpoint unless it knows them."""
        ...


@dataclass(frozen=True, slots=True)
class ResetTarget:
    """One target of a batch, as given; ``problem`` says why it cannot be sent, if so."""

    instance_id: str
    task_id: str
    task_name: str | None = None
    problem: str | None = None


_NOT_A_TARGET = (
    "a target must be a Task (or anything with instance_id, task_id and task_name) "
    "or an (instance_id, task_id) pair"
)


def _as_text(value: object) -> str:
    return value if isinstance(value, str) else repr(value)


def resolve_targets(targets: Iterable[Target]) -> list[ResetTarget]:
    """Read planned targets and ``(instance_id, task_id)`` pairs, keeping input order.

    A bad target does not stop the batch: it becomes a ``ResetTarget`` with a ``problem`` and later
    a ``failed`` result, and nothing is sent for it.
    """
    resolved: list[ResetTarget] = []
    for target in targets:
        instance_id: object
        task_id: object
        name: str | None = None
        if hasattr(target, "task_id") and hasattr(target, "instance_id"):
            planned = cast(PlannedTarget, target)
            instance_id, task_id = planned.instance_id, planned.task_id
            name = getattr(planned, "task_name", None) or None
        elif isinstance(target, tuple) and len(target) == 2:
            instance_id, task_id = target
        else:
            resolved.append(ResetTarget("", _as_text(target)[:64], None, _NOT_A_TARGET))
            continue
        try:
            check_id("instance_id", instance_id)
            check_id("task_id", task_id)
        except ValidationError as exc:
            resolved.append(ResetTarget(_as_text(instance_id), _as_text(task_id), name, str(exc)))
            continue
        assert isinstance(instance_id, str) and isinstance(task_id, str)
        resolved.append(ResetTarget(instance_id, task_id, name))
    return resolved


def failed_result(
    target: ResetTarget,
    date_from: int | None,
    error: BaseException,
    *,
    at: datetime,
    elapsed_ms: float | None,
) -> ResetResult:
    """The ``ResetResult`` for an attempt that raised: failed, or unknown if it may have landed."""
    outcome: Outcome = "unknown" if isinstance(error, OutcomeUnknown) else "failed"
    api = error if isinstance(error, ApiError) else None
    error_code = "VALIDATION" if isinstance(error, ValidationError) else None
    if api is not None:
        message: str | None = api.message
        error_code = api.error_code
    elif isinstance(error, RomaError):
        message = str(error)
    else:
        message = f"Unexpected {type(error).__name__}: {error}"
    return ResetResult(
        instance_id=target.instance_id,
        task_id=target.task_id,
        task_name=target.task_name,
        outcome=outcome,
        date_from=date_from,
        status_code=api.status_code if api else None,
        message=message,
        error_code=error_code,
        error_msg=api.error_msg if api else None,
        request_id=api.request_id if api else None,
        elapsed_ms=elapsed_ms,
        attempts=error.attempts if isinstance(error, RomaError) else 1,
        at=at,
    )


ResetFlow = Callable[
    [str, str, DateFrom, Throttle, StopSignal | None, Cutoff | None], Flow[ResetResult]
]
"""The client's flow for one reset: ``(instance_id, task_id, date_from, throttle, stop,
cutoff)``."""


class _Halt:
    """The batch's stop signal: the caller's ``stop``, or the batch's deadline passing.

    The engine honours it before a target's first send (a target waiting for the throttle
    included), so at the deadline nothing more is sent and what is left becomes ``skipped``;
    the deadline's ``cutoff`` also stops a throttled reset from being sent again once its retry
    could only start after the deadline. A reset already in flight finishes within its own
    call's deadline, with its honest outcome.
    """

    def __init__(self, stop: StopSignal | None, seconds: float | None) -> None:
        self.stop = stop
        self.seconds = seconds
        self.cutoff = None if seconds is None else Cutoff(time.monotonic() + seconds, seconds)
        self.unrecordable: Exception | None = None  # the history write that failed, if any

    def expired(self) -> bool:
        return self.cutoff is not None and not self.cutoff.allows()

    def is_set(self) -> bool:
        stopped = self.stop is not None and self.stop.is_set()
        return stopped or self.unrecordable is not None or self.expired()


@dataclass
class Batch:
    """One ``reset_many`` call: its targets, their flows, and the results as they arrive.

    ``deadline`` (seconds, or None) is the batch's overall budget, counted from its creation:
    once it has passed, targets not yet sent are recorded as ``skipped``, saying so.
    """

    targets: list[ResetTarget]
    date_from: DateFrom
    reset: ResetFlow
    throttle: Throttle
    log: Recorder | None = None
    dry_run: bool = False
    progress: Progress | None = None
    stop: StopSignal | None = None
    deadline: float | None = None
    _results: list[ResetResult | None] = field(default_factory=list)
    _done: int = 0

    def __post_init__(self) -> None:
        if self.deadline is not None and not self.deadline > 0:
            raise ValidationError("deadline must be a positive number of seconds, or None.")
        self._results = [None] * len(self.targets)
        self._halt = _Halt(self.stop, self.deadline)
        self._pending: list[int] = []  # targets sent whose row could not be completed
        self._started = time.monotonic()
        if isinstance(self.progress, BatchWatch):
            self.progress.attach(self)

    def outlook(self) -> BatchOutlook:
        """Where the batch stands now (any thread may ask)."""
        elapsed = time.monotonic() - self._started
        total = len(self.targets)
        time_left, throttled = _time_left(elapsed, self._done, total, self.throttle)
        cutoff = self._halt.cutoff
        if cutoff is None:
            return BatchOutlook(self._done, total, elapsed, throttled, time_left)
        deadline_left = max(cutoff.at - time.monotonic(), 0.0)
        late = time_left is not None and time_left > deadline_left
        if late:
            time_left = deadline_left
        return BatchOutlook(
            self._done, total, elapsed, throttled, time_left, deadline_left, ends_at_deadline=late
        )

    @property
    def workers(self) -> int:
        """How many targets may be in progress at once."""
        return min(self.throttle.max_concurrency, len(self.targets))

    def flows(self) -> list[Flow[tuple[int, ResetResult]]]:
        """One flow per target, each returning its target's index and result."""
        return [self.flow(index, target) for index, target in enumerate(self.targets)]

    def flow(self, index: int, target: ResetTarget) -> Flow[tuple[int, ResetResult]]:
        """One target: the result without a send, or pending row, send, completed row."""
        at = datetime.now(timezone.utc)
        started = time.perf_counter()
        log, ms = self.log, self.date_from.ms
        result = self._without_send(target, at)
        if result is not None:
            if log is not None:
                yield from self._record(Record(partial(log.append, result, dry_run=self.dry_run)))
            return index, result
        row: int | None = None
        if log is not None:
            # The pending row: if the kernel dies during the send, the attempt is still seen.
            begin = partial(log.begin, target.instance_id, target.task_id, date_from=ms)
            try:
                row = yield Record(partial(begin, task_name=target.task_name))
            except Exception as exc:  # nothing recorded, so nothing is sent
                self._halt.unrecordable = self._halt.unrecordable or exc
                return index, self._skipped(target, at)
        try:
            sent = yield from self.reset(
                target.instance_id,
                target.task_id,
                self.date_from,
                self.throttle,
                self._halt,
                self._halt.cutoff,
            )
            result = replace(sent, task_name=sent.task_name or target.task_name, at=at)
        except Skipped:
            result = self._skipped(target, at)
        except Exception as exc:
            elapsed = (time.perf_counter() - started) * 1000
            result = failed_result(target, ms, exc, at=at, elapsed_ms=elapsed)
        if log is not None:
            complete = partial(log.complete, row) if row is not None else log.append
            recorded = yield from self._record(Record(partial(complete, result)))
            if not recorded and result.attempts > 0:
                self._pending.append(index)
        return index, result

    def _record(self, write: Record[object]) -> Flow[bool]:
        """Perform a history write; on failure stop the batch (nothing more is sent)."""
        try:
            yield write
        except Exception as exc:
            self._halt.unrecordable = self._halt.unrecordable or exc
            return False
        return True

    def finish(self) -> list[ResetResult]:
        """The results, or ``RecordingFailed`` (carrying them) if the history failed."""
        error = self._halt.unrecordable
        if error is None:
            return self.results
        sent = len(self._pending)
        raise RecordingFailed(
            f"The history could not be written ({error}), so the batch stopped: "
            f"{sent} reset(s) were already sent and are recorded as pending; the rest were "
            "not sent.",
            results=self.results,
            pending=sent,
        )

    def _without_send(self, target: ResetTarget, at: datetime) -> ResetResult | None:
        """The result when nothing is to be sent (bad target, dry run, stop); else None."""
        if target.problem is not None:
            return self._unsent(target, at, "failed", target.problem, error_code="VALIDATION")
        if self.dry_run:
            return self._unsent(target, at, "dry-run", "Dry run: nothing was sent.")
        if self._halt.is_set():
            return self._skipped(target, at)
        return None

    def _skipped(self, target: ResetTarget, at: datetime) -> ResetResult:
        if self._halt.unrecordable is not None:
            why = f"Not sent: the history could not be written ({self._halt.unrecordable})."
        elif self._halt.expired() and not (self.stop is not None and self.stop.is_set()):
            why = f"Not sent: the batch's deadline of {self.deadline:g} s had passed."
        else:
            why = "Stopped before this reset was sent."
        return self._unsent(target, at, "skipped", why)

    def _unsent(
        self,
        target: ResetTarget,
        at: datetime,
        outcome: Outcome,
        message: str,
        error_code: str | None = None,
    ) -> ResetResult:
        return ResetResult(
            instance_id=target.instance_id,
            task_id=target.task_id,
            task_name=target.task_name,
            outcome=outcome,
            date_from=self.date_from.ms,
            message=message,
            error_code=error_code,
            attempts=0,
            at=at,
        )

    def deliver(self, index: int, result: ResetResult) -> None:
        """Keep a finished target's result and tell ``progress``; call in the caller's thread."""
        self._results[index] = result
        self._done += 1
        if self.progress is not None:
            try:
                self.progress(self._done, len(self.targets), result)
            except Exception:  # the callback's failure must not cost the batch its results
                logger.exception(
                    "progress callback failed at %d/%d", self._done, len(self._results)
                )

    @property
    def results(self) -> list[ResetResult]:
        """The results delivered so far, in the order of the targets."""
        return [r for r in self._results if r is not None]


class BatchWatch:
    """A ``progress`` callback that can also tell where its batch stands, at any time.

    Pass it as ``reset_many(..., progress=watch)``: it forwards each result to ``progress``
    (if given), and ``watch.outlook()`` — from any thread, between results too, e.g. while
    the gateway throttles the batch and no result arrives for a while — is the batch's
    ``BatchOutlook`` (None until the batch has started).
    """

    def __init__(self, progress: Progress | None = None) -> None:
        self._progress = progress
        self._batch: Batch | None = None

    def attach(self, batch: Batch) -> None:
        """Called by the batch this watch is given to."""
        self._batch = batch

    def __call__(self, done: int, total: int, result: ResetResult) -> None:
        if self._progress is not None:
            self._progress(done, total, result)

    def outlook(self) -> BatchOutlook | None:
        """Where the batch stands now; None before it started."""
        return None if self._batch is None else self._batch.outlook()
