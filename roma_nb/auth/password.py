"""``PasswordAuth``: log in to IAM with a user's password and keep the token fresh.

IAM (``POST {iam}/v3/auth/tokens?nocatalog=true``) answers 201 with the token in the
``X-Subject-Token`` header and ``token.expires_at`` in the body. The token is cached and shared by
every request, thread and event loop that uses this object, and replaced a margin before it
expires: :func:`refresh_margin` is a fifth of its lifetime, capped at five minutes. That gives
24-hour IAM tokens a five-minute margin and a two-second sandbox token 0.4 s, enough for a call
that picked the token up to arrive while it is still valid. Lifetime is measured on IAM's own
clock (``expires_at - issued_at``) and counted from when the login was sent, so a skewed local
clock cannot make us hold a token too long.

If a call is still answered 401 with ``APIGW.0307`` / ``APIG.0307`` (token expired), the token is
dropped (only if no one has replaced it yet), a fresh one obtained, and the request sent once more;
never more than once per call.

Concurrency: a login happens under a lock, and whoever waited for it re-checks the cache, so 16
threads (or 16 tasks) that find no token cause one login, not 16. Threads share one
``threading.Lock``; coroutines share an ``asyncio.Lock`` per event loop (an asyncio lock belongs to
one loop, and a notebook may drive the same object from several). The login itself uses the same
kind of client as the call: ``httpx.Client`` from ``sync_auth_flow``, ``httpx.AsyncClient`` from
``async_auth_flow``.

Bounds: a login made inside a call is bounded like the call's own send. It carries the call's
deadline (the request extension ``DEADLINE``), goes through the bounded transport of
``roma_nb.transport`` (connect, write and the status line and headers end at the deadline), and
its body is read chunk by chunk within the deadline and ``MAX_LOGIN_ANSWER_BYTES``. A caller
waiting for another caller's login waits no longer than its own deadline. A login cut by the
deadline fails that call only: the deadline is the caller's, not IAM's, so it is not kept as the
last failure that waiting callers share (each waiter logs in within its own deadline; the lock
keeps those logins one at a time).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import ssl
import threading
import time
import weakref
from collections.abc import AsyncGenerator, Callable, Generator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import httpx

from ..errors import (
    ApiError,
    AuthError,
    RomaError,
    TransportError,
    ValidationError,
    api_error_from_response,
)
from ..ids import check_id
from ..transport.body import (
    ACCEPT_ENCODING,
    BodyRefused,
    BodyTooLarge,
    BodyTooLate,
    aread_body,
    read_body,
)
from ..transport.deadline import DEADLINE, cut_timeout
from .masking import HIDDEN, install_log_redaction, register_secret, require_secret

__all__ = [
    "DEFAULT_LIFETIME_S",
    "EXPIRED_TOKEN_CODES",
    "GLOBAL_IAM_ENDPOINT",
    "MAX_LOGIN_ANSWER_BYTES",
    "PasswordAuth",
    "default_iam_endpoint",
    "login_body",
    "parse_iam_time",
    "refresh_margin",
    "token_lifetime",
]

logger = logging.getLogger(__name__)

EXPIRED_TOKEN_CODES = frozenset({"APIGW.0307", "APIG.0307"})
GLOBAL_IAM_ENDPOINT = "https://iam.myhuaweicloud.com"
DEFAULT_LIFETIME_S = 3600.0
"""Assumed when IAM's body gives no usable expiry: short enough to be safe, 0307 covers the rest."""

MAX_LOGIN_ANSWER_BYTES = 4 << 20
"""4 MiB: IAM's token answer is a few KB as asked for (``nocatalog=true``) and about 1 MB with the
service catalog of a large account; four times that leaves room for IAM to grow while bounding
what a broken or hostile endpoint can make a login hold."""

_DEADLINE_SLACK_S = 0.05
"""A timeout this close to the deadline was the deadline's cut (socket timeouts may wake early)."""

_MARGIN_FRACTION = 0.2
_MAX_MARGIN_S = 300.0
_REGION_ID = re.compile(r"[a-z]{2,}(?:-[a-z]+)+-\d+")
_IAM_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?\s*(Z|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE,
)


def refresh_margin(lifetime_s: float) -> float:
    """How long before expiry a token is replaced: 20 % of its lifetime, at most 5 minutes."""
    return min(_MAX_MARGIN_S, max(0.0, lifetime_s) * _MARGIN_FRACTION)


def default_iam_endpoint(project_name: str | None) -> str:
    """The regional IAM when the project is named after a region (``cn-north-4``), else global."""
    if project_name and _REGION_ID.fullmatch(project_name):
        return f"https://iam.{project_name}.myhuaweicloud.com"
    return GLOBAL_IAM_ENDPOINT


def parse_iam_time(text: object) -> datetime | None:
    """An IAM timestamp (``2020-01-04T09:05:22.701000Z``) as an aware datetime, or ``None``."""
    if not isinstance(text, str):
        return None
    match = _IAM_TIME.fullmatch(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    tz = timezone.utc
    if zone and zone.upper() != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        when = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micros, tz
        )
    except ValueError:
        return None
    return when.astimezone(timezone.utc)


def token_lifetime(body: bytes, *, now: datetime | None = None) -> float | None:
    """Seconds the token in an IAM login body lives, or ``None`` if the body does not say.

    ``expires_at - issued_at`` when both are there (IAM's own clock, immune to local skew),
    else ``expires_at - now``. A lifetime that comes out zero or negative is ``None``: the local
    clock is wrong or the body is, and either way it tells us nothing usable.
    """
    try:
        parsed: Any = json.loads(body)
    except (ValueError, RecursionError):
        return None
    token = parsed.get("token") if isinstance(parsed, Mapping) else None
    if not isinstance(token, Mapping):
        return None
    expires = parse_iam_time(token.get("expires_at"))
    if expires is None:
        return None
    issued = parse_iam_time(token.get("issued_at"))
    start = issued if issued is not None else (now or datetime.now(timezone.utc))
    seconds = (expires - start).total_seconds()
    return seconds if seconds > 0 else None


def login_body(
    username: str,
    password: str,
    domain: str,
    *,
    project_name: str | None = None,
    project_id: str | None = None,
) -> dict[str, Any]:
    """The IAM password-login request body, scoped to a project (by id when both are given)."""
    project = {"id": project_id} if project_id is not None else {"name": project_name}
    return {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {"name": username, "password": password, "domain": {"name": domain}}
                },
            },
            "scope": {"project": project},
        }
    }


@dataclass(frozen=True)
class _Token:
    value: str = field(repr=False)
    refresh_at: float  # on the monotonic clock


def _normalise_iam_endpoint(url: str) -> str:
    url = url.strip().rstrip("/")
    if url.endswith("/v3"):
        url = url[: -len("/v3")]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(
            f"IAM endpoint {url!r} is not an http(s) URL, e.g. https://iam.cn-north-4.myhuaweicloud.com"
        )
    return url


def _time_left(deadline: float | None, *, forever: float) -> float:
    """Seconds left before ``deadline`` (0 once it passed), ``forever`` when there is none."""
    return forever if deadline is None else max(deadline - time.monotonic(), 0.0)


async def _acquire_before(lock: asyncio.Lock, deadline: float | None) -> bool:
    """Acquire ``lock`` (True), or give up once ``deadline`` passes (False, the lock not held).

    Not ``asyncio.wait_for(lock.acquire(), ...)``: before Python 3.12 it may acquire the lock and
    still raise the timeout, leaving it held for ever. A waiter cancelled before it ran gives
    its turn on to the next (``asyncio.Lock``'s own handling), so cancelling is safe; a waiter
    that did acquire is released if we are cancelled ourselves meanwhile.
    """
    if deadline is None:
        return await lock.acquire()
    acquiring = asyncio.ensure_future(lock.acquire())
    try:
        await asyncio.wait({acquiring}, timeout=_time_left(deadline, forever=0.0))
    except BaseException:
        if acquiring.done() and not acquiring.cancelled():
            lock.release()
        acquiring.cancel()
        raise
    if acquiring.done():
        return acquiring.result()
    acquiring.cancel()
    return False


def _error_code(body: bytes) -> str | None:
    try:
        parsed: Any = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(parsed, Mapping):
        return None
    code = parsed.get("error_code")
    return code if isinstance(code, str) else None


class PasswordAuth(httpx.Auth):
    """Logs in to IAM as ``username`` of ``domain`` and sends the token as ``X-Auth-Token``.

    Scope the token with ``project_id`` or ``project_name`` (by default a project is named after
    its region, e.g. ``cn-north-4``). ``iam_endpoint`` defaults to the regional IAM when
    ``project_name`` is a region id, else the global one. ``verify`` is used for the IAM call
    (``True``, ``False`` or an ``ssl.SSLContext``); ``transport`` / ``async_transport`` replace
    the network for the sync / async login (tests) and are used as given: without one, the
    login's connect and headers end at the call's deadline (``roma_nb.transport``). ``clock`` is
    a monotonic clock for the token's renewal (tests); deadlines are on ``time.monotonic``.

    When IAM refuses the credentials (a 4xx other than 408/429), this object never asks again
    and re-raises that error: repeating a wrong password would get the account locked.
    """

    requires_request_body = True  # the body must be kept to re-send it after a re-login

    def __init__(
        self,
        username: str,
        password: str,
        domain: str,
        *,
        project_name: str | None = None,
        project_id: str | None = None,
        iam_endpoint: str | None = None,
        verify: bool | ssl.SSLContext = True,
        timeout: float | httpx.Timeout = 30.0,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._username = require_secret("username", username)
        self._password = require_secret("password", password, header=False)
        self._domain = require_secret("domain", domain)
        if project_id is None and project_name is None:
            raise ValidationError(
                "PasswordAuth needs project_id= or project_name= (a project is usually named "
                "after its region, e.g. 'cn-north-4') to scope the token."
            )
        self._project_id = None if project_id is None else check_id("project_id", project_id)
        self._project_name = (
            None if project_name is None else check_id("project_name", project_name)
        )
        self._iam_endpoint = _normalise_iam_endpoint(
            iam_endpoint or default_iam_endpoint(self._project_name)
        )
        self._verify = verify
        self._timeout = timeout
        self._transport = transport
        self._async_transport = async_transport
        self._clock = clock

        self._state_lock = threading.Lock()
        self._token: _Token | None = None
        self._logins = 0
        self._attempts = 0
        self._last_failure: RomaError | None = None
        self._refused: ApiError | None = None
        self._sync_login_lock = threading.Lock()
        self._async_login_locks: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, asyncio.Lock
        ] = weakref.WeakKeyDictionary()

        register_secret(self._password)
        install_log_redaction()

    # -- what callers may look at -------------------------------------------------------------

    @property
    def iam_endpoint(self) -> str:
        """Where the login goes."""
        return self._iam_endpoint

    @property
    def login_count(self) -> int:
        """How many successful logins this object has made (diagnostics and tests)."""
        with self._state_lock:
            return self._logins

    def __repr__(self) -> str:
        scope = (
            f"project_id={self._project_id!r}"
            if self._project_id is not None
            else f"project_name={self._project_name!r}"
        )
        return (
            f"PasswordAuth(username={self._username!r}, password={HIDDEN!r}, "
            f"domain={self._domain!r}, {scope}, iam_endpoint={self._iam_endpoint!r})"
        )

    # -- the flows ----------------------------------------------------------------------------

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        request.read()
        deadline = request.extensions.get(DEADLINE)  # the call's: a login here ends with it
        token = self._token_sync(deadline)
        request.headers["X-Auth-Token"] = token
        response = yield request
        if response.status_code == 401 and _error_code(response.read()) in EXPIRED_TOKEN_CODES:
            self._invalidate(token)
            request.headers["X-Auth-Token"] = self._token_sync(deadline)
            yield request

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        await request.aread()
        deadline = request.extensions.get(DEADLINE)
        token = await self._token_async(deadline)
        request.headers["X-Auth-Token"] = token
        response = yield request
        if response.status_code == 401 and _error_code(await response.aread()) in (
            EXPIRED_TOKEN_CODES
        ):
            self._invalidate(token)
            request.headers["X-Auth-Token"] = await self._token_async(deadline)
            yield request

    # -- the cache ----------------------------------------------------------------------------

    def _cached(self) -> tuple[str | None, int]:
        """The token if it is not due for renewal, and the number of login attempts so far."""
        with self._state_lock:
            token = self._token
            fresh = token is not None and self._clock() < token.refresh_at
            return (token.value if token is not None and fresh else None), self._attempts

    def _raise_recent_failure(self, seen: int) -> None:
        """Share a login failure instead of repeating it.

        Called by a waiter holding the login lock: if IAM refused these credentials (a 4xx that
        resending cannot fix) it is never asked again, since repeated wrong passwords lock the
        account; if a login failed while we waited, we fail the same way instead of queueing
        one more attempt each.
        """
        with self._state_lock:
            if self._refused is not None:
                raise self._refused
            if self._attempts != seen and self._last_failure is not None:
                raise self._last_failure

    def _record(self, failure: RomaError) -> None:
        with self._state_lock:
            self._attempts += 1
            self._last_failure = failure
            if (
                isinstance(failure, ApiError)
                and 400 <= failure.status_code < 500
                and failure.status_code not in (408, 429)
            ):
                self._refused = failure

    def _invalidate(self, value: str) -> None:
        """Drop ``value`` unless another caller has already replaced it with a fresh token."""
        with self._state_lock:
            if self._token is None or self._token.value != value:
                return
            self._token = None
        logger.info("IAM token was refused as expired (APIGW.0307); logging in again")

    def _token_sync(self, deadline: float | None) -> str:
        token, seen = self._cached()
        if token is not None:
            return token
        if not self._sync_login_lock.acquire(timeout=_time_left(deadline, forever=-1)):
            raise self._late("while waiting for another call's IAM login")
        try:
            token, _ = self._cached()  # someone may have logged in while we waited
            if token is not None:
                return token
            self._raise_recent_failure(seen)
            return self._login_sync(deadline)
        finally:
            self._sync_login_lock.release()

    async def _token_async(self, deadline: float | None) -> str:
        token, seen = self._cached()
        if token is not None:
            return token
        loop = asyncio.get_running_loop()
        with self._state_lock:
            lock = self._async_login_locks.get(loop)
            if lock is None:
                lock = self._async_login_locks[loop] = asyncio.Lock()
        if not await _acquire_before(lock, deadline):
            raise self._late("while waiting for another call's IAM login")
        try:
            token, _ = self._cached()
            if token is not None:
                return token
            self._raise_recent_failure(seen)
            return await self._login_async(deadline)
        finally:
            lock.release()

    # -- the login ----------------------------------------------------------------------------

    def _login_request(
        self, http: httpx.Client | httpx.AsyncClient, deadline: float | None
    ) -> httpx.Request:
        """The login request, carrying the call's ``deadline`` and timeouts cut to it."""
        body = login_body(
            self._username,
            self._password,
            self._domain,
            project_name=self._project_name,
            project_id=self._project_id,
        )
        timeout = cut_timeout(httpx.Timeout(self._timeout), deadline)
        return http.build_request(
            "POST",
            f"{self._iam_endpoint}/v3/auth/tokens?nocatalog=true",
            headers={
                "Content-Type": "application/json;charset=UTF-8",
                "Accept-Encoding": ACCEPT_ENCODING,  # what BoundedBody inflates
            },
            content=json.dumps(body).encode("utf-8"),
            timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
            extensions={DEADLINE: deadline},  # the bounded transport ends the send there
        )

    def _action(self) -> str:
        host = urlsplit(self._iam_endpoint).netloc
        return f"Logging in to IAM ({host}) as user {self._username!r} of domain {self._domain!r}"

    def _login_transport(self) -> httpx.BaseTransport:
        """The caller's transport as given, else one whose sends end at the request's deadline."""
        if self._transport is not None:
            return self._transport
        from ..transport.sockets import BoundedTransport  # imports httpcore: at the first login

        return BoundedTransport({"verify": self._verify})

    def _async_login_transport(self) -> httpx.AsyncBaseTransport:
        if self._async_transport is not None:
            return self._async_transport
        from ..transport.sockets import AsyncBoundedTransport

        return AsyncBoundedTransport({"verify": self._verify})

    def _login_sync(self, deadline: float | None) -> str:
        started = self._clock()
        try:
            with httpx.Client(timeout=self._timeout, transport=self._login_transport()) as http:
                response = http.send(self._login_request(http, deadline), stream=True)
                try:
                    content = read_body(response, MAX_LOGIN_ANSWER_BYTES, deadline)
                finally:
                    response.close()
        except (httpx.HTTPError, BodyRefused) as exc:
            raise self._failure(exc, deadline) from exc
        return self._accept(response.status_code, response.headers, content, started)

    async def _login_async(self, deadline: float | None) -> str:
        started = self._clock()
        transport = self._async_login_transport()
        try:
            async with httpx.AsyncClient(timeout=self._timeout, transport=transport) as http:
                response = await http.send(self._login_request(http, deadline), stream=True)
                try:
                    content = await aread_body(response, MAX_LOGIN_ANSWER_BYTES, deadline)
                finally:
                    await response.aclose()
        except (httpx.HTTPError, BodyRefused) as exc:
            raise self._failure(exc, deadline) from exc
        return self._accept(response.status_code, response.headers, content, started)

    def _failure(
        self, exc: httpx.HTTPError | BodyRefused, deadline: float | None
    ) -> TransportError:
        """The error a failed login raises, kept for waiting callers unless the deadline cut it.

        A failed login never reached ROMA Connect, so it is a ``TransportError`` even when the
        IAM call timed out after sending: the caller's own request is known not to have been
        sent. Neither the password nor a token is in the message (IAM's body is never quoted).
        """
        late = isinstance(exc, BodyTooLate) or (
            isinstance(exc, httpx.TimeoutException)
            and deadline is not None
            and time.monotonic() >= deadline - _DEADLINE_SLACK_S
        )
        if late:
            # The caller's deadline, not IAM's fault: not recorded, so waiters log in themselves.
            return self._late(f"during the IAM login ({type(exc).__name__})")
        if isinstance(exc, BodyTooLarge):
            what = f"IAM's answer {exc}, so it was not read further (a token answer is a few KB)."
        elif isinstance(exc, BodyRefused):
            what = f"IAM's answer cannot be read: {exc}."
        else:
            what = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, BodyRefused):
            what += " Is the IAM endpoint right?"
        failure = TransportError(f"{self._action()} failed: {what}")
        self._record(failure)
        return failure

    def _late(self, when: str) -> TransportError:
        """The call's deadline ran out ``when`` (during the login, waiting for another's)."""
        return TransportError(
            f"{self._action()} failed: the call's deadline ran out {when}. "
            "Nothing was sent to ROMA Connect."
        )

    def _accept(self, status_code: int, headers: httpx.Headers, body: bytes, started: float) -> str:
        """Cache the token from a login answer, or raise the error it carries."""
        if not 200 <= status_code < 300:
            error = api_error_from_response(status_code, headers, body, action=self._action())
            self._record(error)
            raise error
        value = (headers.get("X-Subject-Token") or "").strip()
        if not value:
            error = AuthError(
                f"{self._action()} answered HTTP {status_code} without an X-Subject-Token "
                "header, so there is no token to use. Is the IAM endpoint right?",
                status_code=status_code,
                request_id=headers.get("x-request-id"),
            )
            self._record(error)
            raise error
        register_secret(value)
        lifetime = token_lifetime(body)
        if lifetime is None:
            logger.warning(
                "IAM gave no usable token expiry; assuming %.0f s and relying on APIGW.0307",
                DEFAULT_LIFETIME_S,
            )
            lifetime = DEFAULT_LIFETIME_S
        margin = refresh_margin(lifetime)
        token = _Token(value, started + lifetime - margin)
        with self._state_lock:
            self._token = token
            self._logins += 1
            self._attempts += 1
            self._last_failure = None
        logger.info(
            "Logged in to IAM as %r; token valid for %.1f s, renewed after %.1f s",
            self._username,
            lifetime,
            lifetime - margin,
        )
        return value
