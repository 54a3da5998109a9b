"""roma_nb.dates: every way a time becomes ``date_from``, checked against independent oracles.

The oracles: pandas' ``tz_localize`` (its own gap/fold handling), a transition scan done here over
UTC instants (so gaps and folds are found without the code under test), and plain arithmetic on
aware datetimes. pandas is handed ``ZoneInfo`` objects, never zone names: given a name, pandas 2
looks it up in pytz's own copy of the zone database, which disagrees with zoneinfo's wherever the
two copies differ (e.g. Africa/El_Aaiun from 2027), and the test would compare two databases
instead of two algorithms.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal
from fractions import Fraction
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from roma_nb.dates import (
    DEFAULT_RETENTION,
    MAX_MS,
    SECONDS_LIKE,
    Ambiguous,
    InstantView,
    Nonexistent,
    assess_date_from,
    available_zones,
    format_instant,
    from_epoch_ms,
    read_wall,
    resolve_zone,
    to_epoch_ms,
    validate_date_from,
)
from roma_nb.errors import ValidationError

UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MS = timedelta(milliseconds=1)
SEED_MS = 1630052714000  # the example on the seed page
SEED = datetime(2021, 8, 27, 8, 25, 14, tzinfo=UTC)

ZONES = sorted(available_timezones() - {"localtime", "Factory", "posixrules"})
NAMED_ZONES = [
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "America/Sao_Paulo",
    "Pacific/Apia",
]
FAST = settings(max_examples=60, deadline=None)
WIDE = settings(max_examples=500, deadline=None)
CHOICES: tuple[Ambiguous, ...] = ("earlier", "later")
SHIFTS: tuple[Nonexistent, ...] = ("shift_forward", "shift_backward")

accepted_ms = st.integers(1, SECONDS_LIKE.start - 1) | st.integers(SECONDS_LIKE.stop, MAX_MS)
walls = st.datetimes(min_value=datetime(1974, 1, 1), max_value=datetime(9999, 12, 30))
pandas_walls = st.datetimes(min_value=datetime(1974, 1, 1), max_value=datetime(2261, 12, 31))


def ms_of(moment: datetime) -> int:
    """The definition: floored milliseconds between the epoch and an aware datetime."""
    return (moment - EPOCH) // ONE_MS


def floor_ms(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def iso_z(ms: int) -> str:
    """The UTC ISO text a message is expected to contain, to the second."""
    return (EPOCH + timedelta(milliseconds=ms)).strftime("%Y-%m-%dT%H:%M:%S")


def refusal(call: object, *args: object, **kwargs: object) -> str:
    assert callable(call)
    with pytest.raises(ValidationError) as info:
        call(*args, **kwargs)
    return str(info.value)


# --- an independent map of each zone's transitions ------------------------------------------


@cache
def transitions(
    zone_name: str, first_year: int = 1974, stop_year: int = 2040
) -> tuple[tuple[int, timedelta, timedelta], ...]:
    """(instant in ms, offset before, offset after) for every offset change in the years given.

    Found by stepping through UTC instants a day at a time and bisecting to the second, so it
    shares nothing with the wall-time analysis of the code under test.
    """
    zone = ZoneInfo(zone_name)

    def offset(seconds: int) -> timedelta:
        found = (EPOCH + timedelta(seconds=seconds)).astimezone(zone).utcoffset()
        assert found is not None
        return found

    found: list[tuple[int, timedelta, timedelta]] = []
    start = int((datetime(first_year, 1, 1, tzinfo=UTC) - EPOCH).total_seconds())
    stop = int((datetime(stop_year, 1, 1, tzinfo=UTC) - EPOCH).total_seconds())
    previous = offset(start)
    for day in range(start + 86_400, stop + 86_400, 86_400):
        current = offset(day)
        if current != previous:
            low, high = day - 86_400, day
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (middle, high) if offset(middle) == previous else (low, middle)
            found.append((high * 1000, previous, current))
            previous = current
    return tuple(found)


def gaps() -> list[tuple[str, int, timedelta, timedelta]]:
    return [(z, t, b, a) for z in NAMED_ZONES for t, b, a in transitions(z) if a > b]


def folds() -> list[tuple[str, int, timedelta, timedelta]]:
    return [(z, t, b, a) for z in NAMED_ZONES for t, b, a in transitions(z) if a < b]


def is_the_jump_over(wall: datetime, zone: str, last: int, first: int) -> bool:
    """``last``/``first`` are the milliseconds either side of a jump that skipped ``wall``.

    pandas is no oracle for the shifted instants: its ``nonexistent`` shifts are off by the DST
    delta in some zones (pandas-dev/pandas#40915, open; e.g. Lord_Howe's 30-minute gap is
    shifted a full hour), so the answer is checked against its definition instead.
    """
    tz = ZoneInfo(zone)
    before, after = (from_epoch_ms(ms).astimezone(tz) for ms in (last, first))
    return (
        first == last + 1
        and before.utcoffset() != after.utcoffset()
        and before.replace(tzinfo=None) < wall < after.replace(tzinfo=None)
    )


def pandas_folds(wall: datetime, zone: str) -> set[int]:
    stamp = pd.Timestamp(wall)
    return {
        int(stamp.tz_localize(ZoneInfo(zone), ambiguous=dst).value // 1_000_000)
        for dst in (True, False)
    }


def test_the_transition_scan_found_what_the_tests_rely_on() -> None:
    shifts = {(z, b - a if b > a else a - b) for z, _, b, a in gaps() + folds()}
    assert ("America/New_York", timedelta(hours=1)) in shifts
    assert ("Europe/London", timedelta(hours=1)) in shifts
    assert ("Australia/Lord_Howe", timedelta(minutes=30)) in shifts
    assert ("Asia/Kathmandu", timedelta(minutes=15)) in shifts  # +05:30 -> +05:45 in 1986
    assert ("Pacific/Apia", timedelta(hours=24)) in shifts  # the skipped 2011-12-30
    assert transitions("Asia/Kolkata") == ()


# --- the seed example and fixed non-hour offsets ---------------------------------------------


def test_seed_page_example() -> None:
    assert to_epoch_ms(SEED_MS) == SEED_MS
    assert to_epoch_ms(SEED) == SEED_MS
    assert to_epoch_ms("2021-08-27T08:25:14Z") == SEED_MS
    assert from_epoch_ms(SEED_MS) == SEED
    assert from_epoch_ms(SEED_MS).tzinfo is UTC
    assert format_instant(SEED_MS).utc_iso == "2021-08-27T08:25:14Z"


@pytest.mark.parametrize(
    ("wall", "zone"),
    [
        ("2021-08-27 08:25:14", "UTC"),
        ("2021-08-27 16:25:14", "Asia/Shanghai"),
        ("2021-08-27 13:55:14", "Asia/Kolkata"),
        ("2021-08-27 14:10:14", "Asia/Kathmandu"),
        ("2021-08-27 18:55:14", "Australia/Lord_Howe"),
        ("2021-08-27 04:25:14", "America/New_York"),
        ("2021-08-27 09:25:14", "Europe/London"),
    ],
)
def test_the_same_instant_written_in_many_zones(wall: str, zone: str) -> None:
    assert to_epoch_ms(wall, zone) == SEED_MS
    assert to_epoch_ms(datetime.fromisoformat(wall), zone) == SEED_MS
    assert to_epoch_ms(pd.Timestamp(wall), zone) == SEED_MS
    assert format_instant(SEED_MS, zone).local_iso.startswith(wall)


@given(wall=walls)
@FAST
def test_kolkata_is_always_five_and_a_half_hours_ahead(wall: datetime) -> None:
    expected = ms_of(floor_ms(wall).replace(tzinfo=UTC) - timedelta(hours=5, minutes=30))
    assert to_epoch_ms(wall, "Asia/Kolkata") == expected


# --- round trips across every zone ------------------------------------------------------------


@given(ms=accepted_ms, zone=st.sampled_from(ZONES))
@WIDE
def test_every_accepted_ms_round_trips(ms: int, zone: str) -> None:
    moment = from_epoch_ms(ms)
    assert moment.tzinfo is UTC
    assert to_epoch_ms(moment) == ms
    assert validate_date_from(ms) == ms
    assert to_epoch_ms(format_instant(ms).utc_iso) == ms
    try:
        local = moment.astimezone(ZoneInfo(zone))
    except OverflowError:  # east of UTC the last hours of 9999 are already year 10000
        assert "after the year 9999" in refusal(format_instant, ms, zone)
        return
    assert to_epoch_ms(local, "UTC") == ms  # its fold carries the instant
    view = format_instant(ms, zone)
    assert (view.ms, view.zone) == (ms, zone)
    match = re.fullmatch(r"(\S+ \S+)(?: [A-Za-z]+)? \(([+-]\d\d:\d\d)(:\d\d)?\)", view.local_iso)
    assert match is not None, view.local_iso
    if match.group(3) is None:  # offsets with seconds (old local mean times) have no ISO form
        assert to_epoch_ms(match.group(1) + match.group(2), "UTC") == ms


@given(wall=walls, zone=st.sampled_from(ZONES), choice=st.sampled_from(CHOICES))
@WIDE
def test_a_naive_wall_time_comes_back_as_the_same_wall_time(
    wall: datetime, zone: str, choice: Ambiguous
) -> None:
    tz = ZoneInfo(zone)
    shown_by_clock = [
        f
        for f in (0, 1)
        if wall.replace(tzinfo=tz, fold=f).astimezone(UTC).astimezone(tz).replace(tzinfo=None)
        == wall
    ]
    if not shown_by_clock:
        assert "does not exist" in refusal(to_epoch_ms, wall, zone, ambiguous=choice)
        return
    ms = to_epoch_ms(wall, zone, ambiguous=choice)
    back = from_epoch_ms(ms).astimezone(tz)
    assert back.replace(tzinfo=None) == floor_ms(wall)


@given(wall=pandas_walls, zone=st.sampled_from(ZONES))
@WIDE
def test_agrees_with_pandas_tz_localize(wall: datetime, zone: str) -> None:
    stamp = pd.Timestamp(wall)
    in_gap = stamp.tz_localize(ZoneInfo(zone), ambiguous=True, nonexistent="NaT") is pd.NaT
    in_fold = not in_gap and stamp.tz_localize(ZoneInfo(zone), ambiguous="NaT") is pd.NaT
    if in_gap:
        assert "does not exist" in refusal(to_epoch_ms, wall, zone)
        first, last = (to_epoch_ms(wall, zone, nonexistent=how) for how in SHIFTS)
        assert is_the_jump_over(wall, zone, last, first)
    elif in_fold:
        assert "occurs twice" in refusal(to_epoch_ms, wall, zone)
        ours = {to_epoch_ms(wall, zone, ambiguous=choice) for choice in CHOICES}
        assert ours == pandas_folds(wall, zone)
    else:
        assert to_epoch_ms(wall, zone) == stamp.tz_localize(ZoneInfo(zone)).value // 1_000_000
        assert to_epoch_ms(stamp, zone) == to_epoch_ms(wall, zone)


@given(moment=st.datetimes(min_value=datetime(1974, 1, 1), max_value=datetime(9999, 12, 30)))
@FAST
def test_validate_date_from_reads_naive_values_as_utc(moment: datetime) -> None:
    expected = ms_of(moment.replace(tzinfo=UTC))
    assert validate_date_from(moment) == expected
    assert validate_date_from(moment.isoformat()) == expected
    assert validate_date_from(None) is None


@given(wall=walls, zone=st.sampled_from(ZONES))
@FAST
def test_whatever_to_epoch_ms_returns_the_client_accepts(wall: datetime, zone: str) -> None:
    ms = to_epoch_ms(wall, zone, ambiguous="later", nonexistent="shift_forward")
    assert validate_date_from(ms) == ms


# --- gaps and folds found by the scan ---------------------------------------------------------


@given(data=st.data(), where=st.sampled_from(gaps()))
@FAST
def test_a_wall_time_in_a_gap_is_refused_with_the_nearest_instants(
    data: st.DataObject, where: tuple[str, int, timedelta, timedelta]
) -> None:
    zone, jump, before, after = where
    into = data.draw(st.integers(0, (after - before) // ONE_MS - 1), label="ms into the gap")
    wall = (EPOCH + timedelta(milliseconds=jump) + before + into * ONE_MS).replace(tzinfo=None)
    text = refusal(to_epoch_ms, wall, zone)
    assert "does not exist" in text
    assert zone in text
    assert iso_z(jump) in text
    assert iso_z(jump - 1) in text
    assert "shift_forward" in text
    assert to_epoch_ms(wall, zone, nonexistent="shift_forward") == jump
    assert to_epoch_ms(wall, zone, nonexistent="shift_backward") == jump - 1
    assert to_epoch_ms(wall.isoformat(), zone, nonexistent="shift_forward") == jump
    aware = wall.replace(tzinfo=ZoneInfo(zone))  # names no instant either
    assert "does not exist" in refusal(to_epoch_ms, aware)
    assert to_epoch_ms(aware, nonexistent="shift_backward") == jump - 1
    # the clock just before the jump and at it are both real
    assert to_epoch_ms(wall - into * ONE_MS - ONE_MS, zone) == jump - 1
    assert to_epoch_ms(wall - into * ONE_MS + (after - before), zone) == jump
    # read_wall says the same in one reading
    reading = read_wall(wall, zone)
    assert (reading.kind, reading.first, reading.second) == ("gap", jump - 1, jump)
    assert reading.message == text
    assert reading.instant(nonexistent="shift_forward") == jump


@given(data=st.data(), where=st.sampled_from(folds()))
@FAST
def test_a_wall_time_in_a_fold_is_refused_naming_both_instants(
    data: st.DataObject, where: tuple[str, int, timedelta, timedelta]
) -> None:
    zone, jump, before, after = where
    into = data.draw(st.integers(0, (before - after) // ONE_MS - 1), label="ms into the fold")
    wall = (EPOCH + timedelta(milliseconds=jump) + after + into * ONE_MS).replace(tzinfo=None)
    earlier = ms_of(wall.replace(tzinfo=UTC) - before)
    later = ms_of(wall.replace(tzinfo=UTC) - after)
    text = refusal(to_epoch_ms, wall, zone)
    assert "occurs twice" in text
    assert zone in text
    assert iso_z(earlier) in text
    assert iso_z(later) in text
    assert to_epoch_ms(wall, zone, ambiguous="earlier") == earlier
    assert to_epoch_ms(wall, zone, ambiguous="later") == later
    assert pandas_folds(wall, zone) == {earlier, later}
    assert to_epoch_ms(wall.replace(fold=1), zone, ambiguous="earlier") == earlier  # arg decides
    # an aware datetime is an instant: its fold (PEP 495) says which one
    tz = ZoneInfo(zone)
    assert to_epoch_ms(wall.replace(tzinfo=tz, fold=0)) == earlier
    assert to_epoch_ms(wall.replace(tzinfo=tz, fold=1)) == later
    # read_wall says the same in one reading
    reading = read_wall(wall, zone)
    assert (reading.kind, reading.first, reading.second) == ("fold", earlier, later)
    assert reading.message == text
    assert reading.instant(ambiguous="later") == later


def test_read_wall_of_a_normal_time_and_what_it_refuses() -> None:
    reading = read_wall(datetime(2024, 1, 2, 11, 4), "Asia/Shanghai")
    assert (reading.kind, reading.first, reading.second) == ("normal", 1704164640000, 1704164640000)
    assert reading.message is None and reading.instant() == 1704164640000
    assert "naive" in refusal(read_wall, datetime(2024, 1, 2, tzinfo=UTC))
    assert "Unknown time zone" in refusal(read_wall, datetime(2024, 1, 2), "Mars/Olympus")
    assert "before 1970" in refusal(read_wall(datetime(1969, 12, 31, 23, 0)).instant)


@given(zone=st.sampled_from(ZONES), year=st.integers(1974, 2100))
@FAST
def test_transitions_of_any_zone_agree_with_pandas(zone: str, year: int) -> None:
    for jump, before, after in transitions(zone, year, year + 1):
        start = (EPOCH + timedelta(milliseconds=jump) + min(before, after)).replace(tzinfo=None)
        width = abs(after - before)
        for wall in (start, start + width / 2, start + width - ONE_MS):
            if after > before:
                assert "does not exist" in refusal(to_epoch_ms, wall, zone)
                ours = [to_epoch_ms(wall, zone, nonexistent=how) for how in SHIFTS]
                assert ours == [jump, jump - 1]
                assert is_the_jump_over(wall, zone, jump - 1, jump)
            else:
                assert "occurs twice" in refusal(to_epoch_ms, wall, zone)
                ours_set = {to_epoch_ms(wall, zone, ambiguous=choice) for choice in CHOICES}
                assert ours_set == pandas_folds(wall, zone)
    wall = datetime(year, 7, 1, 12)
    expected = pd.Timestamp(wall).tz_localize(ZoneInfo(zone)).value // 1_000_000
    assert to_epoch_ms(wall, zone) == expected


def test_new_york_messages_read_as_sentences() -> None:
    gap = refusal(to_epoch_ms, "2021-03-14 02:30", "America/New_York")
    assert gap.startswith("'2021-03-14 02:30' does not exist in America/New_York")
    assert "jumped from 2021-03-14 02:00 to 03:00" in gap
    assert "2021-03-14 01:59:59.999 EST (-05:00)" in gap
    assert "2021-03-14 03:00:00 EDT (-04:00)" in gap
    fold = refusal(to_epoch_ms, "2021-11-07 01:30", "America/New_York")
    assert "occurs twice in America/New_York" in fold
    assert "2021-11-07T05:30:00Z (EDT, -04:00) or 2021-11-07T06:30:00Z (EST, -05:00)" in fold


def test_a_date_is_midnight_in_the_zone_even_when_midnight_was_skipped() -> None:
    assert to_epoch_ms(date(2021, 8, 27)) == 1630022400000
    assert to_epoch_ms(date(2021, 8, 27), "Asia/Kathmandu") == 1630022400000 - 345 * 60_000
    jump = next(t for t, b, a in transitions("America/Sao_Paulo") if t > 1541000000000 and a > b)
    assert "does not exist" in refusal(to_epoch_ms, date(2018, 11, 4), "America/Sao_Paulo")
    assert to_epoch_ms(date(2018, 11, 4), "America/Sao_Paulo", nonexistent="shift_forward") == (
        jump
    )
    assert to_epoch_ms("2018-11-04", "America/Sao_Paulo", nonexistent="shift_forward") == jump


# --- integers ---------------------------------------------------------------------------------


@given(seconds=st.integers(SECONDS_LIKE.start, SECONDS_LIKE.stop - 1))
@FAST
def test_integers_that_look_like_seconds_are_refused_with_the_ms_value(seconds: int) -> None:
    for value in (seconds, np.int64(seconds), str(seconds)):
        text = refusal(to_epoch_ms, value)
        assert "looks like seconds" in text
        assert f"use {seconds * 1000}" in text
        assert iso_z(seconds * 1000) in text
    assert "looks like seconds" in refusal(validate_date_from, seconds)
    assert "looks like seconds" in refusal(from_epoch_ms, seconds)


def test_the_seconds_message_for_the_seed_value() -> None:
    assert refusal(to_epoch_ms, 1630052714) == (
        "1630052714 looks like seconds (2021-08-27T08:25:14Z); date_from is milliseconds: "
        "use 1630052714000."
    )


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        (1, True),
        (SECONDS_LIKE.start - 1, True),
        (SECONDS_LIKE.start, False),
        (SECONDS_LIKE.stop - 1, False),
        (SECONDS_LIKE.stop, True),
        (MAX_MS, True),
        (MAX_MS + 1, False),
        (0, False),
        (-1, False),
        (2**63 - 1, False),
        (2**63, False),
    ],
)
def test_integer_bounds(value: int, accepted: bool) -> None:
    if accepted:
        assert to_epoch_ms(value) == value
        assert from_epoch_ms(value) == EPOCH + timedelta(milliseconds=value)
    else:
        assert str(value) in refusal(to_epoch_ms, value)
        refusal(from_epoch_ms, value)


def test_why_out_of_range_integers_are_refused() -> None:
    assert "at least 1" in refusal(to_epoch_ms, 0)
    assert "9999-12-31T23:59:59.999Z" in refusal(to_epoch_ms, MAX_MS + 1)
    assert "2**63-1" in refusal(to_epoch_ms, 2**63)
    assert "5000 digits" in refusal(to_epoch_ms, 10**5000)
    assert "at least 1" in refusal(from_epoch_ms, -(10**5000))
    micro = refusal(to_epoch_ms, SEED_MS * 1000 + 123)
    assert "microseconds" in micro
    assert f"use {SEED_MS}" in micro
    nano = refusal(to_epoch_ms, SEED_MS * 1_000_000)
    assert "nanoseconds" in nano
    assert f"use {SEED_MS}" in nano


@pytest.mark.parametrize(
    "value",
    [np.int64(SEED_MS), np.uint64(SEED_MS), np.int16(30_000), np.uint8(7), np.int32(2**31 - 1)],
)
def test_numpy_integers_are_milliseconds(value: np.integer) -> None:
    if int(value) in SECONDS_LIKE:  # int32's largest value is a seconds timestamp (2038)
        assert f"use {int(value) * 1000}" in refusal(to_epoch_ms, value)
        return
    result = to_epoch_ms(value)
    assert type(result) is int
    assert result == int(value)
    assert validate_date_from(value) == int(value)
    assert from_epoch_ms(value) == EPOCH + timedelta(milliseconds=int(value))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value",
    [
        *(True, False, np.bool_(True), float(SEED_MS), 1.5, np.float64(SEED_MS)),
        *(np.float32(2.0), Decimal(SEED_MS), Fraction(SEED_MS, 1), float("inf")),
    ],
)
def test_bools_and_fractional_numbers_are_refused(value: object) -> None:
    text = refusal(to_epoch_ms, value)
    assert ("bool" in text) or ("integer number of milliseconds" in text)
    refusal(validate_date_from, value)


@pytest.mark.parametrize("missing", [float("nan"), np.nan, pd.NaT, pd.NA, np.datetime64("NaT")])
def test_missing_values_are_refused_and_point_to_none(missing: object) -> None:
    text = refusal(to_epoch_ms, missing)
    assert "missing value" in text
    assert "None" in text


@pytest.mark.parametrize(
    ("value", "word"),
    [
        (b"1630052714000", "bytes"),
        ([SEED_MS], "list"),
        (time(8, 25), "time"),
        (timedelta(hours=2), "duration"),
        (object(), "object"),
    ],
)
def test_other_types_are_refused_by_name(value: object, word: str) -> None:
    assert word in refusal(to_epoch_ms, value)


# --- strings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "zone", "expected"),
    [
        ("2021-08-27T08:25:14Z", "UTC", SEED_MS),
        ("2021-08-27t08:25:14z", "UTC", SEED_MS),
        ("2021-08-27 08:25:14Z", "Asia/Tokyo", SEED_MS),
        ("  2021-08-27T08:25:14Z\n", "UTC", SEED_MS),
        ("2021-08-27T08:25:14+00:00", "UTC", SEED_MS),
        ("2021-08-27T16:25:14+08:00", "America/New_York", SEED_MS),
        ("2021-08-27T16:25:14+0800", "UTC", SEED_MS),
        ("2021-08-27T16:25:14+08", "UTC", SEED_MS),
        ("2021-08-27 16:25:14 +08:00", "UTC", SEED_MS),
        ("2021-08-27T03:25:14-05:00", "UTC", SEED_MS),
        ("2021-08-27T14:10:14+05:45", "UTC", SEED_MS),
        ("2021-08-27T08:25:14.5Z", "UTC", SEED_MS + 500),
        ("2021-08-27T08:25:14,25Z", "UTC", SEED_MS + 250),
        ("2021-08-27T08:25:14.123999999Z", "UTC", SEED_MS + 123),
        ("2021-08-27T08:25:14.000001Z", "UTC", SEED_MS),
        ("2021-08-27 16:25:14", "Asia/Shanghai", SEED_MS),
        ("2021-08-27T08:25", "UTC", SEED_MS - 14_000),
        ("2021-08-27", "UTC", 1630022400000),
        ("2021-08-27", "Asia/Shanghai", 1630022400000 - 8 * 3_600_000),
        ("1630052714000", "Asia/Tokyo", SEED_MS),
        ("0001630052714000", "UTC", SEED_MS),
    ],
)
def test_iso_strings(text: str, zone: str, expected: int) -> None:
    assert to_epoch_ms(text, zone) == expected


@given(
    moment=st.datetimes(min_value=datetime(1974, 1, 2), max_value=datetime(9999, 12, 30)),
    minutes=st.integers(-23 * 60 - 59, 23 * 60 + 59),
    form=st.sampled_from(["T", " ", "Z", "basic-offset", "ms"]),
)
@WIDE
def test_generated_iso_strings_with_offsets(moment: datetime, minutes: int, form: str) -> None:
    offset = timedelta(minutes=minutes)
    aware = moment.replace(tzinfo=timezone(offset))
    text = aware.isoformat(sep=" " if form == " " else "T")
    if form == "Z":
        aware = moment.replace(tzinfo=UTC)
        text = moment.isoformat() + "Z"
    elif form == "basic-offset":
        text = text[:-3] + text[-2:]  # +05:45 -> +0545
    elif form == "ms":
        aware = floor_ms(aware)
        text = aware.isoformat(timespec="milliseconds")
    assume(ms_of(aware) >= SECONDS_LIKE.stop)
    assert to_epoch_ms(text, "Pacific/Kiritimati") == ms_of(aware)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "empty string"),
        ("   ", "empty string"),
        ("hello", "not a time roma_nb understands"),
        ("2021-13-01", "not a real date"),
        ("2021-02-30", "not a real date"),
        ("2021-08-27T25:00", "not a real date"),
        ("2021-08-27T08:25:60Z", "not a real date"),
        ("2021-08-27T08:25:14+24:00", "offset"),
        ("2021-08-27T08:25:14+05:75", "offset"),
        ("27/08/2021", "not a time roma_nb understands"),
        ("1.630052714e12", "not a time roma_nb understands"),
        ("１６３００５２７１４０００", "not a time roma_nb understands"),
        ("2021", "ambiguous"),
        ("20210827", "ambiguous"),
        ("-5", "at least 1"),
        ("9" * 5000, "far too large"),
        ("1969-12-31T23:59:59Z", "before 1970"),
        ("1971-06-01T00:00:00Z", "seconds"),
    ],
)
def test_strings_that_are_refused(text: str, says: str) -> None:
    message = refusal(to_epoch_ms, text)
    assert says in message
    assert len(message) < 1000


# --- datetimes, pandas, numpy -----------------------------------------------------------------


def test_aware_values_are_exact_and_ignore_tz() -> None:
    tokyo = SEED.astimezone(ZoneInfo("Asia/Tokyo"))
    assert to_epoch_ms(tokyo, "America/New_York") == SEED_MS
    fixed = SEED.astimezone(timezone(timedelta(hours=5, minutes=45)))
    assert to_epoch_ms(fixed, "Europe/London") == SEED_MS
    aware = pd.Timestamp("2021-08-27 17:25:14.000999999", tz="Asia/Tokyo")
    assert to_epoch_ms(aware, "America/New_York") == SEED_MS
    utc_stamp = pd.Timestamp(SEED_MS, unit="ms", tz="UTC")
    assert to_epoch_ms(utc_stamp) == SEED_MS


def test_naive_pandas_and_numpy_values_are_read_in_tz_and_floored() -> None:
    naive = pd.Timestamp("2021-08-27 16:25:14.999999999")
    assert to_epoch_ms(naive, "Asia/Shanghai") == SEED_MS + 999
    assert to_epoch_ms(np.datetime64("2021-08-27T16:25:14.123456789"), "Asia/Shanghai") == (
        SEED_MS + 123
    )
    assert to_epoch_ms(np.datetime64("2021-08-27T08:25:14", "s")) == SEED_MS
    coarse = pd.Timestamp("2500-01-01").as_unit("s")
    assert to_epoch_ms(coarse) == ms_of(datetime(2500, 1, 1, tzinfo=UTC))
    assert "does not exist" in refusal(to_epoch_ms, pd.Timestamp("2021-03-14 02:30"), "US/Eastern")
    assert "outside the range" in refusal(to_epoch_ms, np.datetime64("12000-01-01"))


def test_sub_millisecond_precision_is_floored() -> None:
    assert to_epoch_ms(SEED + timedelta(microseconds=999)) == SEED_MS
    assert to_epoch_ms(SEED - timedelta(microseconds=1)) == SEED_MS - 1


def test_datetimes_out_of_range() -> None:
    assert "before 1970" in refusal(to_epoch_ms, datetime(1969, 12, 31, 23, 59, 59, 999999))
    assert "before 1970" in refusal(to_epoch_ms, datetime(1, 1, 1), "Asia/Tokyo")
    assert "9999" in refusal(to_epoch_ms, datetime(9999, 12, 31, 23), "America/New_York")
    assert "seconds" in refusal(to_epoch_ms, date(1971, 1, 1))
    assert to_epoch_ms(datetime(1970, 1, 1, 0, 0, 0, 1000)) == 1  # 1 ms: "from the beginning"
    assert to_epoch_ms(datetime(9999, 12, 31, 23, 59, 59, 999999)) == MAX_MS


# --- zones and options ------------------------------------------------------------------------


def test_zones_may_be_names_or_tzinfo_objects() -> None:
    wall = datetime(2021, 8, 27, 14, 10, 14)
    kathmandu = timezone(timedelta(hours=5, minutes=45))
    assert to_epoch_ms(wall, kathmandu) == SEED_MS
    assert to_epoch_ms(wall, ZoneInfo("Asia/Kathmandu")) == SEED_MS
    assert to_epoch_ms(wall, " Asia/Kathmandu ") == SEED_MS
    assert resolve_zone("UTC") == ZoneInfo("UTC")


def test_a_pytz_like_zone_is_read_by_its_name_not_its_first_offset() -> None:
    class PytzLike(tzinfo):
        """Quacks like pytz: a ``zone`` name, ``localize``, and a local-mean-time offset."""

        zone = "Asia/Kathmandu"

        def tzname(self, moment: datetime | None) -> str:
            return "LMT"

        def localize(self, moment: datetime) -> datetime:
            raise AssertionError("never needed")

        def utcoffset(self, moment: datetime | None) -> timedelta:
            return timedelta(hours=5, minutes=41, seconds=16)

        def dst(self, moment: datetime | None) -> timedelta:
            return timedelta(0)

    assert resolve_zone(PytzLike()) == ZoneInfo("Asia/Kathmandu")
    assert to_epoch_ms(datetime(2021, 8, 27, 14, 10, 14), PytzLike()) == SEED_MS


@pytest.mark.parametrize(
    ("zone", "suggestion"),
    [
        ("Asia/Shangai", "Asia/Shanghai"),
        ("america/new_york", "America/New_York"),
        ("Kathmandu", "Asia/Kathmandu"),
        ("utc", "UTC"),
        ("Europe/Londn", "Europe/London"),
    ],
)
def test_unknown_zones_are_refused_with_a_close_match(zone: str, suggestion: str) -> None:
    text = refusal(to_epoch_ms, SEED_MS, zone)  # checked even when the value needs no zone
    assert "Unknown time zone" in text
    assert repr(suggestion) in text


@pytest.mark.parametrize("zone", ["", "America", "../etc/passwd", "Nowhere/Atlantis", 8, None])
def test_bad_zones_are_refused(zone: object) -> None:
    refusal(to_epoch_ms, SEED_MS, zone)


def test_bad_policy_names_are_refused() -> None:
    assert "ambiguous" in refusal(to_epoch_ms, SEED_MS, ambiguous="first")
    assert "nonexistent" in refusal(to_epoch_ms, SEED_MS, nonexistent="NaT")


def test_none_means_the_service_decides() -> None:
    assert to_epoch_ms(None) is None
    assert to_epoch_ms(None, "Asia/Tokyo") is None
    assert validate_date_from(None) is None


@pytest.mark.parametrize("value", ["1630052714000", SEED, "x", 1.5, None])
def test_from_epoch_ms_takes_integers_only(value: object) -> None:
    refusal(from_epoch_ms, value)


# --- presentation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ms", "zone", "utc_iso", "local_iso"),
    [
        (SEED_MS, "UTC", "2021-08-27T08:25:14Z", "2021-08-27 08:25:14 UTC (+00:00)"),
        (SEED_MS, "Asia/Shanghai", "2021-08-27T08:25:14Z", "2021-08-27 16:25:14 CST (+08:00)"),
        (SEED_MS + 7, "Asia/Kathmandu", "2021-08-27T08:25:14.007Z",
         "2021-08-27 14:10:14.007 (+05:45)"),
        (SEED_MS + 120, "America/New_York", "2021-08-27T08:25:14.120Z",
         "2021-08-27 04:25:14.120 EDT (-04:00)"),
        (SEED_MS, "Australia/Lord_Howe", "2021-08-27T08:25:14Z", "2021-08-27 18:55:14 (+10:30)"),
    ],
)  # fmt: skip
def test_format_instant(ms: int, zone: str, utc_iso: str, local_iso: str) -> None:
    assert format_instant(ms, zone) == InstantView(ms, utc_iso, local_iso, zone)


def test_format_instant_refuses_what_cannot_be_sent() -> None:
    assert "seconds" in refusal(format_instant, 1630052714, "UTC")
    assert "Unknown time zone" in refusal(format_instant, SEED_MS, "Mars/Olympus")


HOUR = 3_600_000


def test_assess_an_empty_date_from() -> None:
    assert assess_date_from(None, now_ms=SEED_MS) == [
        "date_from is empty: the service decides the start point."
    ]


def test_assess_a_future_date_from() -> None:
    (warning,) = assess_date_from(SEED_MS + 2 * HOUR + 5 * 60_000, now_ms=SEED_MS)
    assert "in the future" in warning
    assert "2 h 5 min" in warning
    assert "2021-08-27T10:30:14Z" in warning


def test_assess_a_date_from_older_than_the_retention() -> None:
    (warning,) = assess_date_from(SEED_MS - 3 * 24 * HOUR, now_ms=SEED_MS)
    assert "3 days ago" in warning
    assert "the source may no longer hold change logs for that time" in warning
    assert "Huawei advises keeping CDC logs at least 2 days" in warning
    assert assess_date_from(SEED_MS - 3 * 24 * HOUR, now_ms=SEED_MS, retention=timedelta(7)) == []
    (custom,) = assess_date_from(SEED_MS - 2 * HOUR, now_ms=SEED_MS, retention=timedelta(hours=1))
    assert "retention of 1 h" in custom


def test_assess_a_date_from_within_the_retention() -> None:
    assert assess_date_from(SEED_MS, now_ms=SEED_MS) == []
    oldest_fine = SEED_MS - DEFAULT_RETENTION // ONE_MS
    assert assess_date_from(oldest_fine, now_ms=SEED_MS) == []
    assert len(assess_date_from(oldest_fine - 1, now_ms=SEED_MS)) == 1


def test_assess_refuses_bad_inputs() -> None:
    assert "seconds" in refusal(assess_date_from, SEED_MS, now_ms=1630052714)
    assert "retention" in refusal(assess_date_from, SEED_MS, now_ms=SEED_MS, retention=timedelta())
    assert "retention" in refusal(assess_date_from, SEED_MS, now_ms=SEED_MS, retention=2)
    assert "seconds" in refusal(assess_date_from, 1630052714, now_ms=SEED_MS)


def test_available_zones_puts_utc_first_and_loads_every_name() -> None:
    zones = available_zones()
    assert zones[0] == "UTC"
    assert zones[1:] == sorted(zones[1:])
    assert set(zones) == set(ZONES)
    assert len(zones) == len(set(zones))
    assert all(format_instant(SEED_MS, name).zone == name for name in zones)


def test_importing_dates_does_not_import_pandas_or_numpy() -> None:
    code = "import sys, roma_nb.dates; print(sorted({'pandas', 'numpy'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
