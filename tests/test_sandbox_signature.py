"""The sandbox's own SDK-HMAC-SHA256 verifier against the golden vectors of roma-api.md §4."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roma_nb.sandbox.signature import (
    canonical_query,
    canonical_request,
    canonical_uri,
    parse_authorization,
    parse_sdk_date,
    signature,
    string_to_sign,
)

SK = "exampleSecretKey0000000000000000000000000"
PROJECT = "0123456789abcdef0123456789abcdef"
HOST = "roma.cn-north-4.myhuaweicloud.com"
DATE = "20240101T000000Z"
SIGNED = ("content-type", "host", "x-project-id", "x-sdk-date")
RESET = f"/v2/{PROJECT}/fdi/instances/inst-1/multi-tasks/task-1/reset"


def _sign(method: str, path: str, query: str, content_type: str, body: bytes) -> str:
    headers = {
        "content-type": content_type,
        "host": HOST,
        "x-project-id": PROJECT,
        "x-sdk-date": DATE,
    }
    canonical = canonical_request(method, path, query, headers, SIGNED, body)
    assert canonical is not None
    return signature(SK, string_to_sign(DATE, canonical))


@pytest.mark.parametrize(
    ("method", "path", "query", "content_type", "body", "expected"),
    [
        (
            "POST",
            RESET,
            "",
            "application/json;charset=utf-8",
            b'{"date_from": 1700000000000}',
            "aa93867f03d4b036764168d79c795cf337bf812bdcd346dff67ae10ce808df81",
        ),
        (
            "POST",
            RESET,
            "",
            "application/json;charset=utf-8",
            b"{}",
            "944218c82534c3610138e94a93cc899c4344a7cd1edf97b564814b14675e622b",
        ),
        (
            "GET",
            f"/v2/{PROJECT}/fdi/instances/inst-1/tasks",
            "limit=10&name=a%20b%2Fc&offset=0",
            "application/json",
            b"",
            "38ac52ee2be642b0d11d1e5a9028d92a4bf3c696f86cff393a09d24ec09ac568",
        ),
    ],
)
def test_golden_vectors(
    method: str, path: str, query: str, content_type: str, body: bytes, expected: str
) -> None:
    assert _sign(method, path, query, content_type, body) == expected


def test_query_order_does_not_matter_but_its_encoding_does() -> None:
    path = f"/v2/{PROJECT}/fdi/instances/inst-1/tasks"
    golden = "38ac52ee2be642b0d11d1e5a9028d92a4bf3c696f86cff393a09d24ec09ac568"
    assert _sign("GET", path, "offset=0&name=a%20b%2Fc&limit=10", "application/json", b"") == (
        golden
    )
    # A '+' is a plus sign, not a space: a client that sent it signed something else.
    assert _sign("GET", path, "limit=10&name=a+b%2Fc&offset=0", "application/json", b"") != (golden)


def test_canonical_uri_always_ends_with_a_slash() -> None:
    assert canonical_uri("/v2/p/instances") == "/v2/p/instances/"
    assert canonical_uri("/v2/p/instances/") == "/v2/p/instances/"
    assert canonical_uri("/v2/a%20b/c~d") == "/v2/a%20b/c~d/"


@given(st.lists(st.tuples(st.text(min_size=1), st.text()), max_size=6))
def test_canonical_query_is_sorted_and_encoded(pairs: list[tuple[str, str]]) -> None:
    raw = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)
    expected = "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in sorted(pairs))
    assert canonical_query(raw) == expected


def test_missing_signed_header_cannot_verify() -> None:
    assert canonical_request("GET", "/", "", {"host": HOST}, ("host", "x-sdk-date"), b"") is None


def test_parse_authorization() -> None:
    parsed = parse_authorization(
        "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=Host;X-Sdk-Date, Signature=ABCDEF01"
    )
    assert parsed is not None
    assert parsed.access_key == "AK1"
    assert parsed.signed_headers == ("host", "x-sdk-date")
    assert parsed.signature == "abcdef01"
    assert "abcdef01" not in repr(parsed)
    assert parse_authorization("SDK-HMAC-SHA256 Access=AK1") is None
    assert parse_authorization("Bearer abc") is None


def test_parse_sdk_date() -> None:
    parsed = parse_sdk_date(DATE)
    assert parsed is not None
    assert parsed.isoformat() == "2024-01-01T00:00:00+00:00"
    assert parse_sdk_date("2024-01-01T00:00:00Z") is None
