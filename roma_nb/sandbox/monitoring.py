"""Executions and the monitor logs they show: the codes of ``roma-api.md`` §2a, used as documented.

A task's monitor logs are its executions, newest first. Each ``Execution`` is rendered when it is
read, so one that is still running shows its rows growing with the clock and ``end_time`` null.
What an execution reports follows from how it ended (``end_code``):

==========  ===============================================================  ==================
end_code    steps (``detail_logs``), first to last                           the log shows
==========  ===============================================================  ==================
None        99/900 started, 100 reader started, 102 reading, 500, 502        102 NORMAL RUNNING
103 / 503   ... the reader (103) or the writer (503) fails                   RUNTIME_ERR ERROR
106         a running execution stopped: 106 reader and 505 writer cancelled RUNTIME_CANCEL
901         900, 100, 104 (105 when 0 rows), 500, 504, 901 run finished      TASK_END SUCCESS
911 / 913   the reader was not started / the scheduling request failed       ERROR
==========  ===============================================================  ==================

An execution begun by a start (``begun_by=99``) names in its reader step where it reads from:
the change log from ``date_from`` after a reset, else the saved position. That remark is the
only trace of the read position the API gives (no API exposes the binlog / SCN / LSN itself).

``make_executions`` seeds a task's history: ``count`` finished executions spread over ``days``
days before the task's ``last_execute_time``; the newest fails for a task in ERROR and is still
running for a running REALTIME task, so the monitor state and the logs tell the same story.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from ..models import MONITOR_STATUS_CODES
from .data import DAY_MS, TaskRow, iso_utc

__all__ = [
    "CODE_STATES",
    "Execution",
    "describe_start",
    "make_executions",
    "new_execution",
    "too_old_remark",
]

# code -> (position, position_status, execute_status) of a step or a log ending in that code.
CODE_STATES: dict[int, tuple[str, str, str]] = {
    16: ("ADAPTER", "RUNTIME_CANCEL", "CANCELLED"),
    99: ("ADAPTER", "NODE_END", "RUNNING"),
    100: ("READER", "NODE_END", "RUNNING"),
    102: ("READER", "NORMAL", "RUNNING"),
    103: ("READER", "RUNTIME_ERR", "ERROR"),
    104: ("READER", "NODE_END", "SUCCESS"),
    105: ("READER", "NODE_END", "SUCCESS"),
    106: ("READER", "RUNTIME_CANCEL", "CANCELLED"),
    500: ("WRITER", "NODE_END", "RUNNING"),
    502: ("WRITER", "NORMAL", "RUNNING"),
    503: ("WRITER", "RUNTIME_ERR", "ERROR"),
    504: ("WRITER", "NODE_END", "SUCCESS"),
    505: ("WRITER", "RUNTIME_CANCEL", "CANCELLED"),
    900: ("ADAPTER", "NODE_END", "RUNNING"),
    901: ("ADAPTER", "TASK_END", "SUCCESS"),
    911: ("READER", "RUNTIME_ERR", "ERROR"),
    913: ("ADAPTER", "INTERNAL_ERR", "ERROR"),
}

RUNNING_CODE = 102
"""What a running execution shows: its reader is reading (``data_count`` growing)."""

_STEP_MS = 1000
"""How far apart the first steps of a running execution begin."""

# How seeded executions fail: (code, remark, dirty rows?).
_FAILURES: tuple[tuple[int, str, bool], ...] = (
    (103, "Source error: Communications link failure (binlog reader lost the source).", False),
    (503, "Target error: permission denied for relation on the target.", False),
    (503, "Target error: dirty data exceeds the threshold.", True),
    (911, "The reader was not started: check the network and the source parameters.", False),
    (913, "The scheduling request failed: no idle executor in the instance.", False),
)

_STEP_REMARKS = {
    99: "Task started.",
    102: "Reading data.",
    502: "Writing data.",
    106: "The reader was forcibly cancelled: the task was stopped.",
    505: "The writer was forcibly cancelled: the task was stopped.",
}


def _steps(end_code: int | None, begun_by: int, rows: int) -> list[int]:
    """The step codes an execution went through, given how it ended."""
    if end_code == 913:
        return [913]
    if end_code == 911:
        return [begun_by, 911]
    if end_code == 103:
        return [begun_by, 100, 103]
    if end_code is None:
        return [begun_by, 100, 102, 500, 502]
    if end_code == 106:
        return [begun_by, 100, 102, 500, 502, 106, 505]
    if end_code == 503:
        return [begun_by, 100, 104, 500, 503]
    return [begun_by, 100, 104 if rows else 105, 500, 504, 901]


def _kilobytes(rows: int) -> float:
    return round(rows * 0.35 / 1024, 3)


@dataclass(slots=True)
class Execution:
    """One execution of a task; mutable only by ending (``finish``)."""

    id: str
    start_ms: int
    dispatch_ms: int
    reader: str
    writer: str
    rows_per_s: float  # a running execution syncs this many rows a second (about the seeded pace)
    reads_from: str = "the saved position"
    begun_by: int = 900
    end_ms: int | None = None
    end_code: int | None = None
    remark: str = ""
    fixed_rows: int | None = None
    dirty_rows: int = 0
    scheduled: bool = False  # a TIMING task's: only those report read_spend_time

    @property
    def running(self) -> bool:
        return self.end_ms is None

    def rows(self, now_ms: int) -> int:
        """Rows synced so far: fixed once known, else growing with the time it has run."""
        if self.fixed_rows is not None:
            return self.fixed_rows
        until = now_ms if self.end_ms is None else self.end_ms
        return int(max(0, until - self.start_ms) * self.rows_per_s / 1000)

    def finish(self, at_ms: int, code: int, remark: str = "") -> None:
        """End a running execution at ``at_ms`` with ``code`` (106 when it was stopped)."""
        if self.end_ms is not None:
            return
        at_ms = max(at_ms, self.start_ms)
        self.fixed_rows = self.rows(at_ms)
        self.end_ms = at_ms
        self.end_code = code
        self.remark = remark

    def to_log(self, now_ms: int) -> dict[str, Any]:
        """The ``TaskMonitorLog`` body of this execution as seen at ``now_ms``."""
        rows = self.rows(now_ms)
        until = now_ms if self.end_ms is None else self.end_ms
        spend = max(0, until - self.start_ms)
        code = RUNNING_CODE if self.end_code is None else self.end_code
        position, position_status, execute_status = CODE_STATES[code]
        read_spend = spend // 3 if self.scheduled else None
        return {
            "id": self.id,
            "start_time": self.start_ms,
            "dispatch_time": self.dispatch_ms,
            "end_time": self.end_ms,
            "execute_status": execute_status,
            "position": position,
            "position_status": position_status,
            "status": code,
            "dirty_data_count": self.dirty_rows,
            "data_count": rows,
            "data_size": _kilobytes(rows),
            "data_size_unit": "KB",
            "spend_time": spend,
            "read_spend_time": read_spend,
            "write_spend_time": spend - (read_spend or 0),
            "remarks": self.remark if self.end_code is not None else self._reads_remark(),
            "detail_logs": self._detail_logs(rows, until),
        }

    def _reads_remark(self) -> str:
        return f"Reader started: reading {self.reads_from}."

    def _detail_logs(self, rows: int, until: int) -> list[dict[str, Any]]:
        codes = _steps(self.end_code, self.begun_by, rows)
        span = max(0, until - self.start_ms)

        def begins(index: int) -> int:
            # A finished execution's steps share its time; a running one's begin a second
            # apart and stay where they began while its open steps go on.
            if self.end_code is None:
                return self.start_ms + min(index * _STEP_MS, span)
            return self.start_ms + span * index // len(codes)

        steps = []
        for index, code in enumerate(codes):
            position, position_status, _ = CODE_STATES[code]
            begin, end = begins(index), begins(index + 1) if index + 1 < len(codes) else until
            open_step = position_status == "NORMAL" and self.end_code is None
            stage = {"READER": self.reader, "WRITER": self.writer}.get(position, "adapter")
            counted = rows if code in (102, 104, 502, 504, 503, 901) else 0
            steps.append(
                {
                    "id": f"{self.id}-{index + 1:02d}",
                    "status": code,
                    "position": position,
                    "position_status": position_status,
                    "stage": stage,
                    "dirty_data_count": self.dirty_rows if code == 503 else 0,
                    "data_count": counted,
                    "data_size": _kilobytes(counted),
                    "data_size_unit": "KB",
                    "spend_time": (until if open_step else end) - begin,
                    "remarks": self._step_remark(code),
                    "step_begin_time": begin,
                    "step_end_time": None if open_step else end,
                }
            )
        return steps

    def _step_remark(self, code: int) -> str:
        if code == self.end_code and self.remark:
            return self.remark
        if code == 100:
            return self._reads_remark()
        return _STEP_REMARKS.get(code) or MONITOR_STATUS_CODES[code].capitalize() + "."


def stage_names(task: TaskRow) -> tuple[str, str]:
    """The reader and writer plugins of a task, e.g. ``mysqlreader`` and ``dwswriter``."""
    return f"{task.source_kind}reader", f"{task.target_kind}writer"


def new_execution(
    rng: random.Random, task: TaskRow, start_ms: int, *, reads_from: str, begun_by: int
) -> Execution:
    """A running execution of ``task`` that starts at ``start_ms``."""
    reader, writer = stage_names(task)
    return Execution(
        id=f"{rng.getrandbits(64):016x}",
        start_ms=start_ms,
        dispatch_ms=start_ms,
        reader=reader,
        writer=writer,
        rows_per_s=rng.uniform(0.5, 5.0),
        reads_from=reads_from,
        begun_by=begun_by,
        scheduled=task.task_type == "TIMING",
    )


def make_executions(seed: int, task: TaskRow, count: int, days: int) -> list[Execution]:
    """``count`` executions of ``task`` over ``days`` days up to its last execution, newest first.

    A task whose ``execute_status`` is ERROR has its newest executions failing (so the
    troubleshooting view has something to show); others fail now and then. A running REALTIME
    task's newest execution is still running; a CANCELLED task's newest one was cancelled.
    """
    rng = random.Random(f"roma-sandbox/{seed}/logs/{task.task_id}")
    if count <= 0:
        return []
    reader, writer = stage_names(task)
    step = max(1, days * DAY_MS // count)
    executions = []
    for i in range(count):
        start = task.last_execute_ms - i * step - (rng.randrange(0, max(1, step // 4)) if i else 0)
        failing = (task.execute_status == "ERROR" and i < 3) or rng.random() < 0.08
        failures = _FAILURES
        if i == 0 and task.execute_status == "ERROR":  # fails where the monitor says it is
            failures = tuple(f for f in _FAILURES if CODE_STATES[f[0]][0] == task.position)
        code, remark, dirty = rng.choice(failures) if failing else (901, "", False)
        spend = rng.randrange(200, 120_000)
        rows = 0 if failing or rng.random() < 0.1 else rng.randrange(1, 250_000)
        execution = Execution(
            id=f"{rng.getrandbits(64):016x}",
            start_ms=start,
            dispatch_ms=start - rng.randrange(0, 5_000),
            reader=reader,
            writer=writer,
            rows_per_s=rng.uniform(0.5, 5.0),
            end_ms=start + spend,
            end_code=code,
            remark=remark,
            fixed_rows=rows,
            dirty_rows=rng.randrange(1, 40) if dirty else 0,
            scheduled=task.task_type == "TIMING",
        )
        if i == 0 and task.execute_status == "RUNNING" and task.task_type == "REALTIME":
            execution.end_ms, execution.end_code, execution.fixed_rows = None, None, None
            execution.remark = ""
        elif i == 0 and task.execute_status == "CANCELLED":
            execution.end_code, execution.remark = 106, _STEP_REMARKS[106]
        executions.append(execution)
    return executions


def describe_start(date_from: int | None, reset: bool) -> str:
    """Where a started execution's reader reads from, in the words of its reader step."""
    if not reset:
        return "the saved position"
    if date_from is None:
        return "the position the service chose at the reset (no date_from was given)"
    return f"the change log from {iso_utc(date_from)} (date_from {date_from})"


def too_old_remark(date_from: int, oldest_ms: int, retention_days: float) -> str:
    """The remark of an execution whose ``date_from`` is older than the change-log retention."""
    return (
        f"Source error: the change log no longer reaches back to {iso_utc(date_from)} "
        f"(date_from {date_from}); the source keeps {retention_days:g} days of change logs, "
        f"the oldest available is {iso_utc(oldest_ms)}."
    )
