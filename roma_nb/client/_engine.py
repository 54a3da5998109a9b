"""The one send engine both clients share: sending, retrying, throttling, without I/O.

As httpx's auth flows do, a request is sent by a generator that yields what to do and receives
what came of it:

* ``Send(call, deadline, max_bytes)`` — transmit this request once, reading its answer with
  ``Answer`` (no later than ``deadline``, no more than ``max_bytes`` decompressed); the reply is
  a ``Reply`` (status, headers, decompressed body), or the exception is thrown back in at the
  ``yield``;
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

import json
import logging
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any, Generic, Literal, Protocol, TypeVar, cast
from urllib.parse import quote

import httpx

from ..errors import (
    ApiError,
    MalformedAnswer,
    OutcomeUnknown,
    TransportError,
    api_error_from_response,
    parse_retry_after,
)
from ..transport.body import BodyRefused, BodyTooLarge, BodyTooLate, aread_body, read_body
from ._retry import RetryPolicy
from ._throttle import Throttle

__all__ = [
    "MAX_ANSWER_BYTES",
    "MAX_LIST_RECORDS",
    "Answer",
    "Bounds",
    "Call",
    "Command",
    "Cutoff",
    "DeadlineExceeded",
    "Engine",
    "Flow",
    "Operation",
    "Record",
    "Reply",
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
    """Transmit ``call`` once; the reply is the response, its body read by ``Answer``.

    ``deadline`` (``time.monotonic()`` seconds, or None) is when the whole call must be over;
    ``max_bytes`` (or None) caps the body, counted after decompression.
    """

    call: Call
    deadline: float | None = None
    max_bytes: int | None = None


MAX_ANSWER_BYTES = 8 << 20
"""8 MiB: a full page of 999 tasks is about 1 MiB; a reset's answer a few bytes."""

MAX_LIST_RECORDS = 100_000
"""Far above any real project's instances, tasks or a task's logs."""


@dataclass(frozen=True, slots=True)
class Bounds:
    """What one call may cost, whatever the server does (DESIGN.md, Bounds).

    ``deadline`` — seconds a call may take in all, retries and waits included (httpx's timeouts
    apply to each read, so a server trickling a byte a second would otherwise hold a call
    forever); None: no limit. ``max_answer_bytes`` — the largest answer read, decompressed (a
    small gzip may expand to gigabytes). ``max_list_records`` — the most records one list call
    collects (a server may announce a ``total`` it never reaches, with new ids on every page).
    """

    deadline: float | None = None
    max_answer_bytes: int = MAX_ANSWER_BYTES
    max_list_records: int = MAX_LIST_RECORDS

    def __post_init__(self) -> None:
        if self.deadline is not None and not self.deadline > 0:
            raise ValueError("deadline must be a positive number of seconds, or None")
        if self.max_answer_bytes < 1 or self.max_list_records < 1:
            raise ValueError("max_answer_bytes and max_list_records must be at least 1")


class DeadlineExceeded(httpx.ReadTimeout):
    """The call's deadline passed while its answer was still arriving."""


class Answer:
    """Reads one answer whole, within the call's deadline and size cap, as a ``Reply``.

    Both drivers stream the response (``send(..., stream=True)``); ``read_body`` /
    ``aread_body`` (``roma_nb.transport.body``) take its *raw* chunks and inflate them never
    beyond the bytes still allowed plus one, so a body — however well it compresses — is never
    held beyond ``max_bytes`` (plus one raw chunk) and never read past the deadline. Their
    refusals are worded here for the call: ``MalformedAnswer``, or ``DeadlineExceeded``.
    """

    def __init__(self, response: httpx.Response, command: Send) -> None:
        self._response = response
        self._command = command

    def read(self) -> Reply:
        """The answer, read blocking (the caller closes the response)."""
        command = self._command
        try:
            content = read_body(self._response, command.max_bytes, command.deadline)
        except BodyRefused as exc:
            raise self._refusal(exc) from None
        return self._reply(content)

    async def aread(self) -> Reply:
        """The answer, read with ``await`` (the caller closes the response)."""
        command = self._command
        try:
            content = await aread_body(self._response, command.max_bytes, command.deadline)
        except BodyRefused as exc:
            raise self._refusal(exc) from None
        return self._reply(content)

    def _refusal(self, exc: BodyRefused) -> MalformedAnswer | DeadlineExceeded:
        """What the call raises for a body the read refused."""
        if isinstance(exc, BodyTooLate):
            return DeadlineExceeded("the call's deadline passed while its answer was arriving")
        if isinstance(exc, BodyTooLarge):
            return self._malformed(
                f"{exc}, so it was not read further. A real answer is far smaller; raise "
                "max_answer_bytes on the client only if you trust this server."
            )
        return self._malformed(str(exc))

    def _malformed(self, what: str) -> MalformedAnswer:
        """The refusal of this answer: ``what`` completes "the answer (HTTP 200) …"."""
        response = self._response
        if not what.startswith("is "):
            what = f"cannot be read: {what}."
        return MalformedAnswer(
            f"{self._command.call.action}: the answer (HTTP {response.status_code}) {what}",
            status_code=response.status_code,
            request_id=response.headers.get("x-request-id"),
        )

    def _reply(self, content: bytes) -> Reply:
        """The answer as the engine reads it: status, headers and the decompressed body.

        A small value rather than a rebuilt ``httpx.Response``: building one per call cost a
        measurable part of a reset's time in our own code (``bench/``).
        """
        response = self._response
        return Reply(response.status_code, response.headers, content, len(response.history))


@dataclass(frozen=True, slots=True)
class Reply:
    """What a ``Send`` brings back: an answer read whole, within its deadline and size cap.

    ``content`` is the body decompressed; ``headers`` are the answer's (case-insensitive);
    ``resent`` counts the requests an auth flow sent again inside this one send (a re-login).
    """

    status_code: int
    headers: httpx.Headers
    content: bytes
    resent: int = 0

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    def json(self) -> Any:
        return json.loads(self.content)


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


@dataclass(frozen=True, slots=True)
class Cutoff:
    """When a batch stops sending: ``at`` (``time.monotonic()``), after its budget of ``seconds``.

    A call's own deadline bounds one call; a batch's cutoff bounds every send of the batch,
    retries included: a 429 whose retry could only start after it is not sent again.
    """

    at: float
    seconds: float

    def allows(self, wait: float = 0.0) -> bool:
        """Could a send that waits ``wait`` seconds first still start before the cutoff?"""
        return time.monotonic() + wait < self.at


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
    exc: httpx.TransportError,
    call: Call,
    endpoint: str,
    attempts: int,
    timeout: float | None,
    deadline: float | None = None,
) -> TransportError | OutcomeUnknown:
    """The error to raise once a transport failure is final, worded for a person.

    ``deadline`` (seconds) is given when the call's deadline ran out: that is then the reason.
    """
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
    if deadline is not None:
        kind = f"the call's deadline of {deadline:g} s ran out"
    if call.method == "GET":
        return TransportError(
            f"{call.action} failed: no complete answer from {endpoint} ({kind}) after "
            f"{attempts} attempt(s).",
            attempts=attempts,
        )
    waited = f" within {timeout:g} s" if timeout and isinstance(exc, httpx.ReadTimeout) else ""
    if deadline is not None:
        waited = ""
    return OutcomeUnknown(
        f"{call.action}: the request was sent but no answer came back{waited} ({kind}). "
        "The reset may or may not have happened; resetting to the same instant again is safe "
        "(it is idempotent).",
        attempts=attempts,
    )


def decode(response: Reply, call: Call, attempts: int = 1) -> Any:
    """The JSON body of a 2xx answer; an ``ApiError`` (with ``attempts``) for anything else.

    A 2xx that is not JSON is a ``MalformedAnswer``: something accepted the request, so for a
    reset the outcome is unknown, not failed.
    """
    if response.is_success:
        try:
            return response.json() if response.content.strip() else {}
        except (ValueError, RecursionError):  # not JSON, or nested beyond the parser
            pass
    error = api_error_from_response(
        response.status_code, response.headers, response.content, action=call.action
    )
    if response.is_success:
        said = f" It said: {error.error_msg}." if error.error_msg else ""
        if call.method != "GET":
            said += " Sending the same reset again is safe (it is idempotent)."
        if error.request_id:
            said += f" Request id: {error.request_id}."
        error = MalformedAnswer(
            f"{call.action}: the service answered HTTP {response.status_code} with a body that "
            f"is not JSON, so what it did is unknown.{said}",
            status_code=error.status_code,
            error_msg=error.error_msg,
            request_id=error.request_id,
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


def _admit(throttle: Throttle, stop: StopSignal | None, cutoff: Cutoff | None = None) -> Flow[bool]:
    """Wait until the throttle admits a send (True); ``Skipped`` if ``stop`` is set first.

    False once ``cutoff`` has passed: the throttle's pause outlasted the batch's budget.
    """
    while True:
        if stop is not None and stop.is_set():
            raise Skipped
        if cutoff is not None and not cutoff.allows():
            return False
        wait = throttle.try_start()
        if wait is None:
            return True
        yield Sleep(min(wait, POLL))


def _not_sent_again(response: Reply, call: Call, attempts: int, cutoff: Cutoff) -> ApiError:
    """The refusal (429/503) a batch's cutoff left as final, saying why it was not retried."""
    error = api_error_from_response(
        response.status_code, response.headers, response.content, action=call.action
    )
    error.message += (
        f" Not sent again: the batch's deadline of {cutoff.seconds:g} s would have passed "
        "before its retry."
    )
    error.args = (error.message,)
    error.attempts = attempts
    return error


@dataclass(frozen=True, slots=True)
class Engine:
    """How one client sends: its retry policy and bounds, the endpoint and timeout errors name."""

    retry: RetryPolicy
    endpoint: str
    read_timeout: float | None
    bounds: Bounds = Bounds()

    def _in_time(self, deadline: float | None, wait: float = 0.0) -> bool:
        """Is there time left after ``wait`` seconds for another send before ``deadline``?"""
        return deadline is None or time.monotonic() + wait < deadline

    def send(
        self,
        call: Call,
        throttle: Throttle | None = None,
        stop: StopSignal | None = None,
        cutoff: Cutoff | None = None,
    ) -> Flow[tuple[Reply, int]]:
        """Send ``call`` under the retry policy; return the final response and the send count.

        Only a send that cannot have reached the service, or a 429/503, is repeated — except
        for GETs, which are safe to repeat whatever happened. ``stop`` is honoured before the
        first send only: a retry finishes what was started. The call's deadline starts at its
        first send; no retry is made that could not start before it, nor one that could not
        start before the batch's ``cutoff`` (a 429 then stays the answer, saying so).
        """
        throttle = throttle or Throttle(1)
        policy, limit = self.retry, self.bounds.deadline
        attempt = 0
        resent = 0  # requests an auth flow sent again inside one attempt (re-login after 0307)
        deadline: float | None = None
        # What the retry waiting for the throttle would repeat: a 429/503, or a send that failed.
        refused: Reply | httpx.TransportError | None = None
        while True:
            admitted = yield from _admit(
                throttle, stop if attempt == 0 else None, None if attempt == 0 else cutoff
            )
            if not admitted:  # the throttle's pause outlasted the batch's cutoff
                assert refused is not None and cutoff is not None
                if isinstance(refused, Reply):
                    raise _not_sent_again(refused, call, attempt + resent, cutoff)
                failure = transport_failure(
                    refused, call, self.endpoint, attempt + resent, self.read_timeout
                )
                raise failure from None
            if attempt == 0 and limit is not None:
                deadline = time.monotonic() + limit
            attempt += 1
            logger.debug("%s %s (attempt %d)", call.method, call.path, attempt)
            try:
                response: Reply = yield Send(call, deadline, self.bounds.max_answer_bytes)
            except httpx.TransportError as exc:
                throttle.finish()
                repeatable = classify(exc) == "not-sent" or call.method == "GET"
                backoff = policy.delay(attempt) or 0.0
                in_time = self._in_time(deadline, backoff)
                if (
                    repeatable
                    and in_time
                    and (cutoff is None or cutoff.allows(backoff))
                    and not _is_tls_refusal(exc)
                    and policy.should_retry_connect(attempt)
                ):
                    yield Sleep(backoff)
                    refused = exc
                    continue
                raise transport_failure(
                    exc,
                    call,
                    self.endpoint,
                    attempt + resent,
                    self.read_timeout,
                    None if in_time else limit,
                ) from None
            except Exception:
                throttle.finish()
                raise
            resent += response.resent
            if policy.should_retry_status(response.status_code, attempt):
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                delay = policy.delay(attempt, retry_after)
                if delay is not None and self._in_time(deadline, delay):
                    throttle.finish(throttled=True, retry_after=retry_after, backoff=delay)
                    if cutoff is not None and not cutoff.allows(delay):
                        raise _not_sent_again(response, call, attempt + resent, cutoff)
                    logger.debug("HTTP %d: retrying in %.2f s", response.status_code, delay)
                    refused = response
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


def drive(flow: Flow[T], send: Callable[[Send], Reply]) -> T:
    """Perform ``flow``'s commands with blocking I/O; its result, or what it raised."""
    steps = Steps(flow)
    for command in steps:
        with steps:
            if isinstance(command, Send):
                steps.reply = send(command)
            elif isinstance(command, Sleep):
                time.sleep(command.seconds)
            else:
                steps.reply = command.write()
    return steps.result
