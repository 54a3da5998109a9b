"""A pass-through to the history that remembers which rows this panel wrote.

The history may be shared (``ResultLog.default()`` holds every notebook's attempts), but the
panel's results table should show what *this* panel did. ``TrackedLog`` hands every write on to
the real log unchanged and keeps the row ids, so the table is the log's own frame filtered to
those rows: one source of truth, nothing kept twice.
"""

from __future__ import annotations

import threading

from ..client import Recorder
from ..models import ResetResult

__all__ = ["TrackedLog"]


class TrackedLog:
    """A ``Recorder`` (what ``reset_many`` writes to) that notes the ids of the rows written."""

    def __init__(self, log: Recorder) -> None:
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

    def append(self, result: ResetResult, *, dry_run: bool | None = None) -> int:
        """``dry_run=None`` leaves the decision to the log (a ``ResultLog`` reads the outcome)."""
        if dry_run is None:
            return self._note(self.log.append(result))
        return self._note(self.log.append(result, dry_run=dry_run))
