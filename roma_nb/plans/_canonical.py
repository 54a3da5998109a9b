"""The canonical form of a plan document and its ``plan_id``.

``plan_id`` is the SHA-256 (lower-case hex) of the document's canonical JSON, computed with the
top-level ``plan_id`` member left out. Canonical JSON here means exactly::

    json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
               allow_nan=False).encode("utf-8")

that is: object members sorted by key (by code point; every key roma_nb writes is ASCII, so this
equals RFC 8785's UTF-16 order), no whitespace between tokens, strings with only the escapes
JSON requires (``"``, ``\\``, control characters) and everything else as UTF-8, integers in
decimal, ``true`` / ``false`` / ``null``. Plan documents hold no floats.

So the id is about content, not layout: re-indenting a plan file keeps its id, changing any
value (a task, the instant, an option, the expiry) changes it. The id detects edits; it is not a
signature (anyone can compute it), so a reviewer approves a plan by its id, and applying checks
that the file still has it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

__all__ = ["canonical_json", "content_id"]


def canonical_json(document: Mapping[str, object]) -> bytes:
    """The canonical UTF-8 bytes of a JSON-able mapping (see the module docstring)."""
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def content_id(document: Mapping[str, object]) -> str:
    """SHA-256 hex of the canonical JSON of ``document`` without its top-level ``plan_id``."""
    content = {key: value for key, value in document.items() if key != "plan_id"}
    return hashlib.sha256(canonical_json(content)).hexdigest()
