"""Typed records of what the ROMA Connect API returns, of one attempted reset, and of a rewind.

The service's documentation and its official SDK disagree on field types (``created_date`` is a
string in one place and an integer in another, ``status`` arrives as ``0``, ``"0"`` or a word), and
new fields appear without notice. So every record is built by ``from_api``, which reads what it
knows leniently, keeps the untouched payload in ``raw`` and never fails on an unknown or missing
field. Treat records as values. ``ResetResult`` is frozen; the list records are not, because a
listing builds thousands of them and a frozen dataclass's ``__init__`` costs four times as much
(``bench/bench_client.py``, listing 10,000 tasks).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal, Protocol, TypeVar, get_args

__all__ = [
    "MONITOR_STATUS_CODES",
    "OUTCOMES",
    "RESTARTS",
    "REWIND_OUTCOMES",
    "SANDBOX_LABEL",
    "STEPS",
    "Instance",
    "MonitorDetailLog",
    "MonitorLog",
    "MonitorSide",
    "Outcome",
    "ResetResult",
    "Restart",
    "RewindOutcome",
    "RewindResult",
    "RewindStep",
    "StepName",
    "StepResult",
    "Task",
    "TaskMonitor",
    "describe_monitor_status",
    "left_stopped",
    "monitor_side",
]

Outcome = Literal["success", "failed", "unknown", "dry-run", "skipped"]
"""What became of one attempted reset.

``unknown`` means the request may have reached the service (a timeout after sending): the reset
may or may not have happened, and re-sending the same ``date_from`` is safe because it is
idempotent.
"""

OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)

SANDBOX_LABEL = "SANDBOX"
"""The environment label of the local sandbox, shown in banners and stamped on history rows."""


def _text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None or type(value) is str:
        return value
    return str(value)


def _int(data: Mapping[str, Any], key: str) -> int | None:
    """An integer field that may arrive as int, float or numeric string; anything else is None."""
    value = data.get(key)
    if type(value) is int:
        return value
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


@dataclass(slots=True)
class Instance:
    """A ROMA Connect instance (``GET /v2/{project_id}/instances``)."""

    id: str
    name: str = ""
    status: str | None = None
    description: str | None = None
    flavor_type: str | None = None
    project_id: str | None = None
    create_time: str | None = None
    enterprise_project_id: str | None = None
    maintain_begin: str | None = None
    maintain_end: str | None = None
    update_time: str | None = None
    charge_type: str | None = None
    publicip_address: str | None = None
    error_code: str | None = None
    error_msg: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Instance:
        return cls(
            id=_text(data, "id") or "",
            name=_text(data, "name") or "",
            status=_text(data, "status"),
            description=_text(data, "description"),
            flavor_type=_text(data, "flavor_type"),
            project_id=_text(data, "project_id"),
            create_time=_text(data, "create_time"),
            enterprise_project_id=_text(data, "enterprise_project_id"),
            maintain_begin=_text(data, "maintain_begin"),
            maintain_end=_text(data, "maintain_end"),
            update_time=_text(data, "update_time"),
            charge_type=_text(data, "charge_type"),
            publicip_address=_text(data, "publicip_address"),
            error_code=_text(data, "error_code"),
            error_msg=_text(data, "error_msg"),
            raw=data,
        )

    @property
    def label(self) -> str:
        """How a person recognises the instance in a picker: name, status and id."""
        status = f" [{self.status}]" if self.status else ""
        return f"{self.name or self.id}{status} ({self.id})"


def _task_status(data: Mapping[str, Any]) -> int | None:
    """``status`` is 0 (stopped) / 1 (running), but arrives as int, digit string or word."""
    number = _int(data, "status")
    if number is not None:
        return number
    word = (_text(data, "status") or "").strip().upper()
    return {"STOPPED": 0, "STOP": 0, "RUNNING": 1, "STARTED": 1}.get(word)


@dataclass(slots=True)
class Task:
    """An FDI task (``GET .../fdi/instances/{instance_id}/tasks``).

    The list endpoint does not repeat the instance id in each entity, so the client fills in
    ``instance_id``: a ``Task`` is then enough to address a reset. The task detail
    (``ShowTask``) names its modification time ``last_modified_date`` where the list says
    ``last_modified_time``; both land in ``last_modified_time``. The detail has no ``ext_type``:
    ``get_task`` takes it from the list, so ``is_combined`` is true to the service either way.
    """

    task_id: str
    task_name: str = ""
    instance_id: str | None = None
    task_type: str | None = None
    status: int | None = None
    execute_status: str | None = None
    created_date: str | None = None
    last_modified_time: int | None = None
    version: str | None = None
    ext_type: str | None = None
    source_app_id: str | None = None
    target_app_id: str | None = None
    source_instance_id: str | None = None
    target_instance_id: str | None = None
    enterprise_project_id: str | None = None
    task_tag: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any], instance_id: str | None = None) -> Task:
        return cls(
            task_id=_text(data, "task_id") or _text(data, "id") or "",
            task_name=_text(data, "task_name") or _text(data, "name") or "",
            instance_id=instance_id,
            task_type=_text(data, "task_type"),
            status=_task_status(data),
            execute_status=_text(data, "execute_status"),
            created_date=_text(data, "created_date"),
            last_modified_time=_int(data, "last_modified_time")
            if data.get("last_modified_time") is not None
            else _int(data, "last_modified_date"),
            version=_text(data, "version"),
            ext_type=_text(data, "ext_type"),
            source_app_id=_text(data, "source_app_id"),
            target_app_id=_text(data, "target_app_id"),
            source_instance_id=_text(data, "source_instance_id"),
            target_instance_id=_text(data, "target_instance_id"),
            enterprise_project_id=_text(data, "enterprise_project_id"),
            task_tag=_text(data, "task_tag"),
            raw=data,
        )

    @property
    def is_combined(self) -> bool:
        """A combined task is a CDC task: ``ext_type == "CDC"`` (case and spaces ignored)."""
        return (self.ext_type or "").strip().upper() == "CDC"

    @property
    def status_text(self) -> str:
        return (
            {0: "stopped", 1: "running"}.get(self.status, "unknown")
            if self.status is not None
            else "unknown"
        )


@dataclass(slots=True)
class TaskMonitor:
    """Monitoring state of one task (``GET .../task-monitors``)."""

    task_id: str
    task_name: str = ""
    instance_id: str | None = None
    task_type: str | None = None
    status: int | None = None
    execute_status: str | None = None
    last_execute_time: int | None = None
    position: str | None = None
    ext_type: str | None = None
    source_app_id: str | None = None
    source_app_name: str | None = None
    target_app_id: str | None = None
    target_app_name: str | None = None
    task_tag: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any], instance_id: str | None = None) -> TaskMonitor:
        return cls(
            task_id=_text(data, "task_id") or "",
            task_name=_text(data, "task_name") or "",
            instance_id=instance_id,
            task_type=_text(data, "task_type"),
            status=_task_status(data),
            execute_status=_text(data, "execute_status"),
            last_execute_time=_int(data, "last_execute_time"),
            position=_text(data, "position"),
            ext_type=_text(data, "ext_type"),
            source_app_id=_text(data, "source_app_id"),
            source_app_name=_text(data, "source_app_name"),
            target_app_id=_text(data, "target_app_id"),
            target_app_name=_text(data, "target_app_name"),
            task_tag=_text(data, "task_tag"),
            raw=data,
        )


MONITOR_STATUS_CODES: Mapping[int, str] = {
    16: "forcibly cancelled",
    99: "task started",
    100: "reader started",
    101: "reader ended",
    102: "reading data",
    103: "source (reader side) error",
    104: "reading finished",
    105: "read 0 records",
    106: "reader forcibly cancelled",
    107: "interrupted in the reader plugin",
    108: "reader resumed",
    500: "writer started",
    501: "writer ended",
    502: "writing data",
    503: "target error",
    504: "writing finished",
    505: "writer forcibly cancelled",
    506: "interrupted in the writer plugin",
    507: "writer resumed",
    900: "scheduling request received",
    901: "run finished",
    902: "run finished, integrity check running",
    903: "integrity check result",
    904: "missing data found, compensating",
    905: "compensation result",
    906: "reader queued (platform resources)",
    907: "reader refused: the previous scheduling has not finished",
    908: "writer queued (platform resources)",
    909: "writer refused: the previous scheduling has not finished",
    911: "reader not started: check the network and the parameters",
    912: "writer not started: check the network and the parameters",
    913: "scheduling request failed",
    914: "refused: the previous scheduling has not finished",
    915: "task not running normally",
    916: "log reporting failed",
}
"""Every numeric monitor ``status`` the official SDK documents (``TaskMonitorLog``; roma-api.md
§2a), in words. Reader codes are 100-499, writer codes 500-899, the scheduler's 900 and up."""


MonitorSide = Literal["task", "reader", "writer", "other"]
"""Which part of a sync a monitor ``status`` code comes from."""

_SIDE_WORDS: Mapping[str, str] = {
    "task": "task",
    "reader": "reader (source side)",
    "writer": "writer (target side)",
    "other": "scheduler / other",
}


def monitor_side(code: int | None) -> MonitorSide | None:
    """``task`` below 100, ``reader`` 100-499, ``writer`` 500-899, ``other`` 900 and up
    (roma-api.md §2a); None for no code or a negative one. The one place these ranges live:
    the words below, the notebooks' tables and the timeline's lanes all read them here."""
    if code is None or code < 0:
        return None
    if code < 100:
        return "task"
    if code <= 499:
        return "reader"
    if code <= 899:
        return "writer"
    return "other"


def describe_monitor_status(code: int | None) -> str:
    """Turn a monitor log's numeric ``status`` into words a person can read.

    Every documented code has its words; an unknown code still says which side of the sync it
    comes from (reader 100-499, writer 500-899, other 900+, the task itself below 100).
    """
    if code is None:
        return "no status"
    side = monitor_side(code)
    if side is None:
        return f"status {code}"
    known = MONITOR_STATUS_CODES.get(code)
    words = _SIDE_WORDS[side]
    return f"{words}: {known} ({code})" if known else f"{words}: status {code}"


def _float(data: Mapping[str, Any], key: str) -> float | None:
    value = data.get(key)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


@dataclass(slots=True)
class MonitorDetailLog:
    """One step of an execution (``detail_logs`` of a monitor log): which FDI plugin (``stage``,
    e.g. adapter, a reader, a writer) reported which ``status`` code, and when."""

    id: str
    status: int | None = None
    position: str | None = None
    position_status: str | None = None
    stage: str | None = None
    data_count: int | None = None
    dirty_data_count: int | None = None
    data_size: float | None = None
    data_size_unit: str | None = None
    spend_time: int | None = None
    remarks: str | None = None
    step_begin_time: int | None = None
    step_end_time: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> MonitorDetailLog:
        return cls(
            id=_text(data, "id") or "",
            status=_int(data, "status"),
            position=_text(data, "position"),
            position_status=_text(data, "position_status"),
            stage=_text(data, "stage"),
            data_count=_int(data, "data_count"),
            dirty_data_count=_int(data, "dirty_data_count"),
            data_size=_float(data, "data_size"),
            data_size_unit=_text(data, "data_size_unit"),
            spend_time=_int(data, "spend_time"),
            remarks=_text(data, "remarks"),
            step_begin_time=_int(data, "step_begin_time"),
            step_end_time=_int(data, "step_end_time"),
            raw=data,
        )

    @property
    def status_text(self) -> str:
        return describe_monitor_status(self.status)


def _detail_logs(data: Mapping[str, Any]) -> tuple[MonitorDetailLog, ...]:
    steps = data.get("detail_logs")
    if not isinstance(steps, list):
        return ()
    return tuple(MonitorDetailLog.from_api(s) for s in steps if isinstance(s, Mapping))


@dataclass(slots=True)
class MonitorLog:
    """One execution of a task (``GET .../tasks/{task_id}/monitor-logs``), with its steps.

    ``end_time`` is ``None`` while the execution runs; ``detail_logs`` holds its steps (reader
    and writer plugins), the only place that says where a restarted reader reads from.
    """

    id: str
    task_id: str | None = None
    start_time: int | None = None
    end_time: int | None = None
    execute_status: str | None = None
    position: str | None = None
    position_status: str | None = None
    status: int | None = None
    data_count: int | None = None
    dirty_data_count: int | None = None
    spend_time: int | None = None
    remarks: str | None = None
    dispatch_time: int | None = None
    data_size: float | None = None
    data_size_unit: str | None = None
    read_spend_time: int | None = None
    write_spend_time: int | None = None
    detail_logs: tuple[MonitorDetailLog, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any], task_id: str | None = None) -> MonitorLog:
        return cls(
            id=_text(data, "id") or "",
            task_id=task_id,
            start_time=_int(data, "start_time"),
            end_time=_int(data, "end_time"),
            execute_status=_text(data, "execute_status"),
            position=_text(data, "position"),
            position_status=_text(data, "position_status"),
            status=_int(data, "status"),
            data_count=_int(data, "data_count"),
            dirty_data_count=_int(data, "dirty_data_count"),
            spend_time=_int(data, "spend_time"),
            remarks=_text(data, "remarks"),
            dispatch_time=_int(data, "dispatch_time"),
            data_size=_float(data, "data_size"),
            data_size_unit=_text(data, "data_size_unit"),
            read_spend_time=_int(data, "read_spend_time"),
            write_spend_time=_int(data, "write_spend_time"),
            detail_logs=_detail_logs(data),
            raw=data,
        )

    @property
    def status_text(self) -> str:
        return describe_monitor_status(self.status)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True, slots=True)
class ResetResult:
    """One attempted reset, whatever became of it. ``reset_many`` returns one per target.

    ``date_from`` is the integer sent (epoch milliseconds, UTC) or ``None`` when the service chose
    the start point. ``attempts`` counts requests actually sent (0 for dry runs and skipped
    targets). ``at`` is when the attempt started, in UTC.
    """

    instance_id: str
    task_id: str
    outcome: Outcome
    date_from: int | None = None
    task_name: str | None = None
    status_code: int | None = None
    message: str | None = None
    error_code: str | None = None
    error_msg: str | None = None
    request_id: str | None = None
    elapsed_ms: float | None = None
    attempts: int = 0
    at: datetime = field(default_factory=_utc_now)

    @property
    def ok(self) -> bool:
        return self.outcome == "success"

    def to_dict(self) -> dict[str, Any]:
        """A plain dict in field order, as the history and DataFrames want it."""
        return {
            "at": self.at,
            "instance_id": self.instance_id,
            "task_id": self.task_id,
            "task_name": self.task_name,
            "date_from": self.date_from,
            "outcome": self.outcome,
            "status_code": self.status_code,
            "message": self.message,
            "error_code": self.error_code,
            "error_msg": self.error_msg,
            "request_id": self.request_id,
            "elapsed_ms": self.elapsed_ms,
            "attempts": self.attempts,
        }


# -- the rewind (stop, reset, start, verify) ----------------------------------------------------

StepName = Literal["look", "stop", "reset", "start", "verify"]
"""The steps of a rewind, in the order they run for one task (``roma_nb.procedure``)."""

STEPS: tuple[StepName, ...] = get_args(StepName)

Restart = Literal["as_before", "always", "never"]
"""When a rewind starts a task again after a successful reset: only if it was running before
(``as_before``, the default), ``always``, or ``never``. After a failure the task goes back to
the state it was in (started again if the rewind stopped it), except with ``never``: then
nothing is ever started, and what the rewind stopped is reported ``left-stopped``."""

RESTARTS: tuple[Restart, ...] = get_args(Restart)

RewindOutcome = Literal[
    "success", "failed", "unknown", "left-stopped", "unverified", "dry-run", "skipped"
]
"""What became of one task's rewind, the loudest fact first.

``left-stopped``: the rewind stopped the task and it is not (known to be) running again.
``unknown``: the reset may or may not have happened (the task was started again).
``unverified``: reset and started, but no execution since the restart was seen reading in time.
``skipped``: the deadline or a stop came first; what was stopped was started again.
"""

REWIND_OUTCOMES: tuple[RewindOutcome, ...] = get_args(RewindOutcome)


@dataclass(frozen=True, slots=True)
class StepResult:
    """One step of a rewind for one task: look, stop, start or verify (the reset is a
    ``ResetResult``). ``stop_tasks`` / ``start_tasks`` return one per task as well.

    ``outcome``: ``success`` means the step is confirmed (a stop: the task reported stopped; a
    start: it reported running; a verification: an execution since the restart reads);
    ``unknown`` that it may have happened (an answer lost, or not confirmed in time — for a
    verification: *unverified*). ``monitor_log`` is the execution that decided a verification.
    """

    step: StepName
    instance_id: str
    task_id: str
    outcome: Outcome
    task_name: str | None = None
    message: str | None = None
    status_code: int | None = None
    error_code: str | None = None
    error_msg: str | None = None
    request_id: str | None = None
    elapsed_ms: float | None = None
    attempts: int = 0
    at: datetime = field(default_factory=_utc_now)
    monitor_log: MonitorLog | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "success"


@dataclass(frozen=True, slots=True)
class RewindResult:
    """One task's rewind, whatever became of it. ``rewind`` returns one per target, in order.

    ``was_running`` is the state the look found (None when it could not tell). A step that did
    not apply is None: no ``stop`` for a task that was not running, no ``start`` when it stays
    stopped, no ``verification`` when it was not started or ``verify=False``. ``message`` is
    one sentence for a person under pressure.
    """

    instance_id: str
    task_id: str
    outcome: RewindOutcome
    message: str
    task_name: str | None = None
    date_from: int | None = None
    was_running: bool | None = None
    look: StepResult | None = None
    stop: StepResult | None = None
    reset: ResetResult | None = None
    start: StepResult | None = None
    verification: StepResult | None = None
    rewind_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "success"

    def to_dict(self) -> dict[str, Any]:
        """One flat row for a results table: each step's outcome, and the execution that
        decided the verification."""
        log = self.verification.monitor_log if self.verification else None
        return {
            "instance_id": self.instance_id,
            "task_id": self.task_id,
            "task_name": self.task_name,
            "date_from": self.date_from,
            "was_running": self.was_running,
            "outcome": self.outcome,
            "stop": self.stop.outcome if self.stop else None,
            "reset": self.reset.outcome if self.reset else None,
            "start": self.start.outcome if self.start else None,
            "verify": self.verification.outcome if self.verification else None,
            "verified_by": log.id if log else None,
            "message": self.message,
            "rewind_id": self.rewind_id,
        }


@dataclass(frozen=True, slots=True)
class RewindStep:
    """One history row of a rewind: a step of one task, written ahead as ``pending`` before the
    step's request and completed after, like a reset attempt.

    ``rewind_id`` ties the rows of one rewind together. For a ``look`` row ``was_running`` is
    the state seen; on the other rows it is the state the look found. The reset row carries the
    ``ResetResult`` fields; a verify row's ``error_code`` is the monitor status code that
    failed it (e.g. ``"103"``).
    """

    rewind_id: str
    step: StepName
    instance_id: str
    task_id: str
    outcome: Outcome | Literal["pending"]
    task_name: str | None = None
    date_from: int | None = None
    was_running: bool | None = None
    status_code: int | None = None
    message: str | None = None
    error_code: str | None = None
    error_msg: str | None = None
    request_id: str | None = None
    elapsed_ms: float | None = None
    attempts: int = 0
    at: datetime = field(default_factory=_utc_now)
    dry_run: bool = False

    @classmethod
    def of(
        cls,
        rewind_id: str,
        result: StepResult | ResetResult,
        *,
        task_name: str | None,
        was_running: bool | None,
        date_from: int | None = None,
        dry_run: bool = False,
    ) -> RewindStep:
        """The history row of a finished step (a ``ResetResult`` is the ``reset`` step)."""
        return cls(
            rewind_id=rewind_id,
            step=result.step if isinstance(result, StepResult) else "reset",
            instance_id=result.instance_id,
            task_id=result.task_id,
            outcome=result.outcome,
            task_name=task_name,
            date_from=date_from,
            was_running=was_running,
            status_code=result.status_code,
            message=result.message,
            error_code=result.error_code,
            error_msg=result.error_msg,
            request_id=result.request_id,
            elapsed_ms=result.elapsed_ms,
            attempts=result.attempts,
            at=result.at,
            dry_run=dry_run,
        )


class StepRow(Protocol):
    """What ``left_stopped`` reads of a row: a ``RewindStep`` or the history's own row type."""

    @property
    def step(self) -> str: ...
    @property
    def outcome(self) -> str: ...
    @property
    def instance_id(self) -> str: ...
    @property
    def task_id(self) -> str: ...
    @property
    def was_running(self) -> bool | None: ...


Row = TypeVar("Row", bound=StepRow)

_MAY_HAVE_STOPPED = frozenset({"success", "unknown", "pending"})


def left_stopped(rows: Iterable[Row]) -> list[Row]:
    """The stop rows of tasks a rewind stopped and nothing has shown running since.

    ``rows`` are step rows in the order they were first written (a row keeps its place when
    completed). Per task: a stop row that may have taken effect (``success``, ``unknown``, or
    ``pending`` — a process killed mid-step) marks it stopped by that rewind; a ``start`` row
    with ``success`` (the task reported running), or a later ``look`` that saw it running,
    clears the mark. Failed, skipped and dry-run rows change nothing. So a crash between the
    stops and the starts leaves exactly the stopped tasks listed, and a rewind with
    ``restart="never"`` lists what it left stopped on purpose.
    """
    marked: dict[tuple[str, str], Row] = {}
    for row in rows:
        key = (row.instance_id, row.task_id)
        if row.step == "stop" and row.outcome in _MAY_HAVE_STOPPED:
            marked.pop(key, None)
            marked[key] = row
        elif row.outcome == "success" and (
            row.step == "start" or (row.step == "look" and row.was_running is True)
        ):
            marked.pop(key, None)
    return list(marked.values())
