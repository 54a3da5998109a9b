"""The pure SDK-HMAC-SHA256 canonicalisation (roma_nb.auth.signing), step by step."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roma_nb.auth import signing
from roma_nb.errors import ValidationError

AK = "HPUAEXAMPLEAK0000000"
SK = "exampleSecretKey0000000000000000000000000"
PROJECT = "0123456789abcdef0123456789abcdef"
HOST = "roma.cn-north-4.myhuaweicloud.com"
RESET_PATH = f"/v2/{PROJECT}/fdi/instances/inst-1/multi-tasks/task-1/reset"


def _headers(content_type: str) -> dict[str, str]:
    return {
        "Content-Type": content_type,
        "Host": HOST,
        "X-Project-Id": PROJECT,
        "X-Sdk-Date": "20240101T000000Z",
    }


class Vector(NamedTuple):
    method: str
    path: str
    query: list[tuple[str, str]]
    content_type: str
    body: bytes
    signature: str


GOLDEN = [
    Vector(
        "POST",
        RESET_PATH,
        [],
        "application/json;charset=utf-8",
        b'{"date_from": 1700000000000}',
        "aa93867f03d4b036764168d79c795cf337bf812bdcd346dff67ae10ce808df81",
    ),
    Vector(
        "POST",
        RESET_PATH,
        [],
        "application/json;charset=utf-8",
        b"{}",
        "944218c82534c3610138e94a93cc899c4344a7cd1edf97b564814b14675e622b",
    ),
    Vector(
        "GET",
        f"/v2/{PROJECT}/fdi/instances/inst-1/tasks",
        [("limit", "10"), ("offset", "0"), ("name", "a b/c")],
        "application/json",
        b"",
        "38ac52ee2be642b0d11d1e5a9028d92a4bf3c696f86cff393a09d24ec09ac568",
    ),
]


@pytest.mark.parametrize("vector", GOLDEN, ids=["reset", "reset-empty", "list-tasks"])
def test_golden_vectors(vector: Vector) -> None:
    value = signing.sign(
        ak=AK,
        sk=SK,
        method=vector.method,
        raw_path=vector.path,
        query_pairs=vector.query,
        headers=_headers(vector.content_type),
        body=vector.body,
    )
    assert value == (
        f"SDK-HMAC-SHA256 Access={AK}, "
        f"SignedHeaders=content-type;host;x-project-id;x-sdk-date, Signature={vector.signature}"
    )


def test_golden_get_query_is_the_string_roma_api_says_is_sent() -> None:
    pairs = [("limit", "10"), ("offset", "0"), ("name", "a b/c")]
    assert signing.canonical_query(pairs) == "limit=10&name=a%20b%2Fc&offset=0"


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("/v2/p/instances", "/v2/p/instances/"),
        ("/v2/p/instances/", "/v2/p/instances/"),
        ("/", "/"),
        ("/a%20b/c", "/a%20b/c/"),
        ("/a+b", "/a%2Bb/"),  # a plus in a path is a plus, not a space
        ("/caf%C3%A9/~x", "/caf%C3%A9/~x/"),
        ("/a%2Fb", "/a/b/"),  # decoded before splitting, as the official signer does
        ("/a*b", "/a%2Ab/"),
    ],
)
def test_canonical_uri(raw: str, canonical: str) -> None:
    assert signing.canonical_uri(raw) == canonical


@pytest.mark.parametrize(
    ("raw", "pairs"),
    [
        ("", []),
        ("a=1&b=2", [("a", "1"), ("b", "2")]),
        ("name=a+b%2Fc", [("name", "a b/c")]),
        ("name=a%20b", [("name", "a b")]),
        ("x=%2B", [("x", "+")]),
        ("flag&x=", [("flag", ""), ("x", "")]),
        ("a=1&&a=0", [("a", "1"), ("a", "0")]),
        ("k=v=w", [("k", "v=w")]),
    ],
)
def test_parse_query(raw: str, pairs: list[tuple[str, str]]) -> None:
    assert signing.parse_query(raw) == pairs


def test_canonical_query_sorts_repeats_by_value_and_keeps_blanks() -> None:
    pairs = [("b", ""), ("a", "2"), ("a", "10"), ("a", "1 x")]
    assert signing.canonical_query(pairs) == "a=1%20x&a=10&a=2&b="


_text = st.text(st.characters(codec="utf-8"), max_size=12)


@given(st.lists(st.tuples(_text, _text), max_size=8))
def test_canonical_query_reads_back_as_the_same_sorted_pairs(pairs: list[tuple[str, str]]) -> None:
    query = signing.canonical_query(pairs)
    assert "+" not in query
    assert " " not in query
    assert signing.parse_query(query) == sorted(pairs)


@given(st.lists(_text.filter(lambda s: "/" not in s), min_size=1, max_size=5))
def test_canonical_uri_is_idempotent_and_ends_in_slash(segments: list[str]) -> None:
    from urllib.parse import quote

    raw = "/" + "/".join(quote(s, safe="") for s in segments)
    once = signing.canonical_uri(raw)
    assert once.endswith("/")
    assert signing.canonical_uri(once) == once


def test_canonical_request_layout_and_empty_body_hash() -> None:
    text, signed = signing.canonical_request(
        "get", "/x", [("b", "1"), ("a", "")], {"Host": " h ", "X-Sdk-Date": "20240101T000000Z"}, b""
    )
    assert signed == ["host", "x-sdk-date"]
    assert text == (
        "GET\n/x/\na=&b=1\nhost:h\nx-sdk-date:20240101T000000Z\n\nhost;x-sdk-date\n"
        + signing.EMPTY_BODY_SHA256
    )
    assert signing.EMPTY_BODY_SHA256.startswith("e3b0c442")


def test_string_to_sign_and_signature() -> None:
    to_sign = signing.string_to_sign("20240101T000000Z", "canonical")
    digest = hashlib.sha256(b"canonical").hexdigest()
    assert to_sign == f"SDK-HMAC-SHA256\n20240101T000000Z\n{digest}"
    assert len(signing.signature("k", to_sign)) == 64
    assert signing.signature("k", to_sign) != signing.signature("k2", to_sign)


def test_sdk_date_format_and_check() -> None:
    plus_eight = timezone(timedelta(hours=8))
    assert signing.format_sdk_date(datetime(2024, 1, 1, 8, 0, tzinfo=plus_eight)) == (
        "20240101T000000Z"
    )
    assert signing.check_sdk_date(" 20240101T000000Z ") == "20240101T000000Z"
    with pytest.raises(ValidationError, match="YYYYMMDDTHHMMSSZ"):
        signing.check_sdk_date("2024-01-01T00:00:00Z")


def test_sign_requires_the_date_header() -> None:
    with pytest.raises(ValidationError, match="X-Sdk-Date"):
        signing.sign(
            ak=AK,
            sk=SK,
            method="GET",
            raw_path="/",
            query_pairs=[],
            headers={"Host": "h"},
            body=b"",
        )
