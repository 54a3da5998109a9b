"""The error codes and messages the sandbox answers with, as the FDI error-code page words them.

Plain constants (no Starlette), shared by the routes and the lifecycle. When each is used is in
the table of ``responses``.
"""

from __future__ import annotations

__all__ = [
    "INSTANCE_NOT_FOUND",
    "INVALID_ROMA_PARAMETERS",
    "NOT_COMBINED",
    "START_FAILED",
    "STOP_FAILED",
    "TASKS_DO_NOT_EXIST",
    "TASKS_RUNNING",
    "TASK_ID_EMPTY",
    "TASK_LIST_EMPTY",
    "TASK_NOT_FOUND",
]

TASK_NOT_FOUND = ("FDI.3081", "The task does not exist.")
INSTANCE_NOT_FOUND = ("FDI.3180", "The instance does not exist in this project.")
TASKS_RUNNING = ("FDI.3023", "One or more tasks are running.")
TASKS_DO_NOT_EXIST = ("FDI.3021", "One or more tasks do not exist.")
TASK_ID_EMPTY = ("FDI.3022", "One or more tasks have empty task IDs.")
TASK_LIST_EMPTY = ("FDI.3150", "The task list is empty.")
NOT_COMBINED = (
    "FDI.3002",
    "Invalid parameters: the task is not a combined task (ext_type is not CDC); "
    "only a combined task's progress can be reset.",
)
STOP_FAILED = {
    "FDI.3019": "Failed to stop the real-time task.",
    "FDI.3020": "Failed to stop the scheduled task.",
}
START_FAILED = {
    "FDI.3026": "Failed to manually start the task.",
    "FDI.3027": "Failed to manually stop the task.",
}
INVALID_ROMA_PARAMETERS = ("ROMA.13000", "Invalid parameters.")
"""The instance API's own error family (``{error_code, error_msg, error_details, request_id}``)."""
