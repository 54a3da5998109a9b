"""Decompressing an answer's raw bytes without ever producing more than the answer cap.

httpx decompresses whatever one socket read brought, in one piece: 64 KiB of a gzip bomb becomes
about 64 MiB before anyone can count it, and a few reads already hold hundreds of megabytes. So
the clients read the *raw* body (``iter_raw``) and decode it here with ``zlib``'s ``max_length``:
no call ever yields more than the bytes still allowed plus one, which is how ``Answer`` learns
the cap was crossed. The clients ask only for the encodings decoded here (``ACCEPT_ENCODING``);
an answer in any other encoding is refused rather than passed on undecoded.
"""

from __future__ import annotations

import zlib

__all__ = ["ACCEPT_ENCODING", "BoundedDecoder", "UnreadableEncoding"]

ACCEPT_ENCODING = "gzip, deflate"


class UnreadableEncoding(Exception):
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
