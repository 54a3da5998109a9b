"""The asyncio loop: the effects ``_drive.work_for`` describes, performed with ``await`` on the
running loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Any, TypeVar

from ..models import RewindResult
from ._drive import AsyncServices, Handler, Local, Progress, ResetProgress, StepRecorder
from ._effects import Effect, Sleep, StopSignal
from ._machine import SYSTEM_CLOCK, Clock, Procedure, RewindTarget, rewind_procedure
from ._plan import RewindOptions

__all__ = ["AsyncHandler", "drive_async", "run_rewind_async"]

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
    calls: Sequence[Callable[[], Awaitable[R]]], concurrency: int
) -> list[R | Exception]:
    slots = asyncio.Semaphore(concurrency)

    async def safe(call: Callable[[], Awaitable[R]]) -> R | Exception:
        async with slots:
            try:
                return await call()
            except Exception as exc:
                return exc

    return list(await asyncio.gather(*(safe(call) for call in calls)))


@dataclass
class AsyncHandler(Handler[AsyncServices]):
    """Performs effects with an asyncio client (``AsyncServices``); history writes run in the
    loop's default executor, as ``reset_many``'s do."""

    _: KW_ONLY
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    async def __call__(self, effect: Effect) -> Any:
        work = self.work(effect)
        if isinstance(work, Sleep):
            await self.sleep(work.seconds)
            return None
        if isinstance(work, Local):
            return await asyncio.get_running_loop().run_in_executor(None, work.run)
        return work.assemble(await _each_async(work.calls, self.concurrency))


async def run_rewind_async(
    services: AsyncServices,
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
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> list[RewindResult]:
    """As ``run_rewind``, with an asyncio client, on the running loop."""
    options = options or RewindOptions()
    procedure = rewind_procedure(
        targets, date_from, options, rewind_id=rewind_id, clock=clock, stop=stop
    )
    handler = AsyncHandler(
        services,
        log=log,
        progress=progress,
        reset_progress=reset_progress,
        sleep=sleep,
        concurrency=options.concurrency,
    )
    return await drive_async(procedure, handler)
