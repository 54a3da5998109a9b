"""The one place where times become ``date_from``: UTC epoch milliseconds, checked.

A reset re-reads the change log from ``date_from``, so the instant sent must be the instant the
person meant. Everything that turns a time into that integer goes through ``to_epoch_ms``; every
rule below exists because the silent alternative sends the wrong instant.

What is accepted and how it is read:

- ``None`` stays ``None``: the body is sent without ``date_from`` and the service decides.
- Aware ``datetime``, aware ``pandas.Timestamp`` and ISO strings with ``Z`` or ``±hh:mm`` name an
  exact instant; ``tz`` is ignored for them. An aware ``datetime`` in a fold is read with its
  ``fold`` attribute (PEP 495), because datetimes made from an instant (``astimezone``, the
  ipywidgets ``DatetimePicker``) carry the right fold; refusing them would refuse real instants.
  An aware ``datetime`` whose wall time falls in a gap names no instant at all and is treated
  like a naive one in a gap.
- Naive ``datetime`` / ``Timestamp`` / ``numpy.datetime64``, ``date`` (midnight) and ISO strings
  without an offset are wall-clock times in ``tz``. A wall time the clocks skipped (a DST gap) or
  showed twice (a fold) is refused by default with a message naming the real instants nearby;
  ``nonexistent="shift_forward" | "shift_backward"`` and ``ambiguous="earlier" | "later"`` choose
  one explicitly. For naive values the ``fold`` attribute is ignored: ``ambiguous`` decides, so
  the choice is always visible in the calling code.
- Integers (``int``, numpy integers, not ``bool``) and all-digit strings are milliseconds.

Refused, with a sentence naming the value:

- integers from ``10**8`` up to ``10**11``: as seconds they are 1973-03-03 … 5138-11-16 (every
  real seconds timestamp), as milliseconds only 1970-01-02 … 1973-03-03, older than any change
  log. The message gives the millisecond value to use instead. Below ``10**8`` integers are
  accepted as milliseconds (``1`` may well mean "from the very beginning"). So that every result
  of ``to_epoch_ms`` also passes ``validate_date_from``, instants in that band are refused
  whatever form they come in.
- all-digit *strings* below ``10**8``: ``"2021"`` or ``"20210827"`` is far more likely a year or
  a compact date than a few hours after 1970;
- anything before 1970-01-01T00:00:00.001Z (the service's minimum is 1), after
  9999-12-31T23:59:59.999Z (nothing in Python or pandas can show it; no change log is that new,
  and such values are usually microseconds or nanoseconds, which the message points out), or
  above ``2**63 - 1`` (the service's integer);
- floats (``1630052714.0``): they hide whether seconds or milliseconds were meant and cannot hold
  every millisecond of the range exactly, so the caller must say which with ``int()``;
- ``NaN``, ``NaT``, ``pd.NA``, empty strings, and every other type.

Precision finer than a millisecond is floored: the task then re-reads at most one millisecond
more, never less (delivery is at-least-once anyway).
"""

from __future__ import annotations

import numbers
import re
import sys
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import TYPE_CHECKING, Literal, overload

from .errors import ValidationError

if TYPE_CHECKING:  # zoneinfo and fractions load when a zone or a duration is read, not on import
    from fractions import Fraction

__all__ = [
    "DEFAULT_RETENTION",
    "MAX_MS",
    "SECONDS_LIKE",
    "Ambiguous",
    "DateFrom",
    "InstantView",
    "Nonexistent",
    "WallKind",
    "WallReading",
    "assess_date_from",
    "available_zones",
    "format_duration",
    "format_instant",
    "from_epoch_ms",
    "read_wall",
    "resolve_time_text",
    "resolve_zone",
    "to_epoch_ms",
    "validate_date_from",
]

Ambiguous = Literal["raise", "earlier", "later"]
"""What to do with a wall time the clocks showed twice (a fold, when DST ends)."""

Nonexistent = Literal["raise", "shift_forward", "shift_backward"]
"""What to do with a wall time the clocks skipped (a gap, when DST starts)."""

WallKind = Literal["normal", "gap", "fold"]
"""How a wall time reads in a zone: one instant, none (skipped), or two (shown twice)."""

INT64_MAX = 2**63 - 1
MAX_MS = 253_402_300_799_999
"""9999-12-31T23:59:59.999Z: the last instant a ``datetime`` can hold."""

SECONDS_LIKE = range(10**8, 10**11)
"""Integers refused because they look like seconds (see the module docstring)."""

DEFAULT_RETENTION = timedelta(days=2)
"""Huawei's advice for how long a source should keep its CDC logs."""

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_EPOCH_NAIVE = datetime(1970, 1, 1)
_ONE_MS = timedelta(milliseconds=1)
_AMBIGUOUS = ("raise", "earlier", "later")
_NONEXISTENT = ("raise", "shift_forward", "shift_backward")
_NOT_OFFERED = frozenset({"localtime", "Factory", "posixrules"})

_ISO = re.compile(
    r"""
    (?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})
    (?:[Tt\ ](?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})
        (?::(?P<second>[0-9]{2})(?:[.,](?P<fraction>[0-9]{1,9}))?)?
        \ ?(?P<offset>[Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)?
    )?
    """,
    re.VERBOSE,
)
_DIGITS = re.compile(r"[+-]?[0-9]+")


@dataclass(frozen=True)
class InstantView:
    """One instant as the preview shows it: the integer sent, UTC, and the chosen zone."""

    ms: int
    utc_iso: str
    """``2021-08-27T08:25:14Z`` (``.fff`` only when the milliseconds are not zero)."""
    local_iso: str
    """``2021-08-27 16:25:14 CST (+08:00)``: wall time, abbreviation (if it is a word), offset."""
    zone: str


# --- zones -----------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _zone_names() -> tuple[str, ...]:
    from zoneinfo import available_timezones

    return tuple(sorted(available_timezones() - _NOT_OFFERED - {"UTC"}))


def available_zones() -> list[str]:
    """IANA zone names for a zone dropdown: ``"UTC"`` first, then the rest sorted."""
    return ["UTC", *_zone_names()]


def _suggest_zones(name: str) -> list[str]:
    import difflib

    names = ["UTC", *_zone_names()]
    folded = {n.casefold(): n for n in names}
    key = name.casefold()
    if key in folded:
        return [folded[key]]
    tail = key.rsplit("/", 1)[-1].replace(" ", "_")
    same_city = [n for n in names if n.casefold().rsplit("/", 1)[-1] == tail]
    close = difflib.get_close_matches(key, list(folded), n=2, cutoff=0.8)
    found = same_city + [folded[c] for c in close]
    return list(dict.fromkeys(found))[:3]


def resolve_zone(tz: str | tzinfo) -> tzinfo:
    """The ``tzinfo`` for an IANA name or a tzinfo, or ``ValidationError`` saying what is wrong.

    A pytz zone is swapped for the ``ZoneInfo`` of the same name: attached with ``replace`` it
    would silently use the zone's first historic offset (local mean time).
    """
    if isinstance(tz, tzinfo):
        pytz_name = getattr(tz, "zone", None)
        if isinstance(pytz_name, str) and hasattr(tz, "localize"):
            return resolve_zone(pytz_name)
        return tz
    if not isinstance(tz, str):
        raise ValidationError(
            f"The time zone must be an IANA name such as 'UTC' or 'Asia/Shanghai', or a tzinfo, "
            f"not {type(tz).__name__}."
        )
    name = tz.strip()
    if not name:
        raise ValidationError("The time zone is empty; pick one, for example 'UTC'.")
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass
    hints = _suggest_zones(name)
    hint = f" Did you mean {' or '.join(repr(h) for h in hints)}?" if hints else ""
    raise ValidationError(
        f"Unknown time zone {_short(name)}.{hint} Use an IANA name such as 'UTC' or 'Europe/Paris'."
    )


def _zone_label(zone: tzinfo) -> str:
    key = getattr(zone, "key", None)
    if isinstance(key, str):
        return key
    if zone is timezone.utc:
        return "UTC"
    if isinstance(zone, timezone):
        return zone.tzname(None)
    return str(zone)


# --- text ------------------------------------------------------------------------------------


def _short(text: str, limit: int = 60) -> str:
    shown = repr(text)
    return shown if len(shown) <= limit else shown[: limit - 4] + "…'"


def _int_text(number: int) -> str:
    """An integer as text; a huge one (``str`` refuses past 4300 digits) by its size."""
    if number.bit_length() <= 256:
        return str(number)
    return f"An integer of about {int(number.bit_length() * 0.30103)} digits"


def _clock(moment: datetime, *, seconds: bool) -> str:
    """``2021-08-27 16:25`` (``seconds=False`` drops ``:00``) or ``2021-08-27 16:25:14.123``."""
    text = (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d} "
        f"{moment.hour:02d}:{moment.minute:02d}"
    )
    if seconds or moment.second or moment.microsecond:
        text += f":{moment.second:02d}"
    if moment.microsecond:
        text += "." + f"{moment.microsecond:06d}".rstrip("0").ljust(3, "0")
    return text


def _offset_text(offset: timedelta) -> str:
    sign = "-" if offset < timedelta(0) else "+"
    seconds = abs(int(offset.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")


def _utc(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


def _utc_iso(ms: int) -> str:
    moment = _utc(ms)
    return _clock(moment, seconds=True).replace(" ", "T") + "Z"


def _local_text(ms: int, zone: tzinfo) -> str:
    moment = _utc(ms).astimezone(zone)
    offset = moment.utcoffset() or timedelta(0)
    name = moment.tzname() or ""
    word = f" {name}" if name and name[0] not in "+-0123456789" else ""
    return f"{_clock(moment, seconds=True)}{word} ({_offset_text(offset)})"


def _duration(ms: int) -> str:
    if ms < 1000:
        return f"{ms} ms"
    seconds = ms // 1000
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    units = [
        (days, "day" if days == 1 else "days"),
        (hours, "h"),
        (minutes, "min"),
        (secs, "s"),
    ]
    first = next(i for i, (n, _) in enumerate(units) if n)
    shown = [f"{n} {unit}" for n, unit in units[first : first + 2] if n]
    return " ".join(shown)


# --- range checks ----------------------------------------------------------------------------


def _check_int(value: int, shown: str) -> int:
    """``value`` if it is a usable millisecond ``date_from``; ``shown`` is how the user wrote it."""
    if value < 1:
        raise ValidationError(
            f"{shown} is not a valid date_from: it counts milliseconds since "
            "1970-01-01T00:00:00Z and must be at least 1."
        )
    if value in SECONDS_LIKE:
        raise ValidationError(
            f"{shown} looks like seconds ({_utc_iso(value * 1000)}); date_from is "
            f"milliseconds: use {value * 1000}."
        )
    if value > INT64_MAX:
        raise ValidationError(
            f"{shown} is larger than 2**63-1 ({INT64_MAX}), the largest date_from the service "
            "accepts."
        )
    if value > MAX_MS:
        hint = ""
        for unit, factor in (("microseconds", 1000), ("nanoseconds", 1_000_000)):
            guess = value // factor
            if guess <= MAX_MS:
                hint = f" If it counts {unit}, that is {_utc_iso(guess)}: use {guess}."
                break
        raise ValidationError(
            f"{shown} milliseconds is after 9999-12-31T23:59:59.999Z, the last instant a "
            f"datetime can hold.{hint}"
        )
    return value


def _check_instant(ms: int, shown: str) -> int:
    """Like ``_check_int`` for an instant given as a time, with messages about the time."""
    if ms < 1:
        raise ValidationError(
            f"{shown} is before 1970-01-01T00:00:00.001Z: date_from counts milliseconds since "
            "1970-01-01T00:00:00Z and must be at least 1."
        )
    if ms in SECONDS_LIKE:
        raise ValidationError(
            f"{shown} is {_utc_iso(ms)} = {ms} ms, which cannot be told apart from a value in "
            "seconds: date_from between 1970-01-02T03:46:40Z and 1973-03-03T09:46:40Z is "
            "refused (no change log is that old)."
        )
    if ms > MAX_MS:
        raise _too_late(shown)
    return ms


def _too_late(shown: str) -> ValidationError:
    return ValidationError(
        f"{shown} is after 9999-12-31T23:59:59.999Z, the last instant a datetime can hold."
    )


def _out_of_range(shown: str, wall: datetime) -> ValidationError:
    if wall.year >= 5000:
        return _too_late(shown)
    return ValidationError(f"{shown} is before 1970, and date_from counts milliseconds since 1970.")


# --- wall clock times in a zone --------------------------------------------------------------


def _ms_of(moment: datetime) -> int:
    """Milliseconds since the epoch, floored; naive means UTC here."""
    if moment.utcoffset() is None:
        return (moment.replace(tzinfo=None) - _EPOCH_NAIVE) // _ONE_MS
    return (moment - _EPOCH) // _ONE_MS


def _offset_at(ms: int, zone: tzinfo) -> timedelta | None:
    return _utc(ms).astimezone(zone).utcoffset()


def _read_wall(wall: datetime, zone: tzinfo) -> tuple[WallKind, int, int]:
    """Where a naive wall time in ``zone`` lands: ``(kind, a, b)`` in milliseconds.

    ``normal``: ``a == b``, the instant. ``fold``: the earlier and the later instant showing that
    wall time. ``gap``: the last millisecond before the clocks jumped and the first after.
    Raises ``OverflowError`` near the ends of the datetime range.
    """
    offsets = [wall.replace(tzinfo=zone, fold=f).utcoffset() for f in (0, 1)]
    if offsets[0] is None or offsets[1] is None:
        raise ValidationError(f"The time zone {_zone_label(zone)} gives no UTC offset.")
    if offsets[0] == offsets[1]:
        ms = _ms_of(wall - offsets[0])
        return "normal", ms, ms
    candidates = sorted({wall - offsets[0], wall - offsets[1]})
    real = [
        _ms_of(utc)
        for utc in candidates
        if utc.replace(tzinfo=timezone.utc).astimezone(zone).replace(tzinfo=None) == wall
    ]
    if len(real) == 2:
        return "fold", real[0], real[1]
    if len(real) == 1:
        return "normal", real[0], real[0]
    # A gap: the jump happened after the earlier candidate and no later than the later one.
    low, high = _ms_of(candidates[0]), _ms_of(candidates[1])
    before = _offset_at(low, zone)
    while high - low > 1:
        middle = (low + high) // 2
        if _offset_at(middle, zone) == before:
            low = middle
        else:
            high = middle
    return "gap", high - 1, high


def _gap_message(shown: str, zone: tzinfo, last: int, first: int) -> str:
    label = _zone_label(zone)
    jump = _utc(first)
    after = jump.astimezone(zone).utcoffset() or timedelta(0)
    before = _utc(last).astimezone(zone).utcoffset() or timedelta(0)
    wall_from = (jump + before).replace(tzinfo=None)
    wall_to = (jump + after).replace(tzinfo=None)
    if wall_from.date() == wall_to.date():
        jumped = f"{_clock(wall_from, seconds=False)} to {_clock(wall_to, seconds=False)[11:]}"
    else:
        jumped = f"{_clock(wall_from, seconds=False)} to {_clock(wall_to, seconds=False)}"
    return (
        f"{shown} does not exist in {label}: at {_utc_iso(first)} the clocks jumped from "
        f"{jumped}. The nearest real instants are "
        f"{_local_text(last, zone)} = {_utc_iso(last)}, just before the jump, and "
        f"{_local_text(first, zone)} = {_utc_iso(first)}, just after. Pick one, give the time "
        "with its UTC offset, or pass nonexistent='shift_backward' or 'shift_forward'."
    )


def _fold_message(shown: str, zone: tzinfo, earlier: int, later: int) -> str:
    def one(ms: int) -> str:
        moment = _utc(ms).astimezone(zone)
        name = moment.tzname() or ""
        word = f"{name}, " if name and name[0] not in "+-0123456789" else ""
        return f"{_utc_iso(ms)} ({word}{_offset_text(moment.utcoffset() or timedelta(0))})"

    return (
        f"{shown} occurs twice in {_zone_label(zone)}: {one(earlier)} or {one(later)}. Pass "
        "ambiguous='earlier' or 'later', or give the time with its UTC offset."
    )


@dataclass(frozen=True)
class WallReading:
    """Where a naive wall time lands in a zone (``read_wall``): one instant, two, or none.

    ``normal``: ``first == second``, the one instant. ``fold`` (the clocks went back and showed
    that wall time twice): the earlier and the later instant. ``gap`` (the clocks jumped over
    it): the last millisecond before the jump and the first after. ``message`` is what
    ``to_epoch_ms`` says when it refuses the wall time for being in a gap or fold.
    """

    kind: WallKind
    first: int
    second: int
    shown: str
    zone: tzinfo = field(repr=False)

    @property
    def message(self) -> str | None:
        if self.kind == "fold":
            return _fold_message(self.shown, self.zone, self.first, self.second)
        if self.kind == "gap":
            return _gap_message(self.shown, self.zone, self.first, self.second)
        return None

    def instant(self, ambiguous: Ambiguous = "raise", nonexistent: Nonexistent = "raise") -> int:
        """The instant the policies choose (see ``to_epoch_ms``), checked as a ``date_from``."""
        if self.kind == "normal":
            return _check_instant(self.first, self.shown)
        policy = ambiguous if self.kind == "fold" else nonexistent
        if policy == "raise":
            raise ValidationError(self.message)
        later = policy in ("later", "shift_forward")
        return _check_instant(self.second if later else self.first, self.shown)


def _reading(wall: datetime, zone: tzinfo, shown: str) -> WallReading:
    try:
        kind, first, second = _read_wall(wall, zone)
    except OverflowError:
        raise _out_of_range(shown, wall) from None
    return WallReading(kind, first, second, shown, zone)


def read_wall(wall: datetime, tz: str | tzinfo = "UTC") -> WallReading:
    """Read a naive wall time in ``tz``: ``normal``, in a DST ``gap`` or in a ``fold``, with the
    candidate instants (``first``, ``second``). ``WallReading.instant`` then applies a policy.

    This is how a picker asks "which case is this?" once, instead of probing ``to_epoch_ms``
    with every policy. Raises ``ValidationError`` for an aware value, an unknown zone, or a
    wall time outside the years a datetime can hold.
    """
    if wall.tzinfo is not None:
        raise ValidationError(
            "A wall time must be naive (no tzinfo): its zone is given separately."
        )
    return _reading(wall.replace(fold=0), resolve_zone(tz), _clock(wall, seconds=False))


def _localize(
    wall: datetime, zone: tzinfo, shown: str, ambiguous: Ambiguous, nonexistent: Nonexistent
) -> int:
    """The instant of a naive wall time in ``zone``, applying the gap and fold policies."""
    return _reading(wall, zone, shown).instant(ambiguous, nonexistent)


def _aware(moment: datetime, shown: str, nonexistent: Nonexistent) -> int:
    """An aware datetime's instant; its fold is honoured, a wall time in a gap is not an instant."""
    zone = moment.tzinfo
    if zone is not None and not isinstance(zone, timezone):
        reading = _reading(moment.replace(tzinfo=None), zone, shown)
        if reading.kind == "gap":
            return reading.instant(nonexistent=nonexistent)
    return _check_instant(_ms_of(moment), shown)


# --- parsing ---------------------------------------------------------------------------------


def _digits(text: str, shown: str) -> int:
    if len(text.lstrip("+-")) > 40:
        raise ValidationError(f"{shown} is far too large to be a date_from in milliseconds.")
    number = int(text)
    if 1 <= number < SECONDS_LIKE.start:
        raise ValidationError(
            f"{shown} is ambiguous: it could be a year or a compact date, and as milliseconds it "
            f"would be {_utc_iso(number)}. Write a date as '2021-08-27', or pass an int if you "
            "really mean milliseconds."
        )
    return _check_int(number, shown)


def _parse(text: str, zone: tzinfo, ambiguous: Ambiguous, nonexistent: Nonexistent) -> int:
    stripped = text.strip()
    shown = _short(text)
    if not stripped:
        raise ValidationError(
            "An empty string is not a time; pass None to let the service decide the start point."
        )
    if _DIGITS.fullmatch(stripped):
        return _digits(stripped, shown)
    match = _ISO.fullmatch(stripped)
    if match is None:
        raise ValidationError(
            f"{shown} is not a time roma_nb understands. Use ISO-8601 such as '2021-08-27', "
            "'2021-08-27T08:25:14Z' or '2021-08-27 16:25:14+08:00' (without an offset it is "
            f"read in {_zone_label(zone)}), or integer milliseconds such as '1630052714000'."
        )
    part = match.groupdict()
    fraction = (part["fraction"] or "").ljust(6, "0")[:6]
    offset = part["offset"]
    try:
        wall = datetime(
            int(part["year"]),
            int(part["month"]),
            int(part["day"]),
            int(part["hour"] or 0),
            int(part["minute"] or 0),
            int(part["second"] or 0),
            int(fraction or 0),
        )
        fixed = None if offset is None else _fixed_offset(offset)
    except ValueError as exc:
        raise ValidationError(f"{shown} is not a real date and time: {exc}.") from None
    if fixed is None:
        return _localize(wall, zone, shown, ambiguous, nonexistent)
    return _check_instant(_ms_of(wall.replace(tzinfo=fixed)), shown)


def _fixed_offset(offset: str) -> timezone:
    if offset in ("Z", "z"):
        return timezone.utc
    sign = -1 if offset[0] == "-" else 1
    hours, minutes = int(offset[1:3]), int(offset[3:].lstrip(":") or 0)
    if hours > 23 or minutes > 59:
        raise ValueError(f"the UTC offset {offset} is out of range")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


# --- public conversions ----------------------------------------------------------------------


@overload
def to_epoch_ms(
    value: None,
    tz: str | tzinfo = ...,
    *,
    ambiguous: Ambiguous = ...,
    nonexistent: Nonexistent = ...,
) -> None: ...
@overload
def to_epoch_ms(
    value: datetime | date | str | int,
    tz: str | tzinfo = ...,
    *,
    ambiguous: Ambiguous = ...,
    nonexistent: Nonexistent = ...,
) -> int: ...
@overload
def to_epoch_ms(
    value: object,
    tz: str | tzinfo = ...,
    *,
    ambiguous: Ambiguous = ...,
    nonexistent: Nonexistent = ...,
) -> int | None: ...
def to_epoch_ms(
    value: object,
    tz: str | tzinfo = "UTC",
    *,
    ambiguous: Ambiguous = "raise",
    nonexistent: Nonexistent = "raise",
) -> int | None:
    """``date_from`` for ``value``: UTC epoch milliseconds, or ``None`` to let the service decide.

    Naive values are wall-clock times in ``tz`` (an IANA name or a tzinfo); aware values are
    exact and ignore ``tz``. ``ambiguous`` decides a naive time shown twice (DST end):
    ``"earlier"`` or ``"later"`` instant; ``nonexistent`` decides a naive time the clocks skipped
    (DST start): ``"shift_forward"`` to the first millisecond after the jump, ``"shift_backward"``
    to the last one before it (as pandas does). Both refuse by default. The module docstring lists
    every accepted form and every refusal; all refusals are ``ValidationError``.
    """
    if ambiguous not in _AMBIGUOUS:
        raise ValidationError(f"ambiguous must be one of {_AMBIGUOUS}, not {ambiguous!r}.")
    if nonexistent not in _NONEXISTENT:
        raise ValidationError(f"nonexistent must be one of {_NONEXISTENT}, not {nonexistent!r}.")
    zone = resolve_zone(tz)
    if value is None:
        return None
    pandas = sys.modules.get("pandas")
    if pandas is not None:
        if value is pandas.NaT or value is pandas.NA:
            raise ValidationError(
                f"{value} is a missing value, not a time; pass None to let the service decide "
                "the start point."
            )
        if isinstance(value, pandas.Timestamp):
            return _timestamp(value, zone, ambiguous, nonexistent)
    if isinstance(value, datetime):
        shown = _clock(value.replace(tzinfo=None), seconds=False)
        if value.utcoffset() is None:
            return _localize(
                value.replace(tzinfo=None, fold=0), zone, shown, ambiguous, nonexistent
            )
        return _aware(value, f"{shown} ({_zone_label(value.tzinfo or zone)})", nonexistent)
    if isinstance(value, date):
        midnight = datetime(value.year, value.month, value.day)
        return _localize(midnight, zone, value.isoformat(), ambiguous, nonexistent)
    if isinstance(value, str):
        return _parse(value, zone, ambiguous, nonexistent)
    numpy = sys.modules.get("numpy")
    if isinstance(value, bool) or (numpy is not None and isinstance(value, numpy.bool_)):
        raise ValidationError(f"{value} is a bool, not a time or a number of milliseconds.")
    if isinstance(value, numbers.Integral):
        return _check_int(int(value), _int_text(int(value)))
    if numpy is not None and isinstance(value, numpy.datetime64):
        return _datetime64(value, zone, ambiguous, nonexistent)
    if isinstance(value, numbers.Number):
        raise _not_integer(value)
    hint = " (a duration, not an instant: subtract it from a datetime)"
    raise ValidationError(
        f"Cannot read a {type(value).__name__} as a time"
        f"{hint if isinstance(value, timedelta) else ''}. Pass a datetime, date, "
        "pandas.Timestamp, ISO-8601 string or integer milliseconds."
    )


def _is_nan(value: numbers.Number) -> bool:
    """NaN of any numeric type; a signalling Decimal NaN raises when compared, so ask it."""
    is_nan = getattr(value, "is_nan", None)
    if callable(is_nan):
        return bool(is_nan())
    return value != value  # noqa: PLR0124 -- only NaN differs from itself


def _not_integer(value: numbers.Number) -> ValidationError:
    if _is_nan(value):
        return ValidationError(
            "NaN is a missing value, not a time; pass None to let the service decide the start "
            "point."
        )
    return ValidationError(
        f"{value!r} is a {type(value).__name__}; date_from must be an integer number of "
        "milliseconds. A fractional number hides whether seconds or milliseconds were meant and "
        "cannot hold every millisecond exactly: pass int(...) of the milliseconds, or a datetime."
    )


def _timestamp(
    value: object,
    zone: tzinfo,
    ambiguous: Ambiguous,
    nonexistent: Nonexistent,
    shown: str | None = None,
) -> int:
    """A pandas Timestamp: flooring to microseconds first keeps the millisecond floor exact."""
    import pandas

    assert isinstance(value, pandas.Timestamp)
    shown = shown or f"Timestamp {str(value)!r}"
    try:
        aware = value.tz is not None
        moment = (value.tz_convert(timezone.utc) if aware else value).to_pydatetime(warn=False)
    except (ValueError, OverflowError):  # pandas holds years a datetime cannot
        raise ValidationError(
            f"{shown} is outside the range a datetime can hold (years 1 to 9999)."
        ) from None
    if aware:
        return _check_instant(_ms_of(moment), shown)
    return _localize(moment, zone, shown, ambiguous, nonexistent)


def _datetime64(value: object, zone: tzinfo, ambiguous: Ambiguous, nonexistent: Nonexistent) -> int:
    """A numpy datetime64 is naive (pandas reads it so too): a wall time in ``zone``."""
    import pandas

    shown = f"numpy.datetime64({str(value)!r})"
    try:
        stamp = pandas.Timestamp(value)  # type: ignore[arg-type]
    except (ValueError, OverflowError):
        raise ValidationError(
            f"{shown} is outside the range a datetime can hold (years 1 to 9999)."
        ) from None
    if stamp is pandas.NaT:
        raise ValidationError(
            f"{shown} is a missing value, not a time; pass None to let the service decide the "
            "start point."
        )
    return _timestamp(stamp, zone, ambiguous, nonexistent, shown)


def _as_ms_int(value: object, name: str) -> int:
    number = value if type(value) is int else _integral(value, name)  # common case: no checks
    prefix = "" if name == "date_from" else f"{name}="
    return _check_int(number, prefix + _int_text(number))


def _integral(value: object, name: str) -> int:
    """``value`` as an int if it is an integral number (numpy's too), never a bool."""
    numpy = sys.modules.get("numpy")
    if isinstance(value, bool) or (numpy is not None and isinstance(value, numpy.bool_)):
        raise ValidationError(f"{name} must be integer milliseconds, not a bool.")
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Number):
        raise _not_integer(value)
    raise ValidationError(f"{name} must be integer milliseconds, not {type(value).__name__}.")


def from_epoch_ms(ms: int) -> datetime:
    """The aware UTC datetime of a ``date_from``, after the same checks ``to_epoch_ms`` makes."""
    return _utc(_as_ms_int(ms, "date_from"))


def validate_date_from(value: object) -> int | None:
    """What the client sends for its ``date_from`` argument, checked before any request.

    Accepts ``None`` (the service decides), integer milliseconds (seconds-like values refused),
    and anything ``to_epoch_ms`` accepts. **Naive values are taken as UTC here**: the client has
    no zone to read them in. Pick a zone with ``to_epoch_ms(value, tz)`` first if you need one.
    """
    return to_epoch_ms(value, "UTC")


@dataclass(frozen=True, slots=True)
class DateFrom:
    """A ``date_from`` already checked: ``ms`` is what is sent (None: the service decides).

    The client checks its ``date_from`` argument once, where it enters (``reset_call``,
    ``reset_combined_task``, ``reset_many``), and passes this inside, so a batch of many targets
    does not read the same value again for each of them. ``DateFrom.check`` accepts what
    ``validate_date_from`` accepts, and a ``DateFrom`` as it is.
    """

    ms: int | None

    def __post_init__(self) -> None:
        if self.ms is not None:
            _as_ms_int(self.ms, "date_from")  # built directly: refuse what check() refuses

    @classmethod
    def check(cls, value: object) -> DateFrom:
        """``value`` checked as ``validate_date_from`` does; raises ``ValidationError``."""
        if isinstance(value, DateFrom):
            return value
        if type(value) is int:  # the common case: ``__post_init__`` makes the same checks
            return cls(value)
        return cls(validate_date_from(value))


# --- presentation ----------------------------------------------------------------------------


def format_instant(ms: int, tz: str | tzinfo = "UTC") -> InstantView:
    """How the preview shows an instant: the integer, UTC ISO and the wall time in ``tz``."""
    checked = _as_ms_int(ms, "date_from")
    zone = resolve_zone(tz)
    try:
        local = _local_text(checked, zone)
    except OverflowError:
        raise ValidationError(
            f"{_utc_iso(checked)} cannot be shown in {_zone_label(zone)}: there it is already "
            "after the year 9999."
        ) from None
    return InstantView(
        ms=checked, utc_iso=_utc_iso(checked), local_iso=local, zone=_zone_label(zone)
    )


def assess_date_from(
    ms: int | None, *, now_ms: int, retention: timedelta = DEFAULT_RETENTION
) -> list[str]:
    """Warnings to show before sending ``ms``: empty, in the future, or older than ``retention``.

    ``retention`` is how long the user says the source keeps its change logs; a reset to an older
    instant is accepted by the API but fails later, at run time, when the logs are gone.
    """
    now = _as_ms_int(now_ms, "now_ms")
    if not isinstance(retention, timedelta) or retention <= timedelta(0):
        raise ValidationError(f"retention must be a positive timedelta, not {retention!r}.")
    if ms is None:
        return ["date_from is empty: the service decides the start point."]
    checked = _as_ms_int(ms, "date_from")
    if checked > now:
        return [
            f"{_utc_iso(checked)} is {_duration(checked - now)} in the future: a task reset to "
            "it may skip the changes made until then."
        ]
    age = now - checked
    if age > retention // _ONE_MS:
        return [
            f"{_utc_iso(checked)} is {_duration(age)} ago, older than the CDC log retention of "
            f"{_duration(retention // _ONE_MS)}: the source may no longer hold change logs for "
            "that time (Huawei advises keeping CDC logs at least 2 days)."
        ]
    return []


# --- what a person types: absolute or relative -----------------------------------------------

_UNIT_MS = {
    "ms": 1,
    "msec": 1,
    "millisecond": 1,
    "milliseconds": 1,
    "s": 1000,
    "sec": 1000,
    "secs": 1000,
    "second": 1000,
    "seconds": 1000,
    "m": 60_000,
    "min": 60_000,
    "mins": 60_000,
    "minute": 60_000,
    "minutes": 60_000,
    "h": 3_600_000,
    "hr": 3_600_000,
    "hrs": 3_600_000,
    "hour": 3_600_000,
    "hours": 3_600_000,
    "d": 86_400_000,
    "day": 86_400_000,
    "days": 86_400_000,
    "w": 604_800_000,
    "wk": 604_800_000,
    "week": 604_800_000,
    "weeks": 604_800_000,
}
_NUMBER = r"[0-9]{1,15}(?:[.,][0-9]{1,9})?"
# The relative-time patterns are strings that ``re`` compiles (and caches) on first use: only a
# typed relative time needs them, and compiling them on import cost the client about 2 ms.
_WORDS = rf"(?i)\s*({_NUMBER})\s*([a-z]+)"
_ISO_DURATION = rf"""(?ix)P(?:(?P<W>{_NUMBER})W
    |(?:(?P<Y>{_NUMBER})Y)?(?:(?P<MO>{_NUMBER})M)?(?:(?P<D>{_NUMBER})D)?
     (?:T(?:(?P<H>{_NUMBER})H)?(?:(?P<MI>{_NUMBER})M)?(?:(?P<S>{_NUMBER})S)?)?)"""
_ISO_UNIT_MS = {"W": 604_800_000, "D": 86_400_000, "H": 3_600_000, "MI": 60_000, "S": 1000}
_RELATIVE = (
    r"(?is)(?:(?P<now>now)\s*(?:(?P<sign>[+-])\s*(?P<after_now>.+))?"
    r"|(?P<lead>[+-])\s*(?P<signed>.+)"
    r"|(?P<ago>.+?)\s*\bago)"
)
_DAY_WORD = (
    r"(?i)(?P<day>today|yesterday)"
    r"(?:\s+(?:at\s+)?(?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{2})"
    r"(?::(?P<second>[0-9]{2})(?:[.,](?P<fraction>[0-9]{1,6}))?)?)?"
)
_RELATIVE_FORMS = (
    "'2h ago', '90m', '-90m', '1h30m ago', 'PT2H', 'now', 'now-1d', 'today 02:00', "
    "'yesterday 02:00'"
)


def _amount(number: str) -> Fraction:
    from fractions import Fraction

    return Fraction(number.replace(",", "."))


def _duration_ms(text: str, shown: str) -> Fraction | None:
    """The length of a duration in milliseconds (exact), or None if ``text`` is not one."""
    from fractions import Fraction

    stripped = text.strip()
    iso = re.fullmatch(_ISO_DURATION, stripped)
    if iso is not None:
        parts = iso.groupdict()
        if parts["Y"] is not None or parts["MO"] is not None:
            raise ValidationError(
                f"{shown} counts years or months, which have no fixed length; give the "
                "duration in weeks, days, hours, minutes or seconds (P30D, PT36H)."
            )
        given = {unit: parts[unit] for unit in _ISO_UNIT_MS if parts[unit] is not None}
        if not given:
            return None
        return sum((_amount(n) * _ISO_UNIT_MS[u] for u, n in given.items()), Fraction(0))
    total, position = Fraction(0), 0
    for match in re.finditer(_WORDS, stripped):
        if match.start() != position:
            return None
        unit = match.group(2).lower()
        if unit not in _UNIT_MS:
            if unit in ("mo", "mon", "month", "months", "y", "yr", "year", "years"):
                raise ValidationError(
                    f"{shown} counts years or months, which have no fixed length; give the "
                    "duration in weeks, days, hours, minutes or seconds (30d, 36h)."
                )
            raise ValidationError(
                f"{shown}: {match.group(2)!r} is not a unit roma_nb knows; use ms, s, m (or "
                "min), h, d or w."
            )
        total += _amount(match.group(1)) * _UNIT_MS[unit]
        position = match.end()
    return total if position and position == len(stripped) else None


def _shifted(now: int, amount: Fraction, sign: int, shown: str) -> int:
    """``now`` moved by ``amount`` ms, floored to a millisecond, then checked like any instant."""
    exact = now + sign * amount
    return _check_instant(exact.numerator // exact.denominator, shown)


def _day_word(
    match: re.Match[str],
    now: int,
    zone: tzinfo,
    shown: str,
    ambiguous: Ambiguous,
    nonexistent: Nonexistent,
) -> int:
    today = _utc(now).astimezone(zone).date()
    day = today - timedelta(days=1) if match["day"].lower() == "yesterday" else today
    try:
        wall = datetime(
            day.year,
            day.month,
            day.day,
            int(match["hour"] or 0),
            int(match["minute"] or 0),
            int(match["second"] or 0),
            int((match["fraction"] or "").ljust(6, "0")),
        )
    except ValueError as exc:
        raise ValidationError(f"{shown} is not a real time of day: {exc}.") from None
    return _localize(wall, zone, shown, ambiguous, nonexistent)


def resolve_time_text(
    text: str,
    tz: str | tzinfo = "UTC",
    *,
    now_ms: int,
    ambiguous: Ambiguous = "raise",
    nonexistent: Nonexistent = "raise",
) -> int:
    """The instant a person meant by ``text``, absolute or relative to ``now_ms``: epoch ms.

    Relative forms, read against the injected clock ``now_ms`` (so the caller resolves once and
    keeps the number; nothing here reads the system clock):

    - a duration ago: ``"2h ago"``, ``"-90m"``, bare ``"90m"`` (as ``--since 90m`` reads it),
      ``"now-1d"``, and ``"now+15m"`` / ``"+15m"`` ahead; ``"now"`` alone. Durations are
      ``1h30m``, ``1.5 hours``, ``2 days 3h`` (units ms, s, m/min, h, d, w, any case) or ISO-8601
      ``PT2H``, ``P1DT6H``, ``P2W``. They are elapsed time: ``1d`` is 24 h even across a DST
      change; for "the same clock time yesterday" write ``yesterday 02:00``. Months and years
      have no fixed length and are refused.
    - ``"today"`` / ``"yesterday"`` with an optional ``HH:MM[:SS[.ffffff]]`` (default midnight):
      that wall time on that calendar day in ``tz``, the day taken from ``now_ms`` in ``tz``.
      A wall time in a DST gap or fold is refused (or chosen by ``nonexistent`` /
      ``ambiguous``) with the same words ``to_epoch_ms`` uses.

    Anything else is read by ``to_epoch_ms(text, tz)``: ISO-8601, integer milliseconds. Fractions
    of a millisecond are floored, as there. Every result passes ``validate_date_from``.
    """
    if not isinstance(text, str):
        raise ValidationError(f"A typed time must be a string, not {type(text).__name__}.")
    now = _as_ms_int(now_ms, "now_ms")
    zone = resolve_zone(tz)
    stripped = text.strip()
    shown = _short(text)
    day = re.fullmatch(_DAY_WORD, stripped)
    if day is not None:
        return _day_word(day, now, zone, shown, ambiguous, nonexistent)
    relative = re.fullmatch(_RELATIVE, stripped)
    if relative is not None:
        if relative["now"] and relative["sign"] is None:
            return now
        sign = relative["sign"] or relative["lead"]
        body = relative["after_now"] or relative["signed"] or relative["ago"]
        amount = _duration_ms(body, shown)
        if amount is not None:
            return _shifted(now, amount, 1 if sign == "+" else -1, shown)
    else:
        amount = _duration_ms(stripped, shown)
        if amount is not None:
            return _shifted(now, amount, -1, shown)
    if _DIGITS.fullmatch(stripped) or _ISO.fullmatch(stripped) or not stripped:
        return to_epoch_ms(text, zone, ambiguous=ambiguous, nonexistent=nonexistent)
    raise ValidationError(
        f"{shown} is not a time roma_nb understands. Use ISO-8601 such as '2021-08-27T08:25:14Z' "
        f"or '2021-08-27 16:25' (read in {_zone_label(zone)}), integer milliseconds, or a "
        f"relative time such as {_RELATIVE_FORMS}."
    )


def format_duration(ms: int) -> str:
    """A non-negative length of time as people read it: ``6 h 12 min``, ``2 days 3 h``, ``35 ms``.

    The two largest units that are not zero, truncated (never rounded up).
    """
    if isinstance(ms, bool) or not isinstance(ms, int) or ms < 0:
        raise ValidationError(f"A duration must be a non-negative int of milliseconds, not {ms!r}.")
    return _duration(ms)
