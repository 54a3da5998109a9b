"""Everything roma_nb raises, and how any error response becomes one of them.

The tree::

    RomaError                      base: catch this to catch everything roma_nb raises
    ├── ValidationError            (also ValueError) bad input, found before any request is sent
    ├── ConfigurationError         (also ValueError) endpoint / project / credentials missing
    ├── OutcomeUnknown             the request may have reached the service (timeout after send)
    ├── TransportError             nothing reached the service (connection refused, DNS, TLS)
    ├── RecordingFailed            a batch stopped because its history could not be written
    └── ApiError                   the service or something in front of it answered with an error
        ├── AuthError              401 / 403: token, signature or permission
        ├── NotFoundError          404
        ├── ThrottledError         429 (APIGW.0308): slow down, honour ``retry_after``
        ├── ServerError            5xx
        └── MalformedAnswer        (also OutcomeUnknown) an answer the client cannot use: a 2xx
                                   that is not JSON or not the documented shape, one beyond the
                                   size cap, a list beyond the record cap

Responses come in several shapes (``roma-api.md`` §3): the FDI body ``{"error_code",
"error_msg"}``, the same wrapped as ``{"code", "reason": {...}}``, gateway bodies with
``request_id``, IAM's ``{"error": {"code", "message", "title"}}``, and HTML or empty bodies from
proxies. ``api_error_from_response`` reads them all and never raises itself.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "ApiError",
    "AuthError",
    "ConfigurationError",
    "MalformedAnswer",
    "NotFoundError",
    "OutcomeUnknown",
    "RecordingFailed",
    "RomaError",
    "ServerError",
    "ThrottledError",
    "TransportError",
    "ValidationError",
    "api_error_from_response",
    "clip",
    "parse_retry_after",
]

_MAX_SNIPPET = 200


class RomaError(Exception):
    """Base class of every error roma_nb raises on purpose.

    ``attempts`` counts the requests sent for the operation that failed, retries included, so a
    batch can record truthfully how often a failed reset was tried (0: nothing was sent).
    """

    attempts: int = 1

    def __init__(self, *args: object, attempts: int | None = None) -> None:
        super().__init__(*args)
        if attempts is not None:
            self.attempts = attempts


class ValidationError(RomaError, ValueError):
    """Input that cannot be sent: raised before any request, so nothing happened remotely."""

    attempts = 0


class ConfigurationError(RomaError, ValueError):
    """The endpoint, project or credentials could not be worked out."""

    attempts = 0


class TransportError(RomaError):
    """The request did not reach the service (connection refused, DNS failure, TLS refused).

    Safe to retry: the service cannot have acted on it.
    """


class RecordingFailed(RomaError):
    """A batch stopped sending because its history could not be written (a full disk, ...).

    ``results`` holds every target's result as known (the rest ``skipped``); ``pending`` counts
    resets that were sent and whose row could not be completed: the history shows them as
    ``pending`` ("may have happened"), which is the truth until their outcome is written.
    """

    def __init__(self, message: str, *, results: list[Any], pending: int) -> None:
        super().__init__(message)
        self.results = results
        self.pending = pending


class OutcomeUnknown(RomaError):
    """The request was sent but no answer came back (read timeout, connection dropped).

    The reset may or may not have happened. Resetting to the same instant again is idempotent,
    so retrying deliberately is safe; roma_nb never does it silently.
    """


class ApiError(RomaError):
    """An error answer from ROMA Connect, the API gateway, IAM or a proxy in between."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        error_code: str | None = None,
        error_msg: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(message, attempts=attempts)
        self.message = message
        self.status_code = status_code
        self.error_code = error_code
        self.error_msg = error_msg
        self.request_id = request_id
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code!r}, "
            f"error_code={self.error_code!r}, request_id={self.request_id!r})"
        )


class AuthError(ApiError):
    """401 or 403: the token or signature was refused, expired, or lacks permission."""


class NotFoundError(ApiError):
    """404: the instance, task or project is not known to the service."""


class ThrottledError(ApiError):
    """429: too many requests. ``retry_after`` says how long the gateway asked us to wait."""


class ServerError(ApiError):
    """5xx: the service or the gateway in front of it failed."""


class MalformedAnswer(ApiError, OutcomeUnknown):
    """An answer the client cannot use: not JSON, too large, or not the documented shape.

    Also an ``OutcomeUnknown``: the service may well have acted on the request (a reset answered
    ``200`` with an HTML page was most likely accepted by something), so a batch records it as
    ``unknown`` — "Retry unknown" offers it again, and a reset to the same instant is idempotent.
    """


def clip(text: str, limit: int = 512) -> str:
    """``text`` cut to ``limit`` characters, ending in "…" when cut.

    A server's words (an error message, a success answer's ``message``) are shown and stored;
    one megabyte of them helps no one and would fill the history.
    """
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds form; dates are rare here)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        from datetime import datetime, timezone

        if when.tzinfo is None:
            return None
        seconds = (when - datetime.now(timezone.utc)).total_seconds()
    if math.isnan(seconds) or seconds < 0:
        return 0.0
    return min(seconds, 3600.0)


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def _find_error_fields(body: Any) -> tuple[str | None, str | None, str | None]:
    """(error_code, error_msg, request_id) from any known JSON error shape."""
    if not isinstance(body, Mapping):
        return None, None, None
    request_id = _as_text(body.get("request_id"))
    code = _as_text(body.get("error_code"))
    msg = _as_text(body.get("error_msg"))
    if code or msg:
        return code, msg, request_id
    reason = body.get("reason")  # the wrapped FDI form {"code": 404, "reason": {...}}
    if isinstance(reason, Mapping):
        inner_code, inner_msg, inner_id = _find_error_fields(reason)
        if inner_code or inner_msg:
            return inner_code, inner_msg, inner_id or request_id
    if isinstance(reason, str) and reason.strip():
        return _as_text(body.get("code")), reason.strip(), request_id
    error = body.get("error")  # IAM {"error": {"code", "message", "title"}}
    if isinstance(error, Mapping):
        iam_code = _as_text(error.get("code"))
        title = _as_text(error.get("title"))
        message = _as_text(error.get("message"))
        code_text = f"IAM.{iam_code}" if iam_code else None
        text = f"{title}: {message}" if title and message else (message or title)
        return code_text, text, request_id
    if isinstance(error, str) and error.strip():
        return None, error.strip(), request_id
    message = _as_text(body.get("message")) or _as_text(body.get("msg"))
    return _as_text(body.get("code")), message, request_id


_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def _snippet_of_text(body: bytes) -> str | None:
    """A short readable line from a non-JSON body: an HTML page's title or its first words."""
    text = body[:20_000].decode("utf-8", errors="replace")
    title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
    if title:
        text = title.group(1)
    else:
        text = _TAG.sub(" ", text)
    text = _SPACE.sub(" ", html.unescape(text)).strip()
    text = "".join(ch for ch in text if ch.isprintable())
    if not text:
        return None
    return text if len(text) <= _MAX_SNIPPET else text[: _MAX_SNIPPET - 1] + "…"


_HINTS: Mapping[str, str] = {
    "APIGW.0301": "the token or AK/SK signature was refused; check the credentials",
    "APIG.0301": "the token or AK/SK signature was refused; check the credentials",
    "APIGW.0307": "the token has expired; log in again",
    "APIG.0307": "the token has expired; log in again",
    "APIGW.0302": "these credentials are not allowed to call this API",
    "APIG.0302": "these credentials are not allowed to call this API",
    "APIGW.0308": "the gateway is throttling requests; slow down and retry later",
    "APIG.0308": "the gateway is throttling requests; slow down and retry later",
    "APIGW.0201": "the gateway could not reach the service",
    "APIG.0201": "the gateway could not reach the service",
    "FDI.3002": "a parameter was refused as invalid",
    "FDI.3021": "the task does not exist",
    "FDI.3081": "the task does not exist",
    "FDI.3180": "the task does not belong to this project",
    "FDI.3023": "the task is running; stop it before resetting its progress",
    "FDI.9999": "the service reported an internal network error",
}

_STATUS_WORDS: Mapping[int, str] = {
    400: "the request was refused as invalid",
    401: "the credentials were refused",
    403: "access is forbidden for these credentials",
    404: "not found",
    408: "the request timed out at the server",
    409: "the request conflicts with the current state",
    429: "too many requests; the service is throttling",
    500: "the service failed with an internal error",
    502: "a gateway could not get an answer from the service",
    503: "the service is unavailable",
    504: "a gateway timed out waiting for the service",
}


def _class_for(status_code: int) -> type[ApiError]:
    if status_code in (401, 403):
        return AuthError
    if status_code == 404:
        return NotFoundError
    if status_code == 429:
        return ThrottledError
    if status_code >= 500:
        return ServerError
    return ApiError


def api_error_from_response(
    status_code: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    action: str = "The request",
) -> ApiError:
    """Build the right ``ApiError`` subclass from any error response; never raises.

    ``headers`` should be case-insensitive (an ``httpx.Headers``); ``action`` names what was
    attempted ("Resetting task t-1"), so the message reads as a sentence.
    """
    parsed: Any = None
    if body.strip():
        try:
            parsed = json.loads(body)
        except (ValueError, RecursionError):
            parsed = None
    error_code, error_msg, body_request_id = _find_error_fields(parsed)
    request_id = headers.get("x-request-id") or body_request_id
    if error_msg is None and parsed is None and body.strip():
        error_msg = _snippet_of_text(body)
    if error_msg:
        error_msg = clip(error_msg)
    retry_after = parse_retry_after(headers.get("retry-after"))

    what = _HINTS.get(error_code or "") or _STATUS_WORDS.get(status_code)
    if what is None:
        what = "the server answered with an error" if status_code >= 400 else "unexpected answer"
    parts = [f"{action} failed with HTTP {status_code}: {what}."]
    if error_code or error_msg:
        detail = " ".join(p for p in (error_code, error_msg) if p)
        parts.append(f"Service said: {detail}.".replace("..", "."))
    elif not body.strip():
        parts.append("The response body was empty (likely a proxy or load balancer).")
    if retry_after is not None and status_code in (429, 503):
        parts.append(f"Retry after {retry_after:g} s.")
    if request_id:
        parts.append(f"Request id: {request_id}.")
    return _class_for(status_code)(
        " ".join(parts),
        status_code=status_code,
        error_code=error_code,
        error_msg=error_msg,
        request_id=request_id,
        retry_after=retry_after,
    )
