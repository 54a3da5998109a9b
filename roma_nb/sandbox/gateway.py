"""The layer in front of the routes, doing what Huawei's API gateway does before the backend.

For every API request (everything but the ``/_sandbox`` control paths) it: gives the request an
id (``X-Request-Id`` on every answer), reads the body once, waits the configured latency with
``asyncio.sleep`` (so one slow answer never holds up the others), applies an injected fault
(``faults``), the rate limit and the credential checks, in that order, and records the exchange
as a ``Call`` *before* the answer's last bytes leave, so a test that has its response can
already see the call.

It is a plain ASGI middleware rather than Starlette's ``BaseHTTPMiddleware`` because it must
replay the body it read, see every message the app sends, hold an answer back (``slow``) and
reach the connection itself (``drop``).
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
import time
import uuid
from datetime import datetime, timezone

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .codes import TASKS_RUNNING
from .credentials import check_credentials
from .faults import Fault
from .fdi import REQUEST_ID_KEY
from .incoming import Incoming
from .records import Call
from .responses import fdi_error, gateway_error, html_page
from .state import SandboxState

__all__ = ["CONTROL_PREFIX", "Gateway", "is_control_path"]

CONTROL_PREFIX = "/_sandbox"
THROTTLED = "APIGW.0308"


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


async def _wait_for(event: threading.Event) -> None:
    while not event.is_set():
        await asyncio.sleep(0.05)


async def _pause(
    seconds: float, receive: Receive, closing: threading.Event, *, watch_client: bool
) -> bool:
    """Sleep ``seconds``; return ``True`` early if the server is closing or, with
    ``watch_client``, if the client hangs up.

    ``receive`` must be the server's own, with the body already read: its next message is
    ``http.disconnect`` when the client hangs up (uvicorn), or only after the response (httpx's
    ASGI transport, where the sleep simply runs out). ``closing`` is set by ``serve()`` on exit,
    so a long ``slow`` fault does not hold up the shutdown.
    """

    async def disconnected() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    sleeper = asyncio.ensure_future(asyncio.sleep(seconds))
    waiters = {sleeper, asyncio.ensure_future(_wait_for(closing))}
    if watch_client:
        waiters.add(asyncio.ensure_future(disconnected()))
    done, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return sleeper not in done


async def _drop_connection(receive: Receive, *, rst: bool) -> None:
    """Close the client's connection without an answer.

    Under uvicorn, ``receive`` is a bound method of its request/response cycle, which holds the
    asyncio transport: closing that ends the connection, and once uvicorn has marked the cycle
    disconnected it sends nothing (no 500) when the app returns. Without such a transport (the
    in-process ASGI transport) there is no connection to drop: raise ``ConnectionResetError``.
    """
    cycle = getattr(receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise ConnectionResetError("the sandbox dropped the connection (fault 'drop')")
    if rst:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    else:
        transport.close()
    for _ in range(400):  # connection_lost runs on a later loop iteration
        if getattr(cycle, "disconnected", True):
            return
        await asyncio.sleep(0.005)


def _retry_after(fault: Fault) -> dict[str, str]:
    return {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}


def fault_response(fault: Fault, request_id: str) -> Response | None:
    """The answer a fault gives instead of the backend's (``None`` for drop and slow)."""
    kind = fault.kind
    if kind == "throttle":
        return gateway_error(
            429,
            THROTTLED,
            "The throttling threshold has been reached: policy user over ratelimit.",
            request_id,
            _retry_after(fault),
        )
    if kind == "unavailable":
        return gateway_error(
            503,
            "APIGW.0201",
            "The backend service is temporarily unavailable; try again later.",
            request_id,
            _retry_after(fault),
        )
    if kind == "server_error":
        return fdi_error(500, "FDI.9999", "Network error, please try again later.")
    if kind == "bad_gateway_html":
        return html_page(502, "Bad Gateway")
    if kind == "task_running":
        return fdi_error(400, *TASKS_RUNNING)
    if kind == "expired_token":
        return gateway_error(401, "APIGW.0307", "The token must be updated.", request_id)
    return None


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

    @property
    def request_id(self) -> str:
        return self.incoming.request_id

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


class _Held:
    """Collects an app's answer so it can be sent later (``slow``)."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.status: int | None = None

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
        self.messages.append(message)


class Gateway:
    """ASGI middleware: request id, latency, faults, rate limit, credentials, recording."""

    def __init__(self, app: ASGIApp, state: SandboxState, closing: threading.Event) -> None:
        self.app = app
        self.state = state
        self.closing = closing

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
        try:
            await self._pass(scope, receive, _replay(body, receive), exchange)
        finally:
            exchange.record(exchange.status)

    async def _pass(
        self, scope: Scope, receive: Receive, replay: Receive, exchange: Exchange
    ) -> None:
        state, incoming = self.state, exchange.incoming
        latency = state.latency_ms
        if latency > 0 and await self._pause(latency / 1000, receive, watch_client=False):
            return
        fault = state.take_fault(incoming)
        if fault is not None:
            exchange.fault = fault.kind
            await self._fault(fault, scope, receive, replay, exchange)
            return
        refusal = self._rate_limited(exchange) or check_credentials(state, incoming)
        if refusal is not None:
            await refusal(scope, replay, exchange.send)
            return
        await self.app(scope, replay, exchange.send)

    async def _pause(self, seconds: float, receive: Receive, *, watch_client: bool) -> bool:
        """Wait; ``True`` if the answer must not be sent (client gone, or server closing,
        in which case the connection is closed as a stopping server would)."""
        if not await _pause(seconds, receive, self.closing, watch_client=watch_client):
            return False
        if self.closing.is_set():
            await _drop_connection(receive, rst=False)
        return True

    def _rate_limited(self, exchange: Exchange) -> Response | None:
        limiter = self.state.rate_limit
        if limiter is None or not exchange.incoming.path.startswith("/v2/"):
            return None
        wait = limiter.acquire()
        if wait is None:
            return None
        exchange.fault = "rate_limit"
        return gateway_error(
            429,
            THROTTLED,
            "The throttling threshold has been reached: policy user over ratelimit, "
            f"limit:{limiter.rps:g}/s.",
            exchange.request_id,
            {"Retry-After": str(wait)},
        )

    async def _fault(
        self, fault: Fault, scope: Scope, receive: Receive, replay: Receive, exchange: Exchange
    ) -> None:
        answer = fault_response(fault, exchange.request_id)
        if answer is not None:
            await answer(scope, replay, exchange.send)
        elif fault.kind == "drop":
            exchange.record(None)
            await _drop_connection(receive, rst=fault.rst)
        elif fault.effective:  # slow, and the request takes effect
            held = _Held()
            refusal = check_credentials(self.state, exchange.incoming)
            await (refusal or self.app)(scope, replay, held.send)
            exchange.record(held.status)
            if not await self._pause(fault.delay_s, receive, watch_client=True):
                for message in held.messages:
                    await exchange.send(message)
        else:  # slow, and the backend never answers: the gateway times out
            exchange.record(504)
            if not await self._pause(fault.delay_s, receive, watch_client=True):
                timeout = gateway_error(504, "APIGW.0201", "Backend timeout.", exchange.request_id)
                await timeout(scope, replay, exchange.send)
