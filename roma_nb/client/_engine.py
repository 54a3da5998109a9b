"""The one send engine both clients share: sending, retrying, throttling, without I/O.

As httpx's auth flows do, a request is sent by a generator that yields what to do and receives
what came of it:

* ``Send(call)`` — transmit this request once; the reply is the ``httpx.Response``, or the
  transport exception is thrown back in at the ``yield``;
* ``Sleep(seconds)`` — wait this long (a backoff, a ``Retry-After``, the batch throttle's pause);
* ``Record(write)`` — run this blocking history write (``Recorder.begin``/``complete``); the reply
  is what it returned.

``Engine.send`` is that generator for one ``Call`` under the ``RetryPolicy`` and a batch's
``Throttle``; ``Engine.run`` drives an ``Operation`` (the reads and the reset of ``_base``, the
rewind procedure), turning each ``Call`` it yields into a retried send and a decoded body.
``drive`` performs the commands with blocking I/O (``RomaClient``); ``AsyncRomaClient._drive``
performs the same commands with ``await``. So the retry rules, the throttle's waiting loop and
the error wording exist once, and each client adds only a loop of a dozen lines.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any, Generic, Literal, Protocol, TypeVar, cast
from urllib.parse import quote

import httpx

from ..errors import OutcomeUnknown, TransportError, api_error_from_response, parse_retry_after
from ._retry import RetryPolicy
from ._throttle import Throttle

__all__ = [
    "Call",
    "Command",
    "Engine",
    "Flow",
    "Operation",
    "Record",
    "Send",
    "Skipped",
    "Sleep",
    "Steps",
    "StopSignal",
    "classify",
    "decode",
    "drive",
]

T = TypeVar("T")
R = TypeVar("R")
C = TypeVar("C")

logger = logging.getLogger("roma_nb.client")

POLL = 0.1
"""Longest single wait for the throttle, so a stop signal set meanwhile is seen soon."""


@dataclass(frozen=True, slots=True)
class Call:
    """One request to make, described without I/O so both clients can send it."""

    method: str
    path: str
    action: str
    query: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None

    @property
    def target(self) -> str:
        """Path and canonical query (sorted, ``%20`` for spaces) exactly as they are sent.

        Building the query ourselves, in the form ``SDK-HMAC-SHA256`` signs, means an AK/SK
        signature always covers the bytes that go on the wire.
        """
        if not self.query:
            return self.path
        pairs = sorted((quote(k, safe="~"), quote(v, safe="~")) for k, v in self.query)
        return self.path + "?" + "&".join(f"{k}={v}" for k, v in pairs)


@dataclass(frozen=True, slots=True)
class Send:
    """Transmit ``call`` once; the reply is the response (its body read)."""

    call: Call


@dataclass(frozen=True, slots=True)
class Sleep:
    """Wait ``seconds`` before going on."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Record(Generic[R]):
    """Run ``write`` (a history write that may block); the reply is what it returned."""

    write: Callable[[], R]


Command = Call | Send | Sleep | Record[Any]

Operation = Generator[Command, Any, T]
"""Work described without I/O: it yields ``Call``s (the reply is the decoded JSON body; an error
answer is raised at the ``yield``) or the engine's own commands, and returns its result. Both
clients drive the same operations (``_run``), so paging, records and procedures exist once."""

Flow = Generator[Send | Sleep | Record[Any], Any, T]
"""An operation reduced to the commands a driver performs: ``Send``, ``Sleep``, ``Record``."""


class StopSignal(Protocol):
    """Anything with ``is_set()``: a ``threading.Event``, an ``asyncio.Event``, the panel's flag."""

    def is_set(self) -> bool: ...


class Skipped(Exception):
    """Raised inside a batch when the stop signal was set before the target's first send."""


# -- what a failed send means ------------------------------------------------------------------

Reach = Literal["not-sent", "sent"]


def classify(exc: httpx.TransportError) -> Reach:
    """Could the service have seen this request?

    Connection set-up failures (refused, DNS, TLS, connect timeout, no free connection in the
    pool) happen before a byte of the request is sent. Everything else — a write cut short, a read
    timeout, a connection closed without an answer — may have delivered the request.
    """
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
        return "not-sent"
    return "sent"


def _is_tls_refusal(exc: httpx.TransportError) -> bool:
    text = str(exc)
    return "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text


def transport_failure(
    exc: httpx.TransportError, call: Call, endpoint: str, attempts: int, timeout: float | None
) -> TransportError | OutcomeUnknown:
    """The error to raise once a transport failure is final, worded for a person."""
    kind = type(exc).__name__
    if _is_tls_refusal(exc):
        return TransportError(
            f"{call.action} failed: the TLS certificate of {endpoint} is not trusted. "
            "If this is a private deployment, pass verify='/path/to/ca.pem', or set "
            "ROMA_NB_CA_BUNDLE and use roma_nb.connect(). Nothing was sent.",
            attempts=attempts,
        )
    if classify(exc) == "not-sent":
        return TransportError(
            f"{call.action} failed: could not connect to {endpoint} ({kind}) after "
            f"{attempts} attempt(s). Nothing was sent.",
            attempts=attempts,
        )
    if call.method == "GET":
        return TransportError(
            f"{call.action} failed: no complete answer from {endpoint} ({kind}) after "
            f"{attempts} attempt(s).",
            attempts=attempts,
        )
    waited = f" within {timeout:g} s" if timeout and isinstance(exc, httpx.ReadTimeout) else ""
    return OutcomeUnknown(
        f"{call.action}: the request was sent but no answer came back{waited} ({kind}). "
        "The reset may or may not have happened; resetting to the same instant again is safe "
        "(it is idempotent).",
        attempts=attempts,
    )


def decode(response: httpx.Response, call: Call, attempts: int = 1) -> Any:
    """The JSON body of a 2xx answer; an ``ApiError`` (with ``attempts``) for anything else."""
    if response.is_success:
        try:
            return response.json() if response.content.strip() else {}
        except (ValueError, RecursionError):  # not JSON, or nested beyond the parser
            action = f"{call.action} returned a body that is not JSON;"
    else:
        action = call.action
    error = api_error_from_response(
        response.status_code, response.headers, response.content, action=action
    )
    error.attempts = attempts
    raise error


# -- walking a generator of commands ----------------------------------------------------------


class Steps(Generic[C, T]):
    """Walks a generator of commands for whoever performs them: ``Engine.run`` and each driver.

    Iterating gives each command; what the ``with steps:`` block sets as ``steps.reply`` goes
    back into the generator, or the exception the block raised is thrown in at its ``yield``.
    When the generator returns, iteration ends and ``steps.result`` holds what it returned::

        steps = Steps(flow)
        for command in steps:
            with steps:
                steps.reply = perform(command)
        return steps.result
    """

    def __init__(self, commands: Generator[C, Any, T]) -> None:
        self._commands = commands
        self.reply: Any = None
        self.result: T = cast(T, None)
        self._error: Exception | None = None

    def __iter__(self) -> Iterator[C]:
        commands = self._commands
        while True:
            reply, error, self.reply, self._error = self.reply, self._error, None, None
            try:
                command = commands.send(reply) if error is None else commands.throw(error)
            except StopIteration as done:
                self.result = done.value
                return
            yield command

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: object
    ) -> bool:
        if isinstance(error, Exception):
            self._error = error
            return True
        return False  # cancellation, KeyboardInterrupt and GeneratorExit go on out


# -- the engine --------------------------------------------------------------------------------


def _admit(throttle: Throttle, stop: StopSignal | None) -> Flow[None]:
    """Wait until the throttle admits a send; ``Skipped`` if ``stop`` is set first."""
    while True:
        if stop is not None and stop.is_set():
            raise Skipped
        wait = throttle.try_start()
        if wait is None:
            return
        yield Sleep(min(wait, POLL))


@dataclass(frozen=True, slots=True)
class Engine:
    """How one client sends: its retry policy, and the endpoint and timeout errors name."""

    retry: RetryPolicy
    endpoint: str
    read_timeout: float | None

    def send(
        self, call: Call, throttle: Throttle | None = None, stop: StopSignal | None = None
    ) -> Flow[tuple[httpx.Response, int]]:
        """Send ``call`` under the retry policy; return the final response and the send count.

        Only a send that cannot have reached the service, or a 429/503, is repeated — except
        for GETs, which are safe to repeat whatever happened. ``stop`` is honoured before the
        first send only: a retry finishes what was started.
        """
        throttle = throttle or Throttle(1)
        policy = self.retry
        attempt = 0
        resent = 0  # requests an auth flow sent again inside one attempt (re-login after 0307)
        while True:
            yield from _admit(throttle, stop if attempt == 0 else None)
            attempt += 1
            logger.debug("%s %s (attempt %d)", call.method, call.path, attempt)
            try:
                response: httpx.Response = yield Send(call)
            except httpx.TransportError as exc:
                throttle.finish()
                repeatable = classify(exc) == "not-sent" or call.method == "GET"
                if repeatable and not _is_tls_refusal(exc) and policy.should_retry_connect(attempt):
                    yield Sleep(policy.delay(attempt) or 0.0)
                    continue
                raise transport_failure(
                    exc, call, self.endpoint, attempt + resent, self.read_timeout
                ) from None
            except Exception:
                throttle.finish()
                raise
            resent += len(response.history)
            if policy.should_retry_status(response.status_code, attempt):
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                delay = policy.delay(attempt, retry_after)
                if delay is not None:
                    logger.debug("HTTP %d: retrying in %.2f s", response.status_code, delay)
                    throttle.finish(throttled=True, retry_after=retry_after, backoff=delay)
                    continue
            throttle.finish()
            return response, attempt + resent

    def run(self, operation: Operation[T]) -> Flow[T]:
        """``operation`` with each ``Call`` sent (retried, decoded); other commands pass through.

        What a command raised is raised inside the operation at its ``yield``, so an operation
        may catch an ``ApiError`` and go on; uncaught, it propagates to the caller.
        """
        steps = Steps(operation)
        for command in steps:
            with steps:
                if isinstance(command, Call):
                    response, attempts = yield from self.send(command)
                    steps.reply = decode(response, command, attempts)
                else:
                    steps.reply = yield command
        return steps.result


def drive(flow: Flow[T], send: Callable[[Call], httpx.Response]) -> T:
    """Perform ``flow``'s commands with blocking I/O; its result, or what it raised."""
    steps = Steps(flow)
    for command in steps:
        with steps:
            if isinstance(command, Send):
                steps.reply = send(command.call)
            elif isinstance(command, Sleep):
                time.sleep(command.seconds)
            else:
                steps.reply = command.write()
    return steps.result
