"""``AsyncRomaClient``: the same calls as ``RomaClient`` for ``await`` in a running event loop.

In Jupyter, cells can ``await`` directly, so a long batch never blocks the kernel's loop. The
request building, paging, retry decisions and batch bookkeeping are the sync client's (``_base``,
``_paging``, ``_retry``, ``_sending``); only the waiting differs.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import time
from collections.abc import Iterable
from types import TracebackType
from typing import Any, TypeVar, cast

import httpx

from ..dates import validate_date_from
from ..errors import ApiError, parse_retry_after
from ..models import Instance, MonitorLog, ResetResult, Task, TaskMonitor
from ._base import (
    DEFAULT_TIMEOUT,
    MONITORS_PAGE_LIMIT,
    TASKS_PAGE_LIMIT,
    BaseRomaClient,
    Call,
    Operation,
)
from ._batch import Recorder, StopSignal, Target, Throttle, resolve_targets
from ._retry import RetryPolicy
from ._sending import BatchStep, Skipped, classify, is_final_connect_error, transport_failure
from ._sync import Progress, _report

__all__ = ["AsyncRomaClient"]

logger = logging.getLogger("roma_nb.client")

T = TypeVar("T")


class AsyncRomaClient(BaseRomaClient):
    """Asynchronous ROMA Connect FDI client; ``async with`` it, or ``await client.aclose()``."""

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        region: str | None = None,
        project_id: str | None = None,
        auth: httpx.Auth | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        verify: bool | str | os.PathLike[str] | ssl.SSLContext | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        label: str | None = None,
        max_connections: int = 32,
    ) -> None:
        super().__init__(
            endpoint,
            region=region,
            project_id=project_id,
            auth=auth,
            timeout=timeout,
            verify=verify,
            retry=retry,
            label=label,
            max_connections=max_connections,
        )
        self._http = httpx.AsyncClient(transport=transport, **self._http_options)

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

    # -- sending ----------------------------------------------------------------------------

    async def _start(self, throttle: Throttle, stop: StopSignal | None) -> bool:
        while True:
            if stop is not None and stop.is_set():
                return False
            wait = throttle.try_start()
            if wait is None:
                return True
            await asyncio.sleep(min(wait, 0.1))

    async def _send(
        self, call: Call, *, throttle: Throttle | None = None, stop: StopSignal | None = None
    ) -> tuple[httpx.Response, int]:
        """As ``RomaClient._send``: retry only what cannot have landed, and 429/503."""
        throttle = throttle or Throttle(1)
        policy = self.retry
        attempt = 0
        resent = 0  # requests an auth flow sent again inside one attempt (re-login after 0307)
        while True:
            if not await self._start(throttle, stop if attempt == 0 else None):
                raise Skipped
            attempt += 1
            logger.debug("%s %s (attempt %d)", call.method, call.path, attempt)
            try:
                response = await self._http.send(self._build_request(self._http, call))
                await response.aread()
            except httpx.TransportError as exc:
                throttle.finish()
                repeatable = classify(exc) == "not-sent" or call.method == "GET"
                if (
                    repeatable
                    and not is_final_connect_error(exc)
                    and policy.should_retry_connect(attempt)
                ):
                    await asyncio.sleep(policy.delay(attempt) or 0.0)
                    continue
                raise transport_failure(
                    exc, call, self.endpoint, attempt + resent, self.timeout.read
                ) from None
            resent += len(response.history)
            if policy.should_retry_status(response.status_code, attempt):
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                delay = policy.delay(attempt, retry_after)
                if delay is not None:
                    logger.debug("HTTP %d: retrying in %.2f s", response.status_code, delay)
                    throttle.finish(throttled=True, retry_after=retry_after, backoff=delay)
                    continue
            throttle.finish()
            return response, attempt + resent

    async def _get(self, call: Call) -> Any:
        response, _ = await self._send(call)
        return self._decode(response, call)

    async def _run(self, operation: Operation[T]) -> T:
        """Drive a read: send each ``Call`` it yields, hand back the decoded body."""
        try:
            call = next(operation)
            while True:
                call = operation.send(await self._get(call))
        except StopIteration as done:
            return cast(T, done.value)

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
        """Every task of an instance (all pages); by default only combined (CDC) tasks.

        ``task_mode=CDC`` is sent, and ``ext_type == "CDC"`` still checked here, because older
        servers ignore the parameter.
        """
        return await self._run(
            self._op_list_tasks(
                instance_id, combined_only, name, status, execute_status, task_type, page_size
            )
        )

    async def get_task(self, instance_id: str, task_id: str) -> Task:
        """One task's details (the raw body's ``task`` object is in ``Task.raw``)."""
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
        """Monitoring state of the instance's tasks (all pages; ``offset`` counts from 1)."""
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
        """A task's execution logs (all pages), optionally within ``[begin_time, end_time]``.

        Bounds are anything ``to_epoch_ms`` reads; naive values are taken as UTC.
        """
        return await self._run(
            self._op_monitor_logs(instance_id, task_id, begin_time, end_time, page_size)
        )

    # -- resetting --------------------------------------------------------------------------

    async def reset_combined_task(
        self, instance_id: str, task_id: str, date_from: object = None
    ) -> ResetResult:
        """As ``RomaClient.reset_combined_task``."""
        return await self._reset(instance_id, task_id, date_from)

    async def _reset(
        self,
        instance_id: str,
        task_id: str,
        date_from: object,
        throttle: Throttle | None = None,
        stop: StopSignal | None = None,
    ) -> ResetResult:
        call = self.reset_call(instance_id, task_id, date_from)
        ms = validate_date_from(date_from)
        started = time.perf_counter()
        response, attempts = await self._send(call, throttle=throttle, stop=stop)
        try:
            body = self._decode(response, call)
        except ApiError as exc:
            raise self._attach_attempts(exc, attempts) from None
        elapsed = (time.perf_counter() - started) * 1000
        return self._reset_result(body, response, instance_id, task_id, ms, attempts, elapsed)

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
    ) -> list[ResetResult]:
        """As ``RomaClient.reset_many``, as asyncio tasks on the running loop.

        The history writes (SQLite, a few milliseconds) run in the loop's default executor so
        they never stall other tasks.
        """
        ms = validate_date_from(date_from)
        resolved = resolve_targets(targets)
        log = self._located(log)
        throttle = Throttle(concurrency)
        loop = asyncio.get_running_loop()
        slots = asyncio.Semaphore(concurrency)

        async def run_one(index: int, step: BatchStep) -> tuple[int, ResetResult]:
            async with slots:
                return await run_step(index, step)

        async def run_step(index: int, step: BatchStep) -> tuple[int, ResetResult]:
            stopped = stop is not None and stop.is_set()
            early = await loop.run_in_executor(None, step.without_send, stopped)
            if early is not None:
                return index, early
            await loop.run_in_executor(None, step.before_send)
            result: ResetResult | None = None
            error: BaseException | None = None
            try:
                t = step.target
                result = await self._reset(t.instance_id, t.task_id, ms, throttle, stop)
            except Exception as exc:
                error = exc
            return index, await loop.run_in_executor(None, step.finish, result, error)

        tasks = [
            asyncio.ensure_future(run_one(index, BatchStep(target, ms, log, dry_run)))
            for index, target in enumerate(resolved)
        ]
        results: list[ResetResult | None] = [None] * len(resolved)
        try:
            for done, next_done in enumerate(asyncio.as_completed(tasks), start=1):
                index, result = await next_done
                results[index] = result
                if progress is not None:
                    _report(progress, done, len(resolved), result)
        finally:
            for task in tasks:
                task.cancel()
        return [r for r in results if r is not None]
