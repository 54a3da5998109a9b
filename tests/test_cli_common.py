"""The CLI's shared pieces as pure functions: output formats, time parsing."""

from __future__ import annotations

import csv
import io
import json
import sys
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roma_nb.cli._common import Column, iso_utc, parse_time, render
from roma_nb.errors import ValidationError

COLUMNS = (Column("name", lambda r: r[0]), Column("count", lambda r: r[1]))

cells = st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1), st.text(max_size=30))
# Python 3.10's csv module can neither write nor read a NUL character (3.11 can).
CSV_HOLDS_NUL = sys.version_info >= (3, 11)
csv_cells = cells if CSV_HOLDS_NUL else cells.filter(lambda v: "\0" not in str(v))


@given(st.lists(st.tuples(cells, cells), max_size=8))
def test_json_keeps_values_and_column_order(rows: list[tuple[object, object]]) -> None:
    out = io.StringIO()
    render(rows, COLUMNS, "json", out)
    parsed = json.loads(out.getvalue())
    assert [list(obj) for obj in parsed] == [["name", "count"]] * len(rows)
    assert [(obj["name"], obj["count"]) for obj in parsed] == rows


@given(st.lists(st.tuples(csv_cells, csv_cells), max_size=8))
def test_csv_round_trips_text_with_empty_cells_for_none(rows: list[tuple[object, object]]) -> None:
    out = io.StringIO()
    render(rows, COLUMNS, "csv", out)
    read = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert read[0] == ["name", "count"]
    expected = [["" if v is None else str(v) for v in row] for row in rows]
    assert read[1:] == expected


def test_a_nul_character_in_csv_round_trips_or_is_refused_before_printing() -> None:
    out = io.StringIO()
    if CSV_HOLDS_NUL:
        render([("a\0b", 1)], COLUMNS, "csv", out)
        assert list(csv.reader(io.StringIO(out.getvalue(), newline="")))[1] == ["a\0b", "1"]
    else:
        with pytest.raises(ValidationError, match=r"NUL character.*--format json"):
            render([("a\0b", 1)], COLUMNS, "csv", out)
        assert out.getvalue() == ""


def test_table_aligns_truncates_and_flattens() -> None:
    out = io.StringIO()
    render([("a", 1), ("long\nname " + "x" * 80, None)], COLUMNS, "table", out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("name") and "count" in lines[0]
    assert set(lines[1]) == {"-", " "}
    assert lines[2].index("1") == lines[0].index("count")
    assert "\n" not in lines[3] and lines[3].endswith("…")
    assert len(lines[3]) == 60


def test_empty_table_says_so() -> None:
    out = io.StringIO()
    render([], COLUMNS, "table", out)
    assert out.getvalue() == "(none)\n"


def test_datetimes_are_printed_as_utc_iso() -> None:
    out = io.StringIO()
    moment = datetime(2024, 1, 2, 11, 4, tzinfo=timezone.utc)
    render([("t", moment)], COLUMNS, "json", out)
    assert json.loads(out.getvalue())[0]["count"] == "2024-01-02T11:04:00Z"


def test_iso_utc() -> None:
    assert iso_utc(None) is None
    assert iso_utc(1630052714000) == "2021-08-27T08:25:14Z"
    assert iso_utc(1630052714123) == "2021-08-27T08:25:14.123Z"


@pytest.mark.parametrize(
    ("text", "tz", "expected"),
    [
        ("2024-01-02T03:04", "UTC", 1704164640000),
        ("2024-01-02T03:04", "Asia/Shanghai", 1704164640000 - 8 * 3_600_000),
        ("2024-01-02T03:04Z", "Asia/Shanghai", 1704164640000),
        ("1704164640000", "Asia/Shanghai", 1704164640000),
        ("90m", "UTC", 1704164640000 - 90 * 60_000),
        ("2h", "Asia/Shanghai", 1704164640000 - 2 * 3_600_000),
        ("1.5d", "UTC", 1704164640000 - 36 * 3_600_000),
    ],
)
def test_parse_time(text: str, tz: str, expected: int) -> None:
    assert parse_time(text, tz, now_ms=1704164640000) == expected


def test_parse_time_refuses_seconds() -> None:
    with pytest.raises(ValidationError, match="seconds"):
        parse_time("1704164640")
