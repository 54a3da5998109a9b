"""The rewind — look, stop, wait, reset, start, wait, verify — as a sans-IO step machine.

``rewind_procedure(targets, date_from, options)`` is a generator of *effects* (``ListTasks``,
``SendBatch``, ``ResetTasks``, ``ReadMonitors``, ``ReadMonitorLogs``, ``Sleep``, ``Record``) that
receives their results and returns one ``RewindResult`` per target. ``run_rewind`` (blocking)
and ``run_rewind_async`` perform the effects with a client's methods (``Services``); the
clients' ``rewind`` is one call to them. The same module gives the surfaces what they show
before anything is sent (``plan_steps``, ``describe_task``, ``summarize``) and what the client's
``stop_tasks`` / ``start_tasks`` need (``batch_calls``, ``BatchCall.body``,
``read_batch_answer``, ``batch_error_results``). The history rule for tasks left stopped is
``roma_nb.models.left_stopped`` (the history may import only the models).

``run_rewind_async`` / ``drive_async`` / ``AsyncHandler`` load on first use, so the blocking
side does not import ``asyncio``.
"""

from typing import TYPE_CHECKING, Any

from ._answers import NOT_FOUND_CODES, batch_error_results, error_fields, read_batch_answer
from ._conclude import final_state, not_done, reset_state
from ._drive import (
    AsyncServices,
    Progress,
    ResetProgress,
    Services,
    StepRecorder,
    SyncHandler,
    drive,
    run_rewind,
    write_steps,
)
from ._effects import (
    SENDING_EFFECTS,
    Action,
    BatchCall,
    Effect,
    ListTasks,
    LogRequest,
    ReadMonitorLogs,
    ReadMonitors,
    Record,
    ResetTasks,
    SendBatch,
    Sleep,
    StepWrite,
    StopSignal,
    TaskRef,
    batch_calls,
)
from ._machine import SYSTEM_CLOCK, Clock, Procedure, RewindTarget, rewind_procedure
from ._plan import (
    MAX_BATCH,
    RESTARTS,
    Restart,
    RewindOptions,
    RewindSettings,
    describe_instant,
    describe_task,
    plan_steps,
    summarize,
)
from ._verify import FAILURE_CODES, READING_CODES, Verdict, explain_code, judge

if TYPE_CHECKING:
    from ._drive_async import AsyncHandler, drive_async, run_rewind_async

__all__ = [
    "FAILURE_CODES",
    "MAX_BATCH",
    "NOT_FOUND_CODES",
    "READING_CODES",
    "RESTARTS",
    "SENDING_EFFECTS",
    "SYSTEM_CLOCK",
    "Action",
    "AsyncHandler",
    "AsyncServices",
    "BatchCall",
    "Clock",
    "Effect",
    "ListTasks",
    "LogRequest",
    "Procedure",
    "Progress",
    "ReadMonitorLogs",
    "ReadMonitors",
    "Record",
    "ResetProgress",
    "ResetTasks",
    "Restart",
    "RewindOptions",
    "RewindSettings",
    "RewindTarget",
    "SendBatch",
    "Services",
    "Sleep",
    "StepRecorder",
    "StepWrite",
    "StopSignal",
    "SyncHandler",
    "TaskRef",
    "Verdict",
    "batch_calls",
    "batch_error_results",
    "describe_instant",
    "describe_task",
    "drive",
    "drive_async",
    "error_fields",
    "explain_code",
    "final_state",
    "judge",
    "not_done",
    "plan_steps",
    "read_batch_answer",
    "reset_state",
    "rewind_procedure",
    "run_rewind",
    "run_rewind_async",
    "summarize",
    "write_steps",
]

_ASYNC = {"AsyncHandler", "drive_async", "run_rewind_async"}


def __getattr__(name: str) -> Any:
    if name in _ASYNC:
        from . import _drive_async

        return getattr(_drive_async, name)
    raise AttributeError(f"module 'roma_nb.procedure' has no attribute {name!r}")
