"""A tiny hostile HTTP server on 127.0.0.1 for the bounds tests (issue 17).

It speaks just enough HTTP/1.1 to answer any ROMA Connect path, badly, in one of these ways:

* ``trickle`` — a 200 announcing a large JSON body, sent one byte every ``interval`` seconds;
* ``trickle-headers`` — the status line and headers themselves, one byte every ``interval``
  seconds, so the answer never gets as far as a body;
* ``bomb`` — a 200 whose gzip body is small on the wire and ``bomb_bytes`` once decompressed;
* ``liar`` — list pages announcing ``total`` 10⁹, with new ids on every page, forever;
* ``notalist`` — ``{"instances": "notalist", "entities": "notalist"}``;
* ``null-ids`` / ``missing-ids`` — list items whose id is null, or absent;
* ``br`` / ``raw-deflate`` — a 200 in an encoding not asked for / in raw (unwrapped) deflate;
* ``not-json`` — a 200 whose body is an HTML page (what a proxy may answer);
* ``big-message`` — a 200 JSON body whose ``message`` is ``message_bytes`` long;
* ``endless`` — an IAM-shaped 201 (an ``X-Subject-Token`` header) whose body never ends: blocks
  of spaces as fast as the client reads them, until ``max_seconds``.

Every loop is bounded: a trickle stops after ``max_seconds`` or when the server stops, and the
server stops by itself after ``lifetime`` seconds even if a test forgets to. It never listens
beyond the loopback interface.
"""

from __future__ import annotations

import functools
import gzip
import io
import json
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

__all__ = ["PROJECT_ID", "Hostile", "gzip_bomb", "hostile"]

PROJECT_ID = "0123456789abcdef0123456789abcdef"


@functools.cache
def gzip_bomb(size: int) -> bytes:
    """A gzip member of ``size`` zero bytes, built without holding ``size`` bytes in memory."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9, mtime=0) as zipped:
        block = bytes(1 << 20)
        left = size
        while left > 0:
            zipped.write(block[: min(left, len(block))])
            left -= len(block)
    return out.getvalue()


@dataclass
class Hostile:
    """What the server does, and what it saw (``requests``: one ``(method, path)`` per request)."""

    mode: str
    interval: float = 0.2
    max_seconds: float = 60.0
    bomb_bytes: int = 256 << 20
    message_bytes: int = 5 << 20
    lifetime: float = 300.0
    url: str = ""

    def __post_init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()

    def seen(self, method: str, path: str) -> None:
        with self._lock:
            self.requests.append((method, path))


def _handler(state: Hostile) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return None

        def do_GET(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            self._answer()

        def _send(
            self, body: bytes, *, status: int = 200, headers: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            for key, value in {"Content-Type": "application/json", **(headers or {})}.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _answer(self) -> None:
            parts = urlsplit(self.path)
            state.seen(self.command, parts.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            mode = state.mode
            if mode == "trickle":
                self._trickle()
            elif mode == "trickle-headers":
                self._dribble(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Pad: ", b"a")
            elif mode == "bomb":
                self._send(gzip_bomb(state.bomb_bytes), headers={"Content-Encoding": "gzip"})
            elif mode == "liar":
                self._send(json.dumps(_lying_page(parts.path, query)).encode())
            elif mode == "notalist":
                self._send(b'{"instances": "notalist", "entities": "notalist", "total": 3}')
            elif mode in ("null-ids", "missing-ids"):
                item: dict[str, object] = {"name": "x", "task_name": "x", "ext_type": "CDC"}
                if mode == "null-ids":
                    item |= {"id": None, "task_id": None}
                page = {"instances": [item], "entities": [item], "total": 1}
                self._send(json.dumps(page).encode())
            elif mode == "br":  # an encoding the client never asked for
                self._send(b"\x8b\x00\x80", headers={"Content-Encoding": "br"})
            elif mode == "raw-deflate":  # "deflate" without its zlib wrapper, as some servers do
                packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
                body = packer.compress(b'{"instances": [], "total": 0}') + packer.flush()
                self._send(body, headers={"Content-Encoding": "deflate"})
            elif mode == "not-json":
                self._send(b"<html><body>OK</body></html>", headers={"Content-Type": "text/html"})
            elif mode == "endless":
                self._endless()
            elif mode == "big-message":
                self._send(json.dumps({"message": "m" * state.message_bytes}).encode())
            else:
                self._send(b'{"error_code": "X", "error_msg": "unknown mode"}', status=500)

        def _trickle(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(10**9))
            self.end_headers()
            self.wfile.write(b"{")
            self.wfile.flush()
            self._dribble(b"", b" ")

        def _endless(self) -> None:
            self.send_response(201)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Subject-Token", "s" * 40)
            self.send_header("Content-Length", str(10**12))
            self.end_headers()
            block = b" " * (64 << 10)
            started = time.monotonic()
            try:
                while time.monotonic() - started < state.max_seconds:
                    if state.stopping.is_set():
                        break
                    self.wfile.write(block)
            except OSError:  # the client gave up: what the tests want
                pass
            self.close_connection = True

        def _dribble(self, start: bytes, fill: bytes) -> None:
            """``start`` one byte at a time, then ``fill`` bytes, until ``max_seconds`` or the
            server stops."""
            started = time.monotonic()
            pending = iter(start)
            try:
                while time.monotonic() - started < state.max_seconds:
                    if state.stopping.wait(state.interval):
                        break
                    self.wfile.write(bytes([next(pending, fill[0])]))
                    self.wfile.flush()
            except OSError:  # the client gave up: what the tests want
                pass
            self.close_connection = True

    return Handler


def _lying_page(path: str, query: dict[str, str]) -> dict[str, object]:
    """A full page of ids never seen before, and a total that is never reached."""
    limit = int(query.get("limit") or 100)
    offset = int(query.get("offset") or 0)
    key, id_key = ("instances", "id") if path.endswith("/instances") else ("entities", "task_id")
    items = [
        {id_key: f"lie-{offset}-{n}", "id": f"lie-{offset}-{n}", "name": "lie", "ext_type": "CDC"}
        for n in range(limit)
    ]
    return {key: items, "total": 10**9}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        return None  # a client hanging up on a hostile answer is the expected end


@contextmanager
def hostile(mode: str, **options: float) -> Iterator[Hostile]:
    """Serve ``mode`` on a free port of 127.0.0.1; the state's ``url`` is the endpoint."""
    state = Hostile(mode, **options)  # type: ignore[arg-type]
    server = _Server(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    timer = threading.Timer(state.lifetime, server.shutdown)
    timer.daemon = True
    timer.start()
    try:
        yield state
    finally:
        state.stopping.set()
        timer.cancel()
        server.shutdown()
        server.server_close()
        thread.join(10)


if __name__ == "__main__":  # a quick look by hand: python -m tests.hostile_server MODE
    import sys

    with hostile(sys.argv[1] if len(sys.argv) > 1 else "trickle") as served:
        print(served.url, flush=True)
        time.sleep(float(sys.argv[2]) if len(sys.argv) > 2 else 30)
