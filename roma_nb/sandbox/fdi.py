"""The ROMA Connect reads of ``roma-api.md`` §2, under ``/v2/{project_id}``; the writes (start,
stop, run, terminate, reset) are in ``operations``.

Handlers read the ``SandboxState`` from ``request.app.state.roma`` and raise ``Refusal`` (any
error answer) or ``BadRequest`` (400 FDI.3002); ``create_app`` turns both into responses. The
gateway layer in front has already authenticated the request and checked the project id.

Paging as the official SDK documents it: the instances list has a 0-based record ``offset``
(0..100) and ``limit`` 0..100 (default 10), refused with 400 ``ROMA.13000`` outside them; the
tasks list ``limit`` above 999 returns 999 and ``offset`` below 0 is read as 0; task monitors and
monitor logs ``offset`` below 1 is read as 1 and ``limit`` above 999 returns 999 (default 10). A
``limit`` below 1 is still refused. Whether task/monitor/log offsets count records or pages is the
state option ``offset_mode``: with ``"records"`` (default) tasks ``offset=40`` starts at the 41st
record and monitors ``offset=41`` too; with ``"pages"`` tasks ``offset=0`` and monitors
``offset=1`` are the first page of ``limit``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..ids import MAX_ID_LENGTH
from .codes import INSTANCE_NOT_FOUND, INVALID_ROMA_PARAMETERS, TASK_NOT_FOUND
from .data import InstanceRow, TaskRow
from .params import BadRequest, clamped_int_param, enum_param, int_param, page_bounds
from .responses import fdi_error, json_response, roma_error
from .state import SandboxState

__all__ = ["INSTANCE_PATH", "REQUEST_ID_KEY", "Refusal", "routes"]

REQUEST_ID_KEY = "roma_sandbox.request_id"
INSTANCE_PATH = "/v2/{project_id}/fdi/instances/{instance_id}"

EXECUTE_STATUSES = ("UNSTARTED", "WAITING", "RUNNING", "SUCCESS", "CANCELLED", "ERROR")
TASKS_LIMIT = 999


class Refusal(Exception):
    """An error answer raised from deep inside a handler."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def state_of(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.roma
    return state


def request_id(request: Request) -> str:
    return str(request.scope.get(REQUEST_ID_KEY, ""))


def path_id(request: Request, name: str) -> str:
    value = str(request.path_params[name])
    if not 1 <= len(value) <= MAX_ID_LENGTH:
        raise BadRequest(f"Invalid parameter {name}: it must be 1 to {MAX_ID_LENGTH} characters.")
    return value


def instance_of(request: Request) -> InstanceRow:
    instance = state_of(request).instance(path_id(request, "instance_id"))
    if instance is None:
        raise Refusal(fdi_error(404, *INSTANCE_NOT_FOUND))
    return instance


def task_of(request: Request) -> TaskRow:
    instance = instance_of(request)
    task = state_of(request).task(instance.id, path_id(request, "task_id"))
    if task is None:
        raise Refusal(fdi_error(404, *TASK_NOT_FOUND))
    return task


def _page(items: list[Any], start: int, stop: int, key: str) -> dict[str, Any]:
    page = items[start:stop]
    return {"total": len(items), "size": len(page), key: page}


async def list_instances(request: Request) -> Response:
    """``CheckRomaInstanceListV2``: a bad offset or limit is the instance API's ``ROMA.13000``."""
    query = request.query_params
    try:
        offset = int_param(query, "offset", default=0, minimum=0, maximum=100)
        limit = int_param(query, "limit", default=10, minimum=0, maximum=100)
    except BadRequest as exc:
        details = str(exc)
        raise Refusal(
            roma_error(400, *INVALID_ROMA_PARAMETERS, details, request_id(request))
        ) from None
    status = query.get("status")
    rows = [i.to_api() for i in state_of(request).instances if status is None or i.status == status]
    return json_response(_page(rows, offset, offset + limit, "instances"))


@dataclass(frozen=True, slots=True)
class TaskFilter:
    """The tasks list's filters; every given one must match (names are case-sensitive)."""

    task_id: str | None = None
    name_fragments: tuple[str, ...] = ()
    status: int | None = None
    task_type: str | None = None
    execute_status: str | None = None
    task_mode: str | None = None
    equal: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_query(cls, query: Mapping[str, str], *, honour_task_mode: bool) -> TaskFilter:
        status = enum_param(query, "status", ("0", "1"))
        mode = None
        if honour_task_mode:
            mode = enum_param(query, "task_mode", ("NORMAL", "CDC", "FLOW"), ignore_case=True)
        return cls(
            task_id=query.get("task_id") or None,
            name_fragments=tuple(f for f in (query.get("name"), query.get("task_name")) if f),
            status=None if status is None else int(status),
            task_type=enum_param(query, "task_type", ("REALTIME", "TIMING"), ignore_case=True),
            execute_status=enum_param(query, "execute_status", EXECUTE_STATUSES),
            task_mode=mode,
            equal=tuple(
                (key, query[key])
                for key in (
                    "task_tag",
                    "source_app_id",
                    "target_app_id",
                    "source_datasource_id",
                    "target_datasource_id",
                )
                if query.get(key)
            ),
        )

    def matches(self, task: TaskRow) -> bool:
        if self.task_id is not None and task.task_id != self.task_id:
            return False
        if any(fragment not in task.task_name for fragment in self.name_fragments):
            return False
        if self.status is not None and task.status != self.status:
            return False
        if self.task_type is not None and task.task_type != self.task_type:
            return False
        if self.execute_status is not None and task.execute_status != self.execute_status:
            return False
        if self.task_mode == "NORMAL" and task.ext_type:
            return False
        if self.task_mode in ("CDC", "FLOW") and task.ext_type != self.task_mode:
            return False
        return all(getattr(task, key) == value for key, value in self.equal)


async def list_tasks(request: Request) -> Response:
    state = state_of(request)
    instance = instance_of(request)
    query = request.query_params
    limit = min(int_param(query, "limit", default=10, minimum=1), TASKS_LIMIT)
    offset = clamped_int_param(query, "offset", default=0, low=0)
    sort_field = enum_param(query, "sort_field", ("CREATED_DATE", "STATUS"), ignore_case=True)
    sort_type = enum_param(query, "sort_type", ("ASC", "DESC"), ignore_case=True) or "DESC"
    task_filter = TaskFilter.from_query(query, honour_task_mode=state.options.honour_task_mode)
    rows = [t for t in state.tasks(instance.id) if task_filter.matches(t)]
    if sort_field == "STATUS":
        rows.sort(key=lambda t: (t.status, t.created_ms, t.order))
    else:
        rows.sort(key=lambda t: (t.created_ms, t.order))
    if sort_type == "DESC":
        rows.reverse()
    start, stop = page_bounds(offset, limit, first=0, mode=state.options.offset_mode)
    entities = [t.to_list_entity() for t in rows[start:stop]]
    return json_response({"total": len(rows), "size": len(entities), "entities": entities})


async def show_task(request: Request) -> Response:
    return json_response(task_of(request).to_detail(state_of(request).project_id))


async def count_tasks(request: Request) -> Response:
    """``CountTasks``: how many normal and combined tasks run, fail, stopped or completed."""
    tasks = state_of(request).tasks(instance_of(request).id)
    return json_response(
        {
            "common_task_details": _statistics([t for t in tasks if not t.combined]),
            "cdc_task_details": _statistics([t for t in tasks if t.combined]),
        }
    )


def _statistics(tasks: list[TaskRow]) -> dict[str, int]:
    def settled(t: TaskRow) -> bool:
        return t.execute_status in ("ERROR", "SUCCESS")

    return {
        "running_tasks_count": sum(t.status == 1 and not settled(t) for t in tasks),
        "abnormal_tasks_count": sum(t.execute_status == "ERROR" for t in tasks),
        "terminated_tasks_count": sum(t.status == 0 and not settled(t) for t in tasks),
        "completed_tasks_count": sum(t.execute_status == "SUCCESS" for t in tasks),
    }


def _one_based_page(request: Request) -> tuple[int, int]:
    query = request.query_params
    offset = clamped_int_param(query, "offset", default=1, low=1)
    limit = min(int_param(query, "limit", default=10, minimum=1), TASKS_LIMIT)
    return page_bounds(offset, limit, first=1, mode=state_of(request).options.offset_mode)


async def list_task_monitors(request: Request) -> Response:
    instance = instance_of(request)
    query = request.query_params
    start, stop = _one_based_page(request)
    fragment = query.get("task_name")
    execute_status = enum_param(query, "execute_status", EXECUTE_STATUSES)
    rows = [
        t.to_monitor_entity()
        for t in state_of(request).tasks(instance.id)
        if (not fragment or fragment in t.task_name)
        and (execute_status is None or t.execute_status == execute_status)
    ]
    return json_response(_page(rows, start, stop, "entities"))


async def list_monitor_logs(request: Request) -> Response:
    task = task_of(request)
    query = request.query_params
    start, stop = _one_based_page(request)
    begin = int_param(query, "begin_time", default=None, minimum=0)
    end = int_param(query, "end_time", default=None, minimum=0)
    if begin is not None and end is not None and begin > end:
        raise BadRequest("Invalid parameters: begin_time is after end_time.")
    logs = [
        log
        for log in state_of(request).monitor_logs(task)
        if (begin is None or log["start_time"] >= begin)
        and (end is None or log["start_time"] <= end)
    ]
    return json_response(_page(logs, start, stop, "entities"))


routes = [
    Route("/v2/{project_id}/instances", list_instances, methods=["GET"]),
    Route(f"{INSTANCE_PATH}/tasks", list_tasks, methods=["GET"]),
    Route(f"{INSTANCE_PATH}/tasks/{{task_id}}", show_task, methods=["GET"]),
    Route(f"{INSTANCE_PATH}/statistics/tasks", count_tasks, methods=["GET"]),
    Route(f"{INSTANCE_PATH}/task-monitors", list_task_monitors, methods=["GET"]),
    Route(f"{INSTANCE_PATH}/tasks/{{task_id}}/monitor-logs", list_monitor_logs, methods=["GET"]),
]
