"""Where a task is now, and which way a reset moves it: the direction and amount of the move.

No API exposes a combined task's read position (binlog / SCN / LSN), so "where it is" is the best
evidence the API gives, and the plan says which evidence it used:

1. ``monitor-log``: the end of the task's latest *successful* monitor log (``execute_status``
   ``SUCCESS`` with an ``end_time``): the task had read at least that far;
2. ``last-execute-time``: else the ``last_execute_time`` of its monitor entry;
3. ``none``: else nothing, and the direction of the move is unknown.

A ``date_from`` before that point **replays** the changes in between: they are read and applied
again downstream, and since delivery is at-least-once the target sees duplicates. A ``date_from``
after it **skips** the changes in between: the task never reads them, so the target never gets
them. That is why a forward move is refused unless asked for.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, get_args

from ..dates import format_duration, format_instant, validate_date_from
from ..errors import ValidationError
from ..models import MonitorLog, TaskMonitor

__all__ = [
    "Direction",
    "Evidence",
    "Move",
    "Position",
    "move_of",
    "skip_sentence",
    "where_now",
]

Evidence = Literal["monitor-log", "last-execute-time", "none"]
EVIDENCE: tuple[Evidence, ...] = get_args(Evidence)

Direction = Literal["replay", "skip", "same", "unknown"]
DIRECTIONS: tuple[Direction, ...] = get_args(Direction)

_EVIDENCE_WORDS = {
    "monitor-log": "the end of its latest successful monitor log",
    "last-execute-time": "its last execution time (no successful monitor log with an end time)",
}


@dataclass(frozen=True, slots=True)
class Position:
    """The best evidence of where a task is now: which kind, and the instant (epoch ms)."""

    evidence: Evidence = "none"
    at_ms: int | None = None

    def __post_init__(self) -> None:
        if self.evidence not in EVIDENCE:
            raise ValidationError(f"evidence must be one of {EVIDENCE}, not {self.evidence!r}.")
        if (self.evidence == "none") != (self.at_ms is None):
            raise ValidationError(
                "A position has an instant exactly when it has evidence "
                f"(evidence={self.evidence!r}, at_ms={self.at_ms!r})."
            )
        if self.at_ms is not None:
            validate_date_from(self.at_ms)

    def describe(self) -> str:
        """``the end of its latest successful monitor log, 2024-03-10T06:00:00Z``."""
        if self.at_ms is None:
            return "unknown: no successful monitor log and no last execution time"
        return f"{_EVIDENCE_WORDS[self.evidence]}, {format_instant(self.at_ms).utc_iso}"


def _succeeded(log: MonitorLog) -> bool:
    return (log.execute_status or "").strip().upper() == "SUCCESS" and log.end_time is not None


def where_now(*, logs: Iterable[MonitorLog] = (), monitor: TaskMonitor | None = None) -> Position:
    """The best evidence among one task's monitor ``logs`` and its ``monitor`` entry.

    Pass the task's recent monitor logs (any order; ``client.monitor_logs``) and its entry from
    ``client.task_monitors``; either may be missing. Values a ``date_from`` could not be
    (0, negative, seconds-like) are not evidence and are ignored.
    """
    ends = [log.end_time for log in logs if _succeeded(log)]
    usable = [end for end in ends if end is not None and _plausible(end)]
    if usable:
        return Position("monitor-log", max(usable))
    last = None if monitor is None else monitor.last_execute_time
    if last is not None and _plausible(last):
        return Position("last-execute-time", last)
    return Position()


def _plausible(ms: int) -> bool:
    try:
        validate_date_from(ms)
    except ValidationError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class Move:
    """What a reset to ``date_from`` does to one task, relative to where it is now."""

    direction: Direction
    amount_ms: int | None = None
    """How much is replayed or skipped; ``0`` for ``same``, ``None`` for ``unknown``."""

    @property
    def forward(self) -> bool:
        """The reset skips changes: they would never reach the target."""
        return self.direction == "skip"

    def summary(self) -> str:
        """``replays 6 h 12 min`` / ``skips 35 min of changes``: for tables and plan files."""
        if self.direction == "replay":
            return f"replays {format_duration(self.amount_ms or 0)}"
        if self.direction == "skip":
            return f"skips {format_duration(self.amount_ms or 0)} of changes"
        if self.direction == "same":
            return "starts where it is: nothing replayed, nothing skipped"
        return "direction unknown"

    def row_text(self) -> str:
        """The move as a plan's row for one task says it: ``replays 6 h 12 min``, ``may SKIP
        up to 35 min of changes``. "May", "up to": the position is how far a task is known to
        have read at least; a running task has usually read further, so the real skip can be
        smaller or none."""
        if self.direction == "unknown":
            return "replay or skip unknown (no record of where it is)"
        if self.direction == "skip":
            return f"may SKIP up to {format_duration(self.amount_ms or 0)} of changes"
        return self.summary()

    def consequence(self) -> str:
        """What the move means for the data downstream, in a sentence."""
        if self.direction == "replay":
            return (
                "the changes in between are read again and re-applied: the target receives "
                "duplicates (the service delivers at least once)"
            )
        if self.direction == "skip":
            return "the changes in between are never read: the target will not receive them"
        if self.direction == "same":
            return "no change is read twice or skipped"
        return "there is no evidence where the task is now, so it cannot be said"


def move_of(date_from_ms: int | None, position: Position) -> Move:
    """The move a reset to ``date_from_ms`` makes from ``position`` (``None``: unknown)."""
    if date_from_ms is None or position.at_ms is None:
        return Move("unknown")
    difference = date_from_ms - position.at_ms
    if difference < 0:
        return Move("replay", -difference)
    if difference > 0:
        return Move("skip", difference)
    return Move("same", 0)


def skip_sentence(shown: str, date_from_ms: int, position: Position) -> str:
    """The sentence naming task ``shown`` and what a forward move from ``position`` loses."""
    if position.at_ms is None or date_from_ms <= position.at_ms:
        raise ValidationError("skip_sentence is for a date_from after a known position.")
    amount = format_duration(date_from_ms - position.at_ms)
    return (
        f"Task {shown}: date_from {format_instant(date_from_ms).utc_iso} is {amount} after "
        f"where the task is now ({position.describe()}): the reset would skip {amount} of "
        "changes, which the target would never receive."
    )
