"""``ResultLog``: the history of every reset attempt, written ahead so nothing is lost.

The protocol a batch follows, and why:

1. ``begin(...)`` stores a ``pending`` row and returns its id *before* the request is sent, so a
   kernel killed mid-request leaves a visible trace of a reset that may have happened;
2. ``complete(row_id, result)`` fills that row with the outcome once the answer (or its absence)
   is known;
3. ``append(result)`` records what never became a request (dry runs, skipped targets) or a result
   obtained without ``begin``.

A rewind (``client.rewind``) writes its steps the same way (``begin_step``, ``complete_step``,
``append_step``: the ``procedure.StepRecorder`` protocol), into the same table with ``step``,
``rewind_id`` and ``was_running`` set; ``left_stopped()`` reads them back to list the tasks a
rewind stopped and nothing has shown running since, also after a crash between the two.

After a crash, ``mark_interrupted()`` turns pending rows whose writer process is gone (or that are
older than a limit) into ``unknown`` with a message saying so: the reset may have happened, and
resetting again to the same instant is safe. A row marked that way can still be completed if its
writer turns out to be alive after all: a real answer beats a guess.

Nothing secret is ever stored: rows hold ``ResetResult`` fields, the project id, an endpoint
*label* (``SANDBOX`` or a host, never a URL with credentials), who sent it and whether it was a
dry run.
"""

from __future__ import annotations

import copy
import os
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, NamedTuple

from ..models import ResetResult, RewindStep, left_stopped
from ._context import RecordContext, default_history_path
from ._exports import style_frame, write_csv, write_parquet
from ._filters import Filter, FilterArgs
from ._frame import frame_from_rows, records_from_rows
from ._rows import (
    NewRow,
    finished_row,
    int64,
    now_us,
    pending_row,
    process_gone,
    result_values,
    step_values,
    stored_text,
    target_key,
    text,
)
from ._schema import HistoryError
from ._sql import (
    ADD_TARGET,
    ADD_WRITER,
    COMPLETE,
    COMPLETE_IF_SAME,
    COUNT,
    FIND_TARGET,
    FIND_WRITER,
    INSERT_ATTEMPT,
    MIGRATIONS,
    PENDING,
    ROW_FOR_COMPLETE,
    STEP_ROWS,
    TARGETS,
    WRITERS,
    Migration,
    mark_interrupted,
    select,
)
from ._store import Durability, Store

if TYPE_CHECKING:
    import pandas as pd
    from pandas.io.formats.style import Styler
    from typing_extensions import Unpack

__all__ = ["INTERRUPTED_MESSAGE", "ResultLog"]

INTERRUPTED_MESSAGE = (
    "interrupted: the process that sent this request ended before its answer was recorded; "
    "the reset may or may not have happened (resetting again to the same instant is safe)"
)

_CHUNK = 500  # ids per UPDATE, well under SQLite's bound-parameter limit


class ResultLog:
    """The reset history: in memory without ``path``, else a durable SQLite file (WAL).

    Thread-safe, and safe for several processes (kernels) appending to the same file at once.
    ``context`` stamps every row (project, endpoint label, actor) unless a call gives its own.
    Every write survives a killed process. ``durability="full"`` (default) also syncs ``begin``,
    ``append`` and ``extend`` to disk before they return, so they survive a power cut;
    ``complete`` reaches the disk with the next synced write (a completion lost to a power cut
    leaves its row ``pending``: "may have happened", never a false "done"). ``"normal"`` syncs
    nothing eagerly, for bulk work.
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
        self._targets = _RowIds(FIND_TARGET, ADD_TARGET)
        self._writers = _RowIds(FIND_WRITER, ADD_WRITER)
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
        row = pending_row(instance_id, task_id, task_name, date_from, dry_run, self._ctx(context))
        last = self._insert([row])
        assert last is not None
        return last

    def complete(self, row_id: int, result: ResetResult | RewindStep) -> None:
        """Fill the row ``begin`` returned with what became of the attempt.

        ``at`` stays the time ``begin`` recorded (the attempt's start, as written ahead). The
        result must be for the same instance, task and ``date_from``; a row can be completed
        once (or after ``mark_interrupted`` guessed ``unknown``): anything else is a
        ``HistoryError``, because silently overwriting an audit record would hide a bug.
        """
        values = result_values(result)
        row_id = int64("row_id", row_id, optional=False) or 0
        date_from = int64("date_from", result.date_from)
        instance_id = text("instance_id", result.instance_id, optional=False)
        task_id = text("task_id", result.task_id, optional=False)
        name = stored_text("task_name", result.task_name or None)
        same = (row_id, date_from, instance_id, task_id, name)
        new_targets: dict[Any, int] = {}
        # Not synced on its own: losing it to a power cut leaves the row pending, the safe side.
        with self._store.transaction(durable=False) as conn:
            completed_at = now_us()
            if not conn.execute(COMPLETE_IF_SAME, (*values, completed_at, *same)).rowcount:
                # Nothing changed: say why, or the answer renamed the task (a new target).
                target_id = self._renamed_target(conn, row_id, result, date_from, new_targets)
                conn.execute(COMPLETE, (target_id, *values, completed_at, row_id))
        self._targets.known.update(new_targets)

    def _renamed_target(
        self,
        conn: sqlite3.Connection,
        row_id: int,
        result: ResetResult | RewindStep,
        date_from: int | None,
        new_targets: dict[Any, int],
    ) -> int:
        """The target of row ``row_id`` completed with ``result`` under the result's task name,
        or the ``HistoryError`` saying why the row cannot be completed with it."""
        found = conn.execute(ROW_FOR_COMPLETE, (row_id,)).fetchone()
        if found is None:
            raise HistoryError(f"history row {row_id} does not exist; nothing was completed.")
        instance_id, task_id, task_name, row_date_from, outcome, interrupted = found
        if (instance_id, task_id, row_date_from) != (result.instance_id, result.task_id, date_from):
            raise HistoryError(
                f"history row {row_id} is for task {task_id!r} of instance {instance_id!r} "
                f"with date_from {row_date_from!r}, not for the result given "
                f"({result.task_id!r}, {result.instance_id!r}, {date_from!r})."
            )
        if outcome != "pending" and not interrupted:
            raise HistoryError(
                f"history row {row_id} is already completed ({outcome}); left as is."
            )
        target = target_key(instance_id, task_id, result.task_name or task_name)
        return self._targets.id(conn, target, new_targets)

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
        last = self._insert([finished_row(result, dry_run, self._ctx(context))])
        assert last is not None
        return last

    def extend(
        self,
        results: Iterable[ResetResult],
        *,
        dry_run: bool | None = None,
        context: RecordContext | None = None,
    ) -> int:
        """Record many finished attempts in one transaction (all or none); return how many."""
        ctx = self._ctx(context)
        rows = [finished_row(result, dry_run, ctx) for result in results]
        self._insert(rows)
        return len(rows)

    # -- a rewind's steps (``procedure.StepRecorder``) -----------------------------------------

    def begin_step(self, row: RewindStep) -> int:
        """Record a rewind's step as ``pending`` before its request is sent; return the row id
        (complete it with ``complete_step``). On disk when this returns, as ``begin``."""
        new = pending_row(
            row.instance_id, row.task_id, row.task_name, row.date_from, row.dry_run, self.context
        )
        new.values.update(step_values(row))
        last = self._insert([new])
        assert last is not None
        return last

    def complete_step(self, row_id: int, row: RewindStep) -> None:
        """Fill the row ``begin_step`` returned with the step's outcome (rules of ``complete``)."""
        self.complete(row_id, row)

    def append_step(self, row: RewindStep) -> int:
        """Record a finished step in one go (a look, a verification, a skipped or dry-run step)."""
        new = finished_row(row, row.dry_run, self.context)
        new.values.update(step_values(row))
        last = self._insert([new])
        assert last is not None
        return last

    def mark_interrupted(self, *, older_than: timedelta | None = None) -> int:
        """Turn pending rows that will never be completed into ``unknown``; return how many.

        A pending row qualifies when the process that wrote it ran on this host and is gone (a
        killed kernel), or, with ``older_than``, when it started longer ago than that (rows
        written on other hosts). Its message then says the reset may have happened. Run it after
        a crash, before deciding what to retry.
        """
        cutoff = None if older_than is None else now_us() - older_than // timedelta(microseconds=1)
        stale = [
            row_id
            for row_id, at_us, host, pid, token in self._store.read(PENDING)
            if (cutoff is not None and at_us < cutoff) or process_gone(host, pid, token)
        ]
        changed = 0
        for start in range(0, len(stale), _CHUNK):
            chunk = stale[start : start + _CHUNK]
            cursor = self._store.write(
                mark_interrupted(len(chunk)), [INTERRUPTED_MESSAGE, now_us(), *chunk]
            )
            changed += cursor.rowcount
        return changed

    def located(self, *, project_id: str | None, endpoint_label: str | None) -> ResultLog:
        """This log, writing rows that say where their requests went when its context does not.

        ``reset_many`` calls it with the client's project and endpoint, so rows written through
        a plain ``ResultLog()`` still carry them; a context given to the log wins. The returned
        log shares this one's file and connections.
        """
        context = replace(
            self.context,
            project_id=self.context.project_id or project_id,
            endpoint_label=self.context.endpoint_label or endpoint_label,
        )
        if context == self.context:
            return self
        view = copy.copy(self)
        view.context = context
        return view

    def _ctx(self, context: RecordContext | None) -> RecordContext:
        return context if context is not None else self.context

    def _insert(self, rows: Sequence[NewRow]) -> int | None:
        """Insert rows in one transaction; return the last row id (None when there were none)."""
        new_targets: dict[Any, int] = {}
        new_writers: dict[Any, int] = {}
        last: int | None = None
        with self._store.transaction() as conn:
            ids = [
                (
                    self._targets.id(conn, row.target, new_targets),
                    self._writers.id(conn, row.writer, new_writers),
                )
                for row in rows
            ]
            if len(rows) == 1:
                last = conn.execute(*rows[0].insert(*ids[0])).lastrowid
            elif rows:
                params = [row.params(*row_ids) for row, row_ids in zip(rows, ids, strict=True)]
                conn.executemany(INSERT_ATTEMPT, params)
        # Only once committed: an id from a rolled-back transaction must never be reused.
        self._targets.known.update(new_targets)
        self._writers.known.update(new_writers)
        return last

    # -- reading ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self._store.read(COUNT)[0][0])

    def _read(self, filters: FilterArgs, *, latest: bool) -> tuple[list[Any], ...]:
        """(rows, targets, writers) of the rows ``filters`` keeps."""
        rows = self._store.read(*select(Filter.parse(filters), latest=latest))
        # After the rows: targets and writers are only ever added, so every id named is there.
        return rows, self._store.read(TARGETS), self._store.read(WRITERS)

    def records(
        self, *, latest: bool = False, **filters: Unpack[FilterArgs]
    ) -> list[dict[str, Any]]:
        """Rows as plain dicts of Python values (``at`` and ``completed_at`` aware datetimes,
        ``date_from_ms`` the exact integer), without pandas. Same filters as ``to_frame``;
        ``latest=True`` as ``latest_per_task`` (whose ``dry_run`` default is False).
        """
        return records_from_rows(*self._read(filters, latest=latest))

    def left_stopped(self) -> pd.DataFrame:
        """The tasks a rewind stopped and nothing has shown running since: one row per task
        (its latest stop row, with ``task_id``, ``instance_id``, ``rewind_id``, ``at``...),
        oldest first; empty when there are none (``models.left_stopped`` is the rule). A stop
        still ``pending`` (the process was killed mid-rewind) counts: it may have happened.
        """
        rows = [_StepRow.of(*row) for row in self._store.read(STEP_ROWS)]
        return self.to_frame(row_id=sorted(r.id for r in left_stopped(rows)))

    def to_frame(self, **filters: Unpack[FilterArgs]) -> pd.DataFrame:
        """One row per attempt, oldest first, with the columns and dtypes of ``COLUMNS``.

        Filters (``FilterArgs``): ``task_id`` / ``instance_id`` / ``outcome`` / ``row_id`` take
        one value or several; ``since`` (inclusive) and ``until`` (exclusive) bound ``at`` and
        take datetimes, dates, ISO strings, a ``timedelta`` or ``"2h"``-style durations ago
        (naive means UTC); ``dry_run`` keeps only dry runs (True) or only real attempts (False).
        """
        return frame_from_rows(*self._read(filters, latest=False))

    def latest_per_task(self, **filters: Unpack[FilterArgs]) -> pd.DataFrame:
        """The most recent attempt of each (instance, task): "where does each task stand?".

        Dry runs are left out by default (they change nothing remotely); pass ``dry_run=None``
        to include them. ``outcome`` applies *after* choosing the latest attempt, so
        ``latest_per_task(outcome=["failed", "unknown"])`` lists the tasks still needing work.
        """
        chosen = FilterArgs(dry_run=False)
        chosen.update(filters)
        return frame_from_rows(*self._read(chosen, latest=True))

    def display_frame(self, *, limit: int | None = 500, **filters: Unpack[FilterArgs]) -> Styler:
        """``to_frame(**filters)`` styled for a notebook (see ``style_frame``): the ``limit``
        most recent rows, since a styled table of every row would be too heavy for a browser.
        """
        frame = self.to_frame(**filters)
        if limit is not None:
            frame = frame.tail(limit)
        return style_frame(frame)

    def to_csv(
        self, target: str | os.PathLike[str] | IO[str], **filters: Unpack[FilterArgs]
    ) -> None:
        """Export ``to_frame(**filters)`` as CSV (ISO times in UTC); ``read_csv`` reads it back."""
        write_csv(self.to_frame(**filters), target)

    def to_parquet(self, target: str | os.PathLike[str], **filters: Unpack[FilterArgs]) -> None:
        """Export ``to_frame(**filters)`` as Parquet, values and dtypes kept exactly
        (``read_parquet`` reads it back). Needs the ``parquet`` extra: pyarrow.
        """
        write_parquet(self.to_frame(**filters), target)

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


class _StepRow(NamedTuple):
    """A step row as ``models.left_stopped`` reads it."""

    id: int
    step: str
    outcome: str
    instance_id: str
    task_id: str
    was_running: bool | None

    @classmethod
    def of(
        cls, row_id: int, step: str, outcome: str, instance: str, task: str, running: int | None
    ) -> _StepRow:
        return cls(
            row_id, step, outcome, instance, task, None if running is None else bool(running)
        )


class _RowIds:
    """Ids of ``targets`` / ``writers`` rows known to be committed, so a batch looks each up
    once (a ``located`` view shares them with its log)."""

    def __init__(self, find: str, add: str) -> None:
        self.find, self.add = find, add
        self.known: dict[Any, int] = {}

    def id(self, conn: sqlite3.Connection, key: tuple[Any, ...], new: dict[Any, int]) -> int:
        """The id of row ``key``, added if missing; ``new`` collects the ids added in this
        transaction, for ``known`` once it commits (an id rolled back must never be reused)."""
        found = self.known.get(key) or new.get(key)
        if found is None:
            row = conn.execute(self.find, key).fetchone()
            found = int(row[0]) if row else conn.execute(self.add, key).lastrowid
            assert found is not None
            new[key] = found
        return found
