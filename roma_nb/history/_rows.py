"""What goes into a row: checked values from a ``ResetResult`` and who wrote it.

Everything is checked before any SQL runs, so a value SQLite cannot store exactly (an int beyond
64 bits, a non-string id) is a ``ValidationError`` with nothing written, never a half-written
row. A writer is identified by host, pid and a random per-process token: the token tells a
reused pid from the process that wrote a pending row, so a crash can be recognised for sure.
"""

from __future__ import annotations

import math
import os
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from ..errors import ValidationError
from ..models import OUTCOMES, ResetResult
from ._context import RecordContext
from ._filters import to_epoch_us

__all__ = [
    "INSERT_SQL",
    "NewRow",
    "TargetKey",
    "WriterKey",
    "finished_row",
    "from_epoch_us",
    "now_us",
    "outcome_values",
    "pending_row",
    "process_gone",
    "writer_token",
]

TargetKey = tuple[str, str, str | None]
"""(instance_id, task_id, task_name): one ``targets`` row."""

WriterKey = tuple[str | None, str | None, str | None, str, int, str]
"""(project_id, endpoint label, actor, host, pid, process token): one ``writers`` row."""

ATTEMPT_COLUMNS = (
    "at_us",
    "date_from_ms",
    "outcome",
    "status_code",
    "message",
    "error_code",
    "error_msg",
    "request_id",
    "elapsed_ms",
    "attempts",
    "dry_run",
    "completed_at_us",
)
OUTCOME_COLUMNS = ATTEMPT_COLUMNS[2:10]
"""The columns ``complete`` fills from a result (``outcome_values`` order)."""

INSERT_SQL = (
    f"INSERT INTO attempts (target_id, writer_id, {', '.join(ATTEMPT_COLUMNS)}) "
    f"VALUES ({', '.join('?' * (len(ATTEMPT_COLUMNS) + 2))})"
)

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_process: tuple[int, str] | None = None
_process_lock = threading.Lock()


def _after_fork_in_child() -> None:
    global _process_lock
    _process_lock = threading.Lock()  # another thread may have held it at the fork


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


@dataclass(frozen=True, slots=True)
class NewRow:
    """A row to insert: its target and writer (resolved to ids later) and ``ATTEMPT_COLUMNS``."""

    target: TargetKey
    writer: WriterKey
    values: tuple[Any, ...]


def writer_token() -> str:
    """A random id of this process, renewed after a fork. Made under a lock: two threads making
    two tokens would make this process look dead to ``process_gone`` for one of them.
    """
    global _process
    pid = os.getpid()
    with _process_lock:
        if _process is None or _process[0] != pid:
            _process = (pid, uuid.uuid4().hex)
        return _process[1]


def process_gone(host: str | None, pid: int | None, token: str | None) -> bool:
    """True only when the writer certainly no longer runs: it ran on this host and its pid is
    free, or the pid is ours but the token is not (an earlier process with a reused pid).
    """
    if host != socket.gethostname() or pid is None:
        return False
    if pid == os.getpid():
        return token != writer_token()
    if os.name != "posix":
        return False  # os.kill(pid, 0) is not a harmless probe on Windows
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # EPERM: it exists, under another user
        return False
    return False


def now_us() -> int:
    return to_epoch_us(datetime.now(timezone.utc))


def from_epoch_us(value: int | None) -> datetime | None:
    return None if value is None else _EPOCH + timedelta(microseconds=value)


def int64(name: str, value: object, *, optional: bool = True) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{name} must be an integer, not {type(value).__name__}.")
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise ValidationError(f"{name} {value} does not fit in 64 bits; it cannot be recorded.")
    return value


def text(name: str, value: object, *, optional: bool = True) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be a string, not {type(value).__name__}.")
    return value


def _elapsed(value: object) -> float | None:
    """SQLite stores NaN as NULL; store None on purpose so the rule is visible."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(f"elapsed_ms must be a number, not {type(value).__name__}.")
    return None if math.isnan(value) else float(value)


def _dry(value: object) -> int:
    if not isinstance(value, bool):
        raise ValidationError("dry_run must be True or False.")
    return int(value)


def target_key(instance_id: object, task_id: object, task_name: object) -> TargetKey:
    instance = text("instance_id", instance_id, optional=False)
    task = text("task_id", task_id, optional=False)
    assert instance is not None and task is not None
    return instance, task, text("task_name", task_name)


def writer_key(context: RecordContext) -> WriterKey:
    return (
        text("project_id", context.project_id),
        text("endpoint_label", context.endpoint_label),
        text("actor", context.actor),
        socket.gethostname(),
        os.getpid(),
        writer_token(),
    )


def outcome_values(result: ResetResult) -> tuple[Any, ...]:
    """``OUTCOME_COLUMNS`` from a result, checked to be storable exactly."""
    if result.outcome not in OUTCOMES:
        raise ValidationError(f"outcome {result.outcome!r} is not one of {', '.join(OUTCOMES)}.")
    return (
        result.outcome,
        int64("status_code", result.status_code),
        text("message", result.message),
        text("error_code", result.error_code),
        text("error_msg", result.error_msg),
        text("request_id", result.request_id),
        _elapsed(result.elapsed_ms),
        int64("attempts", result.attempts, optional=False),
    )


def result_at_us(result: ResetResult) -> int:
    """``result.at`` in microseconds; a naive ``at`` is UTC, as ``ResetResult`` documents."""
    if not isinstance(result.at, datetime):
        raise ValidationError(f"at must be a datetime, not {type(result.at).__name__}.")
    return to_epoch_us(result.at)


def pending_row(
    instance_id: object,
    task_id: object,
    task_name: object,
    date_from: object,
    dry_run: object,
    context: RecordContext,
) -> NewRow:
    """The row ``begin`` writes: the target and ``pending``, nothing known yet."""
    values = (now_us(), int64("date_from", date_from), "pending", *[None] * 6, 0, _dry(dry_run))
    return NewRow(target_key(instance_id, task_id, task_name), writer_key(context), (*values, None))


def finished_row(result: ResetResult, dry_run: bool | None, context: RecordContext) -> NewRow:
    """The row ``append`` writes. ``dry_run`` None means "the outcome says": ``dry-run``."""
    is_dry = result.outcome == "dry-run" if dry_run is None else dry_run
    if result.outcome == "dry-run" and is_dry is False:
        raise ValidationError("a result with outcome 'dry-run' cannot be recorded as real.")
    values = (
        result_at_us(result),
        int64("date_from", result.date_from),
        *outcome_values(result),
        _dry(is_dry),
        now_us(),
    )
    return NewRow(
        target_key(result.instance_id, result.task_id, result.task_name),
        writer_key(context),
        values,
    )
