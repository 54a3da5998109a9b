"""Reading the batch start/stop answer into one ``StepResult`` per task.

``{success_count, failure_count, success: [...], failure: [{task_id, task_name, error_code,
error_msg}]}`` — and a 200 can carry failures, so the lists decide, not the status. The shape
of ``success`` entries is not documented (ids or objects), so both are read. A task the answer
does not mention is ``unknown``: the machine then learns its state from the task list.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..errors import ApiError, OutcomeUnknown, RomaError, ValidationError
from ..models import Outcome, StepResult
from ._effects import BatchCall

__all__ = [
    "NOT_FOUND_CODES",
    "RUNNING_CODE",
    "batch_error_results",
    "error_fields",
    "read_batch_answer",
]

NOT_FOUND_CODES = frozenset({"FDI.3021", "FDI.3081", "FDI.3180"})
"""The codes that say the task does not exist (``roma-api.md`` §2, §3)."""

RUNNING_CODE = "FDI.3023"
""""One or more tasks are running": what the sandbox (and maybe the service) answers a start
of a task that still runs (``roma-api.md`` §2, §3)."""


def _entry_id(entry: object) -> str | None:
    if isinstance(entry, str):
        return entry
    if isinstance(entry, Mapping):
        value = entry.get("task_id", entry.get("id"))
        return value if isinstance(value, str) else None
    return None


def _text(entry: Mapping[str, Any], key: str) -> str | None:
    value = entry.get(key)
    return None if value is None else str(value)


def _verb(call: BatchCall) -> str:
    return "stopping" if call.action == "stop" else "starting"


def read_batch_answer(
    call: BatchCall,
    body: Any,
    *,
    status_code: int | None = None,
    request_id: str | None = None,
    attempts: int = 1,
    elapsed_ms: float | None = None,
    at: datetime,
) -> list[StepResult]:
    """One result per task of ``call``, in its order, from a 2xx answer's decoded body."""
    data: Mapping[str, Any] = body if isinstance(body, Mapping) else {}
    successes = data.get("success")
    failures = data.get("failure")
    ok_ids = {_entry_id(e) for e in successes} if isinstance(successes, list) else set()
    failed: dict[str, Mapping[str, Any]] = {}
    if isinstance(failures, list):
        for entry in failures:
            task_id = _entry_id(entry)
            if task_id is not None:
                failed[task_id] = entry if isinstance(entry, Mapping) else {}
    # Without lists, counts that account for every task still tell the story.
    all_counted = (
        not isinstance(successes, list)
        and not isinstance(failures, list)
        and data.get("failure_count") == 0
        and data.get("success_count") == len(call.task_ids)
    )
    common: dict[str, Any] = {
        "step": call.action,
        "instance_id": call.instance_id,
        "status_code": status_code,
        "request_id": request_id,
        "attempts": attempts,
        "elapsed_ms": elapsed_ms,
        "at": at,
    }
    results: list[StepResult] = []
    for task_id in call.task_ids:
        if task_id in failed:
            entry = failed[task_id]
            code, msg = _text(entry, "error_code"), _text(entry, "error_msg")
            results.append(
                StepResult(
                    task_id=task_id,
                    outcome="failed",
                    task_name=_text(entry, "task_name"),
                    message=_refusal(call, task_id, code, msg),
                    error_code=code,
                    error_msg=msg,
                    **common,
                )
            )
        elif task_id in ok_ids or all_counted:
            results.append(
                StepResult(
                    task_id=task_id,
                    outcome="success",
                    message=f"The service accepted {_verb(call)} the task.",
                    **common,
                )
            )
        else:
            results.append(
                StepResult(
                    task_id=task_id,
                    outcome="unknown",
                    message=f"The answer to {_verb(call)} does not mention this task.",
                    **common,
                )
            )
    return results


def _refusal(call: BatchCall, task_id: str, code: str | None, msg: str | None) -> str:
    what = f"{code}: {msg}" if code and msg else (code or msg or "no reason given")
    if code in NOT_FOUND_CODES:
        return (
            f"Task {task_id} was not found when {_verb(call)} it ({what}): it may have been "
            "deleted since it was looked at."
        )
    return f"The service refused {_verb(call)} the task ({what})."


def error_fields(error: BaseException) -> dict[str, Any]:
    """What a ``StepResult`` says about an error: ``message``, ``attempts`` and, for an
    ``ApiError``, its status, codes and request id."""
    attempts = getattr(error, "attempts", 0 if isinstance(error, ValidationError) else 1)
    if isinstance(error, ApiError):
        return {
            "message": error.message,
            "attempts": attempts,
            "status_code": error.status_code,
            "error_code": error.error_code,
            "error_msg": error.error_msg,
            "request_id": error.request_id,
        }
    if isinstance(error, RomaError):
        return {"message": str(error), "attempts": attempts}
    return {"message": f"Unexpected {type(error).__name__}: {error}", "attempts": attempts}


def batch_error_results(
    call: BatchCall, error: BaseException, *, elapsed_ms: float | None = None, at: datetime
) -> list[StepResult]:
    """One result per task of a batch call that raised: ``unknown`` if the request may have
    reached the service (``OutcomeUnknown``), else ``failed`` with the error's fields."""
    outcome: Outcome = "unknown" if isinstance(error, OutcomeUnknown) else "failed"
    fields = error_fields(error)
    return [
        StepResult(
            step=call.action,
            instance_id=call.instance_id,
            task_id=task_id,
            outcome=outcome,
            elapsed_ms=elapsed_ms,
            at=at,
            **fields,
        )
        for task_id in call.task_ids
    ]
