"""The history as a DataFrame: columns, dtypes, filters, latest per task, export, display."""

from __future__ import annotations

import io
import math
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pandas.io.formats.style import Styler

from roma_nb.errors import ValidationError
from roma_nb.history import (
    COLUMNS,
    OUTCOME_CATEGORIES,
    HistoryError,
    RecordContext,
    ResultLog,
    column_dtypes,
    empty_frame,
    read_csv,
    read_parquet,
    style_frame,
)
from roma_nb.models import OUTCOMES, ResetResult

DATE_FROM = 1_630_052_714_000
T0 = datetime(2024, 5, 1, tzinfo=timezone.utc)
CTX = RecordContext(project_id="p1", endpoint_label="SANDBOX", actor="ada")


def result(task_id: str = "t1", outcome: Any = "success", **fields: Any) -> ResetResult:
    fields.setdefault("date_from", DATE_FROM)
    fields.setdefault("instance_id", "i1")
    return ResetResult(task_id=task_id, outcome=outcome, **fields)


def styled_data(styler: Styler) -> pd.DataFrame:
    """The frame a Styler shows (pandas-stubs does not declare ``Styler.data``)."""
    data: pd.DataFrame = styler.data  # type: ignore[attr-defined]
    return data


def filled_log() -> ResultLog:
    log = ResultLog(context=CTX)
    log.append(result("a", at=T0, task_name="orders", status_code=200, attempts=1))
    log.append(result("b", "failed", at=T0 + timedelta(hours=1), error_code="FDI.3023"))
    log.append(result("a", "unknown", at=T0 + timedelta(hours=2), attempts=1))
    log.append(result("a", "dry-run", at=T0 + timedelta(hours=3)))
    log.append(result("c", "skipped", at=T0 + timedelta(hours=4), instance_id="i2"))
    log.begin("i2", "d", date_from=None)  # pending, "now"
    return log


def test_an_empty_log_has_every_column_and_dtype() -> None:
    with ResultLog() as log:
        frame = log.to_frame()
    assert list(frame.columns) == list(COLUMNS)
    assert frame.empty
    assert dict(frame.dtypes) == column_dtypes()
    pd.testing.assert_frame_equal(frame, empty_frame())


def test_dtypes_are_proper() -> None:
    frame = filled_log().to_frame()
    dtypes = frame.dtypes
    assert list(frame.columns) == list(COLUMNS)
    assert dict(dtypes) == column_dtypes()
    assert str(dtypes["at"]) == "datetime64[us, UTC]"
    assert str(dtypes["completed_at"]) == "datetime64[us, UTC]"
    assert str(dtypes["date_from"]) == "datetime64[ms, UTC]"
    for name in ("id", "date_from_ms", "status_code", "attempts"):
        assert str(dtypes[name]) == "Int64"
    assert str(dtypes["dry_run"]) == "boolean"
    assert str(dtypes["elapsed_ms"]) == "Float64"
    assert list(dtypes["outcome"].categories) == list(OUTCOME_CATEGORIES)
    assert list(OUTCOME_CATEGORIES) == ["pending", *OUTCOMES]


def test_values_in_the_frame() -> None:
    frame = filled_log().to_frame()
    first = frame.iloc[0]
    assert first["at"] == pd.Timestamp(T0)
    assert first["date_from"] == pd.Timestamp("2021-08-27T08:25:14Z")
    assert first["date_from_ms"] == DATE_FROM
    assert (first["task_name"], first["status_code"], first["outcome"]) == (
        "orders",
        200,
        "success",
    )
    assert (first["project_id"], first["endpoint"], first["actor"]) == ("p1", "SANDBOX", "ada")
    pending = frame.iloc[-1]
    assert pending["outcome"] == "pending"
    assert pd.isna(pending["date_from"]) and pd.isna(pending["date_from_ms"])
    assert pd.isna(pending["completed_at"]) and pd.isna(pending["status_code"])
    assert list(frame["id"]) == [1, 2, 3, 4, 5, 6]
    assert list(frame["dry_run"]) == [False, False, False, True, False, False]


@pytest.mark.parametrize(
    ("ms", "shown"),
    [
        (2**63 - 1, None),  # the API's largest value: exact in date_from_ms, not a datetime
        (-(2**63), None),
        (253_402_300_799_999, pd.Timestamp("9999-12-31T23:59:59.999Z")),
        (253_402_300_800_000, None),
        (-62_135_596_800_000, pd.Timestamp("0001-01-01T00:00:00Z")),
        (0, pd.Timestamp("1970-01-01T00:00:00Z")),
    ],
)
def test_date_from_extremes(ms: int, shown: pd.Timestamp | None) -> None:
    with ResultLog() as log:
        log.append(result(date_from=ms))
        frame = log.to_frame()
    assert frame["date_from_ms"].iloc[0] == ms
    if shown is None:
        assert pd.isna(frame["date_from"].iloc[0])
    else:
        assert frame["date_from"].iloc[0] == shown
    repr(frame)  # displaying the frame never raises


@pytest.mark.parametrize(
    ("filters", "tasks"),
    [
        ({"task_id": "a"}, ["a", "a", "a"]),
        ({"task_id": ["a", "c"]}, ["a", "a", "a", "c"]),
        ({"task_id": []}, []),
        ({"instance_id": "i2"}, ["c", "d"]),
        ({"instance_id": "i2", "task_id": "a"}, []),
        ({"outcome": "failed"}, ["b"]),
        ({"outcome": ["unknown", "pending"]}, ["a", "d"]),
        ({"since": T0 + timedelta(hours=1), "until": T0 + timedelta(hours=3)}, ["b", "a"]),
        ({"since": "2024-05-01T03:00:00Z", "until": "2024-05-01T04:00:00+00:00"}, ["a"]),
        ({"since": "2024-05-01T03:00:00"}, ["a", "c", "d"]),  # naive: UTC
        ({"until": date(2024, 5, 1)}, []),
        ({"since": timedelta(minutes=5)}, ["d"]),
        ({"since": "5m"}, ["d"]),
        ({"dry_run": True}, ["a"]),
        ({"dry_run": False, "task_id": "a"}, ["a", "a"]),
        ({"row_id": 2}, ["b"]),
        ({"row_id": [6, 1, 99]}, ["a", "d"]),  # oldest first, whatever the order asked
        ({"row_id": range(2, 5), "task_id": "a"}, ["a", "a"]),
        ({"row_id": []}, []),
    ],
)
def test_filters(filters: dict[str, Any], tasks: list[str]) -> None:
    with filled_log() as log:
        assert list(log.to_frame(**filters)["task_id"]) == tasks
        assert [r["task_id"] for r in log.records(**filters)] == tasks


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"outcome": "done"}, "unknown outcome 'done'"),
        ({"since": "yesterday"}, "not a time"),
        ({"until": 1_700_000_000}, "must be a datetime"),
        ({"task_id": [1]}, "must be strings"),
        ({"dry_run": "no"}, "dry_run"),
        ({"row_id": ["1"]}, "row_id filter values must be integers"),
        ({"row_id": True}, "must be integers"),
    ],
)
def test_bad_filters_say_what_is_wrong(filters: dict[str, Any], message: str) -> None:
    with ResultLog() as log, pytest.raises(ValidationError, match=message):
        log.to_frame(**filters)


def test_an_unknown_filter_name_is_refused_not_ignored() -> None:
    misspelt: dict[str, Any] = {"task": "a"}
    with ResultLog() as log, pytest.raises(TypeError, match="unexpected filter argument 'task'"):
        log.to_frame(**misspelt)


def test_latest_per_task() -> None:
    with filled_log() as log:
        latest = log.latest_per_task()
        rows = zip(latest["instance_id"], latest["task_id"], latest["outcome"], strict=True)
        assert list(rows) == [
            ("i1", "b", "failed"),
            ("i1", "a", "unknown"),  # the later dry run does not hide it
            ("i2", "c", "skipped"),
            ("i2", "d", "pending"),
        ]
        with_dry = log.latest_per_task(dry_run=None)
        assert with_dry.set_index("task_id").loc["a", "outcome"] == "dry-run"
        todo = log.latest_per_task(outcome=["failed", "unknown"])
        assert list(todo["task_id"]) == ["b", "a"]
        # outcome filters the latest rows, it does not pick an older success instead
        assert list(log.latest_per_task(outcome="success")["task_id"]) == []
        assert list(log.latest_per_task(until=T0 + timedelta(minutes=30))["task_id"]) == ["a"]
        assert dict(latest.dtypes) == column_dtypes()


def test_latest_per_task_breaks_ties_by_id() -> None:
    with ResultLog() as log:
        log.append(result(outcome="failed", at=T0))
        log.append(result(outcome="success", at=T0))
        assert list(log.latest_per_task()["outcome"]) == ["success"]


def test_the_same_task_id_in_two_instances_is_two_tasks() -> None:
    with ResultLog() as log:
        log.append(result(instance_id="i1"))
        log.append(result(instance_id="i2", outcome="failed"))
        assert len(log.latest_per_task()) == 2


def test_csv_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "history.csv"
    with filled_log() as log:
        log.append(result("q", message='comma, "quote"\nnew line', task_name="ünïcödé ✓"))
        log.append(result("r", date_from=2**63 - 1, elapsed_ms=0.1 + 0.2))
        log.to_csv(path)
        frame = log.to_frame()
    pd.testing.assert_frame_equal(read_csv(path), frame)


@pytest.mark.parametrize(
    "at",
    [
        datetime(2263, 1, 1, 0, 0, 0, 1, tzinfo=timezone.utc),  # past pandas' nanosecond range
        datetime(1, 1, 2, 3, 4, 5, 600_000, tzinfo=timezone(timedelta(hours=-11, minutes=-30))),
        datetime(9999, 12, 30, 23, 59, 59, 999_999, tzinfo=timezone.utc),
    ],
)
def test_csv_round_trip_keeps_every_time_the_history_can_hold(at: datetime) -> None:
    buffer = io.StringIO()
    with ResultLog() as log:
        log.append(result(at=at))
        log.to_csv(buffer)
        frame = log.to_frame()
    buffer.seek(0)
    back = read_csv(buffer)
    pd.testing.assert_frame_equal(back, frame)
    assert back["at"].iloc[0] == at


def test_a_nul_character_in_csv() -> None:
    buffer = io.StringIO()
    with ResultLog() as log:
        log.append(result(message="a\0b"))
        if CSV_HOLDS_NUL:
            log.to_csv(buffer)
            buffer.seek(0)
            assert read_csv(buffer)["message"].iloc[0] == "a\0b"
        else:
            with pytest.raises(HistoryError, match="message holds a NUL character"):
                log.to_csv(buffer)
            assert buffer.getvalue() == ""


def test_csv_cannot_tell_empty_text_from_missing() -> None:
    buffer = io.StringIO()
    with ResultLog() as log:
        log.append(result(message=""))
        log.to_csv(buffer)
    buffer.seek(0)
    assert pd.isna(read_csv(buffer)["message"].iloc[0])


def test_csv_of_an_empty_log_reads_back_empty(tmp_path: Path) -> None:
    with ResultLog() as log:
        log.to_csv(tmp_path / "empty.csv")
    pd.testing.assert_frame_equal(read_csv(tmp_path / "empty.csv"), empty_frame())


def test_read_csv_refuses_other_files(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="missing columns"):
        read_csv(tmp_path / "x.csv")


def test_parquet_round_trip_is_exact(tmp_path: Path) -> None:
    path = tmp_path / "history.parquet"
    with filled_log() as log:
        log.append(result("r", date_from=2**63 - 1, message="", elapsed_ms=0.1 + 0.2))
        log.to_parquet(path, task_id=["a", "r"])
        frame = log.to_frame(task_id=["a", "r"])
    back = read_parquet(path)
    pd.testing.assert_frame_equal(back, frame)
    assert back["message"].iloc[-1] == ""  # unlike CSV


def test_style_frame_colours_outcomes_and_formats_times_without_changing_data() -> None:
    frame = filled_log().to_frame()
    before = frame.copy()
    styler = style_frame(frame)
    html = styler.to_html()
    assert "2024-05-01 00:00:00 UTC" in html
    assert "2021-08-27 08:25:14 UTC" in html
    assert "#d4edda" in html and "#f8d7da" in html  # success green, failed red
    pd.testing.assert_frame_equal(styled_data(styler), before)
    pd.testing.assert_frame_equal(frame, before)


def test_style_frame_of_odd_values() -> None:
    with ResultLog() as log:
        log.append(result(date_from=2**63 - 1, elapsed_ms=1234.4))
        styled = style_frame(log.to_frame()).to_html()
        empty = style_frame(log.to_frame(task_id=[])).to_html()
    assert "1,234 ms" in styled
    assert "<table" in empty


def test_display_frame_shows_the_most_recent_rows() -> None:
    with filled_log() as log:
        styler = log.display_frame(limit=2)
        assert list(styled_data(styler)["task_id"]) == ["c", "d"]
        assert list(styled_data(log.display_frame(task_id="a"))["task_id"]) == ["a", "a", "a"]


# -- exact round trip of anything a ResetResult can hold ---------------------------------------

texts = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40)
optional_texts = st.none() | texts
# Python 3.10's csv module can neither write nor read a NUL character (3.11 can): there, CSV
# round trips leave it out and test_a_nul_character_in_csv checks the refusal.
CSV_HOLDS_NUL = sys.version_info >= (3, 11)
int64s = st.integers(min_value=-(2**63), max_value=2**63 - 1)
moments = st.datetimes(
    min_value=datetime(1, 1, 2),
    max_value=datetime(9999, 12, 30),
    timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=-11, minutes=-30))]),
)


def results_of(texts: st.SearchStrategy[str]) -> st.SearchStrategy[ResetResult]:
    maybe_texts = st.none() | texts
    return st.builds(
        ResetResult,
        instance_id=texts,
        task_id=texts,
        outcome=st.sampled_from(OUTCOMES),
        date_from=st.none() | int64s,
        task_name=maybe_texts,
        status_code=st.none() | int64s,
        message=maybe_texts,
        error_code=maybe_texts,
        error_msg=maybe_texts,
        request_id=maybe_texts,
        elapsed_ms=st.none() | st.floats(allow_nan=False),
        attempts=int64s,
        at=moments,
    )


results = results_of(texts)
csv_results = results if CSV_HOLDS_NUL else results_of(texts.filter(lambda t: "\0" not in t))
contexts = st.builds(
    RecordContext, project_id=optional_texts, endpoint_label=st.none(), actor=texts
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(st.tuples(results, contexts), min_size=1, max_size=5))
def test_every_result_round_trips_exactly(batch: list[tuple[ResetResult, RecordContext]]) -> None:
    with ResultLog() as log:
        for item, context in batch:
            log.append(item, context=context)
        records = log.records()
        frame = log.to_frame()
    assert len(records) == len(frame) == len(batch)
    for (item, context), record, (_, row) in zip(batch, records, frame.iterrows(), strict=True):
        expected = item.to_dict()
        expected["date_from_ms"] = expected.pop("date_from")
        for name, value in expected.items():
            assert record[name] == value, name
            cell = row[name]
            if value is None:
                assert pd.isna(cell), name
            elif isinstance(value, float) and math.isinf(value):
                assert cell == value
            else:
                assert cell == value, name
        assert (record["project_id"], record["actor"]) == (context.project_id, context.actor)
        assert row["actor"] == context.actor
        assert record["dry_run"] is (item.outcome == "dry-run")


@settings(max_examples=40, deadline=None)
@given(batch=st.lists(csv_results, min_size=1, max_size=4))
def test_every_result_survives_csv_but_empty_text(batch: list[ResetResult]) -> None:
    buffer = io.StringIO()
    with ResultLog() as log:
        log.extend(batch)
        log.to_csv(buffer)
        expected = log.to_frame()
    buffer.seek(0)
    for name in expected.columns:  # CSV's one loss: an empty text reads back as missing
        if str(expected[name].dtype) == "string":
            expected[name] = expected[name].mask(expected[name] == "", pd.NA)
    pd.testing.assert_frame_equal(read_csv(buffer), expected)


@settings(max_examples=30, deadline=None)
@given(batch=st.lists(results, min_size=1, max_size=4))
def test_every_result_survives_parquet(tmp_path_factory: Any, batch: list[ResetResult]) -> None:
    path = tmp_path_factory.mktemp("pq") / "h.parquet"
    with ResultLog() as log:
        log.extend(batch)
        log.to_parquet(path)
        pd.testing.assert_frame_equal(read_parquet(path), log.to_frame())
