"""Fault injection: the trouble a real gateway, proxy or backend causes, on demand.

``FaultPlan.add(kind, times=1, match=None, **params)`` queues a ``Fault``; each API request
takes the first queued fault that matches it (``match`` is a substring of the path, e.g. a task
id; ``method`` optionally narrows it to GET or POST; a fault with ``match=None`` matches every
``/v2/...`` request but not the IAM login), and the fault is used up after ``times`` requests
(``times=None``: until cleared). Kinds and what the client observes:

==================  ==========================================================================
kind                answer
==================  ==========================================================================
throttle            429 ``APIGW.0308`` with ``Retry-After: retry_after`` (default 1 s)
unavailable         503 ``APIGW.0201`` with ``Retry-After: retry_after`` (default 1 s)
server_error        500 ``FDI.9999``
bad_gateway_html    502 with an nginx-style HTML page, no JSON
drop                no answer: the connection is closed after the whole request was read
                    (httpx raises ``RemoteProtocolError``; with ``rst=True`` the socket is
                    reset instead and httpx raises ``ReadError``)
slow                the answer comes after ``delay_s`` (default 5 s). With ``effective=True``
                    (default) the request takes effect first, like a real slow server, so
                    a client that timed out does not know a reset happened; with
                    ``effective=False`` nothing happens and the late answer is 504
                    ``APIGW.0201``. If the client hangs up, nothing is sent.
task_running        400 ``FDI.3023`` "One or more tasks are running."
expired_token       401 ``APIGW.0307``
==================  ==========================================================================

Only ``slow`` with ``effective=True`` lets a request take effect; every other kind answers
before the backend sees the request, so a faulted reset is not in ``resets``.

Three more kinds act on single tasks inside the batch start/stop call
(``POST .../batch-operation/tasks``) rather than on whole requests. Their ``match`` is a
substring of the task id (``None``: any task), and each use spends one of ``times`` per task:

==================  ==========================================================================
kind                what the batch call does for a matching task
==================  ==========================================================================
stop_fails          a stop is listed in ``failure[]`` inside the 200: ``FDI.3019`` (a REALTIME
                    task) or ``FDI.3020`` (a TIMING task), or ``error_code`` if given
start_fails         a start is listed in ``failure[]``: ``FDI.3026``, or ``error_code`` (3027)
stuck_stopping      a stop is accepted (in ``success[]``) but the task never reports stopped
late_stopping       a stop is accepted but lands late: only ``stop_delay_ms`` after the task's
                    next start call, which, the task still running, is refused (``FDI.3023``)
==================  ==========================================================================

``RateLimiter`` is a token bucket (``rps`` requests per second, ``burst`` at once): over it, a
request gets 429 ``APIGW.0308`` with ``Retry-After`` saying when a token will be free.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

from .incoming import Incoming

__all__ = ["FAULT_KINDS", "TASK_FAULT_KINDS", "Fault", "FaultPlan", "RateLimiter"]

FAULT_KINDS = (
    "throttle",
    "unavailable",
    "server_error",
    "bad_gateway_html",
    "drop",
    "slow",
    "task_running",
    "expired_token",
)
"""Kinds that answer a whole request in place of the backend."""

TASK_FAULT_KINDS = ("stop_fails", "start_fails", "stuck_stopping", "late_stopping")
"""Kinds that act on single tasks of a batch start/stop call, not on whole requests."""

# The FDI error codes each task fault may put in ``failure[]`` (the first is the default).
_TASK_ERROR_CODES: dict[str, tuple[str, ...]] = {
    "stop_fails": ("FDI.3019", "FDI.3020"),
    "start_fails": ("FDI.3026", "FDI.3027"),
}

# Parameters each kind accepts (beyond times, match and method), with their defaults.
_PARAMS: dict[str, dict[str, Any]] = {
    "throttle": {"retry_after": 1},
    "unavailable": {"retry_after": 1},
    "server_error": {},
    "bad_gateway_html": {},
    "drop": {"rst": False},
    "slow": {"delay_s": 5.0, "effective": True},
    "task_running": {},
    "expired_token": {},
    "stop_fails": {"error_code": None},
    "start_fails": {"error_code": None},
    "stuck_stopping": {},
    "late_stopping": {},
}

_ids = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Fault:
    """One queued fault; ``remaining`` is ``None`` for a fault that lasts until cleared."""

    id: int
    kind: str
    remaining: int | None
    match: str | None = None
    method: str | None = None
    retry_after: int | None = None
    delay_s: float = 0.0
    effective: bool = True
    rst: bool = False
    error_code: str | None = None

    def applies_to(self, incoming: Incoming) -> bool:
        """Whether this fault answers ``incoming`` in place of the backend."""
        if self.kind in TASK_FAULT_KINDS:
            return False
        if self.method is not None and incoming.method != self.method:
            return False
        if self.match is None:
            return incoming.path.startswith("/v2/")
        return self.match in incoming.path or self.match in incoming.raw_path

    def applies_to_task(self, kind: str, task_id: str) -> bool:
        """Whether this task fault of ``kind`` hits ``task_id`` in a batch start/stop call."""
        return self.kind == kind and (self.match is None or self.match in task_id)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def make_fault(
    kind: str,
    *,
    times: int | None = 1,
    match: str | None = None,
    method: str | None = None,
    **params: Any,
) -> Fault:
    """A checked ``Fault``: unknown kinds, parameters or values raise ``ValueError``."""
    if kind not in _PARAMS:
        kinds = ", ".join((*FAULT_KINDS, *TASK_FAULT_KINDS))
        raise ValueError(f"unknown fault kind {kind!r}; one of {kinds}")
    allowed = _PARAMS[kind]
    unknown = set(params) - set(allowed)
    if unknown:
        raise ValueError(f"fault {kind!r} takes no parameter(s) {', '.join(sorted(unknown))}")
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        raise ValueError("times must be a positive integer, or None for 'until cleared'")
    if match is not None and (not isinstance(match, str) or not match):
        raise ValueError("match must be a non-empty string (a task id or a path fragment)")
    values = {**allowed, **params}
    retry_after = values.get("retry_after")
    if retry_after is not None and (
        isinstance(retry_after, bool) or not isinstance(retry_after, int) or retry_after < 0
    ):
        raise ValueError("retry_after must be a whole number of seconds >= 0, or None")
    delay_s = values.get("delay_s", 0.0)
    if not isinstance(delay_s, (int, float)) or isinstance(delay_s, bool) or delay_s < 0:
        raise ValueError("delay_s must be a number of seconds >= 0")
    error_code = values.get("error_code")
    if error_code is not None and error_code not in _TASK_ERROR_CODES.get(kind, ()):
        raise ValueError(
            f"fault {kind!r} takes error_code {' or '.join(_TASK_ERROR_CODES[kind])}, "
            f"not {error_code!r}"
        )
    return Fault(
        id=next(_ids),
        kind=kind,
        remaining=times,
        match=match,
        method=method.upper() if method else None,
        retry_after=retry_after,
        delay_s=float(delay_s),
        effective=bool(values.get("effective", True)),
        rst=bool(values.get("rst", False)),
        error_code=error_code,
    )


class FaultPlan:
    """The queue of faults, shared by the test thread (adds) and the server (takes)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, incoming: Incoming) -> Fault | None:
        """The first fault that applies to ``incoming``, used up by one."""
        return self._take(lambda fault: fault.applies_to(incoming))

    def take_for_task(self, kind: str, task_id: str) -> Fault | None:
        """The first task fault of ``kind`` that hits ``task_id``, used up by one."""
        return self._take(lambda fault: fault.applies_to_task(kind, task_id))

    def _take(self, applies: Callable[[Fault], bool]) -> Fault | None:
        with self._lock:
            for index, fault in enumerate(self._faults):
                if not applies(fault):
                    continue
                if fault.remaining is not None:
                    left = fault.remaining - 1
                    if left:
                        self._faults[index] = replace(fault, remaining=left)
                    else:
                        del self._faults[index]
                return fault
        return None

    @property
    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def clear(self) -> int:
        with self._lock:
            count = len(self._faults)
            self._faults.clear()
            return count


class RateLimiter:
    """A token bucket: ``rps`` tokens per second, at most ``burst`` saved up."""

    def __init__(self, rps: float, burst: int | None = None) -> None:
        if not rps > 0:
            raise ValueError("rps must be positive (use no rate limit instead of 0)")
        self.rps = float(rps)
        self.burst = burst if burst is not None else max(1, math.ceil(rps))
        if self.burst < 1:
            raise ValueError("burst must be at least 1")
        self._tokens = float(self.burst)
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self) -> int | None:
        """``None`` if the request may pass, else the whole seconds until a token is free."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rps)
            self._stamp = now
            if self._tokens >= 1:
                self._tokens -= 1
                return None
            return max(1, math.ceil((1 - self._tokens) / self.rps))

    def to_json(self) -> dict[str, Any]:
        return {"rps": self.rps, "burst": self.burst}
