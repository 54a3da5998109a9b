"""What the sandbox remembers about the traffic it saw, for tests to assert on the server side.

Every request becomes a ``Call``; every reset that took effect a ``ResetRecord``; every IAM login a
``Login``. They are small frozen values handed out as snapshot lists, so a test can keep one while
the server goes on recording. ``Recorder`` guards the lists with one lock because uvicorn answers on
its own thread while the test thread reads.

Secrets: a ``Call`` keeps the request headers and body (tests need them), but neither is part of
its ``repr``, and ``Call.redacted_headers()`` is what anything that prints or serves calls must use.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["SECRET_HEADERS", "Call", "Login", "Recorder", "ResetRecord", "redact_header"]

# Header names whose values are credentials (lower case).
SECRET_HEADERS = frozenset(
    {"x-auth-token", "authorization", "x-security-token", "x-subject-token", "cookie"}
)


def _redact_passwords(value: Any) -> Any:
    """``value`` with every ``password`` member (any depth, any case) replaced by a marker."""
    if isinstance(value, dict):
        return {
            k: "<redacted>"
            if k.lower() == "password" and not isinstance(v, dict)
            else _redact_passwords(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_redact_passwords(v) for v in value]
    return value


def redact_header(name: str, value: str) -> str:
    """The value to show for header ``name``: credentials become a length marker."""
    lowered = name.lower()
    if lowered not in SECRET_HEADERS:
        return value
    if lowered == "authorization":
        # Keep the scheme and the signed header list (useful when debugging a signature), drop
        # the access key and the signature.
        scheme, _, rest = value.partition(" ")
        signed = [p.strip() for p in rest.split(",") if p.strip().startswith("SignedHeaders=")]
        return " ".join([scheme, "<redacted>", *signed])
    return f"<redacted {len(value)} chars>"


@dataclass(frozen=True, slots=True)
class Call:
    """One request the sandbox received, and what became of it.

    ``path`` is percent-decoded, ``raw_path`` and ``query`` are exactly as sent. ``status`` is
    the status the sandbox answered (or tried to: a client may have gone before a ``slow`` answer);
    it is ``None`` when no response was sent (a ``drop`` fault). ``fault`` names the injected
    fault that shaped the answer, if any. ``started`` (arrival) and ``finished`` (just before the
    answer's last bytes) are ``time.monotonic()`` readings, so tests can check that requests
    overlapped without timing anything.
    """

    request_id: str
    method: str
    path: str
    raw_path: str
    query: str
    headers: tuple[tuple[str, str], ...] = field(repr=False)
    body: bytes = field(repr=False)
    at: datetime
    started: float
    finished: float
    status: int | None
    fault: str | None = None

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or ``None``."""
        lowered = name.lower()
        for key, value in self.headers:
            if key == lowered:
                return value
        return None

    def redacted_headers(self) -> dict[str, str]:
        """Headers safe to print or serve: credentials replaced by a marker."""
        return {key: redact_header(key, value) for key, value in self.headers}

    def redacted_body(self) -> str:
        """The body as text, safe to serve: an IAM login's password replaced by a marker."""
        text = self.body.decode("utf-8", errors="replace")
        if "/auth/tokens" not in self.path:
            return text
        try:
            return json.dumps(_redact_passwords(json.loads(text)))
        except (ValueError, RecursionError):
            return f"<redacted {len(self.body)} bytes: not JSON>"


@dataclass(frozen=True, slots=True)
class ResetRecord:
    """A reset that took effect: ``date_from`` is ``None`` when the request carried none."""

    instance_id: str
    task_id: str
    date_from: int | None
    at: datetime
    request_id: str


@dataclass(frozen=True, slots=True)
class Login:
    """A successful IAM password login (``POST /v3/auth/tokens``)."""

    username: str
    domain: str
    project_id: str
    at: datetime
    request_id: str


class Recorder:
    """Thread-safe append-only lists of calls, resets and logins, cleared together."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._resets: list[ResetRecord] = []
        self._logins: list[Login] = []

    def add_call(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)

    def add_reset(self, reset: ResetRecord) -> None:
        with self._lock:
            self._resets.append(reset)

    def add_login(self, login: Login) -> None:
        with self._lock:
            self._logins.append(login)

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    @property
    def resets(self) -> list[ResetRecord]:
        with self._lock:
            return list(self._resets)

    @property
    def logins(self) -> list[Login]:
        with self._lock:
            return list(self._logins)

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()
            self._resets.clear()
            self._logins.clear()
