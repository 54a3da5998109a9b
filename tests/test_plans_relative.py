"""Relative targets: ``dates.resolve_time_text`` and ``plans.resolve_date_from``.

Oracles: plain integer arithmetic for durations, and pandas' ``tz_localize`` for wall times on a
calendar day (it finds gaps and folds with its own code). Every clock is injected: nothing here
reads the system time.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from roma_nb.dates import MAX_MS, resolve_time_text, to_epoch_ms, validate_date_from
from roma_nb.errors import ValidationError
from roma_nb.plans import DateFrom, resolve_date_from

H = 3_600_000
M = 60_000
D = 86_400_000
NOW = 1_710_072_000_000  # 2024-03-10T12:00:00Z

UNITS = {
    "ms": 1,
    "s": 1000,
    "sec": 1000,
    "seconds": 1000,
    "m": M,
    "min": M,
    "minutes": M,
    "h": H,
    "hr": H,
    "hours": H,
    "d": D,
    "day": D,
    "days": D,
    "w": 7 * D,
    "weeks": 7 * D,
}
ISO_UNITS = {"S": 1000, "M": M, "H": H}
ZONES = (
    "UTC",
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Pacific/Chatham",
    "Asia/Shanghai",
    "America/St_Johns",
)


def ms_of(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(milliseconds=1)


def refusal(text: str, zone: str = "UTC", now_ms: int = NOW, **options: str) -> str:
    with pytest.raises(ValidationError) as caught:
        resolve_time_text(text, zone, now_ms=now_ms, **options)  # type: ignore[arg-type]
    return str(caught.value)


def read(text: str, now: int, zone: str = "UTC") -> int | str:
    """What ``resolve_time_text`` gives, or ``"refused"``."""
    try:
        return resolve_time_text(text, zone, now_ms=now)
    except ValidationError:
        return "refused"


def usable(ms: int) -> int | str:
    """``ms`` if a date_from may be it, else ``"refused"``: the oracle for the range rules."""
    try:
        validate_date_from(ms)
    except ValidationError:
        return "refused"
    return ms


nows = st.integers(min_value=ms_of(datetime(2000, 1, 1, tzinfo=timezone.utc)), max_value=4 * 10**12)
amounts = st.integers(min_value=0, max_value=5000)


# --- durations ago ---------------------------------------------------------------------------


@given(now=nows, amount=amounts, unit=st.sampled_from(sorted(UNITS)))
def test_every_way_of_saying_ago_means_now_minus_the_duration(
    now: int, amount: int, unit: str
) -> None:
    expected = now - amount * UNITS[unit]
    spellings = [
        f"{amount}{unit} ago",
        f"{amount} {unit} ago",
        f"-{amount}{unit}",
        f"now-{amount}{unit}",
        f"now - {amount} {unit}",
        f"{amount}{unit}",
        f"  {amount}{unit.upper()} AGO ",
    ]
    for text in spellings:
        assert read(text, now) == usable(expected), text


@given(now=nows, amount=amounts, unit=st.sampled_from(sorted(ISO_UNITS)))
def test_iso_8601_durations_mean_the_same_as_the_words(now: int, amount: int, unit: str) -> None:
    expected = usable(now - amount * ISO_UNITS[unit])
    assert read(f"PT{amount}{unit}", now) == expected
    assert read(f"now-PT{amount}{unit}", now) == expected
    assert read(f"pt{amount}{unit.lower()} ago", now) == expected


@given(now=nows, days=amounts, hours=amounts, minutes=amounts, seconds=amounts)
def test_compound_durations_add_up(
    now: int, days: int, hours: int, minutes: int, seconds: int
) -> None:
    expected = usable(now - (days * D + hours * H + minutes * M + seconds * 1000))
    assert read(f"{days}d{hours}h{minutes}m{seconds}s ago", now) == expected
    assert read(f"P{days}DT{hours}H{minutes}M{seconds}S", now) == expected
    assert read(f"{days} days {hours} hours {minutes} min {seconds} s ago", now) == expected


@given(now=nows, amount=amounts)
def test_ahead_is_the_mirror_of_ago(now: int, amount: int) -> None:
    assert read(f"now+{amount}m", now) == read(f"+{amount}m", now) == now + amount * M
    assert resolve_time_text("now", now_ms=now) == now
    assert resolve_time_text(" NOW ", now_ms=now) == now


def test_fractions_are_exact_and_floored_to_the_millisecond() -> None:
    assert resolve_time_text("1.5h ago", now_ms=NOW) == NOW - 90 * M
    assert resolve_time_text("1,5h ago", now_ms=NOW) == NOW - 90 * M
    assert resolve_time_text("PT0.5S", now_ms=NOW) == NOW - 500
    # 0.0001 s ago is 0.1 ms before now: floored, so one whole millisecond earlier, never later
    assert resolve_time_text("0.0001s ago", now_ms=NOW) == NOW - 1
    assert resolve_time_text("now+0.0001s", now_ms=NOW) == NOW


def test_a_day_is_24_hours_even_across_a_dst_change() -> None:
    # 2024-03-10T12:00Z is the day New York springs forward: now-1d is 24 h earlier, and on the
    # wall clock that is 25 h back (07:00 EST the day before, 08:00 EDT now).
    ms = resolve_time_text("now-1d", "America/New_York", now_ms=NOW)
    assert ms == NOW - D
    local = datetime.fromtimestamp(ms / 1000, ZoneInfo("America/New_York"))
    assert (local.day, local.hour) == (9, 7)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("P1M", "years or months"),
        ("P1Y", "years or months"),
        ("3 months ago", "years or months"),
        ("1y", "years or months"),
        ("5 fortnights ago", "'fortnights' is not a unit"),
        ("P", "not a time roma_nb understands"),
        ("PT", "not a time roma_nb understands"),
        ("-2h ago", "not a time roma_nb understands"),
        ("now-", "not a time roma_nb understands"),
        ("tomorrow", "not a time roma_nb understands"),
        ("in 2 hours", "not a time roma_nb understands"),
        ("2h ago ago", "not a time roma_nb understands"),
        ("", "An empty string is not a time"),
        ("now+999999999999999w", "after 9999-12-31T23:59:59.999Z"),
        ("99999999w ago", "before 1970"),
    ],
)
def test_what_cannot_be_read_is_refused_with_a_sentence(text: str, words: str) -> None:
    assert words in refusal(text)


def test_the_refusal_lists_the_relative_forms_and_the_zone() -> None:
    message = refusal("last tuesday", "Europe/Paris")
    assert "'2h ago'" in message and "'yesterday 02:00'" in message
    assert "Europe/Paris" in message


def test_a_result_in_the_seconds_like_band_is_refused_like_any_instant() -> None:
    early = ms_of(datetime(1973, 3, 3, 10, 30, tzinfo=timezone.utc))  # just after the band
    assert resolve_time_text("now", now_ms=early) == early
    assert "cannot be told apart from a value in seconds" in refusal("1h ago", now_ms=early)


def test_the_clock_must_be_given_in_milliseconds() -> None:
    assert "looks like seconds" in refusal("now", now_ms=NOW // 1000)
    with pytest.raises(ValidationError, match="must be a string"):
        resolve_time_text(5, now_ms=NOW)  # type: ignore[arg-type]


def test_absolute_forms_are_read_exactly_as_to_epoch_ms_reads_them() -> None:
    for text in ("2021-08-27T08:25:14Z", "2021-08-27 16:25", "2021-08-27", "1630052714000"):
        assert resolve_time_text(text, "Asia/Shanghai", now_ms=NOW) == to_epoch_ms(
            text, "Asia/Shanghai"
        )
    assert "looks like seconds" in refusal("1630052714")


# --- today / yesterday in a zone -------------------------------------------------------------


def _transition_days() -> list[tuple[str, int]]:
    """(zone, an instant within a day after its clocks changed), found by scanning UTC by day."""
    found = []
    for name in ZONES:
        zone = ZoneInfo(name)
        moment = datetime(2023, 1, 1, tzinfo=timezone.utc)
        previous = moment.astimezone(zone).utcoffset()
        while moment.year < 2026:
            offset = moment.astimezone(zone).utcoffset()
            if offset != previous:
                found.append((name, ms_of(moment)))
            previous = offset
            moment += timedelta(days=1)
    return found


TRANSITIONS = _transition_days()


def test_the_scan_found_transitions_in_every_zone_with_dst() -> None:
    zones = {name for name, _ in TRANSITIONS}
    assert zones == set(ZONES) - {"UTC", "Asia/Shanghai"}


def pandas_instant(wall: datetime, zone: str) -> int | str:
    """The instant of ``wall`` in ``zone`` by pandas, or ``"gap"`` / ``"fold"``.

    pandas gets a ``ZoneInfo``, not the name: given a name, pandas 2 reads pytz's own copy of the
    zone database, and the test would compare two databases instead of two algorithms.
    """
    stamp = pd.Timestamp(wall)
    tz = ZoneInfo(zone)
    if stamp.tz_localize(tz, ambiguous=True, nonexistent="NaT") is pd.NaT:
        return "gap"
    if stamp.tz_localize(tz, ambiguous="NaT") is pd.NaT:
        return "fold"
    return int(stamp.tz_localize(tz).value // 1_000_000)


@given(
    near=st.sampled_from(TRANSITIONS),
    shift=st.integers(min_value=-2 * D, max_value=2 * D),
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
    word=st.sampled_from(["today", "yesterday"]),
)
def test_day_words_name_that_wall_time_on_that_calendar_day(
    near: tuple[str, int], shift: int, hour: int, minute: int, word: str
) -> None:
    zone, instant = near
    now = instant + shift
    today = datetime.fromtimestamp(now / 1000, ZoneInfo(zone)).date()
    day = today - timedelta(days=1) if word == "yesterday" else today
    wall = datetime(day.year, day.month, day.day, hour, minute)
    expected = pandas_instant(wall, zone)
    text = f"{word} {hour:02d}:{minute:02d}"
    if expected == "gap":
        assert f"does not exist in {zone}" in refusal(text, zone, now)
    elif expected == "fold":
        assert f"occurs twice in {zone}" in refusal(text, zone, now)
    else:
        assert resolve_time_text(text, zone, now_ms=now) == expected


def test_day_words_without_a_time_mean_midnight_and_accept_at_and_seconds() -> None:
    assert resolve_time_text("today", "UTC", now_ms=NOW) == ms_of(
        datetime(2024, 3, 10, tzinfo=timezone.utc)
    )
    assert resolve_time_text("Yesterday at 2:05:30.25", "UTC", now_ms=NOW) == ms_of(
        datetime(2024, 3, 9, 2, 5, 30, 250_000, tzinfo=timezone.utc)
    )
    assert "not a real time of day" in refusal("yesterday 24:00")
    assert "not a real time of day" in refusal("today 12:60")


# The days the clocks change, explicitly. New York 2024-03-10: 02:00 EST -> 03:00 EDT (gap);
# 2024-11-03: 02:00 EDT -> 01:00 EST (fold 01:00-02:00). London 2024-03-31 01:00 GMT -> 02:00
# BST; 2024-10-27 02:00 BST -> 01:00 GMT. Lord Howe moves by half an hour: 2024-04-07 02:00 ->
# 01:30 (fold 01:30-02:00), 2024-10-06 02:00 -> 02:30 (gap).
NY_SPRING = ms_of(datetime(2024, 3, 10, 12, tzinfo=timezone.utc))
NY_AUTUMN = ms_of(datetime(2024, 11, 3, 12, tzinfo=timezone.utc))
NY_DAY_AFTER_AUTUMN = ms_of(datetime(2024, 11, 4, 12, tzinfo=timezone.utc))


@pytest.mark.parametrize(
    ("zone", "now", "text", "utc"),
    [
        ("America/New_York", NY_SPRING, "today 01:59", datetime(2024, 3, 10, 6, 59)),
        ("America/New_York", NY_SPRING, "today 03:00", datetime(2024, 3, 10, 7, 0)),
        ("America/New_York", NY_SPRING, "yesterday 02:30", datetime(2024, 3, 9, 7, 30)),
        ("America/New_York", NY_AUTUMN, "today 00:59", datetime(2024, 11, 3, 4, 59)),
        ("America/New_York", NY_AUTUMN, "today 02:00", datetime(2024, 11, 3, 7, 0)),
        ("America/New_York", NY_DAY_AFTER_AUTUMN, "yesterday 03:00", datetime(2024, 11, 3, 8)),
        ("Europe/London", ms_of(datetime(2024, 3, 31, 12, tzinfo=timezone.utc)), "today 02:00",
         datetime(2024, 3, 31, 1, 0)),
        ("Europe/London", ms_of(datetime(2024, 10, 27, 12, tzinfo=timezone.utc)), "today 02:00",
         datetime(2024, 10, 27, 2, 0)),
        ("Australia/Lord_Howe", ms_of(datetime(2024, 4, 7, 3, tzinfo=timezone.utc)),
         "today 02:00", datetime(2024, 4, 6, 15, 30)),
        ("Australia/Lord_Howe", ms_of(datetime(2024, 10, 6, 3, tzinfo=timezone.utc)),
         "today 02:30", datetime(2024, 10, 5, 15, 30)),
    ],
)  # fmt: skip
def test_real_times_on_dst_days(zone: str, now: int, text: str, utc: datetime) -> None:
    assert resolve_time_text(text, zone, now_ms=now) == ms_of(utc.replace(tzinfo=timezone.utc))


@pytest.mark.parametrize(
    ("zone", "now", "text", "words"),
    [
        ("America/New_York", NY_SPRING, "today 02:30", "does not exist in America/New_York"),
        ("America/New_York", NY_AUTUMN, "today 01:30", "occurs twice in America/New_York"),
        ("America/New_York", NY_DAY_AFTER_AUTUMN, "yesterday 01:00", "occurs twice"),
        ("Europe/London", ms_of(datetime(2024, 3, 31, 12, tzinfo=timezone.utc)), "today 01:30",
         "does not exist in Europe/London"),
        ("Europe/London", ms_of(datetime(2024, 10, 28, 12, tzinfo=timezone.utc)),
         "yesterday 01:30", "occurs twice in Europe/London"),
        ("Australia/Lord_Howe", ms_of(datetime(2024, 4, 7, 3, tzinfo=timezone.utc)),
         "today 01:45", "occurs twice in Australia/Lord_Howe"),
        ("Australia/Lord_Howe", ms_of(datetime(2024, 10, 6, 3, tzinfo=timezone.utc)),
         "today 02:15", "does not exist in Australia/Lord_Howe"),
    ],
)  # fmt: skip
def test_gaps_and_folds_are_refused_in_to_epoch_ms_words(
    zone: str, now: int, text: str, words: str
) -> None:
    message = refusal(text, zone, now)
    assert words in message
    assert text in message
    day = datetime.fromtimestamp(now / 1000, ZoneInfo(zone)).date()
    if text.startswith("yesterday"):
        day -= timedelta(days=1)
    same = f"{day.isoformat()}T{text.rsplit(maxsplit=1)[-1]}"
    assert message.replace(repr(text), repr(same)) == refusal(same, zone)


def test_gap_and_fold_policies_choose_explicitly() -> None:
    zone = "America/New_York"
    earlier = resolve_time_text("today 01:30", zone, now_ms=NY_AUTUMN, ambiguous="earlier")
    later = resolve_time_text("today 01:30", zone, now_ms=NY_AUTUMN, ambiguous="later")
    assert later - earlier == H
    before = resolve_time_text("today 02:30", zone, now_ms=NY_SPRING, nonexistent="shift_backward")
    after = resolve_time_text("today 02:30", zone, now_ms=NY_SPRING, nonexistent="shift_forward")
    assert after - before == 1
    assert after == ms_of(datetime(2024, 3, 10, 7, tzinfo=timezone.utc))


def test_the_calendar_day_is_the_zones_not_utcs() -> None:
    # 2024-03-10T03:00Z is still 2024-03-09 in New York: "today" there is the 9th.
    early = ms_of(datetime(2024, 3, 10, 3, tzinfo=timezone.utc))
    assert resolve_time_text("today 12:00", "America/New_York", now_ms=early) == ms_of(
        datetime(2024, 3, 9, 17, tzinfo=timezone.utc)
    )
    assert resolve_time_text("today 12:00", "Asia/Shanghai", now_ms=early) == ms_of(
        datetime(2024, 3, 10, 4, tzinfo=timezone.utc)
    )


# --- plans.resolve_date_from ----------------------------------------------------------------


@given(now=nows, amount=amounts, zone=st.sampled_from(ZONES))
def test_a_target_keeps_the_text_typed_and_the_instant_it_meant(
    now: int, amount: int, zone: str
) -> None:
    target = resolve_date_from(f"  {amount}m ago ", zone, now_ms=now)
    assert target == DateFrom(now - amount * M, zone, f"{amount}m ago")
    assert validate_date_from(target.ms) == target.ms
    assert target.utc_iso is not None and target.utc_iso.endswith("Z")
    assert target.describe().endswith(f"typed '{amount}m ago'")


def test_other_values_are_read_by_to_epoch_ms_and_carry_no_typed_text() -> None:
    paris = "Europe/Paris"
    wall = datetime(2024, 5, 1, 2, 0)
    assert resolve_date_from(wall, paris, now_ms=NOW) == DateFrom(to_epoch_ms(wall, paris), paris)
    assert resolve_date_from(date(2024, 5, 1), now_ms=NOW).ms == to_epoch_ms("2024-05-01")
    assert resolve_date_from(1_630_052_714_000, now_ms=NOW) == DateFrom(1_630_052_714_000)
    empty = resolve_date_from(None, paris, now_ms=NOW)
    assert empty == DateFrom(None, paris)
    assert empty.describe().startswith("empty: no date_from is sent")
    assert resolve_date_from("yesterday 02:00", paris, now_ms=NOW).local == (
        "2024-03-09 02:00:00 CET (+01:00)"
    )


def test_a_target_refuses_bad_zones_and_values() -> None:
    with pytest.raises(ValidationError, match="Unknown time zone"):
        resolve_date_from("2h ago", "Mars/Olympus", now_ms=NOW)
    with pytest.raises(ValidationError, match="Unknown time zone"):
        resolve_date_from(None, "Mars/Olympus", now_ms=NOW)
    with pytest.raises(ValidationError, match="looks like seconds"):
        DateFrom(1_630_052_714)
    with pytest.raises(ValidationError, match="after 9999"):
        DateFrom(MAX_MS + 1)
