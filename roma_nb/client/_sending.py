"""The decisions around one send that both clients share, kept free of I/O.

``classify`` says whether a failed send can have reached the service; the clients' loops use it
with the ``RetryPolicy`` to decide between retrying, ``TransportError`` (nothing reached the
service) and ``OutcomeUnknown`` (it may have). ``BatchStep`` holds what each target of a batch
does around its send (history rows, dry runs, stop, results), so the thread-pool and the asyncio
batch differ only in how they wait.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Literal

import httpx

from ..errors import OutcomeUnknown, TransportError
from ..models import ResetResult
from ._base import Call
from ._batch import Recorder, ResetTarget, failed_result

__all__ = ["BatchStep", "Skipped", "classify", "transport_failure"]

Reach = Literal["not-sent", "sent"]


class Skipped(Exception):
    """Raised inside a batch when the stop signal was set before the target's first send."""


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


def is_final_connect_error(exc: httpx.TransportError) -> bool:
    """Errors that retrying cannot fix (an untrusted certificate)."""
    return _is_tls_refusal(exc)


def transport_failure(
    exc: httpx.TransportError, call: Call, endpoint: str, attempts: int, timeout: float | None
) -> TransportError | OutcomeUnknown:
    """The error to raise once a transport failure is final, worded for a person."""
    kind = type(exc).__name__
    if _is_tls_refusal(exc):
        return TransportError(
            f"{call.action} failed: the TLS certificate of {endpoint} is not trusted. "
            "If this is a private deployment, pass verify='/path/to/ca.pem' or set "
            "ROMA_NB_CA_BUNDLE. Nothing was sent."
        )
    if classify(exc) == "not-sent":
        error = TransportError(
            f"{call.action} failed: could not connect to {endpoint} ({kind}) after "
            f"{attempts} attempt(s). Nothing was sent."
        )
        error.attempts = attempts  # type: ignore[attr-defined]
        return error
    if call.method == "GET":
        return TransportError(
            f"{call.action} failed: no complete answer from {endpoint} ({kind}) after "
            f"{attempts} attempt(s)."
        )
    waited = f" within {timeout:g} s" if timeout and isinstance(exc, httpx.ReadTimeout) else ""
    return OutcomeUnknown(
        f"{call.action}: the request was sent but no answer came back{waited} ({kind}). "
        "The reset may or may not have happened; resetting to the same instant again is safe "
        "(it is idempotent).",
        attempts=attempts,
    )


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class BatchStep:
    """What happens to one target of a batch, around the send the client performs."""

    target: ResetTarget
    date_from: int | None
    log: Recorder | None
    dry_run: bool

    def __post_init__(self) -> None:
        self.at = _now()
        self._started = time.perf_counter()
        self._row: int | None = None

    def without_send(self, stopped: bool) -> ResetResult | None:
        """The result when nothing is to be sent (bad target, dry run, stop); else None."""
        t = self.target
        if t.problem is not None:
            result = ResetResult(
                instance_id=t.instance_id,
                task_id=t.task_id,
                task_name=t.task_name,
                outcome="failed",
                date_from=self.date_from,
                message=t.problem,
                error_code="VALIDATION",
                attempts=0,
                at=self.at,
            )
        elif self.dry_run:
            result = ResetResult(
                instance_id=t.instance_id,
                task_id=t.task_id,
                task_name=t.task_name,
                outcome="dry-run",
                date_from=self.date_from,
                message="Dry run: nothing was sent.",
                attempts=0,
                at=self.at,
            )
        elif stopped:
            result = self.skipped()
        else:
            return None
        if self.log is not None:
            self.log.append(result, dry_run=self.dry_run)
        return result

    def skipped(self) -> ResetResult:
        t = self.target
        return ResetResult(
            instance_id=t.instance_id,
            task_id=t.task_id,
            task_name=t.task_name,
            outcome="skipped",
            date_from=self.date_from,
            message="Stopped before this reset was sent.",
            attempts=0,
            at=self.at,
        )

    def before_send(self) -> None:
        """Write the pending row: if the kernel dies during the send, the attempt is still seen."""
        if self.log is not None:
            t = self.target
            self._row = self.log.begin(
                t.instance_id, t.task_id, date_from=self.date_from, task_name=t.task_name
            )

    def finish(self, result: ResetResult | None, error: BaseException | None) -> ResetResult:
        """Complete the pending row with the result (or the error turned into one)."""
        if result is None:
            if isinstance(error, Skipped):
                result = self.skipped()
            else:
                assert error is not None
                elapsed = (time.perf_counter() - self._started) * 1000
                result = failed_result(
                    self.target, self.date_from, error, at=self.at, elapsed_ms=elapsed
                )
        else:
            result = replace(
                result, task_name=result.task_name or self.target.task_name, at=self.at
            )
        if self.log is not None:
            if self._row is not None:
                self.log.complete(self._row, result)
            else:
                self.log.append(result)
        return result
