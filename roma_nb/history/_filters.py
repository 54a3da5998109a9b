"""The filters people apply to a history, turned into one SQL ``WHERE`` clause.

Filtering happens in SQLite rather than in pandas so that ``roma-nb history --task X`` on a file
with years of rows reads only what it prints, and so the CLI, ``to_frame`` and
``latest_per_task`` cannot disagree about what a filter means.

Times: ``since`` is inclusive, ``until`` exclusive, both compared with ``at`` (when the attempt
started). They accept aware datetimes (pandas ``Timestamp`` included), dates, ISO-8601 strings,
a ``timedelta`` or a duration string such as ``"90m"``, ``"2h"``, ``"7d"`` meaning "that long
ago". A naive value is read as UTC, the zone every time in the history is kept in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from ..errors import ValidationError
from ..models import OUTCOMES

__all__ = [
    "OUTCOME_CATEGORIES",
    "Query",
    "When",
    "build_query",
    "parse_when",
    "to_epoch_us",
]

OUTCOME_CATEGORIES: tuple[str, ...] = ("pending", *OUTCOMES)
"""Every value ``outcome`` takes in the history: ``pending`` until the answer is recorded."""

When = datetime | date | str | timedelta
Ids = str | Iterable[str] | None

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ONE_US = timedelta(microseconds=1)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def to_epoch_us(moment: datetime) -> int:
    """Exact integer microseconds since the epoch; a naive ``moment`` is read as UTC."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return (moment - _EPOCH) // _ONE_US


def parse_when(value: When, *, now: datetime | None = None) -> datetime:
    """An aware UTC datetime from any accepted ``since`` / ``until`` value (see module doc)."""
    current = now or datetime.now(timezone.utc)
    if isinstance(value, timedelta):
        return current - value
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time(), tzinfo=timezone.utc)
    elif isinstance(value, str):
        duration = _DURATION.match(value)
        if duration:
            amount = float(duration.group(1))
            return current - timedelta(**{_UNITS[duration.group(2).lower()]: amount})
        text = value.strip()
        if text[-1:] in ("Z", "z"):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValidationError(
                f"{value!r} is not a time: use ISO-8601 such as 2024-05-01T02:00:00Z, "
                "or a duration ago such as 90m, 2h or 7d."
            ) from None
    else:
        raise ValidationError(
            f"a time filter must be a datetime, date, ISO string or timedelta, "
            f"not {type(value).__name__}."
        )
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _texts(name: str, value: Ids) -> tuple[str, ...] | None:
    if value is None:
        return None
    values = (value,) if isinstance(value, str) else tuple(value)
    for item in values:
        if not isinstance(item, str):
            raise ValidationError(
                f"{name} filter values must be strings, not {type(item).__name__}."
            )
    return values


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed filter. ``None`` everywhere means "every row"."""

    task_id: tuple[str, ...] | None = None
    instance_id: tuple[str, ...] | None = None
    outcome: tuple[str, ...] | None = None
    since_us: int | None = None
    until_us: int | None = None
    dry_run: bool | None = None

    def where(self, *, with_outcome: bool = True) -> tuple[str, list[Any]]:
        """``(sql, params)`` for ``attempts`` or the ``history`` view; ``sql`` is ``""`` or
        starts with `` WHERE``. Task and instance filters go through the indexed ``targets``.
        """
        clauses: list[str] = []
        params: list[Any] = []
        target: list[str] = []
        for column, values in (("task_id", self.task_id), ("instance_id", self.instance_id)):
            if values is not None:
                target.append(f"{column} IN ({', '.join('?' * len(values))})" if values else "0")
                params.extend(values)
        if target:
            clauses.append(f"target_id IN (SELECT id FROM targets WHERE {' AND '.join(target)})")
        if with_outcome and self.outcome is not None:
            clauses.append(
                f"outcome IN ({', '.join('?' * len(self.outcome))})" if self.outcome else "0"
            )
            params.extend(self.outcome)
        if self.since_us is not None:
            clauses.append("at_us >= ?")
            params.append(self.since_us)
        if self.until_us is not None:
            clauses.append("at_us < ?")
            params.append(self.until_us)
        if self.dry_run is not None:
            clauses.append("dry_run = ?")
            params.append(int(self.dry_run))
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), params

    def outcome_clause(self) -> tuple[str, list[Any]]:
        """The outcome filter alone (for filtering after "latest per task" is chosen)."""
        if self.outcome is None:
            return "", []
        if not self.outcome:
            return " WHERE 0", []
        return f" WHERE outcome IN ({', '.join('?' * len(self.outcome))})", list(self.outcome)


def build_query(
    *,
    task_id: Ids = None,
    instance_id: Ids = None,
    outcome: Ids = None,
    since: When | None = None,
    until: When | None = None,
    dry_run: bool | None = None,
) -> Query:
    """Check and normalise filter arguments; bad values raise ``ValidationError``."""
    outcomes = _texts("outcome", outcome)
    if outcomes is not None:
        unknown = [o for o in outcomes if o not in OUTCOME_CATEGORIES]
        if unknown:
            raise ValidationError(
                f"unknown outcome {unknown[0]!r}; choose from {', '.join(OUTCOME_CATEGORIES)}."
            )
    if dry_run is not None and not isinstance(dry_run, bool):
        raise ValidationError("dry_run filter must be True, False or None.")
    now = datetime.now(timezone.utc)
    return Query(
        task_id=_texts("task_id", task_id),
        instance_id=_texts("instance_id", instance_id),
        outcome=outcomes,
        since_us=None if since is None else to_epoch_us(parse_when(since, now=now)),
        until_us=None if until is None else to_epoch_us(parse_when(until, now=now)),
        dry_run=dry_run,
    )
