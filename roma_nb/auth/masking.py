"""Keeping tokens, passwords, AK and SK out of reprs and log output.

Reprs use :func:`mask_secret`, which shows at most the first and last three characters of an
identifier-like secret (an AK or a token) and nothing of a password or SK.

Logs need more than careful reprs: at DEBUG level httpcore logs every response's headers, and an
IAM login answers with the token in ``X-Subject-Token``. So the auth classes register their
secrets here and install one :class:`RedactingFilter` on the httpx and httpcore loggers; it
rewrites any record that carries a registered secret, or the value of a credential header, before
a handler can see it. Filters on a logger only see records created by that very logger, which is
why each httpcore logger is named below rather than the ``httpcore`` parent.
"""

from __future__ import annotations

import logging
import re
import threading

from ..errors import ValidationError

__all__ = [
    "HIDDEN",
    "REDACTED",
    "RedactingFilter",
    "install_log_redaction",
    "mask_secret",
    "redact",
    "register_secret",
    "require_secret",
]

HIDDEN = "<hidden>"
REDACTED = "[REDACTED]"

_SHOW = 3
_MIN_TO_SHOW_ENDS = 12  # below this, showing 6 characters would give away too much
_MIN_REGISTERED = 4  # shorter "secrets" would redact ordinary words out of every log line
_MAX_REGISTERED = 256

_LOGGER_NAMES = (
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)

# A credential header's value in the reprs httpcore and httpx log: ``(b'X-Subject-Token', b'…')``,
# ``'x-auth-token': '…'``. The value runs to the matching closing quote.
_HEADER_VALUE = re.compile(
    r"""(b?(['"])(?:x-subject-token|x-auth-token|x-security-token|authorization)\2"""
    r"""\s*[:,]\s*b?(['"]))(.*?)(\3)""",
    re.IGNORECASE,
)

_lock = threading.Lock()
_registered: dict[str, None] = {}  # insertion-ordered set, oldest dropped first
_installed = False


def mask_secret(value: str | None) -> str:
    """``"HPUAEXAMPLEAK0000000"`` → ``"HPU…000"``; short values show nothing but ``…``."""
    if value is None:
        return "None"
    if len(value) < _MIN_TO_SHOW_ENDS:
        return "…"
    return f"{value[:_SHOW]}…{value[-_SHOW:]}"


def register_secret(value: str) -> None:
    """Remember ``value`` so :func:`redact` removes it from any log record."""
    if len(value) < _MIN_REGISTERED:
        return
    with _lock:
        _registered.pop(value, None)
        _registered[value] = None
        while len(_registered) > _MAX_REGISTERED:
            del _registered[next(iter(_registered))]


def redact(text: str) -> str:
    """``text`` with every registered secret and credential-header value replaced."""
    text = _HEADER_VALUE.sub(lambda m: f"{m.group(1)}{REDACTED}{m.group(5)}", text)
    with _lock:
        secrets = sorted(_registered, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a record whose message contains a secret; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record is the logging module's business
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True


def install_log_redaction() -> None:
    """Attach the filter to the httpx and httpcore loggers, once per process."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    redactor = RedactingFilter()
    for name in _LOGGER_NAMES:
        logging.getLogger(name).addFilter(redactor)


def require_secret(kind: str, value: object, *, header: bool = True) -> str:
    """Return ``value`` if it is usable, else raise ``ValidationError`` without ever echoing it.

    A value that goes into a header (token, AK, SK, security token) loses surrounding whitespace
    from a sloppy paste and may not contain a line break or control character (that would be a
    broken or injected header). A password travels in a JSON body and is kept exactly as given.
    """
    if not isinstance(value, str):
        raise ValidationError(f"{kind} must be a string, not {type(value).__name__}.")
    text = value.strip() if header else value
    if not text:
        raise ValidationError(f"{kind} is empty.")
    if header and any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text):
        raise ValidationError(f"{kind} contains a line break or control character; copy it again.")
    return text
