"""Reading a body's raw bytes without ever holding more than a cap, nor reading past a deadline.

httpx decompresses whatever one socket read brought, in one piece: 64 KiB of a gzip bomb becomes
about 64 MiB before anyone can count it, and a few reads already hold hundreds of megabytes. So
the clients read the *raw* body (``iter_raw``) and decode it here with ``zlib``'s ``max_length``:
no call ever yields more than the bytes still allowed plus one, which is how ``BoundedBody``
learns the cap was crossed. The clients and the IAM login ask only for the encodings decoded here
(``ACCEPT_ENCODING``); an answer in any other encoding is refused rather than passed on undecoded.

``read_body`` / ``aread_body`` are the whole read of a streamed response, for the clients' sends
(``Answer``) and ``PasswordAuth``'s login alike, which word its refusals (a ``BodyRefused``:
``UnreadableEncoding``, ``BodyTooLarge``, ``BodyTooLate``) for their own callers.
"""

from __future__ import annotations

import time
import zlib

import httpx

__all__ = [
    "ACCEPT_ENCODING",
    "BodyRefused",
    "BodyTooLarge",
    "BodyTooLate",
    "BoundedBody",
    "BoundedDecoder",
    "UnreadableEncoding",
    "aread_body",
    "read_body",
]

ACCEPT_ENCODING = "gzip, deflate"


class BodyRefused(Exception):
    """A body that was not read to its end: what it is completes "the answer …"."""


class UnreadableEncoding(BodyRefused):
    """The body's ``Content-Encoding`` is not one we asked for, or its bytes do not inflate."""


class BoundedDecoder:
    """Inflates one body chunk by chunk, each ``decode`` yielding at most ``room`` bytes.

    ``encoding`` is the response's ``Content-Encoding`` ("" or "identity" for none).
    """

    def __init__(self, encoding: str) -> None:
        codings = [c.strip().lower() for c in encoding.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if len(codings) > 1 or (codings and codings[0] not in {"gzip", "x-gzip", "deflate"}):
            raise UnreadableEncoding(
                f"it is encoded as {encoding!r}, which the client did not ask for "
                f"(it asks for {ACCEPT_ENCODING})"
            )
        self._coding = codings[0] if codings else None
        self._inflate = self._inflater(self._coding)
        self._started = False

    @staticmethod
    def _inflater(coding: str | None, *, raw: bool = False) -> zlib._Decompress | None:
        if coding is None:
            return None
        if coding in {"gzip", "x-gzip"}:
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        # "deflate" is meant zlib-wrapped; some servers send it raw (httpx accepts both)
        return zlib.decompressobj(-zlib.MAX_WBITS if raw else zlib.MAX_WBITS)

    def decode(self, data: bytes, room: int | None) -> bytes:
        """The inflated bytes of ``data``: at most ``room`` of them (None: no limit).

        When the answer inflates to more than ``room``, the rest stays unread; the caller, which
        asked for one byte more than it allows, sees the overflow and stops reading.
        """
        if self._inflate is None:
            return data
        limit = 0 if room is None else max(room, 1)  # zlib: 0 means unlimited
        try:
            out = self._inflate.decompress(data, limit)
        except zlib.error as exc:
            if self._coding == "deflate" and not self._started:
                self._inflate = self._inflater("deflate", raw=True)
                return self.decode(data, room)
            raise UnreadableEncoding(f"its {self._coding} bytes do not inflate ({exc})") from exc
        self._started = True
        return out


class BodyTooLarge(BodyRefused):
    """The body decompressed to more than ``limit`` bytes; it was not read further."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"is larger than {limit:,} bytes once decompressed")
        self.limit = limit


class BodyTooLate(BodyRefused):
    """The deadline passed while the body was still arriving."""


class BoundedBody:
    """Collects one body as it streams in, within ``max_bytes`` (decompressed) and ``deadline``.

    ``encoding`` is the response's ``Content-Encoding`` (``UnreadableEncoding`` at once if it is
    not one we decode); ``max_bytes`` None is no cap, ``deadline`` (``time.monotonic()``) None no
    deadline. Each ``feed`` takes one raw chunk (``iter_raw``); what was read is dropped as soon
    as the cap is crossed, so a body is never held beyond the cap plus one raw chunk. ``of``
    starts the read of a response.
    """

    streaming = True

    @classmethod
    def of(
        cls, response: httpx.Response, max_bytes: int | None, deadline: float | None
    ) -> BoundedBody:
        """The read of ``response``'s body; when ``streaming`` is False the body is read already.

        An answer built in memory (``httpx.MockTransport``, a test's transport) was read and
        decoded by httpx already: there is no raw stream left, only its content to check.
        """
        if not response.is_stream_consumed:
            return cls(response.headers.get("content-encoding", ""), max_bytes, deadline)
        body = cls("", max_bytes, deadline)
        body.streaming = False
        body.feed(response.content)
        return body

    def __init__(self, encoding: str, max_bytes: int | None, deadline: float | None) -> None:
        self._decoder = BoundedDecoder(encoding)
        self._max_bytes = max_bytes
        self._deadline = deadline
        self._chunks: list[bytes] = []
        self._size = 0

    def feed(self, raw: bytes) -> None:
        """One raw chunk in; ``BodyTooLarge`` beyond the cap, ``BodyTooLate`` past the deadline,
        ``UnreadableEncoding`` if it does not inflate."""
        limit = self._max_bytes
        try:
            chunk = self._decoder.decode(raw, None if limit is None else limit - self._size + 1)
        except UnreadableEncoding:
            self._chunks.clear()
            raise
        self._size += len(chunk)
        if limit is not None and self._size > limit:
            self._chunks.clear()
            raise BodyTooLarge(limit)
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise BodyTooLate("the deadline passed while the body was arriving")
        self._chunks.append(chunk)

    def content(self) -> bytes:
        """The body read so far, decompressed."""
        return b"".join(self._chunks)


def read_body(response: httpx.Response, max_bytes: int | None, deadline: float | None) -> bytes:
    """``response``'s body (sent with ``stream=True``), decompressed, read raw chunk by chunk
    within ``max_bytes`` and ``deadline`` (``BodyRefused`` otherwise). The caller closes it."""
    body = BoundedBody.of(response, max_bytes, deadline)
    if body.streaming:
        for raw in response.iter_raw():
            body.feed(raw)
    return body.content()


async def aread_body(
    response: httpx.Response, max_bytes: int | None, deadline: float | None
) -> bytes:
    """``read_body`` for an ``httpx.AsyncClient``'s response."""
    body = BoundedBody.of(response, max_bytes, deadline)
    if body.streaming:
        async for raw in response.aiter_raw():
            body.feed(raw)
    return body.content()
