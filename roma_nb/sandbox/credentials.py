"""What the API gateway checks before a request reaches ROMA Connect: credentials and project.

Only ``/v2/...`` requests are checked (IAM's ``/v3/auth/tokens`` needs no credentials, and an
unknown path is 404 APIGW.0101 whoever asks). A request must carry one of:

* ``X-Auth-Token``: refused with 401 APIGW.0301 if the state was told to reject it, or if it is
  not one the sandbox issued and ``strict_tokens`` is on (``SandboxState.token`` is always
  good); a token the sandbox issued that has expired is 401 APIGW.0307. Without
  ``strict_tokens`` any other non-empty token is accepted, so tests need no login.
* ``Authorization: SDK-HMAC-SHA256 Access=..., SignedHeaders=..., Signature=...``: the AK must
  be known, ``X-Sdk-Date`` within ``max_clock_skew_s`` (15 min) of the server clock, and the
  signature must verify over the signed headers, raw path, raw query and body (``signature``);
  otherwise 401 APIGW.0301. After ``ak_lock_after`` (5) bad signatures within ``ak_lock_s``
  (5 minutes) the AK is locked for ``ak_lock_s``: every request with it is 401 APIGW.0301, even
  a correctly signed one, as the real gateway does.

A denied token or AK (``SandboxState.deny``) is 403 APIGW.0302, as is a ``/v2/{project_id}``
that is not the sandbox's project.
"""

from __future__ import annotations

import hmac
import time
from datetime import datetime, timezone

from starlette.responses import Response

from . import signature
from .incoming import Incoming
from .responses import gateway_error
from .state import SandboxState

__all__ = ["check_credentials"]

BAD_CREDENTIALS = "APIGW.0301"
FORBIDDEN = "APIGW.0302"
EXPIRED = "APIGW.0307"


def _unauthorized(incoming: Incoming, detail: str) -> Response:
    return gateway_error(
        401,
        BAD_CREDENTIALS,
        f"Incorrect IAM authentication information: {detail}",
        incoming.request_id,
    )


def _forbidden(incoming: Incoming, detail: str) -> Response:
    return gateway_error(403, FORBIDDEN, detail, incoming.request_id)


def _check_project(state: SandboxState, incoming: Incoming) -> Response | None:
    parts = incoming.path.split("/")
    if len(parts) > 2 and parts[2] != state.project_id:
        return _forbidden(
            incoming, "The IAM user is not authorized to access the API: wrong project id."
        )
    return None


def _check_token(state: SandboxState, incoming: Incoming, token: str) -> Response | None:
    if state.is_rejected(token):
        return _unauthorized(incoming, "decrypt token fail")
    issued = state.issued(token)
    if issued is not None:
        if issued.expires_at <= datetime.now(timezone.utc).timestamp():
            return gateway_error(401, EXPIRED, "The token must be updated.", incoming.request_id)
    elif state.options.strict_tokens and token != state.token:
        return _unauthorized(incoming, "decrypt token fail")
    if state.is_denied(token):
        return _forbidden(incoming, "The IAM user is not authorized to access the API.")
    return None


def _check_signature(state: SandboxState, incoming: Incoming, header: str) -> Response | None:
    parsed = signature.parse_authorization(header)
    if parsed is None:
        return _unauthorized(incoming, "the Authorization header is malformed")
    secret_key = state.accounts.secret_key(parsed.access_key)
    if secret_key is None:
        return _unauthorized(incoming, "the access key does not exist")
    locked = state.accounts.locked_for(parsed.access_key, time.monotonic())
    if locked:
        return _unauthorized(
            incoming,
            f"the access key is locked for {locked:.0f} s after "
            f"{state.options.ak_lock_after} failed signature checks",
        )
    sdk_date = incoming.header("x-sdk-date")
    signed_at = signature.parse_sdk_date(sdk_date or "")
    if sdk_date is None or signed_at is None:
        return _unauthorized(incoming, "X-Sdk-Date is missing or not YYYYMMDDTHHMMSSZ")
    skew = abs((datetime.now(timezone.utc) - signed_at).total_seconds())
    if skew > state.options.max_clock_skew_s:
        return _unauthorized(
            incoming,
            f"the request was signed {skew / 60:.0f} minutes away from the server time; "
            "check the client's clock",
        )
    headers: dict[str, str] = {}
    for name, value in incoming.headers:
        headers.setdefault(name, value)
    canonical = signature.canonical_request(
        incoming.method,
        incoming.raw_path,
        incoming.query,
        headers,
        parsed.signed_headers,
        incoming.body,
    )
    if canonical is None:
        return _unauthorized(incoming, "a signed header is missing from the request")
    expected = signature.signature(secret_key, signature.string_to_sign(sdk_date, canonical))
    if not hmac.compare_digest(expected, parsed.signature):
        state.accounts.bad_signature(
            parsed.access_key,
            time.monotonic(),
            limit=state.options.ak_lock_after,
            lock_s=state.options.ak_lock_s,
        )
        return _unauthorized(incoming, "verify aksk signature fail")
    if state.is_denied(parsed.access_key):
        return _forbidden(incoming, "The IAM user is not authorized to access the API.")
    return None


def check_credentials(state: SandboxState, incoming: Incoming) -> Response | None:
    """``None`` when the request may pass, else the gateway's error answer."""
    if not incoming.path.startswith("/v2/"):
        return None
    token = incoming.header("x-auth-token")
    authorization = incoming.header("authorization")
    if token:
        refusal = _check_token(state, incoming, token)
    elif authorization and authorization.startswith(signature.ALGORITHM + " "):
        refusal = _check_signature(state, incoming, authorization)
    else:
        refusal = _unauthorized(incoming, "x-auth-token not found")
    return refusal or _check_project(state, incoming)
