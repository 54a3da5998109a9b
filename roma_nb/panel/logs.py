"""Which history a panel writes to, and a pass-through that remembers which rows it wrote.

``default_log`` picks the history when none is given. The history may be shared
(``ResultLog.default()`` holds every notebook's attempts), but the panel's results table should
show what *this* panel did. ``TrackedLog`` hands every write on to the real log unchanged and
keeps the row ids, so the table is the log's own frame filtered to those rows: one source of
truth, nothing kept twice.
"""

from __future__ import annotations

import copy
import logging
import threading
from dataclasses import replace
from typing import TYPE_CHECKING

from ..history import HistoryError, RecordContext, ResultLog
from ..models import ResetResult, RewindStep

if TYPE_CHECKING:
    from ..client import RomaClient

__all__ = ["TrackedLog", "default_log"]

logger = logging.getLogger("roma_nb.panel")


def default_log(client: RomaClient) -> tuple[ResultLog, str | None]:
    """The history a panel writes to when none is given, and a note if it is not durable.

    Against the SANDBOX an in-memory log: nothing real happens there, and the user's audit trail
    should not fill with practice runs. Against a real service ``ResultLog.default()``, the
    durable per-user history shared by every notebook: an in-memory log would die with the
    kernel, which is exactly when the trace of a half-finished batch is needed. If that file
    cannot be opened the panel still works, in memory, and says so.
    """
    context = RecordContext.of(client)
    if client.is_sandbox:
        return ResultLog(context=context), None
    try:
        return ResultLog.default(context=context), None
    except (HistoryError, OSError) as exc:
        note = (
            f"The durable history could not be opened ({exc}); this panel records its attempts "
            "in memory only. Pass log=ResultLog('/path/to/history.sqlite') to keep them."
        )
        logger.warning(note)
        return ResultLog(context=context), note


class TrackedLog:
    """A ``Recorder`` (what ``reset_many`` writes to) and step log (what ``rewind`` writes to)
    that notes the ids of the rows written."""

    def __init__(self, log: ResultLog) -> None:
        self.log = log
        self._lock = threading.Lock()
        self._ids: list[int] = []

    @property
    def row_ids(self) -> list[int]:
        with self._lock:
            return list(self._ids)

    def _note(self, row_id: int) -> int:
        with self._lock:
            self._ids.append(row_id)
        return row_id

    def begin(
        self,
        instance_id: str,
        task_id: str,
        *,
        date_from: int | None,
        task_name: str | None = None,
        dry_run: bool = False,
    ) -> int:
        return self._note(
            self.log.begin(
                instance_id, task_id, date_from=date_from, task_name=task_name, dry_run=dry_run
            )
        )

    def complete(self, row_id: int, result: ResetResult) -> None:
        self.log.complete(row_id, result)

    def begin_step(self, row: RewindStep) -> int:
        return self._note(self.log.begin_step(row))

    def complete_step(self, row_id: int, row: RewindStep) -> None:
        self.log.complete_step(row_id, row)

    def append_step(self, row: RewindStep) -> int:
        return self._note(self.log.append_step(row))

    def located(self, *, project_id: str | None, endpoint_label: str | None) -> TrackedLog:
        """The same tracking (shared row ids) over ``log.located(...)``."""
        view = copy.copy(self)
        view.log = self.log.located(project_id=project_id, endpoint_label=endpoint_label)
        return view

    def for_plan(self, plan_id: str) -> TrackedLog:
        """The same tracking (shared row ids) over this log, its rows carrying ``plan_id``: the
        run of a loaded plan file, so "which plan did this?" is one filter of the history."""
        log = copy.copy(self.log)  # shares the file and connections, like ``located``
        log.context = replace(log.context, plan_id=plan_id)
        view = copy.copy(self)
        view.log = log
        return view

    def append(self, result: ResetResult, *, dry_run: bool | None = None) -> int:
        """``dry_run=None`` leaves the decision to the log (a ``ResultLog`` reads the outcome)."""
        if dry_run is None:
            return self._note(self.log.append(result))
        return self._note(self.log.append(result, dry_run=dry_run))
