"""``DateFrom``: the instant a plan resets to, frozen with the words that produced it.

A relative target ("2h ago", "yesterday 02:00") means a different instant every minute, so it is
resolved exactly once, when the plan is made, against an injected clock. The plan then keeps
both: the integer that will be sent and the text the person typed, so a reviewer sees what was
meant and what it became.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from .. import dates
from ..dates import (
    Ambiguous,
    Nonexistent,
    format_instant,
    resolve_time_text,
    resolve_zone,
    to_epoch_ms,
)
from ..errors import ValidationError

__all__ = ["DateFrom", "resolve_date_from"]


@dataclass(frozen=True, slots=True)
class DateFrom(dates.DateFrom):
    """``ms`` is the ``date_from`` sent (``None``: the service decides); ``zone`` is the IANA zone
    the person planned in; ``typed`` is what they typed, if they typed it.

    A checked ``dates.DateFrom``, so the client takes it as it is, without checking it again."""

    zone: str = "UTC"
    typed: str | None = None

    def __post_init__(self) -> None:
        dates.DateFrom.__post_init__(self)  # (zero-argument super() fails in a slots dataclass)
        if not isinstance(self.zone, str):
            raise ValidationError(f"zone must be an IANA name, not {type(self.zone).__name__}.")
        resolve_zone(self.zone)
        if self.typed is not None and not isinstance(self.typed, str):
            raise ValidationError(f"typed must be a string, not {type(self.typed).__name__}.")

    @property
    def utc_iso(self) -> str | None:
        return None if self.ms is None else format_instant(self.ms).utc_iso

    @property
    def local(self) -> str | None:
        """The wall time in ``zone`` with its abbreviation and offset."""
        return None if self.ms is None else format_instant(self.ms, self.zone).local_iso

    def describe(self) -> str:
        """``2024-03-09T07:00:00Z = 2024-03-09 02:00:00 EST (-05:00) in America/New_York =
        date_from 1709967600000, typed 'yesterday 02:00'``."""
        typed = f", typed {self.typed!r}" if self.typed else ""
        if self.ms is None:
            return f"empty: no date_from is sent, the service decides the start point{typed}"
        local = f" = {self.local} in {self.zone}" if self.zone != "UTC" else ""
        return f"{self.utc_iso}{local} = date_from {self.ms}{typed}"


def resolve_date_from(
    value: str | int | datetime | date | None,
    zone: str = "UTC",
    *,
    now_ms: int,
    ambiguous: Ambiguous = "raise",
    nonexistent: Nonexistent = "raise",
) -> DateFrom:
    """Resolve what the person gave, once, against the clock ``now_ms``.

    Text goes through ``dates.resolve_time_text`` (relative forms, ISO-8601, integer ms) and is
    kept as ``typed``; other values (``datetime``, ``date``, ``int``) through ``to_epoch_ms``.
    Naive times are wall times in ``zone``; DST gaps and folds are refused unless
    ``nonexistent`` / ``ambiguous`` choose.
    """
    if not isinstance(zone, str):
        raise ValidationError(f"zone must be an IANA name, not {type(zone).__name__}.")
    zone = zone.strip()
    if value is None:
        resolve_zone(zone)
        return DateFrom(None, zone)
    if isinstance(value, str):
        ms = resolve_time_text(
            value, zone, now_ms=now_ms, ambiguous=ambiguous, nonexistent=nonexistent
        )
        return DateFrom(ms, zone, value.strip())
    return DateFrom(to_epoch_ms(value, zone, ambiguous=ambiguous, nonexistent=nonexistent), zone)
