"""``AkSkAuth``: signs each request with an access key / secret key (``SDK-HMAC-SHA256``).

The signature covers a fixed set of headers this class controls (``host``, ``x-sdk-date``,
``content-type`` when present, ``x-project-id``, ``x-security-token``) rather than whatever httpx
or a proxy adds, so it stays valid in transit. Because the gateway recomputes the canonical query
from the query it receives, the query actually sent is rewritten to the canonical one (httpx
writes a space as ``+``; the signature wants ``%20``). The body is hashed byte for byte, so
``requires_request_body`` makes httpx read a streamed body first.

Signing needs no I/O, so one ``auth_flow`` serves ``httpx.Client`` and ``httpx.AsyncClient``.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import datetime, timezone

import httpx

from ..ids import check_id
from .masking import HIDDEN, install_log_redaction, mask_secret, register_secret, require_secret
from .signing import canonical_query, check_sdk_date, format_sdk_date, parse_query, sign

__all__ = ["SIGNED_HEADERS", "AkSkAuth"]

SIGNED_HEADERS = ("content-type", "host", "x-project-id", "x-sdk-date", "x-security-token")
"""The headers signed when present on the request; nothing else is."""


class AkSkAuth(httpx.Auth):
    """Signs requests as the official SDK's ``BasicCredentials(ak, sk, project_id)`` does.

    ``project_id`` is sent as ``X-Project-Id`` and ``security_token`` (temporary keys) as
    ``X-Security-Token``, both before signing. An ``X-Sdk-Date`` already on the request is reused,
    which is how fixed test vectors are reproduced; otherwise the current UTC time is used (the
    gateway refuses clocks more than 15 minutes off).
    """

    requires_request_body = True

    def __init__(
        self,
        ak: str,
        sk: str,
        *,
        project_id: str | None = None,
        security_token: str | None = None,
    ) -> None:
        self._ak = require_secret("AK", ak)
        self._sk = require_secret("SK", sk)
        self._project_id = None if project_id is None else check_id("project_id", project_id)
        self._security_token = (
            None if security_token is None else require_secret("security token", security_token)
        )
        for secret in (self._ak, self._sk, self._security_token):
            if secret is not None:
                register_secret(secret)
        install_log_redaction()

    @property
    def project_id(self) -> str | None:
        """The project sent as ``X-Project-Id``, if any (not a secret)."""
        return self._project_id

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self.sign_request(request)
        yield request

    def sign_request(self, request: httpx.Request) -> None:
        """Add the headers, rewrite the query to its canonical form, and add ``Authorization``."""
        if self._project_id is not None:
            request.headers["X-Project-Id"] = self._project_id
        if self._security_token is not None:
            request.headers["X-Security-Token"] = self._security_token
        existing = request.headers.get("X-Sdk-Date")
        if existing is not None:
            request.headers["X-Sdk-Date"] = check_sdk_date(existing)
        else:
            request.headers["X-Sdk-Date"] = format_sdk_date(datetime.now(timezone.utc))
        if "host" not in request.headers:
            request.headers["Host"] = request.url.netloc.decode("ascii")

        raw_path, _, raw_query = request.url.raw_path.decode("ascii").partition("?")
        pairs = parse_query(raw_query)
        query = canonical_query(pairs)
        if query != raw_query:
            request.url = request.url.copy_with(query=query.encode("ascii") or None)

        present = request.headers
        headers = {name: present[name] for name in SIGNED_HEADERS if name in present}
        request.headers["Authorization"] = sign(
            ak=self._ak,
            sk=self._sk,
            method=request.method,
            raw_path=raw_path,
            query_pairs=pairs,
            headers=headers,
            body=request.content,
        )

    def __repr__(self) -> str:
        parts = [f"ak={mask_secret(self._ak)!r}", f"sk={HIDDEN!r}"]
        if self._project_id is not None:
            parts.append(f"project_id={self._project_id!r}")
        if self._security_token is not None:
            parts.append(f"security_token={HIDDEN!r}")
        return f"AkSkAuth({', '.join(parts)})"
