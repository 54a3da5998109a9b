"""What a run left behind, as a person reads it: each task's outcome, and the tasks a rewind
stopped and did not start again (the panel's red banner, and its "Start them again").

A task left stopped is the loudest outcome a rewind has: a production sync that does not run.
The history knows them (``ResultLog.left_stopped``, also after a killed process); starting them
again writes a ``start`` row per task, so a successful start clears it from that list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..dates import format_instant
from ..models import MonitorLog, ResetResult, RewindResult, RewindStep, StepResult

if TYPE_CHECKING:
    import pandas as pd

    from ..client import RomaClient
    from .logs import TrackedLog

__all__ = ["OUTCOME_COLUMNS", "describe_monitor_log", "outcome_frame", "start_again"]

OUTCOME_COLUMNS: tuple[str, ...] = (
    "task_name",
    "task_id",
    "was_running",
    "outcome",
    "stop",
    "reset",
    "start",
    "verify",
    "message",
    "verified_by",
)
"""One row per task of a run; the step columns are None for a step that did not run (and for
a raw reset, which has only its ``reset``)."""


def describe_monitor_log(log: MonitorLog | None) -> str | None:
    """``execution 42 began 2024-06-01T01:31:00Z: NORMAL, position …``: the proof a
    verification rests on, in one line."""
    if log is None:
        return None
    parts = [f"execution {log.id}"]
    if log.start_time is not None:
        parts.append(f"began {format_instant(log.start_time, 'UTC').utc_iso}")
    said = [x for x in (log.execute_status, log.position, log.remarks) if x]
    return " ".join(parts) + (f": {', '.join(said)}" if said else "")


def _row(result: ResetResult | RewindResult) -> tuple[object, ...]:
    if isinstance(result, ResetResult):
        return (
            result.task_name,
            result.task_id,
            None,
            result.outcome,
            None,
            result.outcome,
            None,
            None,
            result.message or result.error_msg,
            None,
        )
    verification = result.verification
    message = result.message
    if verification is not None and verification.message and verification.message not in message:
        message = f"{message} {verification.message}"
    return (
        result.task_name,
        result.task_id,
        result.was_running,
        result.outcome,
        *(s.outcome if s is not None else None for s in (result.stop, result.reset)),
        *(s.outcome if s is not None else None for s in (result.start, verification)),
        message,
        describe_monitor_log(verification.monitor_log if verification else None),
    )


def outcome_frame(results: Sequence[ResetResult | RewindResult]) -> pd.DataFrame:
    """The results of a run as a table with ``OUTCOME_COLUMNS``, in target order."""
    import pandas as pd

    frame = pd.DataFrame.from_records([_row(r) for r in results], columns=list(OUTCOME_COLUMNS))
    typed: pd.DataFrame = frame.astype({"was_running": "boolean"})
    return typed


def start_again(client: RomaClient, log: TrackedLog, stopped: pd.DataFrame) -> list[StepResult]:
    """Start the tasks of a ``left_stopped`` frame with one batch start call per instance and
    write each start to ``log`` under the rewind that stopped the task."""
    results: list[StepResult] = []
    if stopped.empty:
        return results
    rewind_of = {
        (str(r.instance_id), str(r.task_id)): str(r.rewind_id)
        for r in stopped.itertuples(index=False)
    }
    for instance_id, group in stopped.groupby("instance_id", sort=False):
        ids = [str(t) for t in group["task_id"]]
        answers = client.start_tasks(str(instance_id), ids)
        for answer in answers:
            rewind_id = rewind_of.get((answer.instance_id, answer.task_id), "")
            log.append_step(
                RewindStep.of(rewind_id, answer, task_name=answer.task_name, was_running=True)
            )
        results.extend(answers)
    return results
