"""``AsyncRomaClient``: the same calls as ``RomaClient`` for ``await`` in a running event loop.

In Jupyter, cells can ``await`` directly, so a long batch never blocks the kernel's loop. The
requests, operations, retries, throttle and batch bookkeeping are the shared engine's
(``_base``, ``_engine``, ``_batch``); this module adds only the loop that performs the engine's
commands with ``await``, and the way a batch is run.

Reads and single resets go through ``httpx.AsyncClient``. A batch's targets instead run through
the blocking engine loop on worker threads, over a blocking ``httpx.Client``, awaited from the
event loop: measured (``bench/``), httpx's async stack costs more CPU per request than its
blocking one, which made this client's batch 1.4× slower than ``RomaClient``'s; now both batches
do the same work and the event loop stays free. With a transport of your own (an ASGI app, a
mock), which may not work without a loop, the batch's targets run as asyncio tasks over it.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

import httpx

from ..models import Instance, MonitorLog, ResetResult, RewindResult, StepResult, Task, TaskMonitor
from ._base import (
    MONITORS_PAGE_LIMIT,
    TASKS_PAGE_LIMIT,
    BaseRomaClient,
    Operation,
)
from ._batch import Progress, Recorder, Target
from ._engine import Answer, Flow, Reply, Send, Sleep, Steps, StopSignal, drive

if TYPE_CHECKING:  # the rewind's procedure loads when a rewind or a batch start/stop runs
    from typing_extensions import Unpack

    from ..procedure import Action, RewindOptions, RewindSettings
    from ..procedure import Progress as StepProgress
    from ._base import StepLog

__all__ = ["AsyncRomaClient"]

T = TypeVar("T")

BatchFlow = Flow[tuple[int, ResetResult]]


class AsyncRomaClient(BaseRomaClient[httpx.AsyncBaseTransport]):
    """Asynchronous ROMA Connect FDI client; ``async with`` it, or ``await client.aclose()``.

    Takes the arguments of ``RomaClient``; ``transport`` is an ``httpx.AsyncBaseTransport``.
    """

    def _open(self, transport: httpx.AsyncBaseTransport | None) -> None:
        from ..transport.sockets import AsyncBoundedTransport  # imports httpcore: at open

        # Without a transport of the caller's, ours: it ends a send at the call's deadline.
        bounded = AsyncBoundedTransport(self._http_options) if transport is None else transport
        self._http = httpx.AsyncClient(transport=bounded, **self._http_options)
        self._batch_http: httpx.Client | None = None

    async def __aenter__(self) -> AsyncRomaClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()
        if self._batch_http is not None:
            self._batch_http.close()

    async def _send(self, command: Send) -> Reply:
        """As ``_sender``'s blocking send, with ``await``."""
        response = await self._http.send(self._request(self._http, command), stream=True)
        try:
            return await Answer(response, command).aread()
        finally:
            await response.aclose()

    async def _drive(self, flow: Flow[T], executor: Executor | None = None) -> T:
        """Perform ``flow``'s commands with ``await``; history writes run on ``executor``."""
        loop = asyncio.get_running_loop()
        steps = Steps(flow)
        for command in steps:
            with steps:
                if isinstance(command, Send):
                    steps.reply = await self._send(command)
                elif isinstance(command, Sleep):
                    await asyncio.sleep(command.seconds)
                else:
                    steps.reply = await loop.run_in_executor(executor, command.write)
        return steps.result

    async def _run(self, operation: Operation[T]) -> T:
        """Drive an operation: send each request it yields, hand back what came of it."""
        return await self._drive(self._engine.run(operation))

    # -- reading ----------------------------------------------------------------------------

    async def list_instances(self, *, status: str | None = None) -> list[Instance]:
        """Every ROMA Connect instance of the project (all pages)."""
        return await self._run(self._op_list_instances(status))

    async def list_tasks(
        self,
        instance_id: str,
        *,
        combined_only: bool = True,
        name: str | None = None,
        status: int | None = None,
        execute_status: str | None = None,
        task_type: str | None = None,
        page_size: int = TASKS_PAGE_LIMIT,
    ) -> list[Task]:
        """As ``RomaClient.list_tasks``."""
        return await self._run(
            self._op_list_tasks(
                instance_id, combined_only, name, status, execute_status, task_type, page_size
            )
        )

    async def get_task(self, instance_id: str, task_id: str) -> Task:
        """As ``RomaClient.get_task``."""
        return await self._run(self._op_get_task(instance_id, task_id))

    async def task_monitors(
        self,
        instance_id: str,
        *,
        task_name: str | None = None,
        execute_status: str | None = None,
        combined_only: bool = False,
        page_size: int = MONITORS_PAGE_LIMIT,
    ) -> list[TaskMonitor]:
        """As ``RomaClient.task_monitors``."""
        return await self._run(
            self._op_task_monitors(instance_id, task_name, execute_status, combined_only, page_size)
        )

    async def monitor_logs(
        self,
        instance_id: str,
        task_id: str,
        *,
        begin_time: object = None,
        end_time: object = None,
        page_size: int = MONITORS_PAGE_LIMIT,
    ) -> list[MonitorLog]:
        """As ``RomaClient.monitor_logs``."""
        return await self._run(
            self._op_monitor_logs(instance_id, task_id, begin_time, end_time, page_size)
        )

    # -- resetting --------------------------------------------------------------------------

    async def reset_combined_task(
        self, instance_id: str, task_id: str, date_from: object = None
    ) -> ResetResult:
        """As ``RomaClient.reset_combined_task``."""
        # A reset yields only the engine's own commands: it is driven as it is, no decoding layer.
        return await self._drive(self._op_reset(instance_id, task_id, date_from))

    async def reset_many(
        self,
        targets: Iterable[Target],
        date_from: object = None,
        *,
        concurrency: int = 8,
        log: Recorder | None = None,
        dry_run: bool = False,
        progress: Progress | None = None,
        stop: StopSignal | None = None,
        deadline: float | None = None,
    ) -> list[ResetResult]:
        """As ``RomaClient.reset_many``, with ``progress`` called on the event loop.

        The history writes (SQLite, a few milliseconds) run on worker threads, as do the
        requests unless a ``transport`` was given, so they never stall other tasks of the loop.
        """
        batch = self._batch(targets, date_from, concurrency, log, dry_run, progress, stop, deadline)
        if not batch.targets:
            return []
        loop = asyncio.get_running_loop()
        pool = ThreadPoolExecutor(batch.workers, thread_name_prefix="roma-reset")
        blocking = self._sender(self._blocking_http()) if self._transport is None else None

        def start(flow: BatchFlow) -> asyncio.Future[tuple[int, ResetResult]]:
            if blocking is None:
                return asyncio.ensure_future(self._drive(flow, pool))
            return loop.run_in_executor(pool, drive, flow, blocking)

        # A target starts only once an earlier one is delivered, so a stop set by ``progress``
        # is seen by the very next target, as in a loop.
        flows = iter(batch.flows())
        running = {start(flow) for flow in itertools.islice(flows, batch.workers)}
        try:
            while running:
                done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for future in done:
                    batch.deliver(*future.result())
                    running.update(start(flow) for flow in itertools.islice(flows, 1))
        finally:
            for future in running:
                future.cancel()
            pool.shutdown(wait=False, cancel_futures=True)
        return batch.finish()

    # -- starting, stopping, rewinding ------------------------------------------------------

    async def stop_tasks(self, instance_id: str, task_ids: Sequence[str]) -> list[StepResult]:
        """As ``RomaClient.stop_tasks``."""
        return await self._batch_action("stop", instance_id, task_ids)

    async def start_tasks(self, instance_id: str, task_ids: Sequence[str]) -> list[StepResult]:
        """As ``RomaClient.start_tasks``."""
        return await self._batch_action("start", instance_id, task_ids)

    async def _batch_action(
        self, action: Action, instance_id: str, task_ids: Sequence[str]
    ) -> list[StepResult]:
        calls = self._batch_calls(action, instance_id, task_ids)
        answers = await asyncio.gather(*(self._drive(self._flow_batch(c)) for c in calls))
        return [r for answer in answers for r in answer]

    async def rewind(
        self,
        targets: Iterable[Target],
        date_from: object = None,
        options: RewindOptions | None = None,
        *,
        log: StepLog | None = None,
        progress: StepProgress | None = None,
        reset_progress: Progress | None = None,
        stop: StopSignal | None = None,
        **settings: Unpack[RewindSettings],
    ) -> list[RewindResult]:
        """As ``RomaClient.rewind``, on the running loop (history writes on worker threads)."""
        from ..procedure import run_rewind_async

        args = self._rewind_args(targets, date_from, options, settings, log)
        return await run_rewind_async(
            self,
            args.targets,
            args.date_from,
            args.options,
            log=args.log,
            progress=progress,
            reset_progress=reset_progress,
            stop=stop,
        )

    def _blocking_http(self) -> httpx.Client:
        """The blocking httpx client a batch sends with from its threads, made on first use."""
        if self._batch_http is None:
            from ..transport.sockets import BoundedTransport

            transport = BoundedTransport(self._http_options)
            self._batch_http = httpx.Client(transport=transport, **self._http_options)
        return self._batch_http
