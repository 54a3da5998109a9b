"""The asyncio driver: ``_drive``'s, with coroutines, on the running loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

from ..models import RewindResult
from ._drive import AsyncServices, Progress, StepRecorder, fan_out, reset_call, write_steps
from ._effects import (
    Effect,
    Record,
    ResetTasks,
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


async def _call(function: Callable[[], Awaitable[R]]) -> R:
    return await function()


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
        requests = fan_out(effect, self.services)
        if requests is not None:
            results = await _each_async(_call, requests.calls, self.concurrency)
            return requests.assemble(results)
        if isinstance(effect, ResetTasks):
            return await reset_call(effect, self.services)
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
