"""The asyncio driver: ``_drive``'s, with coroutines, on the running loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

from ..models import RewindResult
from ._drive import AsyncServices, Progress, StepRecorder, batch_method, reset_pairs, write_steps
from ._effects import (
    Effect,
    ListTasks,
    ReadMonitorLogs,
    ReadMonitors,
    Record,
    ResetTasks,
    SendBatch,
    Sleep,
    StopSignal,
)
from ._machine import SYSTEM_CLOCK, Clock, Procedure, RewindTarget, rewind_procedure
from ._plan import RewindOptions

__all__ = ["AsyncHandler", "drive_async", "run_rewind_async"]

T = TypeVar("T")
R = TypeVar("R")


async def drive_async(
    procedure: Procedure, handle: Callable[[Effect], Awaitable[Any]]
) -> list[RewindResult]:
    """Run ``procedure``, answering each effect with ``await handle(effect)``."""
    try:
        effect = next(procedure)
        while True:
            effect = procedure.send(await handle(effect))
    except StopIteration as done:
        return list(done.value)


async def _each_async(
    function: Callable[[T], Awaitable[R]], items: Sequence[T], concurrency: int
) -> list[R | Exception]:
    slots = asyncio.Semaphore(concurrency)

    async def safe(item: T) -> R | Exception:
        async with slots:
            try:
                return await function(item)
            except Exception as exc:
                return exc

    return list(await asyncio.gather(*(safe(item) for item in items)))


class AsyncHandler:
    """Performs effects with an asyncio client (``AsyncServices``); history writes run in the
    loop's default executor, as ``reset_many``'s do."""

    def __init__(
        self,
        services: AsyncServices,
        *,
        log: StepRecorder | None = None,
        progress: Progress | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        concurrency: int = 8,
    ) -> None:
        self.services = services
        self.log = log
        self.progress = progress
        self.sleep = sleep
        self.concurrency = concurrency

    async def __call__(self, effect: Effect) -> Any:
        s, n = self.services, self.concurrency
        if isinstance(effect, ListTasks):
            ids = effect.instance_ids
            lists = await _each_async(lambda i: s.list_tasks(i, combined_only=False), ids, n)
            return dict(zip(ids, lists, strict=True))
        if isinstance(effect, ReadMonitors):
            ids = effect.instance_ids
            monitors = await _each_async(s.task_monitors, ids, n)
            return dict(zip(ids, monitors, strict=True))
        if isinstance(effect, ReadMonitorLogs):
            return await _each_async(
                lambda r: s.monitor_logs(r.instance_id, r.task_id, begin_time=r.begin_time),
                effect.requests,
                n,
            )
        if isinstance(effect, SendBatch):
            return await _each_async(
                lambda c: batch_method(s, c)(c.instance_id, c.task_ids), effect.calls, n
            )
        if isinstance(effect, ResetTasks):
            return await s.reset_many(
                reset_pairs(effect),
                effect.date_from,
                concurrency=effect.concurrency,
                stop=effect.stop,
            )
        if isinstance(effect, Sleep):
            await self.sleep(effect.seconds)
            return None
        if isinstance(effect, Record):
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(
                None, write_steps, self.log, self.progress, effect.writes
            )
        raise TypeError(f"unknown effect {effect!r}")


async def run_rewind_async(
    services: AsyncServices,
    targets: Iterable[RewindTarget],
    date_from: object = None,
    options: RewindOptions | None = None,
    *,
    log: StepRecorder | None = None,
    progress: Progress | None = None,
    stop: StopSignal | None = None,
    rewind_id: str | None = None,
    clock: Clock = SYSTEM_CLOCK,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> list[RewindResult]:
    """As ``run_rewind``, with an asyncio client, on the running loop."""
    options = options or RewindOptions()
    procedure = rewind_procedure(
        targets, date_from, options, rewind_id=rewind_id, clock=clock, stop=stop
    )
    handler = AsyncHandler(
        services, log=log, progress=progress, sleep=sleep, concurrency=options.concurrency
    )
    return await drive_async(procedure, handler)
