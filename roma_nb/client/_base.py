"""What the sync and async clients share: configuration, request building, operations, records.

Following httpx's own ``BaseClient``: everything that does not perform I/O lives here once, and
``RomaClient`` / ``AsyncRomaClient`` add only the driving loop of the send engine (``_engine``).
A request is described by a ``Call`` (method, path, query, body and a sentence naming the action
for error messages); each read and each reset is an ``Operation`` built here that yields its
calls, so paging, records and the reset's result exist once. Configuration arrives explicit: the
constructor never reads the environment or files (that is ``connect()``'s and the CLI's work).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import json
import logging
import os
import ssl
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar
from urllib.parse import urlsplit

import httpx

from ..dates import DateFrom, to_epoch_ms
from ..endpoints import environment_label, roma_endpoint_for_region, tls_verify
from ..errors import ConfigurationError, MalformedAnswer, ValidationError, clip
from ..ids import check_id, path_segment
from ..models import (
    SANDBOX_LABEL,
    Instance,
    MonitorLog,
    ResetResult,
    StepResult,
    Task,
    TaskMonitor,
)
from ..transport.body import ACCEPT_ENCODING
from ..transport.deadline import DEADLINE, cut_timeout
from ._batch import Batch, Progress, Recorder, ResetTarget, Target, resolve_targets
from ._engine import (
    MAX_ANSWER_BYTES,
    MAX_LIST_RECORDS,
    Answer,
    Bounds,
    Call,
    Cutoff,
    Engine,
    Flow,
    Operation,
    Reply,
    Send,
    StopSignal,
    decode,
)
from ._paging import Page, Pager, read_page
from ._retry import RetryPolicy
from ._throttle import Throttle

if TYPE_CHECKING:  # the rewind's procedure loads when a rewind or a batch start/stop runs
    from ..procedure import Action, BatchCall, RewindOptions, RewindSettings, StepRecorder

__all__ = ["DEFAULT_TIMEOUT", "BaseRomaClient", "Call", "Operation", "RewindArgs"]

T = TypeVar("T")
TransportT = TypeVar("TransportT")

logger = logging.getLogger("roma_nb.client")

DEFAULT_TIMEOUT = httpx.Timeout(10.0, read=60.0)
"""Connect fast, but give a reset a full minute: a read timeout makes its outcome unknown."""


class _Derived(enum.Enum):
    """The type of ``DERIVED``: a default worked out from other arguments."""

    DERIVED = "derived"


DERIVED = _Derived.DERIVED
"""``deadline``'s default: derived from the timeout (``default_deadline``)."""


def default_deadline(timeout: httpx.Timeout) -> float | None:
    """A call's deadline when none is given: the connect timeout plus twice the read timeout.

    Room for a connection, a slow answer and one retry; with ``timeout=5`` that is 15 s, with
    the default timeout 130 s. No read timeout (``timeout=None``) means no deadline either.
    """
    if timeout.read is None:
        return None
    return (timeout.connect or 0.0) + 2 * timeout.read


KEEPALIVE_EXPIRY = 4.0
"""Drop idle connections before common servers do (uvicorn and many proxies close at 5 s): a
reset sent on a connection the server is closing would fail *after* sending, which makes its
outcome unknown for no reason."""

JSON_CONTENT_TYPE = "application/json;charset=UTF-8"
USER_AGENT = "roma-nb/0.1"

_BODY_HEADERS = {"Content-Type": JSON_CONTENT_TYPE}

INSTANCES_PAGE_LIMIT = 100
TASKS_PAGE_LIMIT = 999
MONITORS_PAGE_LIMIT = 999
"""The official SDK: a task, monitor or log ``limit`` "above 999 returns 999". A larger
``page_size`` is sent as 999, so the pager's idea of a full page matches the server's."""


if TYPE_CHECKING:  # an annotation only: defining it needs the procedure's ``StepRecorder``

    class StepLog(StepRecorder, Protocol):
        """Where ``rewind`` writes its step rows (``ResultLog`` fits): a ``StepRecorder`` that
        can stamp its rows with the project and endpoint, as reset rows are stamped."""

        def located(self, *, project_id: str | None, endpoint_label: str | None) -> StepLog: ...


@dataclass(frozen=True, slots=True)
class RewindArgs:
    """``rewind``'s arguments, checked once for both clients (``ValidationError`` before
    anything is sent): the resolved targets, the instant, the options and the located log."""

    targets: list[ResetTarget]
    date_from: int | None
    options: RewindOptions
    log: StepLog | None


def _query(**params: object) -> tuple[tuple[str, str], ...]:
    """Query pairs from keyword arguments, leaving out those that are None."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        if value is None:
            continue
        pairs.append((key, str(value).lower() if isinstance(value, bool) else str(value)))
    return tuple(pairs)


def _checked_endpoint(endpoint: str | None, region: str | None) -> str:
    if endpoint is None and region is not None:
        endpoint = roma_endpoint_for_region(region)
    if not endpoint:
        raise ConfigurationError(
            "No ROMA Connect endpoint: pass endpoint='https://…' or region='cn-north-4', "
            "or use roma_nb.connect() to read ROMA_NB_ENDPOINT / ROMA_NB_REGION."
        )
    parts = urlsplit(endpoint)
    try:
        parts.port  # noqa: B018 - a malformed port fails here, not at the first request
        is_url = parts.scheme in ("http", "https") and bool(parts.netloc)
    except ValueError:
        is_url = False
    if not is_url:
        raise ConfigurationError(
            f"Endpoint {endpoint!r} is not an http(s) URL such as "
            "'https://roma.cn-north-4.myhuaweicloud.com'."
        )
    return endpoint.rstrip("/")


@functools.cache
def _default_tls() -> ssl.SSLContext:
    """httpx's own default verifying context, built once per process and shared.

    Building one loads the whole CA bundle, about 50 ms of CPU: every client would pay it (the
    async client twice, for its batch's blocking client), and a notebook makes many clients.
    """
    return httpx.create_ssl_context()


def _host_label(endpoint: str) -> str:
    """``host[:port]``: how history rows name a real endpoint (no user info, path or query)."""
    parts = urlsplit(endpoint)
    host = parts.hostname or parts.netloc
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"{host}:{parts.port}" if parts.port else host


class BaseRomaClient(Generic[TransportT]):
    """Configuration, request building and operations shared by both clients.

    Where the client points is worked out once, here: ``environment`` names it to people
    (``SANDBOX``, or ``host / project id``), ``is_sandbox`` says whether it is the local sandbox,
    and ``endpoint_label`` is what history rows are stamped with (``SANDBOX`` or ``host[:port]``).

    ``bounds`` hold what one call may cost whatever the server does: ``deadline`` seconds in all
    (default: derived from ``timeout``, see ``default_deadline``; None for none), answers of at
    most ``max_answer_bytes`` decompressed, lists of at most ``max_list_records`` records.
    """

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        region: str | None = None,
        project_id: str | None = None,
        auth: httpx.Auth | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        verify: bool | str | os.PathLike[str] | ssl.SSLContext | None = True,
        transport: TransportT | None = None,
        retry: RetryPolicy | None = None,
        label: str | None = None,
        max_connections: int = 32,
        deadline: float | _Derived | None = DERIVED,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
        max_list_records: int = MAX_LIST_RECORDS,
    ) -> None:
        self.endpoint = _checked_endpoint(endpoint, region)
        if project_id is None:
            raise ConfigurationError(
                "No project id: pass project_id=… (IAM console → My Credentials → Projects) "
                "or set HUAWEICLOUD_SDK_PROJECT_ID and use roma_nb.connect()."
            )
        self.project_id = check_id("project_id", project_id)
        self.auth = auth
        self.environment = label or environment_label(self.endpoint, self.project_id)
        self.is_sandbox = self.environment == SANDBOX_LABEL
        self.endpoint_label = SANDBOX_LABEL if self.is_sandbox else _host_label(self.endpoint)
        self._project_path = f"/v2/{path_segment('project_id', self.project_id)}"
        self.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        # Bounds (DESIGN.md): a total deadline per call, a cap on answers and on list records.
        self.bounds = Bounds(
            default_deadline(self.timeout) if deadline is DERIVED else deadline,
            max_answer_bytes,
            max_list_records,
        )
        policy = retry if retry is not None else RetryPolicy()
        self._engine = Engine(policy, self.endpoint, self.timeout.read, self.bounds)
        # What the httpx client is built with: one connection pool whose idle connections
        # expire before common servers close them.
        self._http_options: dict[str, Any] = {
            "auth": auth,
            "headers": {
                "Accept": "application/json",
                "Accept-Encoding": ACCEPT_ENCODING,
                "User-Agent": USER_AGENT,
            },
            "timeout": self.timeout,
            "verify": _default_tls() if verify in (True, None) else tls_verify(verify),
            "limits": httpx.Limits(
                max_connections=max_connections,
                max_keepalive_connections=max_connections,
                keepalive_expiry=KEEPALIVE_EXPIRY,
            ),
        }
        self._transport = transport
        self._open(transport)

    def _open(self, transport: TransportT | None) -> None:
        """Create the httpx client (sync or async) the subclass sends with."""
        raise NotImplementedError

    @property
    def retry(self) -> RetryPolicy:
        """When a request is sent again (``RetryPolicy``); may be replaced on a live client."""
        return self._engine.retry

    @retry.setter
    def retry(self, policy: RetryPolicy) -> None:
        self._engine = dataclasses.replace(self._engine, retry=policy)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(endpoint={self.endpoint!r}, project_id={self.project_id!r}, "
            f"auth={self.auth!r})"
        )

    # -- request building -------------------------------------------------------------------

    def _instance_path(self, instance_id: str) -> str:
        return f"{self._project_path}/fdi/instances/{path_segment('instance_id', instance_id)}"

    def _instances_call(self, offset: int, limit: int, status: str | None) -> Call:
        return Call(
            "GET",
            f"{self._project_path}/instances",
            "Listing instances",
            _query(status=status, offset=offset, limit=limit),
        )

    def _tasks_call(
        self, instance_id: str, offset: int, limit: int, filters: Mapping[str, object]
    ) -> Call:
        return Call(
            "GET",
            f"{self._instance_path(instance_id)}/tasks",
            f"Listing tasks of instance {instance_id}",
            _query(offset=offset, limit=limit, **filters),
        )

    def _task_call(self, instance_id: str, task_id: str) -> Call:
        return Call(
            "GET",
            f"{self._instance_path(instance_id)}/tasks/{path_segment('task_id', task_id)}",
            f"Reading task {task_id}",
        )

    def _monitors_call(
        self, instance_id: str, offset: int, limit: int, filters: Mapping[str, object]
    ) -> Call:
        return Call(
            "GET",
            f"{self._instance_path(instance_id)}/task-monitors",
            f"Reading task monitors of instance {instance_id}",
            _query(offset=offset, limit=limit, **filters),
        )

    def _monitor_logs_call(
        self,
        instance_id: str,
        task_id: str,
        offset: int,
        limit: int,
        begin_time: int | None,
        end_time: int | None,
    ) -> Call:
        task = path_segment("task_id", task_id)
        return Call(
            "GET",
            f"{self._instance_path(instance_id)}/tasks/{task}/monitor-logs",
            f"Reading monitor logs of task {task_id}",
            _query(offset=offset, limit=limit, begin_time=begin_time, end_time=end_time),
        )

    def reset_call(self, instance_id: str, task_id: str, date_from: object = None) -> Call:
        """The reset request, validated: raises ``ValidationError`` before anything is sent.

        Public because the panel's preview shows exactly this request. ``date_from`` is
        anything ``validate_date_from`` accepts, or a ``DateFrom`` already checked.
        """
        ms = DateFrom.check(date_from).ms
        task = path_segment("task_id", task_id)
        # The JSON of ``{"date_from": ms}``, compact, written directly: ``ms`` is a checked int.
        body = b"{}" if ms is None else b'{"date_from":%d}' % ms
        return Call(
            "POST",
            f"{self._instance_path(instance_id)}/multi-tasks/{task}/reset",
            f"Resetting task {task_id}",
            body=body,
        )

    def _sender(self, http: httpx.Client) -> Callable[[Send], Reply]:
        """Perform the engine's ``Send`` with ``http``, blocking; the body read by ``Answer``."""

        def send(command: Send) -> Reply:
            response = http.send(self._request(http, command), stream=True)
            try:
                return Answer(response, command).read()
            finally:
                response.close()

        return send

    def _request(self, http: httpx.Client | httpx.AsyncClient, command: Send) -> httpx.Request:
        """The request of ``command``, its timeouts cut to the time left before its deadline.

        The headers every request carries are the httpx client's (``_http_options``), so only
        a body's type is added here.
        """
        call = command.call
        timeout = cut_timeout(self.timeout, command.deadline)
        return http.build_request(
            call.method,
            self.endpoint + call.target,
            headers=_BODY_HEADERS if call.body is not None else None,
            content=call.body,
            timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
            extensions={DEADLINE: command.deadline},  # our transports end the send there
        )

    # -- operations (the reads, without I/O) ------------------------------------------------

    def _op_pages(
        self,
        make_call: Callable[[int, int], Call],
        items_key: str,
        id_key: str,
        limit: int,
        start: int,
    ) -> Operation[list[Mapping[str, Any]]]:
        """Every page's items, refusing malformed pages and stopping at the record cap."""
        pager = Pager(id_key=id_key, limit=limit, start=start)
        cap = self.bounds.max_list_records
        while (offset := pager.next_offset()) is not None:
            call = make_call(offset, limit)
            body = yield call
            pager.feed(read_page(body, items_key, call.action, id_key))
            if len(pager.items) > cap:
                raise MalformedAnswer(
                    f"{call.action} stopped at {cap:,} records"
                    + (f" of the {pager.total:,} announced" if pager.total else "")
                    + ": more than any real project has, so the server's paging is not "
                    "trusted. Raise max_list_records on the client if there really are more.",
                    status_code=200,
                )
        return pager.items

    def _op_list_instances(self, status: str | None) -> Operation[list[Instance]]:
        items = yield from self._op_pages(
            lambda offset, limit: self._instances_call(offset, limit, status),
            "instances",
            "id",
            INSTANCES_PAGE_LIMIT,
            0,
        )
        return [Instance.from_api(item) for item in items]

    def _op_list_tasks(
        self,
        instance_id: str,
        combined_only: bool,
        name: str | None,
        status: int | None,
        execute_status: str | None,
        task_type: str | None,
        page_size: int,
    ) -> Operation[list[Task]]:
        filters = self._task_filters(combined_only, name, status, execute_status, task_type)
        items = yield from self._op_pages(
            lambda offset, limit: self._tasks_call(instance_id, offset, limit, filters),
            "entities",
            "task_id",
            min(page_size, TASKS_PAGE_LIMIT),
            0,
        )
        return self._tasks(items, instance_id, combined_only, name)

    def _op_get_task(self, instance_id: str, task_id: str) -> Operation[Task]:
        """The detail (``ShowTask``), completed from the task's list entry: the detail has no
        ``ext_type``, so only the list can tell a combined task truthfully."""
        body = yield self._task_call(instance_id, task_id)
        listed = yield self._tasks_call(instance_id, 0, TASKS_PAGE_LIMIT, {"task_id": task_id})
        page = read_page(listed, "entities", f"Reading task {task_id}", "task_id")
        return self._task_from_detail(body, instance_id, task_id, page)

    def _op_task_monitors(
        self,
        instance_id: str,
        task_name: str | None,
        execute_status: str | None,
        combined_only: bool,
        page_size: int,
    ) -> Operation[list[TaskMonitor]]:
        filters = {
            k: v
            for k, v in {"task_name": task_name, "execute_status": execute_status}.items()
            if v is not None
        }
        items = yield from self._op_pages(
            lambda offset, limit: self._monitors_call(instance_id, offset, limit, filters),
            "entities",
            "task_id",
            min(page_size, MONITORS_PAGE_LIMIT),
            1,
        )
        return self._monitors(items, instance_id, combined_only)

    def _op_monitor_logs(
        self,
        instance_id: str,
        task_id: str,
        begin_time: object,
        end_time: object,
        page_size: int,
    ) -> Operation[list[MonitorLog]]:
        begin, end = to_epoch_ms(begin_time), to_epoch_ms(end_time)
        items = yield from self._op_pages(
            lambda offset, limit: self._monitor_logs_call(
                instance_id, task_id, offset, limit, begin, end
            ),
            "entities",
            "id",
            min(page_size, MONITORS_PAGE_LIMIT),
            1,
        )
        return [MonitorLog.from_api(item, task_id=task_id) for item in items]

    def _op_reset(
        self,
        instance_id: str,
        task_id: str,
        date_from: object,
        throttle: Throttle | None = None,
        stop: StopSignal | None = None,
        cutoff: Cutoff | None = None,
    ) -> Flow[ResetResult]:
        """One reset: its result, or ``ValidationError`` / ``ApiError`` / ``OutcomeUnknown``."""
        checked = DateFrom.check(date_from)
        call = self.reset_call(instance_id, task_id, checked)
        started = time.perf_counter()
        response, attempts = yield from self._engine.send(call, throttle, stop, cutoff)
        body = decode(response, call, attempts)
        elapsed = (time.perf_counter() - started) * 1000
        message = body.get("message") if isinstance(body, Mapping) else None
        return ResetResult(
            instance_id=instance_id,
            task_id=task_id,
            outcome="success",
            date_from=checked.ms,
            status_code=response.status_code,
            message=clip(str(message)) if message is not None else None,
            request_id=response.headers.get("x-request-id"),
            elapsed_ms=elapsed,
            attempts=attempts,
        )

    def _batch(
        self,
        targets: Iterable[Target],
        date_from: object,
        concurrency: int,
        log: Recorder | None,
        dry_run: bool,
        progress: Progress | None,
        stop: StopSignal | None,
        deadline: float | None = None,
    ) -> Batch:
        """``reset_many``'s arguments, checked once (``ValidationError`` before anything)."""
        checked = DateFrom.check(date_from)
        resolved = resolve_targets(targets)
        if log is not None:  # rows say where their requests went
            log = log.located(project_id=self.project_id, endpoint_label=self.endpoint_label)
        return Batch(
            resolved,
            checked,
            self._op_reset,
            Throttle(concurrency),
            log=log,
            dry_run=dry_run,
            progress=progress,
            stop=stop,
            deadline=deadline,
        )

    # -- the batch start/stop call and the rewind ---------------------------------------------

    def _batch_calls(
        self, action: Action, instance_id: str, task_ids: Sequence[str]
    ) -> tuple[BatchCall, ...]:
        """``task_ids`` in calls of at most 10 tasks, every id checked before anything is sent."""
        from ..procedure import batch_calls

        check_id("instance_id", instance_id)
        if isinstance(task_ids, str):
            raise ValidationError(
                f"task_ids must be a list of task ids, not the string {task_ids!r}."
            )
        for task_id in task_ids:
            check_id("task_id", task_id)
        return batch_calls(action, instance_id, list(task_ids))

    def _batch_request(self, batch: BatchCall) -> Call:
        verb = "Stopping" if batch.action == "stop" else "Starting"
        return Call(
            "POST",
            f"{self._instance_path(batch.instance_id)}/batch-operation/tasks",
            f"{verb} {len(batch.task_ids)} task(s) of instance {batch.instance_id}",
            body=json.dumps(batch.body, separators=(",", ":")).encode(),
        )

    def _flow_batch(self, batch: BatchCall) -> Flow[list[StepResult]]:
        """One batch start/stop call: a result per task, read from ``success[]`` and
        ``failure[]`` even inside a 200; a call that fails gives each of its tasks the error
        (``unknown`` when the request may have reached the service). Never raises."""
        from ..procedure import batch_error_results, read_batch_answer

        at = datetime.now(timezone.utc)
        started = time.perf_counter()
        call = self._batch_request(batch)
        try:
            response, attempts = yield from self._engine.send(call)
            body = decode(response, call, attempts)
        except Exception as exc:
            elapsed = (time.perf_counter() - started) * 1000
            return batch_error_results(batch, exc, elapsed_ms=elapsed, at=at)
        return read_batch_answer(
            batch,
            body,
            status_code=response.status_code,
            request_id=response.headers.get("x-request-id"),
            attempts=attempts,
            elapsed_ms=(time.perf_counter() - started) * 1000,
            at=at,
        )

    def _rewind_args(
        self,
        targets: Iterable[Target],
        date_from: object,
        options: RewindOptions | None,
        settings: RewindSettings,
        log: StepLog | None,
    ) -> RewindArgs:
        """``rewind``'s arguments checked (``ValidationError`` before anything is sent): the
        ``settings`` given as keywords override those of ``options``."""
        from ..procedure import RewindOptions

        ms = DateFrom.check(date_from).ms
        if not isinstance(options, (RewindOptions, type(None))):
            raise ValidationError(f"options must be a RewindOptions, not {options!r}.")
        checked = dataclasses.replace(options or RewindOptions(), **settings)
        if log is not None:  # rows say where their requests went
            log = log.located(project_id=self.project_id, endpoint_label=self.endpoint_label)
        return RewindArgs(resolve_targets(targets), ms, checked, log)

    # -- reading answers --------------------------------------------------------------------

    @staticmethod
    def _task_filters(
        combined_only: bool,
        name: str | None,
        status: int | None,
        execute_status: str | None,
        task_type: str | None,
    ) -> dict[str, object]:
        """Query filters for the task list.

        The name filter is ``name`` in the official SDK and ``task_name`` in the current docs
        (open in ``roma-api.md``), so both are sent; ``_tasks`` filters by name again locally.
        """
        filters: dict[str, object] = {
            "task_mode": "CDC" if combined_only else None,
            "name": name,
            "task_name": name,
            "status": status,
            "execute_status": execute_status,
            "task_type": task_type,
        }
        return {k: v for k, v in filters.items() if v is not None}

    # -- records from answers ---------------------------------------------------------------

    @staticmethod
    def _tasks(
        items: list[Mapping[str, Any]],
        instance_id: str,
        combined_only: bool,
        name: str | None = None,
    ) -> list[Task]:
        tasks = [Task.from_api(item, instance_id=instance_id) for item in items]
        if combined_only:
            tasks = [t for t in tasks if t.is_combined]
        if name:
            needle = name.casefold()
            tasks = [t for t in tasks if needle in t.task_name.casefold()]
        return tasks

    @staticmethod
    def _task_from_detail(body: Any, instance_id: str, task_id: str, listed: Page) -> Task:
        """The detail's ``task`` object, under the task's list entry when the list has it (so
        ``ext_type`` and the list's forms of shared fields come from there). Without the entry
        (a server that ignores the ``task_id`` filter, the task beyond the first page) the
        detail alone speaks: ``ext_type`` stays unknown (``None``)."""
        data = body.get("task") if isinstance(body, Mapping) else None
        if not isinstance(data, Mapping):
            data = body if isinstance(body, Mapping) else {}
        entry = next((e for e in listed.items if str(e.get("task_id")) == task_id), None)
        return Task.from_api({**data, **entry} if entry else data, instance_id=instance_id)

    @staticmethod
    def _monitors(
        items: list[Mapping[str, Any]], instance_id: str, combined_only: bool
    ) -> list[TaskMonitor]:
        monitors = [TaskMonitor.from_api(item, instance_id=instance_id) for item in items]
        if combined_only:
            monitors = [m for m in monitors if (m.ext_type or "").strip().upper() == "CDC"]
        return monitors
