"""The ROMA Connect endpoints of ``roma-api.md`` §1 and §2, under ``/v2/{project_id}``.

Handlers read the ``SandboxState`` from ``request.app.state.roma`` and raise ``Refusal`` (any
error answer) or ``BadRequest`` (400 FDI.3002); ``create_app`` turns both into responses. The
gateway layer in front has already authenticated the request and checked the project id.

Paging: the instances list has a 0-based record ``offset`` (0..100) and ``limit`` 0..100
(default 10); the tasks list ``limit`` 1..1000 (default 10) and ``offset`` >= 0; task monitors and
monitor logs ``offset`` >= 1 and ``limit`` 1..999 (default 10). Whether task/monitor/log
offsets count records or pages is the state option ``offset_mode``: with ``"records"``
(default) tasks ``offset=40`` starts at the 41st record and monitors ``offset=41`` too; with
``"pages"`` tasks ``offset=0`` and monitors ``offset=1`` are the first page of ``limit``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..ids import MAX_ID_LENGTH
from .data import InstanceRow, TaskRow
from .params import BadRequest, enum_param, int_param, page_bounds, parse_reset_body
from .records import ResetRecord
from .responses import fdi_error, json_response
from .state import SandboxState

__all__ = ["REQUEST_ID_KEY", "Refusal", "routes"]

REQUEST_ID_KEY = "roma_sandbox.request_id"

EXECUTE_STATUSES = ("UNSTARTED", "WAITING", "RUNNING", "SUCCESS", "CANCELLED", "ERROR")

TASK_NOT_FOUND = ("FDI.3081", "The task does not exist.")
INSTANCE_NOT_FOUND = ("FDI.3180", "The instance does not exist in this project.")
TASKS_RUNNING = ("FDI.3023", "One or more tasks are running.")
NOT_COMBINED = (
    "FDI.3002",
    "Invalid parameters: the task is not a combined task (ext_type is not CDC); "
    "only a combined task's progress can be reset.",
)


class Refusal(Exception):
    """An error answer raised from deep inside a handler."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def _state(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.roma
    return state


def request_id(request: Request) -> str:
    return str(request.scope.get(REQUEST_ID_KEY, ""))


def _path_id(request: Request, name: str) -> str:
    value = str(request.path_params[name])
    if not 1 <= len(value) <= MAX_ID_LENGTH:
        raise BadRequest(f"Invalid parameter {name}: it must be 1 to {MAX_ID_LENGTH} characters.")
    return value


def _instance(request: Request) -> InstanceRow:
    instance = _state(request).instance(_path_id(request, "instance_id"))
    if instance is None:
        raise Refusal(fdi_error(404, *INSTANCE_NOT_FOUND))
    return instance


def _task(request: Request) -> TaskRow:
    instance = _instance(request)
    task = _state(request).task(instance.id, _path_id(request, "task_id"))
    if task is None:
        raise Refusal(fdi_error(404, *TASK_NOT_FOUND))
    return task


def _page(items: list[Any], start: int, stop: int, key: str) -> dict[str, Any]:
    page = items[start:stop]
    return {"total": len(items), "size": len(page), key: page}


async def list_instances(request: Request) -> Response:
    query = request.query_params
    offset = int_param(query, "offset", default=0, minimum=0, maximum=100)
    limit = int_param(query, "limit", default=10, minimum=0, maximum=100)
    status = query.get("status")
    rows = [i.to_api() for i in _state(request).instances if status is None or i.status == status]
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
                for key in ("task_tag", "source_app_id", "target_app_id")
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
    state = _state(request)
    instance = _instance(request)
    query = request.query_params
    limit = int_param(query, "limit", default=10, minimum=1, maximum=1000)
    offset = int_param(query, "offset", default=0, minimum=0)
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
    return json_response(_task(request).to_detail(_state(request).project_id))


def _one_based_page(request: Request) -> tuple[int, int]:
    query = request.query_params
    offset = int_param(query, "offset", default=1, minimum=1)
    limit = int_param(query, "limit", default=10, minimum=1, maximum=999)
    return page_bounds(offset, limit, first=1, mode=_state(request).options.offset_mode)


async def list_task_monitors(request: Request) -> Response:
    instance = _instance(request)
    query = request.query_params
    start, stop = _one_based_page(request)
    fragment = query.get("task_name")
    execute_status = enum_param(query, "execute_status", EXECUTE_STATUSES)
    rows = [
        t.to_monitor_entity()
        for t in _state(request).tasks(instance.id)
        if (not fragment or fragment in t.task_name)
        and (execute_status is None or t.execute_status == execute_status)
    ]
    return json_response(_page(rows, start, stop, "entities"))


async def list_monitor_logs(request: Request) -> Response:
    task = _task(request)
    query = request.query_params
    start, stop = _one_based_page(request)
    begin = int_param(query, "begin_time", default=None, minimum=0)
    end = int_param(query, "end_time", default=None, minimum=0)
    if begin is not None and end is not None and begin > end:
        raise BadRequest("Invalid parameters: begin_time is after end_time.")
    logs = [
        log
        for log in _state(request).monitor_logs(task)
        if (begin is None or log["start_time"] >= begin)
        and (end is None or log["start_time"] <= end)
    ]
    return json_response(_page(logs, start, stop, "entities"))


async def run_task(request: Request) -> Response:
    task = _task(request)
    if task.status == 1:
        raise Refusal(fdi_error(400, *TASKS_RUNNING))
    _state(request).set_task_status(task, running=True)
    return json_response({})


async def terminate_task(request: Request) -> Response:
    task = _task(request)
    _state(request).set_task_status(task, running=False)
    return json_response({"message": "Stop Success"})


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body) if body.strip() else None
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        raise BadRequest("Invalid parameters: the request body must be a JSON object.")
    return data


async def batch_operation(request: Request) -> Response:
    """Start or stop several tasks; unknown or already running tasks are listed as failures."""
    state = _state(request)
    instance = _instance(request)
    data = _json_object(await request.body())
    action = data.get("action_id")
    items = data.get("list")
    if action not in ("start", "stop") or not isinstance(items, list):
        raise BadRequest("Invalid parameters: action_id must be start or stop, list a list.")
    success: list[dict[str, Any]] = []
    failure: list[dict[str, Any]] = []
    for item in items:
        task_id = item.get("task_id") if isinstance(item, dict) else None
        task = state.task(instance.id, task_id) if isinstance(task_id, str) else None
        if task is None:
            code, msg = TASK_NOT_FOUND
            failure.append(
                {"task_id": task_id, "task_name": None, "error_code": code, "error_msg": msg}
            )
        elif action == "start" and task.status == 1:
            code, msg = TASKS_RUNNING
            failure.append(
                {
                    "task_id": task_id,
                    "task_name": task.task_name,
                    "error_code": code,
                    "error_msg": msg,
                }
            )
        else:
            state.set_task_status(task, running=action == "start")
            success.append({"task_id": task_id, "task_name": task.task_name})
    return json_response(
        {
            "success_count": len(success),
            "failure_count": len(failure),
            "success": success,
            "failure": failure,
        }
    )


async def reset_task(request: Request) -> Response:
    """``ResetMultiTaskOffset``: the one destructive call; a success is recorded in ``resets``."""
    state = _state(request)
    instance_id = _path_id(request, "instance_id")
    task_id = _path_id(request, "task_id")
    date_from = parse_reset_body(await request.body())
    task = _task(request)
    if not task.combined:
        raise Refusal(fdi_error(400, *NOT_COMBINED))
    if state.options.refuse_running and task.status == 1:
        raise Refusal(fdi_error(400, *TASKS_RUNNING))
    state.record_reset(
        ResetRecord(
            instance_id=instance_id,
            task_id=task_id,
            date_from=date_from,
            at=datetime.now(timezone.utc),
            request_id=request_id(request),
        )
    )
    return json_response({"message": "Reset Success"})


_INSTANCE = "/v2/{project_id}/fdi/instances/{instance_id}"

routes = [
    Route("/v2/{project_id}/instances", list_instances, methods=["GET"]),
    Route(f"{_INSTANCE}/tasks", list_tasks, methods=["GET"]),
    Route(f"{_INSTANCE}/tasks/{{task_id}}", show_task, methods=["GET"]),
    Route(f"{_INSTANCE}/task-monitors", list_task_monitors, methods=["GET"]),
    Route(f"{_INSTANCE}/tasks/{{task_id}}/monitor-logs", list_monitor_logs, methods=["GET"]),
    Route(f"{_INSTANCE}/tasks/{{task_id}}/run", run_task, methods=["POST"]),
    Route(f"{_INSTANCE}/tasks/{{task_id}}/terminate", terminate_task, methods=["POST"]),
    Route(f"{_INSTANCE}/batch-operation/tasks", batch_operation, methods=["POST"]),
    Route(f"{_INSTANCE}/multi-tasks/{{task_id}}/reset", reset_task, methods=["POST"]),
]
