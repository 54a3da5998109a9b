"""Checking the ids that go into URL paths, before anything is sent.

The service allows 1..64 characters for ``project_id``, ``instance_id`` and ``task_id``. An id
that breaks those rules is refused here with ``ValidationError`` so that no request is sent, and
every id that passes is still percent-escaped as one path segment (``quote(v, safe="")``), so an
id like ``../x`` or ``a/b`` can never change which URL is called.
"""

from __future__ import annotations

import functools
import unicodedata
from urllib.parse import quote

from .errors import ValidationError

__all__ = ["MAX_ID_LENGTH", "check_id", "path_segment"]

MAX_ID_LENGTH = 64


def check_id(kind: str, value: object) -> str:
    """Return ``value`` if it is a usable id, else raise ``ValidationError`` naming ``kind``."""
    if not isinstance(value, str):
        raise ValidationError(f"{kind} must be a string, not {type(value).__name__}.")
    if not value:
        raise ValidationError(f"{kind} is empty; pick one (it is 1 to {MAX_ID_LENGTH} characters).")
    if value != value.strip():
        raise ValidationError(f"{kind} {value!r} has leading or trailing spaces; remove them.")
    if len(value) > MAX_ID_LENGTH:
        raise ValidationError(
            f"{kind} is {len(value)} characters long; the service allows at most {MAX_ID_LENGTH}."
        )
    # Printable ASCII (every real id) holds no control character: skip the per-character walk.
    for ch in "" if value.isascii() and value.isprintable() else value:
        if unicodedata.category(ch)[0] == "C":
            raise ValidationError(
                f"{kind} {value!r} contains the control character U+{ord(ch):04X}; "
                "copy the id again from the console."
            )
    if value in (".", ".."):
        raise ValidationError(f"{kind} {value!r} is not an id.")
    return value


def path_segment(kind: str, value: object) -> str:
    """Check ``value`` and escape it as exactly one URL path segment."""
    if type(value) is str:
        return _segment(kind, value)
    return quote(check_id(kind, value), safe="")


@functools.lru_cache(maxsize=4096)
def _segment(kind: str, value: str) -> str:
    """``path_segment`` of a string, remembered: a batch addresses the same instance (and a
    retry the same task) again and again. A refused id raises, and is not remembered."""
    return quote(check_id(kind, value), safe="")
