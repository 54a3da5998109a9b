"""The ROMA Connect writes of ``roma-api.md`` §1 and §2: batch start/stop, run, terminate, reset.

What each does to a task is the lifecycle's business (``lifecycle``); here the requests are read
and the answers shaped as the official SDK models them:

* ``POST .../batch-operation/tasks`` (``BatchStartOrStopTasks``), ``{"action_id": "start" |
  "stop", "list": [{"task_id"}, ...]}``: at most 10 tasks (more is 400 FDI.3002, none is 400
  FDI.3150). Each task's result is in ``success[]`` or ``failure[]`` of a 200, every entry with
  ``task_id``, ``task_name``, ``error_code``, ``error_msg`` (null on success).
* ``POST .../tasks/{id}/run`` (``RunTask``): one scheduling now; 400 FDI.3023 while an execution
  runs. ``POST .../tasks/{id}/terminate`` (``StopTask``): the current execution is cancelled.
  Neither starts or stops the task.
* ``POST .../multi-tasks/{id}/reset`` (``ResetMultiTaskOffset``): the one destructive call,
  recorded in ``resets``; with ``refuse_running`` a running task is refused with 400 FDI.3023.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .codes import (
    NOT_COMBINED,
    TASK_ID_EMPTY,
    TASK_LIST_EMPTY,
    TASKS_DO_NOT_EXIST,
    TASKS_RUNNING,
)
from .data import TaskRow
from .fdi import INSTANCE_PATH, Refusal, instance_of, path_id, request_id, state_of, task_of
from .params import BadRequest, parse_reset_body
from .records import ResetRecord
from .responses import fdi_error, json_response

__all__ = ["MAX_BATCH", "routes"]

MAX_BATCH = 10
"""Tasks one batch start/stop call may carry (the API reference's limit)."""


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body) if body.strip() else None
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        raise BadRequest("Invalid parameters: the request body must be a JSON object.")
    return data


def _entry(
    task_id: object, task: TaskRow | None, error: tuple[str, str] | None = None
) -> dict[str, Any]:
    return {
        "task_id": task_id if isinstance(task_id, str) else None,
        "task_name": task.task_name if task is not None else None,
        "error_code": error[0] if error else None,
        "error_msg": error[1] if error else None,
    }


async def batch_operation(request: Request) -> Response:
    """Start or stop up to ten tasks; each one's failure is reported in ``failure[]``."""
    state = state_of(request)
    instance = instance_of(request)
    data = _json_object(await request.body())
    action = data.get("action_id")
    items = data.get("list")
    if action not in ("start", "stop") or not isinstance(items, list):
        raise BadRequest("Invalid parameters: action_id must be start or stop, list a list.")
    if not items:
        raise Refusal(fdi_error(400, *TASK_LIST_EMPTY))
    if len(items) > MAX_BATCH:
        raise BadRequest(
            f"Invalid parameters: at most {MAX_BATCH} tasks per request, not {len(items)}."
        )
    success: list[dict[str, Any]] = []
    failure: list[dict[str, Any]] = []
    for item in items:
        task_id = item.get("task_id") if isinstance(item, dict) else None
        if not isinstance(task_id, str) or not task_id:
            failure.append(_entry(task_id, None, TASK_ID_EMPTY))
            continue
        task = state.task(instance.id, task_id)
        if task is None:
            failure.append(_entry(task_id, None, TASKS_DO_NOT_EXIST))
            continue
        error = state.start_task(task) if action == "start" else state.stop_task(task)
        (failure if error else success).append(_entry(task_id, task, error))
    return json_response(
        {
            "success_count": len(success),
            "failure_count": len(failure),
            "success": success,
            "failure": failure,
        }
    )


async def run_task(request: Request) -> Response:
    """``RunTask``: trigger one scheduling of the task (its ``status`` does not change)."""
    task = task_of(request)
    if not state_of(request).run_task(task):
        raise Refusal(fdi_error(400, *TASKS_RUNNING))
    return json_response({})


async def terminate_task(request: Request) -> Response:
    """``StopTask``: stop the task's current execution (its ``status`` does not change)."""
    state_of(request).terminate_task(task_of(request))
    return json_response({"message": "Stop Success"})


async def reset_task(request: Request) -> Response:
    """``ResetMultiTaskOffset``: the one destructive call; a success is recorded in ``resets``
    and read by the task's next start."""
    state = state_of(request)
    instance_id = path_id(request, "instance_id")
    task_id = path_id(request, "task_id")
    date_from = parse_reset_body(await request.body())
    task = task_of(request)
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


routes = [
    Route(f"{INSTANCE_PATH}/tasks/{{task_id}}/run", run_task, methods=["POST"]),
    Route(f"{INSTANCE_PATH}/tasks/{{task_id}}/terminate", terminate_task, methods=["POST"]),
    Route(f"{INSTANCE_PATH}/batch-operation/tasks", batch_operation, methods=["POST"]),
    Route(f"{INSTANCE_PATH}/multi-tasks/{{task_id}}/reset", reset_task, methods=["POST"]),
]
