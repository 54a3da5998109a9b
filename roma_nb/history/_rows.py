"""What goes into a row: checked values from a ``ResetResult`` and who wrote it.

Everything is checked before any SQL runs, so a value SQLite cannot store exactly (an int beyond
64 bits, a non-string id) is a ``ValidationError`` with nothing written, never a half-written
row. A writer is identified by host, pid and a random per-process token: the token tells a
reused pid from the process that wrote a pending row, so a crash can be recognised for sure.
"""

from __future__ import annotations

import functools
import math
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any

from ..errors import ValidationError, clip
from ..models import OUTCOMES, STEPS, ResetResult, RewindStep
from ._columns import Kind
from ._context import RecordContext
from ._filters import to_epoch_us
from ._sql import ATTEMPT_WRITES, RESULT_WRITES, insert_attempt

__all__ = [
    "NewRow",
    "TargetKey",
    "WriterKey",
    "finished_row",
    "now_us",
    "pending_row",
    "process_gone",
    "result_values",
    "step_values",
    "stored_text",
    "target_key",
    "text",
    "writer_token",
]

TargetKey = tuple[str, str, str | None]
"""(instance_id, task_id, task_name): one ``targets`` row."""

WriterKey = tuple[str | None, str | None, str | None, str | None, str, int, str]
"""(project_id, endpoint label, actor, plan_id, host, pid, process token): one ``writers``
row (``_sql._WRITER_KEY``'s order)."""

_WRITTEN = tuple(c.name for c in ATTEMPT_WRITES)
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_process: tuple[int, str] | None = None
_process_lock = threading.Lock()


def _after_fork_in_child() -> None:
    global _process_lock
    _process_lock = threading.Lock()  # another thread may have held it at the fork
    _writer_key.cache_clear()  # a child is another writer


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


@dataclass(frozen=True, slots=True)
class NewRow:
    """A row to insert: its target and writer (resolved to ids later) and its ``attempts``
    values by column name (a column not given is NULL)."""

    target: TargetKey
    writer: WriterKey
    values: dict[str, Any]

    def params(self, target_id: int, writer_id: int) -> list[Any]:
        """The parameters of ``_sql.INSERT_ATTEMPT``."""
        return [target_id, writer_id, *map(self.values.get, _WRITTEN)]

    def insert(self, target_id: int, writer_id: int) -> tuple[str, list[Any]]:
        """(SQL, parameters) inserting this row alone, binding no NULL (``insert_attempt``)."""
        given = {name: value for name, value in self.values.items() if value is not None}
        return insert_attempt(tuple(given)), [target_id, writer_id, *given.values()]


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
    """Now, in the integer microseconds since the epoch the history stores."""
    return time.time_ns() // 1000


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


MAX_STORED_TEXT = 2000
"""Characters kept of a stored text (a message, a task name): a server's megabyte-long message
would otherwise be copied into every row (5 × 52 MB made a 260 MB history)."""


def stored_text(name: str, value: object, *, optional: bool = True) -> str | None:
    """``text``, cut to ``MAX_STORED_TEXT`` like error texts are (``errors.clip``)."""
    checked_text = text(name, value, optional=optional)
    return None if checked_text is None else clip(checked_text, MAX_STORED_TEXT)


def _number(name: str, value: object) -> float | None:
    """SQLite stores NaN as NULL; store None on purpose so the rule is visible."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(f"{name} must be a number, not {type(value).__name__}.")
    return None if math.isnan(value) else float(value)


def _flag(name: str, value: object) -> int:
    if not isinstance(value, bool):
        raise ValidationError(f"{name} must be True or False.")
    return int(value)


def _outcome(value: object) -> str:
    if value not in OUTCOMES:
        raise ValidationError(f"outcome {value!r} is not one of {', '.join(OUTCOMES)}.")
    return str(value)


def _time_us(name: str, value: object) -> int:
    """A datetime in microseconds; a naive one is UTC, as ``ResetResult`` documents."""
    if not isinstance(value, datetime):
        raise ValidationError(f"{name} must be a datetime, not {type(value).__name__}.")
    return to_epoch_us(value)


def _checked(value: object, name: str, kind: Kind, nullable: bool) -> Any:
    """``value`` as SQLite stores it exactly in a column, or a ``ValidationError``.

    Called for each column of every row written, so the common cases return at once.
    """
    if value is None and nullable:
        return None
    if kind == "text":
        if type(value) is str:
            return clip(value, MAX_STORED_TEXT)
        return stored_text(name, value, optional=False)
    if kind in ("int", "id"):
        if type(value) is int and _INT64_MIN <= value <= _INT64_MAX:
            return value
        return int64(name, value, optional=False)
    if kind == "ms":
        return _number(name, value)
    if kind == "flag":
        return _flag(name, value)
    if kind == "time":
        return _time_us(name, value)
    return _outcome(value)


_RESULT_NAMES = tuple(c.name for c in RESULT_WRITES)
_RESULT_KINDS = tuple(c.kind for c in RESULT_WRITES)
_RESULT_NULLABLE = tuple(c.nullable for c in RESULT_WRITES)
_result_fields = attrgetter(*_RESULT_NAMES)


def target_key(instance_id: object, task_id: object, task_name: object) -> TargetKey:
    instance = text("instance_id", instance_id, optional=False)
    task = text("task_id", task_id, optional=False)
    assert instance is not None and task is not None
    return instance, task, stored_text("task_name", task_name)


def writer_key(context: RecordContext) -> WriterKey:
    return _writer_key(context, os.getpid())


@functools.lru_cache(maxsize=64)
def _writer_key(context: RecordContext, pid: int) -> WriterKey:
    """Made once per context and process (``RecordContext`` checked its texts): every row of a
    batch has the same writer."""
    return (
        context.project_id,
        context.endpoint_label,
        context.actor,
        context.plan_id,
        socket.gethostname(),
        pid,
        writer_token(),
    )


def step_values(row: RewindStep) -> dict[str, Any]:
    """The columns of a rewind's step row that a reset row leaves NULL, checked."""
    if row.step not in STEPS:
        raise ValidationError(f"step {row.step!r} is not one of {', '.join(STEPS)}.")
    was_running = row.was_running
    if was_running is not None and not isinstance(was_running, bool):
        raise ValidationError("was_running must be True, False or None.")
    return {
        "step": row.step,
        "rewind_id": text("rewind_id", row.rewind_id, optional=False),
        "was_running": None if was_running is None else int(was_running),
    }


def result_values(result: ResetResult | RewindStep) -> tuple[Any, ...]:
    """The values ``complete`` fills from a result, checked, in ``RESULT_WRITES`` order."""
    fields = _result_fields(result)
    return tuple(map(_checked, fields, _RESULT_NAMES, _RESULT_KINDS, _RESULT_NULLABLE))


def pending_row(
    instance_id: object,
    task_id: object,
    task_name: object,
    date_from: object,
    dry_run: object,
    context: RecordContext,
) -> NewRow:
    """The row ``begin`` writes: the target and ``pending``, nothing known yet."""
    values = {
        "at": now_us(),
        "date_from_ms": int64("date_from", date_from),
        "outcome": "pending",
        "attempts": 0,
        "dry_run": _flag("dry_run", dry_run),
    }
    return NewRow(target_key(instance_id, task_id, task_name), writer_key(context), values)


def finished_row(
    result: ResetResult | RewindStep, dry_run: bool | None, context: RecordContext
) -> NewRow:
    """The row ``append`` writes. ``dry_run`` None means "the outcome says": ``dry-run``."""
    is_dry = result.outcome == "dry-run" if dry_run is None else dry_run
    if result.outcome == "dry-run" and is_dry is False:
        raise ValidationError("a result with outcome 'dry-run' cannot be recorded as real.")
    values = {
        "at": _time_us("at", result.at),
        "date_from_ms": int64("date_from", result.date_from),
        **dict(zip(_RESULT_NAMES, result_values(result), strict=True)),
        "dry_run": _flag("dry_run", is_dry),
        "completed_at": now_us(),
    }
    return NewRow(
        target_key(result.instance_id, result.task_id, result.task_name),
        writer_key(context),
        values,
    )
