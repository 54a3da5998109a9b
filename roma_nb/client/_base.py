"""What the sync and async clients share: configuration, request building, answer reading.

Following httpx's own ``BaseClient``: everything that does not perform I/O lives here once, and
``RomaClient`` / ``AsyncRomaClient`` add only the sending. A request is described by a
``Call`` (method, path, query, body and a sentence naming the action for error messages); the
subclasses send it with retries (``_retry.RetryPolicy``) and hand the response back to
``_decode`` here.
"""

from __future__ import annotations

import json
import logging
import os
import ssl
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import httpx

from ..config import resolve_verify
from ..dates import to_epoch_ms, validate_date_from
from ..errors import ApiError, ConfigurationError, api_error_from_response
from ..ids import check_id, path_segment
from ..models import SANDBOX_LABEL, Instance, MonitorLog, ResetResult, Task, TaskMonitor
from ._batch import Recorder
from ._paging import Page, Pager, read_page
from ._retry import RetryPolicy

__all__ = ["DEFAULT_TIMEOUT", "BaseRomaClient", "Call", "Operation"]

T = TypeVar("T")

Operation = Generator["Call", Any, T]
"""A read described without I/O: it yields the ``Call``s to make, receives each decoded JSON
body, and returns its result. ``RomaClient`` and ``AsyncRomaClient`` each drive the same
operations (``_run``), so paging and record building exist once."""

logger = logging.getLogger("roma_nb.client")

DEFAULT_TIMEOUT = httpx.Timeout(10.0, read=60.0)
"""Connect fast, but give a reset a full minute: a read timeout makes its outcome unknown."""

KEEPALIVE_EXPIRY = 4.0
"""Drop idle connections before common servers do (uvicorn and many proxies close at 5 s): a
reset sent on a connection the server is closing would fail *after* sending, which makes its
outcome unknown for no reason."""

JSON_CONTENT_TYPE = "application/json;charset=UTF-8"
USER_AGENT = "roma-nb/0.1"

INSTANCES_PAGE_LIMIT = 100
TASKS_PAGE_LIMIT = 999
MONITORS_PAGE_LIMIT = 999
"""The official SDK: a task, monitor or log ``limit`` "above 999 returns 999". A larger
``page_size`` is sent as 999, so the pager's idea of a full page matches the server's."""


@dataclass(frozen=True, slots=True)
class Call:
    """One request to make, described without I/O so both clients can send it."""

    method: str
    path: str
    action: str
    query: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None

    @property
    def target(self) -> str:
        """Path and canonical query (sorted, ``%20`` for spaces) exactly as they are sent.

        Building the query ourselves, in the form ``SDK-HMAC-SHA256`` signs, means an AK/SK
        signature always covers the bytes that go on the wire.
        """
        if not self.query:
            return self.path
        pairs = sorted((quote(k, safe="~"), quote(v, safe="~")) for k, v in self.query)
        return self.path + "?" + "&".join(f"{k}={v}" for k, v in pairs)


def _query(**params: object) -> tuple[tuple[str, str], ...]:
    """Query pairs from keyword arguments, leaving out those that are None."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        if value is None:
            continue
        pairs.append((key, str(value).lower() if isinstance(value, bool) else str(value)))
    return tuple(pairs)


def _environment_label(endpoint: str, project_id: str) -> str:
    host = urlsplit(endpoint).netloc or endpoint
    return f"{host} / project {project_id}"


class BaseRomaClient:
    """Configuration and request building shared by ``RomaClient`` and ``AsyncRomaClient``."""

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        region: str | None = None,
        project_id: str | None = None,
        auth: httpx.Auth | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        verify: bool | str | os.PathLike[str] | ssl.SSLContext | None = None,
        retry: RetryPolicy | None = None,
        label: str | None = None,
        max_connections: int = 32,
    ) -> None:
        if endpoint is None and region is not None:
            from ..config import resolve_endpoint

            endpoint = resolve_endpoint(region=region)
        if not endpoint:
            raise ConfigurationError(
                "No ROMA Connect endpoint: pass endpoint='https://…' or region='cn-north-4', "
                "or use roma_nb.connect() to read ROMA_NB_ENDPOINT / ROMA_NB_REGION."
            )
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigurationError(
                f"Endpoint {endpoint!r} is not an http(s) URL such as "
                "'https://roma.cn-north-4.myhuaweicloud.com'."
            )
        if project_id is None:
            raise ConfigurationError(
                "No project id: pass project_id=… (IAM console → My Credentials → Projects) "
                "or set HUAWEICLOUD_SDK_PROJECT_ID and use roma_nb.connect()."
            )
        self.project_id = check_id("project_id", project_id)
        self.endpoint = endpoint.rstrip("/")
        self.auth = auth
        self.retry = retry if retry is not None else RetryPolicy()
        self.environment = label or _environment_label(self.endpoint, self.project_id)
        self._project_path = f"/v2/{path_segment('project_id', self.project_id)}"
        self.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        # What the sync and async clients give their httpx client: one connection pool whose idle
        # connections expire before common servers close them.
        self._http_options: dict[str, Any] = {
            "auth": auth,
            "timeout": self.timeout,
            "verify": resolve_verify(verify),
            "limits": httpx.Limits(
                max_connections=max_connections,
                max_keepalive_connections=max_connections,
                keepalive_expiry=KEEPALIVE_EXPIRY,
            ),
        }

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

        Public because the panel's preview shows exactly this request.
        """
        ms = validate_date_from(date_from)
        task = path_segment("task_id", task_id)
        body = {"date_from": ms} if ms is not None else {}
        return Call(
            "POST",
            f"{self._instance_path(instance_id)}/multi-tasks/{task}/reset",
            f"Resetting task {task_id}",
            body=json.dumps(body, separators=(",", ":")).encode(),
        )

    def _build_request(
        self, transport_client: httpx.Client | httpx.AsyncClient, call: Call
    ) -> httpx.Request:
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if call.body is not None:
            headers["Content-Type"] = JSON_CONTENT_TYPE
        return transport_client.build_request(
            call.method, self.endpoint + call.target, headers=headers, content=call.body
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
        pager = Pager(id_key=id_key, limit=limit, start=start)
        while (offset := pager.next_offset()) is not None:
            body = yield make_call(offset, limit)
            pager.feed(read_page(body, items_key))
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
        return self._task_from_detail(body, instance_id, task_id, read_page(listed, "entities"))

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

    # -- reading answers --------------------------------------------------------------------

    @staticmethod
    def _decode(response: httpx.Response, call: Call) -> Any:
        """The JSON body of a 2xx answer; an ``ApiError`` for anything else."""
        if response.is_success:
            try:
                return response.json() if response.content.strip() else {}
            except (ValueError, RecursionError):  # not JSON, or nested beyond the parser
                raise api_error_from_response(
                    response.status_code,
                    response.headers,
                    response.content,
                    action=f"{call.action} returned a body that is not JSON;",
                ) from None
        raise api_error_from_response(
            response.status_code, response.headers, response.content, action=call.action
        )

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

    @staticmethod
    def _reset_result(
        body: Any,
        response: httpx.Response,
        instance_id: str,
        task_id: str,
        date_from: int | None,
        attempts: int,
        elapsed_ms: float,
    ) -> ResetResult:
        message = body.get("message") if isinstance(body, Mapping) else None
        return ResetResult(
            instance_id=instance_id,
            task_id=task_id,
            outcome="success",
            date_from=date_from,
            status_code=response.status_code,
            message=str(message) if message is not None else None,
            request_id=response.headers.get("x-request-id"),
            elapsed_ms=elapsed_ms,
            attempts=attempts,
        )

    def _located(self, log: Recorder | None) -> Recorder | None:
        """``log`` stamping rows with this client's project and endpoint (SANDBOX or the host)."""
        if log is None:
            return None
        endpoint = SANDBOX_LABEL if self.environment == SANDBOX_LABEL else self.endpoint
        return log.located(project_id=self.project_id, endpoint_label=endpoint)

    @staticmethod
    def _attach_attempts(error: ApiError, attempts: int) -> ApiError:
        error.attempts = attempts
        return error
