"""The rewind's effects performed with a client's methods: what each effect asks of the
client, described once (``work_for``), and the thin blocking loop that does it.

The client side needs only the methods of ``Services`` / ``AsyncServices`` (``RomaClient`` and
``AsyncRomaClient`` fit once they have ``stop_tasks`` / ``start_tasks``), so ``client.rewind``
is ``run_rewind(self, resolve_targets(targets), date_from, options, log=…, progress=…)``.
``work_for`` turns an effect into ``Requests`` to the client (their values, or coroutines for
an asyncio client), a ``Local`` blocking job (a history write) or a ``Sleep``; ``SyncHandler``
here and ``AsyncHandler`` (``_drive_async``, kept apart so that importing the blocking side
does not import ``asyncio``) only perform those, as the client's ``_engine`` loops do.
Requests of one effect go out concurrently, at most ``concurrency`` at a time; a request that
raises becomes its result (the effects' contract), so one task's failure never ends the rewind.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import KW_ONLY, dataclass
from functools import partial
from typing import Any, Generic, Protocol, TypeVar

from ..models import (
    MonitorLog,
    ResetResult,
    RewindResult,
    RewindStep,
    StepResult,
    Task,
    TaskMonitor,
)
from ._effects import (
    Effect,
    ListTasks,
    ReadMonitorLogs,
    ReadMonitors,
    Record,
    ResetTasks,
    SendBatch,
    Sleep,
    StepWrite,
    StopSignal,
)
from ._machine import SYSTEM_CLOCK, Clock, Procedure, RewindTarget, rewind_procedure
from ._plan import RewindOptions

__all__ = [
    "AsyncServices",
    "Handler",
    "Local",
    "Progress",
    "Requests",
    "ResetProgress",
    "Services",
    "StepRecorder",
    "SyncHandler",
    "Work",
    "drive",
    "run_rewind",
    "work_for",
    "write_steps",
]

logger = logging.getLogger("roma_nb.procedure")

T = TypeVar("T")
R = TypeVar("R")
S = TypeVar("S")

Progress = Callable[[RewindStep], None]
"""Called with each step row once it is finished (not for pending rows): progress per step."""

ResetProgress = Callable[[int, int, ResetResult], None]
"""``reset_many``'s ``progress(done, total, result)``: what the rewind hands its reset step
(a ``BatchWatch`` there tells where that batch stands while the gateway throttles it)."""


class StepRecorder(Protocol):
    """Where a rewind writes its step rows (the history): pending first, completed after."""

    def begin_step(self, row: RewindStep) -> int:
        """Store a ``pending`` row before its step's request is sent; return its id."""
        ...

    def complete_step(self, row_id: int, row: RewindStep) -> None:
        """Fill the row ``begin_step`` returned with the step's outcome."""
        ...

    def append_step(self, row: RewindStep) -> int:
        """Store a finished row in one go (a look, a verification, a skipped or dry-run step)."""
        ...


class Services(Protocol):
    """What the blocking driver needs of a client."""

    def list_tasks(self, instance_id: str, *, combined_only: bool = ...) -> list[Task]: ...

    def stop_tasks(self, instance_id: str, task_ids: Sequence[str]) -> list[StepResult]: ...

    def start_tasks(self, instance_id: str, task_ids: Sequence[str]) -> list[StepResult]: ...

    def reset_many(
        self,
        targets: Iterable[tuple[str, str]],
        date_from: object = ...,
        *,
        concurrency: int = ...,
        stop: StopSignal | None = ...,
        deadline: float | None = ...,
        progress: ResetProgress | None = ...,
    ) -> list[ResetResult]: ...

    def task_monitors(self, instance_id: str) -> list[TaskMonitor]: ...

    def monitor_logs(
        self, instance_id: str, task_id: str, *, begin_time: object = ...
    ) -> list[MonitorLog]: ...


class AsyncServices(Protocol):
    """What the asyncio driver needs of a client: ``Services`` with coroutines."""

    async def list_tasks(self, instance_id: str, *, combined_only: bool = ...) -> list[Task]: ...

    async def stop_tasks(self, instance_id: str, task_ids: Sequence[str]) -> list[StepResult]: ...

    async def start_tasks(self, instance_id: str, task_ids: Sequence[str]) -> list[StepResult]: ...

    async def reset_many(
        self,
        targets: Iterable[tuple[str, str]],
        date_from: object = ...,
        *,
        concurrency: int = ...,
        stop: StopSignal | None = ...,
        deadline: float | None = ...,
        progress: ResetProgress | None = ...,
    ) -> list[ResetResult]: ...

    async def task_monitors(self, instance_id: str) -> list[TaskMonitor]: ...

    async def monitor_logs(
        self, instance_id: str, task_id: str, *, begin_time: object = ...
    ) -> list[MonitorLog]: ...


# -- what an effect asks of the client, for both loops ------------------------------------------


def write_steps(
    log: StepRecorder | None, progress: Progress | None, writes: Sequence[StepWrite]
) -> list[int | None] | BaseException:
    """Perform a ``Record``: each write in order; the history's failure is returned, not raised."""
    ids: list[int | None] = []
    try:
        for write in writes:
            row = write.row
            if log is None:
                ids.append(None)
            elif write.row_id is not None:
                log.complete_step(write.row_id, row)
                ids.append(write.row_id)
            elif row.outcome == "pending":
                ids.append(log.begin_step(row))
            else:
                ids.append(log.append_step(row))
    except Exception as exc:
        logger.warning("rewind history write failed: %s", exc)
        return exc
    if progress is not None:
        for write in writes:
            if write.row.outcome != "pending":
                _report(progress, write.row)
    return ids


def _report(progress: Progress, row: RewindStep) -> None:
    """Call the progress callback; its failure must not cost the rewind its work."""
    try:
        progress(row)
    except Exception:
        logger.exception("progress callback failed at %s of task %s", row.step, row.task_id)


@dataclass(frozen=True, slots=True)
class Requests:
    """Calls to the client to make concurrently (each returns its value, or its coroutine for
    an asyncio client), and how their results — each a value, or the exception it raised —
    make the effect's result."""

    calls: Sequence[Callable[[], Any]]
    assemble: Callable[[list[Any]], Any]


@dataclass(frozen=True, slots=True)
class Local:
    """Blocking work in this process (a history write): an asyncio loop runs it off the loop."""

    run: Callable[[], Any]


Work = Requests | Local | Sleep
"""What performing one effect takes."""


def _only(results: list[Any]) -> Any:
    """The one call's result; what it raised is raised (``reset_many`` raises only for a bug)."""
    (result,) = results
    if isinstance(result, Exception):
        raise result
    return result


def work_for(
    effect: Effect,
    services: Any,
    log: StepRecorder | None,
    progress: Progress | None,
    reset_progress: ResetProgress | None = None,
) -> Work:
    """What performing ``effect`` takes, against ``services`` (blocking or asyncio)."""
    if isinstance(effect, (ListTasks, ReadMonitors)):
        ids = effect.instance_ids
        if isinstance(effect, ListTasks):
            calls = [partial(services.list_tasks, i, combined_only=False) for i in ids]
        else:
            calls = [partial(services.task_monitors, i) for i in ids]
        return Requests(calls, lambda results: dict(zip(ids, results, strict=True)))
    if isinstance(effect, ReadMonitorLogs):
        return Requests(
            [
                partial(services.monitor_logs, r.instance_id, r.task_id, begin_time=r.begin_time)
                for r in effect.requests
            ],
            list,
        )
    if isinstance(effect, SendBatch):
        method = services.stop_tasks if effect.action == "stop" else services.start_tasks
        return Requests([partial(method, c.instance_id, c.task_ids) for c in effect.calls], list)
    if isinstance(effect, ResetTasks):
        reset = partial(
            services.reset_many,
            [(t.instance_id, t.task_id) for t in effect.targets],
            effect.date_from,
            concurrency=effect.concurrency,
            stop=effect.stop,
            deadline=effect.deadline,
            progress=reset_progress,
        )
        return Requests([reset], _only)
    if isinstance(effect, Sleep):
        return effect
    if isinstance(effect, Record):
        return Local(partial(write_steps, log, progress, effect.writes))
    raise TypeError(f"unknown effect {effect!r}")


@dataclass
class Handler(Generic[S]):
    """What both loops hold: the client, the history, the progress callback, the bound on
    requests in flight."""

    services: S
    _: KW_ONLY
    log: StepRecorder | None = None
    progress: Progress | None = None
    reset_progress: ResetProgress | None = None
    concurrency: int = 8

    def work(self, effect: Effect) -> Work:
        return work_for(effect, self.services, self.log, self.progress, self.reset_progress)


# -- blocking -----------------------------------------------------------------------------------


def drive(procedure: Procedure, handle: Callable[[Effect], Any]) -> list[RewindResult]:
    """Run ``procedure``, answering each effect with ``handle(effect)``."""
    try:
        effect = next(procedure)
        while True:
            effect = procedure.send(handle(effect))
    except StopIteration as done:
        return list(done.value)


def _each(calls: Sequence[Callable[[], R]], concurrency: int) -> list[R | Exception]:
    """The calls on up to ``concurrency`` threads; exceptions as results."""

    def safe(call: Callable[[], R]) -> R | Exception:
        try:
            return call()
        except Exception as exc:
            return exc

    if len(calls) <= 1:
        return [safe(call) for call in calls]
    with ThreadPoolExecutor(
        max_workers=min(concurrency, len(calls)), thread_name_prefix="roma-rewind"
    ) as pool:
        return list(pool.map(safe, calls))


@dataclass
class SyncHandler(Handler[Services]):
    """Performs effects with a blocking client (``Services``)."""

    _: KW_ONLY
    sleep: Callable[[float], None] = time.sleep

    def __call__(self, effect: Effect) -> Any:
        work = self.work(effect)
        if isinstance(work, Sleep):
            self.sleep(work.seconds)
            return None
        if isinstance(work, Local):
            return work.run()
        return work.assemble(_each(work.calls, self.concurrency))


def run_rewind(
    services: Services,
    targets: Iterable[RewindTarget],
    date_from: object = None,
    options: RewindOptions | None = None,
    *,
    log: StepRecorder | None = None,
    progress: Progress | None = None,
    reset_progress: ResetProgress | None = None,
    stop: StopSignal | None = None,
    rewind_id: str | None = None,
    clock: Clock = SYSTEM_CLOCK,
    sleep: Callable[[float], None] = time.sleep,
) -> list[RewindResult]:
    """Rewind ``targets`` with a blocking client; one ``RewindResult`` per target, in order."""
    options = options or RewindOptions()
    procedure = rewind_procedure(
        targets, date_from, options, rewind_id=rewind_id, clock=clock, stop=stop
    )
    handler = SyncHandler(
        services,
        log=log,
        progress=progress,
        reset_progress=reset_progress,
        sleep=sleep,
        concurrency=options.concurrency,
    )
    return drive(procedure, handler)
