"""The effects a rewind yields: what it needs done, described without I/O.

A driver (``_drive``, or a client's own) receives each effect, performs it and sends back its
result; the machine never touches the network, a clock's sleep or the history itself. Every
effect that fans out carries all its requests at once (one round of batch calls, the task lists
of several instances, the monitor logs of several tasks) so a driver can send them concurrently.

Result contract, for every effect: a per-request failure is *returned*, never raised — an
``Exception`` in the place of that request's result — so one task's trouble never ends the
rewind. Only a bug in the driver itself may raise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from ..models import RewindStep
from ._plan import MAX_BATCH

__all__ = [
    "SENDING_EFFECTS",
    "Action",
    "BatchCall",
    "Effect",
    "ListTasks",
    "LogRequest",
    "ReadMonitorLogs",
    "ReadMonitors",
    "Record",
    "ResetTasks",
    "SendBatch",
    "Sleep",
    "StepWrite",
    "StopSignal",
    "TaskRef",
    "batch_calls",
]

Action = Literal["stop", "start"]


class StopSignal(Protocol):
    """Anything with ``is_set()``: a ``threading.Event``, the panel's flag, a deadline."""

    def is_set(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class TaskRef:
    """A task by its ids, with the name the look found: what ``ResetTasks`` resets, and a
    target ``rewind_procedure`` accepts (``problem``: why it cannot be sent, e.g. a bad id)."""

    instance_id: str
    task_id: str
    task_name: str | None = None
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class BatchCall:
    """One batch start/stop request: at most ``MAX_BATCH`` tasks of one instance."""

    instance_id: str
    action: Action
    task_ids: tuple[str, ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.task_ids) <= MAX_BATCH:
            raise ValueError(
                f"a batch call carries 1 to {MAX_BATCH} tasks, not {len(self.task_ids)}"
            )

    @property
    def body(self) -> dict[str, object]:
        """The JSON body (``BatchStartOrStopTasks``)."""
        return {"action_id": self.action, "list": [{"task_id": t} for t in self.task_ids]}


def batch_calls(action: Action, instance_id: str, task_ids: Sequence[str]) -> tuple[BatchCall, ...]:
    """``task_ids`` in chunks of at most ``MAX_BATCH``, in order, duplicates dropped."""
    unique = list(dict.fromkeys(task_ids))
    return tuple(
        BatchCall(instance_id, action, tuple(unique[i : i + MAX_BATCH]))
        for i in range(0, len(unique), MAX_BATCH)
    )


@dataclass(frozen=True, slots=True)
class ListTasks:
    """Every task of each instance, combined or not (``list_tasks(iid, combined_only=False)``).

    Result: ``dict[instance_id, list[Task] | Exception]``.
    """

    instance_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SendBatch:
    """One round of batch start/stop calls; the calls are independent (send them concurrently).

    Result: ``list[list[StepResult] | Exception]``, one entry per call in order. A driver turns
    an answer into per-task results with ``read_batch_answer`` (a 200 can carry failures).
    """

    action: Action
    calls: tuple[BatchCall, ...]


@dataclass(frozen=True, slots=True)
class ResetTasks:
    """Reset these tasks to ``date_from`` through the existing reset path (``reset_many``, with
    ``concurrency`` and ``stop`` passed on and *no* history log: the machine records the reset
    step rows itself).

    Result: ``list[ResetResult]`` in the order of ``targets``.
    """

    targets: tuple[TaskRef, ...]
    date_from: int | None
    concurrency: int
    stop: StopSignal
    deadline: float | None = None
    """Seconds left of the rewind's deadline (None: none): passed on as ``reset_many``'s
    ``deadline``, so a throttled reset is not retried past it (the stop signal alone skips only
    what was not sent yet)."""


@dataclass(frozen=True, slots=True)
class ReadMonitors:
    """The task monitors of each instance (``task_monitors(iid)``).

    Result: ``dict[instance_id, list[TaskMonitor] | Exception]``.
    """

    instance_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LogRequest:
    instance_id: str
    task_id: str
    begin_time: int
    """Epoch ms: only executions since then matter."""


@dataclass(frozen=True, slots=True)
class ReadMonitorLogs:
    """The monitor logs of several tasks since a time (``monitor_logs(iid, tid, begin_time=…)``).

    Result: ``list[list[MonitorLog] | Exception]``, one per request in order.
    """

    requests: tuple[LogRequest, ...]


@dataclass(frozen=True, slots=True)
class Sleep:
    """Wait before the next poll. Result: None."""

    seconds: float


@dataclass(frozen=True, slots=True)
class StepWrite:
    """One history write. ``row_id`` None: insert the row (``begin_step`` when it is
    ``pending``, else ``append_step``); else complete that pending row (``complete_step``)."""

    row_id: int | None
    row: RewindStep


@dataclass(frozen=True, slots=True)
class Record:
    """History writes, in order, in one go.

    Result: ``list[int | None]`` (the row id of each insert, None without a history), or an
    ``Exception`` if the history failed: the machine then does not send the step it was about
    to send (except starts, which put back what the rewind stopped).
    """

    writes: tuple[StepWrite, ...]


Effect = ListTasks | SendBatch | ResetTasks | ReadMonitors | ReadMonitorLogs | Sleep | Record

SENDING_EFFECTS = (SendBatch, ResetTasks)
"""The effects that change something on the service; a dry run yields none of them."""
