"""httpx transports whose every socket operation of a send ends at the call's deadline.

httpx's timeouts apply to each read. ``BoundedBody`` bounds the body a chunk at a time, but until
the status line and headers are in, httpx does not return, and a server that sends them one byte
a second makes every read quick and the answer endless. So the transports the clients (and
``PasswordAuth``'s IAM login) build for themselves read the call's deadline from the request
(extension ``DEADLINE``) and hold it in a context variable while httpcore sends the request and
reads the headers; the network streams under httpcore cut each connect, read and write to the
time left, and fail as a timeout once none is left. A context variable follows the sync send (one
thread) and the async one (one task) alike.

A ``transport`` given to a client or to ``PasswordAuth`` (an ASGI app, a mock) is used as given.
This module is imported when a client opens or a login is made, not when ``roma_nb`` is
imported: httpx itself imports httpcore only when its first transport is built, and a notebook's
``import roma_nb`` should not pay for it sooner.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from typing import Any

import httpcore
import httpx

from .deadline import DEADLINE

__all__ = ["DEADLINE", "AsyncBoundedTransport", "BoundedTransport"]


_deadline: ContextVar[float | None] = ContextVar("roma_nb_deadline", default=None)

SocketOptions = Iterable[Any] | None


def _cut(timeout: float | None, late: type[httpcore.TimeoutException]) -> float | None:
    """``timeout`` cut to the time left before the current call's deadline; ``late`` if none."""
    deadline = _deadline.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise late("the call's deadline passed")
    return left if timeout is None else min(timeout, left)


def _pool_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """What httpx would give httpcore's pool, from the client's options (``verify``,
    ``limits``)."""
    limits: httpx.Limits = options.get("limits", httpx.Limits())
    verify: ssl.SSLContext | bool = options.get("verify", True)
    return {
        "ssl_context": httpx.create_ssl_context(verify=verify),
        "max_connections": limits.max_connections,
        "max_keepalive_connections": limits.max_keepalive_connections,
        "keepalive_expiry": limits.keepalive_expiry,
    }


# -- blocking ------------------------------------------------------------------------------


class _Stream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _cut(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _cut(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        cut = _cut(timeout, httpcore.ConnectTimeout)
        return _Stream(self._stream.start_tls(ssl_context, server_hostname, cut))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: SocketOptions = None,
    ) -> httpcore.NetworkStream:
        cut = _cut(timeout, httpcore.ConnectTimeout)
        return _Stream(self._backend.connect_tcp(host, port, cut, local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: SocketOptions = None
    ) -> httpcore.NetworkStream:
        cut = _cut(timeout, httpcore.ConnectTimeout)
        return _Stream(self._backend.connect_unix_socket(path, cut, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class BoundedTransport(httpx.HTTPTransport):
    """httpx's transport, its sends (headers included) bounded by the request's ``DEADLINE``."""

    def __init__(self, options: Mapping[str, Any]) -> None:
        super().__init__(verify=options.get("verify", True))
        self._pool = httpcore.ConnectionPool(**_pool_options(options), network_backend=_Backend())

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        token = _deadline.set(request.extensions.get(DEADLINE))
        try:
            return super().handle_request(request)
        finally:
            _deadline.reset(token)


# -- async ---------------------------------------------------------------------------------


class _AsyncStream(httpcore.AsyncNetworkStream):
    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self._stream = stream

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._stream.read(max_bytes, _cut(timeout, httpcore.ReadTimeout))

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._stream.write(buffer, _cut(timeout, httpcore.WriteTimeout))

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        cut = _cut(timeout, httpcore.ConnectTimeout)
        return _AsyncStream(await self._stream.start_tls(ssl_context, server_hostname, cut))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _AsyncBackend(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: SocketOptions = None,
    ) -> httpcore.AsyncNetworkStream:
        cut = _cut(timeout, httpcore.ConnectTimeout)
        stream = await self._backend.connect_tcp(host, port, cut, local_address, socket_options)
        return _AsyncStream(stream)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: SocketOptions = None
    ) -> httpcore.AsyncNetworkStream:
        cut = _cut(timeout, httpcore.ConnectTimeout)
        return _AsyncStream(await self._backend.connect_unix_socket(path, cut, socket_options))

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


class AsyncBoundedTransport(httpx.AsyncHTTPTransport):
    """As ``BoundedTransport``, for ``httpx.AsyncClient``."""

    def __init__(self, options: Mapping[str, Any]) -> None:
        super().__init__(verify=options.get("verify", True))
        self._pool = httpcore.AsyncConnectionPool(
            **_pool_options(options), network_backend=_AsyncBackend()
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        token = _deadline.set(request.extensions.get(DEADLINE))
        try:
            return await super().handle_async_request(request)
        finally:
            _deadline.reset(token)
