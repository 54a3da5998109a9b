"""``Incoming``: one request as the gateway layer sees it, read once and shared by its checks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Incoming", "decode_header"]


def decode_header(raw: bytes) -> str:
    """A header value as text: UTF-8 when it is (what the official SDK sends), else Latin-1."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


@dataclass(frozen=True, slots=True)
class Incoming:
    """Method, paths (decoded and raw), raw query, lower-cased headers and body of a request."""

    request_id: str
    method: str
    path: str
    raw_path: str
    query: str
    headers: tuple[tuple[str, str], ...] = field(repr=False)
    body: bytes = field(repr=False)

    @classmethod
    def from_scope(cls, scope: Mapping[str, Any], body: bytes, request_id: str) -> Incoming:
        raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
        return cls(
            request_id=request_id,
            method=scope["method"],
            path=scope["path"],
            raw_path=raw_path.decode("latin-1"),
            query=scope.get("query_string", b"").decode("latin-1"),
            headers=tuple(
                (name.decode("latin-1").lower(), decode_header(value))
                for name, value in scope.get("headers", ())
            ),
            body=body,
        )

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers:
            if key == lowered:
                return value
        return None
