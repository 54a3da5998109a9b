"""Unit tests of the sandbox's strict query and body parsing (``roma_nb.sandbox.params``)."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roma_nb.sandbox.params import (
    MAX_DATE_FROM,
    BadRequest,
    enum_param,
    int_param,
    page_bounds,
    parse_reset_body,
)


def test_int_param_absent_gives_default() -> None:
    assert int_param({}, "limit", default=10, minimum=1, maximum=1000) == 10
    assert int_param({}, "begin_time", default=None, minimum=0) is None


@given(st.integers(min_value=1, max_value=1000))
def test_int_param_accepts_every_value_in_range(value: int) -> None:
    assert int_param({"limit": str(value)}, "limit", default=10, minimum=1, maximum=1000) == value


@given(st.integers().filter(lambda v: not 1 <= v <= 1000))
def test_int_param_refuses_values_out_of_range(value: int) -> None:
    with pytest.raises(BadRequest, match="limit"):
        int_param({"limit": str(value)}, "limit", default=10, minimum=1, maximum=1000)


@given(st.text(max_size=12).filter(lambda s: not re.fullmatch(r"-?[0-9]{1,20}", s)))
def test_int_param_refuses_non_integers(raw: str) -> None:
    with pytest.raises(BadRequest, match="not an integer"):
        int_param({"offset": raw}, "offset", default=0, minimum=0)


@pytest.mark.parametrize("raw", ["1.5", "1e3", " 3", "0x10", "", "+3"])
def test_int_param_refuses_number_lookalikes(raw: str) -> None:
    with pytest.raises(BadRequest):
        int_param({"offset": raw}, "offset", default=0, minimum=0)


def test_enum_param_canonical_case_and_refusal() -> None:
    query = {"task_type": "realtime", "sort_type": "asc"}
    assert enum_param(query, "task_type", ("REALTIME", "TIMING"), ignore_case=True) == "REALTIME"
    with pytest.raises(BadRequest, match="sort_type"):
        enum_param(query, "sort_type", ("ASC", "DESC"))
    assert enum_param({}, "status", ("0", "1")) is None


@given(
    st.integers(min_value=0, max_value=10_000),
    st.integers(min_value=1, max_value=1000),
)
def test_page_bounds_readings(offset: int, limit: int) -> None:
    assert page_bounds(offset, limit, first=0, mode="records") == (offset, offset + limit)
    assert page_bounds(offset, limit, first=0, mode="pages") == (
        offset * limit,
        offset * limit + limit,
    )
    assert page_bounds(offset + 1, limit, first=1, mode="records") == (offset, offset + limit)
    assert page_bounds(offset + 1, limit, first=1, mode="pages")[0] == offset * limit


@pytest.mark.parametrize("body", [b"", b"  ", b"{}", b'{"date_from": null}', b'{"other": 1}'])
def test_reset_body_without_date_from(body: bytes) -> None:
    assert parse_reset_body(body) is None


@given(st.integers(min_value=1, max_value=MAX_DATE_FROM))
def test_reset_body_integer_date_from(value: int) -> None:
    assert parse_reset_body(json.dumps({"date_from": value}).encode()) == value


@pytest.mark.parametrize(
    "body",
    [
        b"date_from=1",
        b"{",
        b"[]",
        b"null",
        b'{"date_from": 0}',
        b'{"date_from": -5}',
        b'{"date_from": 9223372036854775808}',
        b'{"date_from": 9999999999999999999}',
        b'{"date_from": "1630052714000"}',
        b'{"date_from": 1630052714000.0}',
        b'{"date_from": true}',
    ],
)
def test_reset_body_refusals(body: bytes) -> None:
    with pytest.raises(BadRequest):
        parse_reset_body(body)
