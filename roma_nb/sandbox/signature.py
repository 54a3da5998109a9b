"""Checking ``SDK-HMAC-SHA256`` signatures the way Huawei's API gateway does (``roma-api.md`` §4).

Written here on purpose, not shared with ``roma_nb.auth``: the sandbox is the independent party
that tells whether our signer and the official one agree with the specification.

The signature covers the headers the ``Authorization`` header lists as signed (the official SDK
signs every header it sets, ``user-agent`` included), and the path and query *as received*:

* canonical URI: each raw path segment ``quote(unquote(seg), safe="~")``, always ending in
  ``/``;
* canonical query: the raw ``key=value`` pairs, percent-decoded (``+`` stays a plus), sorted,
  re-encoded with ``quote(x, safe="~")`` and joined with ``&``;
* payload hash: sha256 of the body; for an empty body the empty hash; a non-empty body may
  instead be declared by ``X-Sdk-Content-Sha256`` (the SDK's ``UNSIGNED-PAYLOAD``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import quote, unquote

__all__ = [
    "ALGORITHM",
    "Authorization",
    "canonical_query",
    "canonical_request",
    "canonical_uri",
    "parse_authorization",
    "parse_sdk_date",
    "signature",
    "string_to_sign",
]

ALGORITHM = "SDK-HMAC-SHA256"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
EMPTY_HASH = hashlib.sha256(b"").hexdigest()

_AUTHORIZATION = re.compile(
    r"SDK-HMAC-SHA256\s+Access=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-fA-F]+)\s*"
)


@dataclass(frozen=True, slots=True)
class Authorization:
    """The parts of an ``Authorization: SDK-HMAC-SHA256 ...`` header."""

    access_key: str
    signed_headers: tuple[str, ...]
    signature: str  # hex, lower case

    def __repr__(self) -> str:  # the signature is a credential for the request it signs
        return f"Authorization(signed_headers={self.signed_headers!r})"


def parse_authorization(value: str) -> Authorization | None:
    match = _AUTHORIZATION.fullmatch(value.strip())
    if match is None:
        return None
    access_key, signed, sig = match.groups()
    headers = tuple(signed.lower().split(";"))
    if not all(headers):
        return None
    return Authorization(access_key, headers, sig.lower())


def parse_sdk_date(value: str) -> datetime | None:
    try:
        return datetime.strptime(value, DATE_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def canonical_uri(raw_path: str) -> str:
    uri = "/".join(quote(unquote(segment), safe="~") for segment in raw_path.split("/"))
    return uri if uri.endswith("/") else uri + "/"


def canonical_query(raw_query: str) -> str:
    pairs = []
    for item in raw_query.split("&"):
        if not item:
            continue
        key, _, value = item.partition("=")
        pairs.append((unquote(key), unquote(value)))
    pairs.sort()
    return "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in pairs)


def canonical_request(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Mapping[str, str],
    signed_headers: tuple[str, ...],
    body: bytes,
) -> str | None:
    """The canonical request, or ``None`` if a signed header is missing from ``headers``.

    ``headers`` maps lower-case names to values as received.
    """
    lines = []
    for name in signed_headers:
        value = headers.get(name)
        if value is None:
            return None
        lines.append(f"{name}:{value.strip()}")
    if not body:
        payload_hash = EMPTY_HASH
    else:
        payload_hash = headers.get("x-sdk-content-sha256") or hashlib.sha256(body).hexdigest()
    return "\n".join(
        [
            method.upper(),
            canonical_uri(raw_path),
            canonical_query(raw_query),
            "\n".join(lines) + "\n",
            ";".join(signed_headers),
            payload_hash,
        ]
    )


def string_to_sign(sdk_date: str, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{sdk_date}\n{digest}"


def signature(secret_key: str, to_sign: str) -> str:
    return hmac.new(secret_key.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
