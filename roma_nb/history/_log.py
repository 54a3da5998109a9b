"""``ResultLog``: the history of every reset attempt, written ahead so nothing is lost.

The protocol a batch follows, and why:

1. ``begin(...)`` stores a ``pending`` row and returns its id *before* the request is sent, so a
   kernel killed mid-request leaves a visible trace of a reset that may have happened;
2. ``complete(row_id, result)`` fills that row with the outcome once the answer (or its absence)
   is known;
3. ``append(result)`` records what never became a request (dry runs, skipped targets) or a result
   obtained without ``begin``.

After a crash, ``mark_interrupted()`` turns pending rows whose writer process is gone (or that are
older than a limit) into ``unknown`` with a message saying so: the reset may have happened, and
resetting again to the same instant is safe. A row marked that way can still be completed if its
writer turns out to be alive after all: a real answer beats a guess.

Nothing secret is ever stored: rows hold ``ResetResult`` fields, the project id, an endpoint
*label* (``SANDBOX`` or a host, never a URL with credentials), who sent it and whether it was a
dry run.
"""

from __future__ import annotations

import math
import os
import socket
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

from ..errors import ValidationError
from ..models import OUTCOMES, ResetResult
from ._context import RecordContext
from ._errors import HistoryError
from ._filters import Ids, Query, When, build_query, to_epoch_us
from ._frame import SELECT_COLUMNS, frame_from_rows, style_frame, write_csv
from ._paths import default_history_path
from ._schema import MIGRATIONS, Migration
from ._store import Durability, Store

if TYPE_CHECKING:
    import pandas as pd
    from pandas.io.formats.style import Styler

__all__ = ["INTERRUPTED_MESSAGE", "ResultLog"]

INTERRUPTED_MESSAGE = (
    "interrupted: the process that sent this request ended before its answer was recorded; "
    "the reset may or may not have happened (resetting again to the same instant is safe)"
)

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

_INSERT = (
    "INSERT INTO attempts (at_us, instance_id, task_id, task_name, date_from_ms, outcome, "
    "status_code, message, error_code, error_msg, request_id, elapsed_ms, attempts, dry_run, "
    "project_id, endpoint, actor, completed_at_us, writer_host, writer_pid, writer_token) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_COMPLETE = (
    "UPDATE attempts SET at_us = ?, task_name = ?, outcome = ?, status_code = ?, message = ?, "
    "error_code = ?, error_msg = ?, request_id = ?, elapsed_ms = ?, attempts = ?, "
    "completed_at_us = ?, interrupted = 0 "
    "WHERE id = ? AND instance_id = ? AND task_id = ? AND date_from_ms IS ? "
    "AND (outcome = 'pending' OR interrupted = 1)"
)
_SELECT = ", ".join(SELECT_COLUMNS)

_process: tuple[int, str] | None = None


def _writer_token() -> str:
    """A random id of this process, renewed after a fork: tells a reused pid from its owner."""
    global _process
    pid = os.getpid()
    if _process is None or _process[0] != pid:
        _process = (pid, uuid.uuid4().hex)
    return _process[1]


def _now_us() -> int:
    return to_epoch_us(datetime.now(timezone.utc))


def _int64(name: str, value: object, *, optional: bool = True) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{name} must be an integer, not {type(value).__name__}.")
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise ValidationError(f"{name} {value} does not fit in 64 bits; it cannot be recorded.")
    return value


def _text(name: str, value: object, *, optional: bool = True) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be a string, not {type(value).__name__}.")
    return value


def _elapsed(value: float | None) -> float | None:
    """SQLite stores NaN as NULL; say so by storing None on purpose."""
    if value is None or math.isnan(value):
        return None
    return float(value)


def _outcome_values(result: ResetResult) -> list[Any]:
    """The fields ``complete`` and ``append`` take from a result, checked to be storable."""
    if result.outcome not in OUTCOMES:
        raise ValidationError(f"outcome {result.outcome!r} is not one of {', '.join(OUTCOMES)}.")
    return [
        to_epoch_us(result.at),
        _text("task_name", result.task_name),
        result.outcome,
        _int64("status_code", result.status_code),
        _text("message", result.message),
        _text("error_code", result.error_code),
        _text("error_msg", result.error_msg),
        _text("request_id", result.request_id),
        _elapsed(result.elapsed_ms),
        _int64("attempts", result.attempts, optional=False),
    ]


def _from_us(value: int | None) -> datetime | None:
    return None if value is None else _EPOCH + timedelta(microseconds=value)


def _process_gone(pid: int, token: str | None) -> bool:
    """True only when the writer process on this host certainly no longer runs."""
    if pid == os.getpid():
        return token != _writer_token()  # our pid, but an earlier process's row
    if os.name != "posix":
        return False  # os.kill(pid, 0) is not a probe on Windows
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # EPERM: it exists, under another user
        return False
    return False


@dataclass(frozen=True, slots=True)
class _Pending:
    row_id: int
    at_us: int
    host: str | None
    pid: int | None
    token: str | None


class ResultLog:
    """The reset history: in memory without ``path``, else a durable SQLite file (WAL).

    Thread-safe, and safe for several processes (kernels) appending to the same file at once.
    ``context`` stamps every row (project, endpoint label, actor) unless a call gives its own.
    ``durability="full"`` (default) syncs each write to disk before returning; ``"normal"``
    survives a killed process but not a power cut, and is faster.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        context: RecordContext | None = None,
        durability: Durability = "full",
        _migrations: Sequence[Migration] = MIGRATIONS,
    ) -> None:
        self._path = None if path is None else Path(os.fspath(path)).expanduser()
        self.context = context if context is not None else RecordContext()
        self._store = Store(self._path, durability=durability, migrations=_migrations)

    @classmethod
    def default(
        cls, *, context: RecordContext | None = None, durability: Durability = "full"
    ) -> ResultLog:
        """The shared history of this user: ``$ROMA_NB_HISTORY`` or the per-user data directory."""
        path = default_history_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HistoryError(f"cannot create {str(path.parent)!r}: {exc.strerror}") from None
        return cls(path, context=context, durability=durability)

    @property
    def path(self) -> Path | None:
        """The file, or None for an in-memory history."""
        return self._path

    def __repr__(self) -> str:
        where = "in memory" if self._path is None else repr(os.fspath(self._path))
        state = ", closed" if self._store.closed else ""
        return f"ResultLog({where}{state})"

    # -- writing ---------------------------------------------------------------------------

    def _row(
        self,
        values: list[Any],
        *,
        instance_id: object,
        task_id: object,
        date_from: object,
        dry_run: bool,
        context: RecordContext | None,
        completed_at_us: int | None,
    ) -> list[Any]:
        """A full ``_INSERT`` parameter list; ``values`` as ``_outcome_values`` makes them."""
        ctx = context if context is not None else self.context
        if not isinstance(dry_run, bool):
            raise ValidationError("dry_run must be True or False.")
        at_us, task_name, outcome, *answer, attempts = values
        return [
            at_us,
            _text("instance_id", instance_id, optional=False),
            _text("task_id", task_id, optional=False),
            task_name,
            _int64("date_from", date_from),
            outcome,
            *answer,
            attempts,
            int(dry_run),
            _text("project_id", ctx.project_id),
            ctx.endpoint_label,
            _text("actor", ctx.actor),
            completed_at_us,
            socket.gethostname(),
            os.getpid(),
            _writer_token(),
        ]

    def begin(
        self,
        instance_id: str,
        task_id: str,
        *,
        date_from: int | None,
        task_name: str | None = None,
        dry_run: bool = False,
        context: RecordContext | None = None,
    ) -> int:
        """Record an attempt as ``pending`` before its request is sent; return the row id.

        The row is on disk when this returns, so call it first and send second.
        """
        pending = [_now_us(), _text("task_name", task_name), "pending", *[None] * 6, 0]
        row = self._row(
            pending,
            instance_id=instance_id,
            task_id=task_id,
            date_from=date_from,
            dry_run=dry_run,
            context=context,
            completed_at_us=None,
        )
        rowid = self._store.write(_INSERT, row).lastrowid
        assert rowid is not None
        return rowid

    def complete(self, row_id: int, result: ResetResult) -> None:
        """Fill the row ``begin`` returned with what became of the attempt.

        The result must be for the same instance, task and ``date_from``; a row can be completed
        once (or after ``mark_interrupted`` guessed ``unknown``): anything else is a
        ``HistoryError``, because silently overwriting an audit record would hide a bug.
        """
        values = _outcome_values(result)
        params = [
            *values,
            _now_us(),
            _int64("row_id", row_id, optional=False),
            result.instance_id,
            result.task_id,
            _int64("date_from", result.date_from),
        ]
        if self._store.write(_COMPLETE, params).rowcount == 1:
            return
        found = self._store.read(
            "SELECT instance_id, task_id, date_from_ms, outcome FROM attempts WHERE id = ?",
            (row_id,),
        )
        if not found:
            raise HistoryError(f"history row {row_id} does not exist; nothing was completed.")
        instance_id, task_id, date_from, outcome = found[0]
        if (instance_id, task_id, date_from) != (
            result.instance_id,
            result.task_id,
            result.date_from,
        ):
            raise HistoryError(
                f"history row {row_id} is for task {task_id!r} of instance {instance_id!r} with "
                f"date_from {date_from!r}, not for the result given "
                f"({result.task_id!r}, {result.instance_id!r}, {result.date_from!r})."
            )
        raise HistoryError(f"history row {row_id} is already completed ({outcome}); left as is.")

    def append(
        self,
        result: ResetResult,
        *,
        dry_run: bool | None = None,
        context: RecordContext | None = None,
    ) -> int:
        """Record a finished attempt in one step (dry runs, skipped targets, or without ``begin``).

        ``dry_run`` defaults to ``result.outcome == "dry-run"``; pass it for a target skipped
        during a dry run. Returns the row id.
        """
        rowid = self._store.write(_INSERT, self._finished_row(result, dry_run, context)).lastrowid
        assert rowid is not None
        return rowid

    def extend(
        self,
        results: Iterable[ResetResult],
        *,
        dry_run: bool | None = None,
        context: RecordContext | None = None,
    ) -> int:
        """Record many finished attempts in one transaction (all or none); return how many."""
        rows = [self._finished_row(result, dry_run, context) for result in results]
        return self._store.write_many(_INSERT, rows)

    def _finished_row(
        self, result: ResetResult, dry_run: bool | None, context: RecordContext | None
    ) -> list[Any]:
        is_dry = result.outcome == "dry-run" if dry_run is None else dry_run
        if result.outcome == "dry-run" and is_dry is False:
            raise ValidationError("a result with outcome 'dry-run' cannot be recorded as real.")
        return self._row(
            _outcome_values(result),
            instance_id=result.instance_id,
            task_id=result.task_id,
            date_from=result.date_from,
            dry_run=is_dry,
            context=context,
            completed_at_us=_now_us(),
        )

    def mark_interrupted(self, *, older_than: timedelta | None = None) -> int:
        """Turn pending rows that will never be completed into ``unknown``; return how many.

        A pending row qualifies when the process that wrote it ran on this host and is gone (a
        killed kernel), or, with ``older_than``, when it started longer ago than that (for rows
        written on other hosts). The message says the reset may have happened. Run it after a
        crash, before deciding what to retry.
        """
        rows = self._store.read(
            "SELECT id, at_us, writer_host, writer_pid, writer_token FROM attempts "
            "WHERE outcome = 'pending'"
        )
        host = socket.gethostname()
        cutoff = None if older_than is None else _now_us() - older_than // timedelta(microseconds=1)
        stale = [
            pending.row_id
            for pending in (_Pending(*row) for row in rows)
            if (cutoff is not None and pending.at_us < cutoff)
            or (
                pending.host == host
                and pending.pid is not None
                and _process_gone(pending.pid, pending.token)
            )
        ]
        if not stale:
            return 0
        changed = 0
        for start in range(0, len(stale), 500):  # stay under SQLite's bound-variable limit
            chunk = stale[start : start + 500]
            marks = ",".join("?" * len(chunk))
            cursor = self._store.write(
                "UPDATE attempts SET outcome = 'unknown', interrupted = 1, message = ?, "
                f"completed_at_us = ? WHERE outcome = 'pending' AND id IN ({marks})",
                [INTERRUPTED_MESSAGE, _now_us(), *chunk],
            )
            changed += cursor.rowcount
        return changed

    # -- reading ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self._store.read("SELECT count(*) FROM attempts")[0][0])

    def _rows(self, query: Query, *, latest: bool) -> list[tuple[Any, ...]]:
        if not latest:
            where, params = query.where()
            return self._store.read(f"SELECT {_SELECT} FROM attempts{where} ORDER BY id", params)
        where, params = query.where(with_outcome=False)
        outer, outer_params = query.outcome_clause()
        return self._store.read(
            f"SELECT {_SELECT} FROM (SELECT {_SELECT}, ROW_NUMBER() OVER ("
            "PARTITION BY instance_id, task_id ORDER BY at_us DESC, id DESC) AS rank "
            f"FROM attempts{where}) AS ranked"
            f"{outer + ' AND' if outer else ' WHERE'} rank = 1 ORDER BY id",
            params + outer_params,
        )

    def records(
        self,
        *,
        task_id: Ids = None,
        instance_id: Ids = None,
        outcome: Ids = None,
        since: When | None = None,
        until: When | None = None,
        dry_run: bool | None = None,
        latest: bool = False,
    ) -> list[dict[str, Any]]:
        """Rows as plain dicts of Python values (``at`` and ``completed_at`` aware datetimes,
        ``date_from_ms`` the exact integer), without pandas. Same filters as ``to_frame``.
        """
        query = build_query(
            task_id=task_id,
            instance_id=instance_id,
            outcome=outcome,
            since=since,
            until=until,
            dry_run=dry_run,
        )
        records = []
        for row in self._rows(query, latest=latest):
            raw = dict(zip(SELECT_COLUMNS, row, strict=True))
            records.append(
                {
                    "id": raw["id"],
                    "at": _from_us(raw["at_us"]),
                    **{k: raw[k] for k in SELECT_COLUMNS[2:14]},
                    "dry_run": bool(raw["dry_run"]),
                    "project_id": raw["project_id"],
                    "endpoint": raw["endpoint"],
                    "actor": raw["actor"],
                    "completed_at": _from_us(raw["completed_at_us"]),
                }
            )
        return records

    def to_frame(
        self,
        *,
        task_id: Ids = None,
        instance_id: Ids = None,
        outcome: Ids = None,
        since: When | None = None,
        until: When | None = None,
        dry_run: bool | None = None,
    ) -> pd.DataFrame:
        """One row per attempt, oldest first, with the columns and dtypes of ``COLUMNS``.

        Filters: ``task_id`` / ``instance_id`` / ``outcome`` take one value or several;
        ``since`` (inclusive) and ``until`` (exclusive) bound ``at`` and take datetimes, dates,
        ISO strings, a ``timedelta`` or ``"2h"``-style durations ago (naive means UTC);
        ``dry_run`` keeps only dry runs (True) or only real attempts (False).
        """
        query = build_query(
            task_id=task_id,
            instance_id=instance_id,
            outcome=outcome,
            since=since,
            until=until,
            dry_run=dry_run,
        )
        return frame_from_rows(self._rows(query, latest=False))

    def latest_per_task(
        self,
        *,
        task_id: Ids = None,
        instance_id: Ids = None,
        outcome: Ids = None,
        since: When | None = None,
        until: When | None = None,
        dry_run: bool | None = False,
    ) -> pd.DataFrame:
        """The most recent attempt of each (instance, task): "where does each task stand?".

        Dry runs are left out by default (they change nothing remotely); pass ``dry_run=None``
        to include them. ``outcome`` applies *after* choosing the latest attempt, so
        ``latest_per_task(outcome=["failed", "unknown"])`` lists the tasks still needing work.
        """
        query = build_query(
            task_id=task_id,
            instance_id=instance_id,
            outcome=outcome,
            since=since,
            until=until,
            dry_run=dry_run,
        )
        return frame_from_rows(self._rows(query, latest=True))

    def display_frame(self, *, limit: int | None = 500, **filters: Any) -> Styler:
        """``to_frame(**filters)`` styled for a notebook (see ``style_frame``): the ``limit``
        most recent rows, since a styled table of every row would be too heavy for a browser.
        """
        frame = self.to_frame(**filters)
        if limit is not None:
            frame = frame.tail(limit)
        return style_frame(frame)

    def to_csv(self, target: str | os.PathLike[str] | IO[str], **filters: Any) -> None:
        """Export ``to_frame(**filters)`` as CSV (ISO times in UTC); ``read_csv`` reads it back."""
        write_csv(self.to_frame(**filters), target)

    def to_parquet(self, target: str | os.PathLike[str], **filters: Any) -> None:
        """Export ``to_frame(**filters)`` as Parquet, dtypes preserved. Needs the ``parquet``
        extra (pyarrow): ``pip install 'roma-nb[parquet]'``.
        """
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise HistoryError(
                "Parquet export needs pyarrow: pip install 'roma-nb[parquet]'"
            ) from None
        self.to_frame(**filters).to_parquet(target, index=False)

    # -- lifetime --------------------------------------------------------------------------

    def close(self) -> None:
        """Release the file. Further use raises ``HistoryError``."""
        self._store.close()

    def __enter__(self) -> ResultLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
