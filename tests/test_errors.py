"""Every error shape of roma-api.md §3 becomes a clear ApiError; no body makes it crash."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roma_nb.errors import (
    ApiError,
    AuthError,
    NotFoundError,
    ServerError,
    ThrottledError,
    api_error_from_response,
    parse_retry_after,
)


def build(status: int, body: bytes | str | dict[str, object], **headers: str) -> ApiError:
    raw = (
        json.dumps(body).encode()
        if isinstance(body, dict)
        else (body.encode() if isinstance(body, str) else body)
    )
    return api_error_from_response(status, httpx.Headers(headers), raw, action="Resetting task t")


def test_fdi_body() -> None:
    err = build(400, {"error_code": "FDI.3150", "error_msg": "The task list is empty."})
    assert type(err) is ApiError
    assert (err.status_code, err.error_code, err.error_msg) == (
        400,
        "FDI.3150",
        "The task list is empty.",
    )
    assert str(err).startswith("Resetting task t failed with HTTP 400")
    assert "FDI.3150 The task list is empty." in str(err)


def test_wrapped_fdi_body() -> None:
    err = build(404, {"code": 404, "reason": {"error_code": "FDI.3081", "error_msg": "gone"}})
    assert isinstance(err, NotFoundError)
    assert (err.error_code, err.error_msg) == ("FDI.3081", "gone")
    assert "does not exist" in str(err)


def test_gateway_body_carries_request_id() -> None:
    err = build(401, {"error_code": "APIGW.0307", "error_msg": "Token expired", "request_id": "r1"})
    assert isinstance(err, AuthError)
    assert err.request_id == "r1"
    assert "expired" in str(err) and "r1" in str(err)


def test_header_request_id_wins() -> None:
    err = build(500, {"error_code": "FDI.9999", "request_id": "body"}, **{"X-Request-Id": "hdr"})
    assert isinstance(err, ServerError)
    assert err.request_id == "hdr"


def test_throttled_with_retry_after() -> None:
    err = build(429, {"error_code": "APIGW.0308", "error_msg": "too many"}, **{"Retry-After": "3"})
    assert isinstance(err, ThrottledError)
    assert err.retry_after == 3.0
    assert "Retry after 3 s" in str(err)


def test_iam_body() -> None:
    err = build(401, {"error": {"code": 401, "message": "wrong password", "title": "Unauthorized"}})
    assert isinstance(err, AuthError)
    assert err.error_code == "IAM.401"
    assert err.error_msg == "Unauthorized: wrong password"


def test_html_body_gives_the_page_title() -> None:
    page = "<html><head><title>502 Bad Gateway</title></head><body><h1>nginx</h1></body></html>"
    err = build(502, page)
    assert isinstance(err, ServerError)
    assert err.error_msg == "502 Bad Gateway"
    assert "<" not in str(err)


def test_empty_body() -> None:
    err = build(503, b"")
    assert isinstance(err, ServerError)
    assert "empty" in str(err)


@pytest.mark.parametrize("status", [401, 403])
def test_auth_statuses(status: int) -> None:
    assert isinstance(build(status, b""), AuthError)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(status=st.integers(400, 599), body=json_values)
@settings(max_examples=300)
def test_any_json_body_gives_an_api_error(status: int, body: object) -> None:
    err = api_error_from_response(status, httpx.Headers(), json.dumps(body).encode())
    assert isinstance(err, ApiError)
    assert err.status_code == status
    assert str(err)


@given(status=st.integers(400, 599), body=st.binary(max_size=3000))
@settings(max_examples=300)
def test_any_bytes_give_an_api_error(status: int, body: bytes) -> None:
    err = api_error_from_response(status, httpx.Headers(), body)
    assert isinstance(err, ApiError)
    assert len(str(err)) < 1200


def test_truncated_and_huge_bodies() -> None:
    assert build(500, b'{"error_code": "FDI.9').error_code is None
    huge = build(400, {"error_code": "FDI.3002", "error_msg": "x" * 100_000})
    assert huge.error_msg is not None and len(huge.error_msg) <= 512
    deep = build(400, b"[" * 100_000)
    assert isinstance(deep, ApiError)


@pytest.mark.parametrize(
    ("value", "expected"), [("5", 5.0), (" 1.5 ", 1.5), ("-3", 0.0), ("soon", None), (None, None)]
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected
