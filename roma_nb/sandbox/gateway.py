"""The layer in front of the routes, doing what Huawei's API gateway does before the backend.

For every API request (everything but the ``/_sandbox`` control paths) it: gives the request an
id (``X-Request-Id`` on every answer), reads the body once, waits the configured latency with
``asyncio.sleep`` (so one slow answer never holds up the others), checks credentials, and
records the exchange as a ``Call`` *before* the answer's last bytes leave, so a test that has
its response can already see the call.

It is a plain ASGI middleware rather than Starlette's ``BaseHTTPMiddleware`` because it must
replay the body it read, and see every message the app sends.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime, timezone

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .credentials import check_credentials
from .fdi import REQUEST_ID_KEY
from .incoming import Incoming
from .records import Call
from .state import SandboxState

__all__ = ["CONTROL_PREFIX", "Gateway"]

CONTROL_PREFIX = "/_sandbox"


def is_control_path(path: str) -> bool:
    return path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/")


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or ``None`` if the client went away while sending it."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the already-read body to the app, then defers to the server."""
    done = False

    async def replay() -> Message:
        nonlocal done
        if not done:
            done = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class Exchange:
    """One request on its way through: adds ``X-Request-Id`` and records the ``Call`` once."""

    def __init__(self, state: SandboxState, incoming: Incoming, send: Send) -> None:
        self.state = state
        self.incoming = incoming
        self.started = time.monotonic()
        self.at = datetime.now(timezone.utc)
        self.status: int | None = None
        self.fault: str | None = None
        self.recorded = False
        self._send = send

    def record(self, status: int | None) -> None:
        if self.recorded:
            return
        self.recorded = True
        incoming = self.incoming
        self.state.record_call(
            Call(
                request_id=incoming.request_id,
                method=incoming.method,
                path=incoming.path,
                raw_path=incoming.raw_path,
                query=incoming.query,
                headers=incoming.headers,
                body=incoming.body,
                at=self.at,
                started=self.started,
                finished=time.monotonic(),
                status=status,
                fault=self.fault,
            )
        )

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            headers = [*message.get("headers", ()), (b"x-request-id", self.request_id.encode())]
            message = {**message, "headers": headers}
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            self.record(self.status)
        await self._send(message)

    @property
    def request_id(self) -> str:
        return self.incoming.request_id


class Gateway:
    """ASGI middleware: request id, latency, credentials, recording (see the module docstring)."""

    def __init__(self, app: ASGIApp, state: SandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_control_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:
            return
        request_id = uuid.uuid4().hex
        incoming = Incoming.from_scope(scope, body, request_id)
        exchange = Exchange(self.state, incoming, send)
        scope = {**scope, REQUEST_ID_KEY: request_id}
        replay = _replay(body, receive)
        try:
            latency = self.state.latency_ms
            if latency > 0:
                await asyncio.sleep(latency / 1000)
            refusal = check_credentials(self.state, incoming)
            if refusal is not None:
                await refusal(scope, replay, exchange.send)
                return
            await self.app(scope, replay, exchange.send)
        finally:
            exchange.record(exchange.status)
