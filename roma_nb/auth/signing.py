"""``SDK-HMAC-SHA256``: the canonical request and its signature, as pure functions.

This is the algorithm of ``roma-api.md`` §4, written so each step can be tested on its own and
compared with the official signer (``huaweicloudsdkcore.signer.signer.Signer``). Nothing here
touches the network, the clock or httpx: ``AkSkAuth`` feeds these functions what it is about to
send and sends exactly what they return.

Two details follow the official signer (and the gateway, which runs the same code) rather than
intuition:

- the canonical URI decodes the *whole* path before splitting it on ``/``, so an escaped slash
  inside one segment (``a%2Fb``) is signed as two segments;
- query pairs are sorted by their *decoded* ``(key, value)``, then encoded, so repeated keys keep
  a stable order and the string sent is the string signed.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from urllib.parse import quote, unquote, unquote_plus

from ..errors import ValidationError

__all__ = [
    "ALGORITHM",
    "EMPTY_BODY_SHA256",
    "SDK_DATE_FORMAT",
    "authorization_header",
    "canonical_headers",
    "canonical_query",
    "canonical_request",
    "canonical_uri",
    "check_sdk_date",
    "format_sdk_date",
    "parse_query",
    "sign",
    "signature",
    "string_to_sign",
]

ALGORITHM = "SDK-HMAC-SHA256"
SDK_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
EMPTY_BODY_SHA256 = hashlib.sha256(b"").hexdigest()


def _encode(text: str) -> str:
    """RFC 3986 unreserved characters stay, everything else is percent-encoded (UTF-8)."""
    return quote(text, safe="~")


def format_sdk_date(when: datetime) -> str:
    """The ``X-Sdk-Date`` value for an instant (naive values are taken as UTC)."""
    if when.tzinfo is not None:
        when = when.astimezone(timezone.utc)
    return when.strftime(SDK_DATE_FORMAT)


def check_sdk_date(value: str) -> str:
    """Return ``value`` normalised if it is a valid ``X-Sdk-Date``, else raise ``ValidationError``.

    The official signer re-formats the parsed date into the string to sign, so a header that
    parses but is written differently (``20240101T000000Z`` is the only spelling strptime gives
    back) must be normalised the same way or the two signatures part.
    """
    try:
        parsed = datetime.strptime(value.strip(), SDK_DATE_FORMAT)
    except ValueError:
        raise ValidationError(
            f"X-Sdk-Date {value!r} is not in the form YYYYMMDDTHHMMSSZ (UTC), e.g. 20240101T000000Z"
        ) from None
    return parsed.strftime(SDK_DATE_FORMAT)


def canonical_uri(raw_path: str) -> str:
    """The canonical URI of a request path as sent (already percent-encoded).

    Decoded as a whole, split on ``/``, each segment re-encoded, and always ending in ``/``.
    """
    segments = unquote(raw_path).split("/")
    path = "/".join(_encode(segment) for segment in segments)
    return path if path.endswith("/") else path + "/"


def parse_query(raw_query: str) -> list[tuple[str, str]]:
    """Decode a query string as sent into ``(key, value)`` pairs, keeping blanks and repeats.

    ``+`` means a space here (httpx encodes spaces in ``params`` that way); a literal plus
    arrives as ``%2B``. A bare ``key`` becomes ``(key, "")``.
    """
    pairs: list[tuple[str, str]] = []
    for part in raw_query.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        pairs.append((unquote_plus(key), unquote_plus(value)))
    return pairs


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    """The canonical query string: decoded pairs sorted, each encoded as ``k=v``, joined by ``&``.

    Spaces become ``%20`` (never ``+``). This is also the query that must be sent.
    """
    return "&".join(f"{_encode(key)}={_encode(value)}" for key, value in sorted(pairs))


def canonical_headers(headers: Mapping[str, str], signed: Sequence[str]) -> str:
    """``name:value`` lines for the signed headers (names lower-case, values stripped)."""
    lowered = {name.lower(): value.strip() for name, value in headers.items()}
    return "".join(f"{name}:{lowered[name]}\n" for name in signed)


def canonical_request(
    method: str,
    raw_path: str,
    query_pairs: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes,
) -> tuple[str, list[str]]:
    """The canonical request and the sorted list of signed header names.

    Every header in ``headers`` is signed: the caller chooses the set.
    """
    signed = sorted(name.lower() for name in headers)
    text = "\n".join(
        [
            method.upper(),
            canonical_uri(raw_path),
            canonical_query(query_pairs),
            canonical_headers(headers, signed),
            ";".join(signed),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    return text, signed


def string_to_sign(sdk_date: str, canonical: str) -> str:
    """``SDK-HMAC-SHA256``, the date, and the hex SHA-256 of the canonical request."""
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{sdk_date}\n{digest}"


def signature(sk: str, to_sign: str) -> str:
    """Hex HMAC-SHA256 of the string to sign, keyed with the secret key."""
    return hmac.new(sk.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def authorization_header(ak: str, signed_headers: Sequence[str], sig: str) -> str:
    """The ``Authorization`` header value the gateway expects."""
    return f"{ALGORITHM} Access={ak}, SignedHeaders={';'.join(signed_headers)}, Signature={sig}"


def sign(
    *,
    ak: str,
    sk: str,
    method: str,
    raw_path: str,
    query_pairs: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes,
) -> str:
    """The ``Authorization`` value for a request; ``headers`` must include ``X-Sdk-Date``."""
    by_name = {name.lower(): value for name, value in headers.items()}
    if "x-sdk-date" not in by_name:
        raise ValidationError("the headers to sign must include X-Sdk-Date")
    sdk_date = check_sdk_date(by_name["x-sdk-date"])
    canonical, signed = canonical_request(method, raw_path, query_pairs, headers, body)
    return authorization_header(ak, signed, signature(sk, string_to_sign(sdk_date, canonical)))
