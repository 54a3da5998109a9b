"""``RomaClient``: the blocking client, and the thread-pool batch.

A batch runs on a pool of threads around one ``httpx.Client`` (one connection pool): measured on
this project's machines it is the fastest way to drive many small requests, faster and cheaper in
CPU than ``httpx.AsyncClient`` with ``gather`` (issue 6's measurements; ``bench/``).
"""

from __future__ import annotations

import logging
import os
import ssl
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
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

__all__ = ["Progress", "RomaClient"]

logger = logging.getLogger("roma_nb.client")

T = TypeVar("T")

Progress = Callable[[int, int, ResetResult], None]


class RomaClient(BaseRomaClient):
    """Blocking ROMA Connect FDI client. Use as a context manager, or call ``close()``.

    ``endpoint`` is the ROMA Connect base URL (or give ``region``); ``auth`` any ``httpx.Auth``
    (``TokenAuth``, ``PasswordAuth``, ``AkSkAuth``); ``verify`` a bool, a CA bundle path or an
    ``ssl.SSLContext`` (default: on, or ``ROMA_NB_CA_BUNDLE`` when set);
    ``transport`` lets tests plug in ``httpx.MockTransport`` or the sandbox's ASGI app.
    """

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        region: str | None = None,
        project_id: str | None = None,
        auth: httpx.Auth | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        verify: bool | str | os.PathLike[str] | ssl.SSLContext | None = None,
        transport: httpx.BaseTransport | None = None,
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
        self._http = httpx.Client(transport=transport, **self._http_options)

    def __enter__(self) -> RomaClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- sending ----------------------------------------------------------------------------

    def _send(
        self, call: Call, *, throttle: Throttle | None = None, stop: StopSignal | None = None
    ) -> tuple[httpx.Response, int]:
        """Send ``call`` with the retry policy; return the final response and the send count.

        Only a send that cannot have reached the service, or a 429/503, is repeated — except
        for GETs, which are safe to repeat whatever happened.
        """
        throttle = throttle or Throttle(1)
        policy = self.retry
        attempt = 0
        resent = 0  # requests an auth flow sent again inside one attempt (re-login after 0307)
        while True:
            if not throttle.start(stop if attempt == 0 else None):
                raise Skipped
            attempt += 1
            logger.debug("%s %s (attempt %d)", call.method, call.path, attempt)
            try:
                response = self._http.send(self._build_request(self._http, call))
                response.read()
            except httpx.TransportError as exc:
                throttle.finish()
                repeatable = classify(exc) == "not-sent" or call.method == "GET"
                if (
                    repeatable
                    and not is_final_connect_error(exc)
                    and policy.should_retry_connect(attempt)
                ):
                    delay = policy.delay(attempt)
                    time.sleep(delay or 0.0)
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

    def _get(self, call: Call) -> Any:
        response, _ = self._send(call)
        return self._decode(response, call)

    def _run(self, operation: Operation[T]) -> T:
        """Drive a read: send each ``Call`` it yields, hand back the decoded body."""
        try:
            call = next(operation)
            while True:
                call = operation.send(self._get(call))
        except StopIteration as done:
            return cast(T, done.value)

    # -- reading ----------------------------------------------------------------------------

    def list_instances(self, *, status: str | None = None) -> list[Instance]:
        """Every ROMA Connect instance of the project (all pages)."""
        return self._run(self._op_list_instances(status))

    def list_tasks(
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
        return self._run(
            self._op_list_tasks(
                instance_id, combined_only, name, status, execute_status, task_type, page_size
            )
        )

    def get_task(self, instance_id: str, task_id: str) -> Task:
        """One task's details (the raw body's ``task`` object is in ``Task.raw``)."""
        return self._run(self._op_get_task(instance_id, task_id))

    def task_monitors(
        self,
        instance_id: str,
        *,
        task_name: str | None = None,
        execute_status: str | None = None,
        combined_only: bool = False,
        page_size: int = MONITORS_PAGE_LIMIT,
    ) -> list[TaskMonitor]:
        """Monitoring state of the instance's tasks (all pages; ``offset`` counts from 1)."""
        return self._run(
            self._op_task_monitors(instance_id, task_name, execute_status, combined_only, page_size)
        )

    def monitor_logs(
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
        return self._run(
            self._op_monitor_logs(instance_id, task_id, begin_time, end_time, page_size)
        )

    # -- resetting --------------------------------------------------------------------------

    def reset_combined_task(
        self, instance_id: str, task_id: str, date_from: object = None
    ) -> ResetResult:
        """Reset a combined task's progress to ``date_from`` (epoch ms UTC, or None).

        Raises ``ValidationError`` before sending for a bad id or time, ``ApiError`` when the
        service refuses, ``OutcomeUnknown`` when the request was sent but no answer came.
        """
        return self._reset(instance_id, task_id, date_from)

    def _reset(
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
        response, attempts = self._send(call, throttle=throttle, stop=stop)
        try:
            body = self._decode(response, call)
        except ApiError as exc:
            raise self._attach_attempts(exc, attempts) from None
        elapsed = (time.perf_counter() - started) * 1000
        return self._reset_result(body, response, instance_id, task_id, ms, attempts, elapsed)

    def reset_many(
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
        """Reset many combined tasks to the same instant; one result per target, in order.

        Never raises for one target's failure. Each attempt is written to ``log`` as pending
        before its request and completed after; ``progress(done, total, result)`` is called in
        this thread as results arrive; once ``stop.is_set()``, targets not yet sent are
        ``skipped``. 429 and 503 slow the whole batch down (see ``Throttle``).
        """
        ms = validate_date_from(date_from)
        resolved = resolve_targets(targets)
        log = self._located(log)
        throttle = Throttle(concurrency)
        results: list[ResetResult | None] = [None] * len(resolved)

        def run_one(step: BatchStep) -> ResetResult:
            stopped = stop is not None and stop.is_set()
            early = step.without_send(stopped)
            if early is not None:
                return early
            step.before_send()
            try:
                t = step.target
                result = self._reset(t.instance_id, t.task_id, ms, throttle, stop)
            except Exception as exc:
                return step.finish(None, exc)
            return step.finish(result, None)

        if not resolved:
            return []
        with ThreadPoolExecutor(
            max_workers=min(concurrency, len(resolved)), thread_name_prefix="roma-reset"
        ) as pool:
            futures: dict[Future[ResetResult], int] = {
                pool.submit(run_one, BatchStep(target, ms, log, dry_run)): index
                for index, target in enumerate(resolved)
            }
            for done, future in enumerate(as_completed(futures), start=1):
                result = future.result()
                results[futures[future]] = result
                if progress is not None:
                    _report(progress, done, len(resolved), result)
        return [r for r in results if r is not None]


def _report(progress: Progress, done: int, total: int, result: ResetResult) -> None:
    """Call the progress callback; its failure must not cost the batch its results."""
    try:
        progress(done, total, result)
    except Exception:
        logger.exception("progress callback failed at %d/%d", done, total)
