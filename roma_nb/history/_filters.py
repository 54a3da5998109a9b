"""The filters people apply to a history: declared once (``FilterArgs``), checked once (``Filter``).

Every reading method of ``ResultLog`` takes the same keyword arguments and turns them into one
``Filter``, which ``_sql.where`` turns into one SQL ``WHERE`` clause. Filtering happens in SQLite
rather than in pandas so that ``roma-nb history --task X`` on a file with years of rows reads only
what it prints, and so the CLI, ``to_frame``, ``latest_per_task`` and the panel cannot disagree
about what a filter means.

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
from typing import TypedDict, TypeVar

from ..errors import ValidationError
from ._columns import OUTCOME_CATEGORIES

__all__ = ["Filter", "FilterArgs", "When", "from_epoch_us", "parse_when", "to_epoch_us"]

When = datetime | date | str | timedelta
Ids = str | Iterable[str] | None
RowIds = int | Iterable[int] | None

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ONE_US = timedelta(microseconds=1)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def to_epoch_us(moment: datetime) -> int:
    """Exact integer microseconds since the epoch; a naive ``moment`` is read as UTC."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return (moment - _EPOCH) // _ONE_US


def from_epoch_us(value: int | None) -> datetime | None:
    """The aware UTC datetime of ``to_epoch_us``'s integer (None stays None)."""
    return None if value is None else _EPOCH + timedelta(microseconds=value)


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


class FilterArgs(TypedDict, total=False):
    """The keyword arguments every reading method of ``ResultLog`` takes; all may be omitted.

    ``task_id`` / ``instance_id`` / ``outcome`` take one value or several; ``since``
    (inclusive) and ``until`` (exclusive) bound ``at`` and take datetimes, dates, ISO strings, a
    ``timedelta`` or ``"2h"``-style durations ago (naive means UTC); ``dry_run`` keeps only dry
    runs (True) or only real attempts (False); ``row_id`` keeps only the rows with these ids;
    ``plan_id`` only the rows of these applied plans.
    """

    task_id: Ids
    instance_id: Ids
    plan_id: Ids
    outcome: Ids
    since: When | None
    until: When | None
    dry_run: bool | None
    row_id: RowIds


T = TypeVar("T", str, int)


def _values(name: str, value: object, kind: type[T]) -> tuple[T, ...] | None:
    """One value or several as a tuple, each of ``kind`` (a bool is not an id)."""
    if value is None:
        return None
    items = value if isinstance(value, Iterable) and not isinstance(value, str) else [value]
    checked: list[T] = []
    for item in items:
        if not isinstance(item, kind) or isinstance(item, bool):
            noun = "strings" if kind is str else "integers"
            raise ValidationError(
                f"{name} filter values must be {noun}, not {type(item).__name__}."
            )
        checked.append(item)
    return tuple(checked)


@dataclass(frozen=True, slots=True)
class Filter:
    """A checked filter. ``None`` everywhere means "every row"."""

    task_id: tuple[str, ...] | None = None
    instance_id: tuple[str, ...] | None = None
    plan_id: tuple[str, ...] | None = None
    outcome: tuple[str, ...] | None = None
    since_us: int | None = None
    until_us: int | None = None
    dry_run: bool | None = None
    row_id: tuple[int, ...] | None = None

    @classmethod
    def parse(cls, args: FilterArgs) -> Filter:
        """Check and normalise filter arguments; a bad value raises ``ValidationError``."""
        unexpected = set(args) - set(FilterArgs.__annotations__)
        if unexpected:
            raise TypeError(f"unexpected filter argument {sorted(unexpected)[0]!r}")
        outcomes = _values("outcome", args.get("outcome"), str)
        unknown = [o for o in outcomes or () if o not in OUTCOME_CATEGORIES]
        if unknown:
            raise ValidationError(
                f"unknown outcome {unknown[0]!r}; choose from {', '.join(OUTCOME_CATEGORIES)}."
            )
        dry_run = args.get("dry_run")
        if dry_run is not None and not isinstance(dry_run, bool):
            raise ValidationError("dry_run filter must be True, False or None.")
        plan_ids = _values("plan_id", args.get("plan_id"), str)  # SHA-256 hex, any case
        now = datetime.now(timezone.utc)
        since, until = args.get("since"), args.get("until")
        return cls(
            task_id=_values("task_id", args.get("task_id"), str),
            instance_id=_values("instance_id", args.get("instance_id"), str),
            plan_id=None if plan_ids is None else tuple(p.strip().lower() for p in plan_ids),
            outcome=outcomes,
            since_us=None if since is None else to_epoch_us(parse_when(since, now=now)),
            until_us=None if until is None else to_epoch_us(parse_when(until, now=now)),
            dry_run=dry_run,
            row_id=_values("row_id", args.get("row_id"), int),
        )
