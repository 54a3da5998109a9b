"""The I/O-free parts of ``reset_many``: targets, the history hook, the shared throttle.

A batch must never raise for one target's failure, must record every attempt before sending it,
and must slow down *as a whole* when the gateway throttles (429 / APIGW.0308, 503): if each worker
backed off on its own, the others would keep hammering. ``Throttle`` is that shared brake: a pause
that every worker honours before its next send, and an adaptive concurrency limit that halves on
throttling and grows back slowly on success (AIMD, as TCP does).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ..errors import ApiError, OutcomeUnknown, RomaError, ValidationError
from ..ids import check_id
from ..models import Outcome, ResetResult, Task

__all__ = [
    "Recorder",
    "ResetTarget",
    "StopSignal",
    "Target",
    "Throttle",
    "failed_result",
    "resolve_targets",
]

Target = Task | tuple[str, str]


class StopSignal(Protocol):
    """Anything with ``is_set()``: a ``threading.Event``, an ``asyncio.Event``, the panel's flag."""

    def is_set(self) -> bool: ...


class Recorder(Protocol):
    """Where a batch writes its attempts (``ResultLog`` fits): pending first, completed after."""

    def begin(
        self,
        instance_id: str,
        task_id: str,
        *,
        date_from: int | None,
        task_name: str | None = None,
        dry_run: bool = False,
    ) -> int: ...

    def complete(self, row_id: int, result: ResetResult) -> None: ...

    def append(self, result: ResetResult, *, dry_run: bool = False) -> int: ...

    def located(self, *, project_id: str | None, endpoint_label: str | None) -> Recorder:
        """This recorder, stamping rows with the project and endpoint unless it knows them."""
        ...


@dataclass(frozen=True, slots=True)
class ResetTarget:
    """One target of a batch, as given; ``problem`` says why it cannot be sent, if so."""

    instance_id: str
    task_id: str
    task_name: str | None = None
    problem: str | None = None


def _as_text(value: object) -> str:
    return value if isinstance(value, str) else repr(value)


def resolve_targets(targets: Iterable[Target]) -> list[ResetTarget]:
    """Normalise ``Task`` records and ``(instance_id, task_id)`` pairs, keeping input order.

    A bad target does not stop the batch: it becomes a ``ResetTarget`` with a ``problem`` and later
    a ``failed`` result, and nothing is sent for it.
    """
    resolved: list[ResetTarget] = []
    for target in targets:
        if isinstance(target, Task):
            instance_id: object = target.instance_id
            task_id: object = target.task_id
            name: str | None = target.task_name or None
        elif isinstance(target, tuple) and len(target) == 2:
            instance_id, task_id = target
            name = None
        else:
            resolved.append(
                ResetTarget(
                    "",
                    _as_text(target)[:64],
                    None,
                    "a target must be a Task or an (instance_id, task_id) pair",
                )
            )
            continue
        try:
            check_id("instance_id", instance_id)
            check_id("task_id", task_id)
        except ValidationError as exc:
            resolved.append(ResetTarget(_as_text(instance_id), _as_text(task_id), name, str(exc)))
            continue
        assert isinstance(instance_id, str) and isinstance(task_id, str)
        resolved.append(ResetTarget(instance_id, task_id, name))
    return resolved


def failed_result(
    target: ResetTarget,
    date_from: int | None,
    error: BaseException,
    *,
    at: datetime,
    elapsed_ms: float | None,
) -> ResetResult:
    """The ``ResetResult`` for an attempt that raised: failed, or unknown if it may have landed."""
    outcome: Outcome = "unknown" if isinstance(error, OutcomeUnknown) else "failed"
    attempts = getattr(error, "attempts", 0 if isinstance(error, ValidationError) else 1)
    if isinstance(error, ApiError):
        return ResetResult(
            instance_id=target.instance_id,
            task_id=target.task_id,
            task_name=target.task_name,
            outcome=outcome,
            date_from=date_from,
            status_code=error.status_code,
            message=error.message,
            error_code=error.error_code,
            error_msg=error.error_msg,
            request_id=error.request_id,
            elapsed_ms=elapsed_ms,
            attempts=attempts,
            at=at,
        )
    message = (
        str(error)
        if isinstance(error, RomaError)
        else (f"Unexpected {type(error).__name__}: {error}")
    )
    return ResetResult(
        instance_id=target.instance_id,
        task_id=target.task_id,
        task_name=target.task_name,
        outcome=outcome,
        date_from=date_from,
        message=message,
        error_code="VALIDATION" if isinstance(error, ValidationError) else None,
        elapsed_ms=elapsed_ms,
        attempts=attempts,
        at=at,
    )


class Throttle:
    """A batch-wide brake shared by all workers; thread-safe, used by sync and async batches.

    ``try_start()`` either admits a send (returns None) or says how long to wait before asking
    again; ``finish(throttled=..., retry_after=...)`` reports how it went. Waiting is left to the
    caller (``time.sleep`` or ``asyncio.sleep``), so one implementation serves both clients.

    On a 429/503 three things happen: every worker pauses for the ``Retry-After`` (or the
    backoff); the concurrency limit halves; and, when the last second shows what the gateway
    accepted, sends are paced at 80 % of that rate, and at most half an earlier pace that was
    still refused. Refusals of sends that were already in flight when the pause began belong to
    the same episode and count once. Without pacing, a rate-limited gateway would refuse the first
    sends after every pause and the batch would spend its time waiting out ``Retry-After``
    (whole seconds). Successes raise the limit again one worker at a time, and
    each second without refusal raises the pace by 10 %, until it no longer binds.
    """

    _GROW_AFTER = 8  # successes in a row before one more worker is allowed
    _WINDOW = 1.0  # seconds of accepted sends that estimate what the gateway allows
    _MIN_SPAN = 0.1  # a burst inside this span is not read as an instant's rate
    _UNPACED = 1000.0  # a pace above this many sends per second is no pace at all
    _GROWTH = 1.1  # the pace's rise per refusal-free second: gentle, since a refusal costs a pause

    def __init__(self, max_concurrency: int) -> None:
        if max_concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.max_concurrency = max_concurrency
        self.limit = max_concurrency
        self.active = 0
        self.throttled = 0
        self.rate: float | None = None  # sends per second, once throttled
        self._paused_until = 0.0
        self._next_send = 0.0
        self._paced_since = 0.0
        self._successes = 0
        self._accepted: deque[float] = deque()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)

    def try_start(self) -> float | None:
        with self._lock:
            now = time.monotonic()
            wait = max(self._paused_until, self._next_send) - now
            if wait > 0:
                return wait
            if self.active >= self.limit:
                return 0.005
            self.active += 1
            if self.rate is not None:
                self._next_send = now + 1.0 / self.rate
            return None

    def start(self, stop: StopSignal | None = None) -> bool:
        """Block until a send is admitted (True) or the stop signal is set (False)."""
        while True:
            if stop is not None and stop.is_set():
                return False
            wait = self.try_start()
            if wait is None:
                return True
            with self._idle:
                self._idle.wait(timeout=min(wait, 0.1))

    def _slow_down(self, now: float) -> None:
        """Halve the workers; pace below what the gateway accepted and below the last pace."""
        self.limit = max(1, self.limit // 2)
        if self._accepted:
            span = max(now - self._accepted[0], self._MIN_SPAN)
            slower = 0.8 * len(self._accepted) / span
            if self.rate is not None:
                slower = min(slower, 0.5 * self.rate)
            self.rate = max(1.0, slower)
            self._paced_since = now

    def finish(
        self, *, throttled: bool = False, retry_after: float | None = None, backoff: float = 0.0
    ) -> None:
        with self._lock:
            now = time.monotonic()
            self.active = max(0, self.active - 1)
            while self._accepted and self._accepted[0] < now - self._WINDOW:
                self._accepted.popleft()
            if throttled:
                self.throttled += 1
                self._successes = 0
                if now >= self._paused_until:  # a new episode, not another refusal of this one
                    self._slow_down(now)
                pause = max(retry_after or 0.0, backoff)
                self._paused_until = max(self._paused_until, now + pause)
            else:
                self._accepted.append(now)
                self._successes += 1
                if self._successes >= self._GROW_AFTER and self.limit < self.max_concurrency:
                    self.limit += 1
                    self._successes = 0
                if self.rate is not None and now - self._paced_since >= self._WINDOW:
                    self.rate *= self._GROWTH
                    self._paced_since = now
                    if self.rate > self._UNPACED:
                        self.rate = None
            self._idle.notify_all()
