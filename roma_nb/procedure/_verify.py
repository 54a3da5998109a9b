"""Deciding from monitor data whether a restarted task reads from where it was reset.

No API exposes the CDC read position (``roma-api.md`` §2a), so the proof is indirect: an
execution that began after the restart and reports reading normally. Only executions since
``since_ms`` count — the moment the task was seen stopped, so everything after it began after
the restart (this also forgives a server clock up to that long behind ours). A failure anywhere
since then beats a success: a task that hit a source error (103: the change log no longer
reaches back to ``date_from``) and then read again did not read from ``date_from``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ..models import MonitorLog, TaskMonitor, describe_monitor_status

__all__ = ["FAILURE_CODES", "READING_CODES", "Verdict", "explain_code", "judge"]

READING_CODES = frozenset({99, 100, 102, 502})
"""Task started, reader started, reading data — and writing data, which implies reading."""

FAILURE_CODES = frozenset({103, 503, 911, 912, 913, 915})
"""Source error, target error, reader / writer not started, scheduling failed, not running
normally."""

_FAILED_POSITION = frozenset({"RUNTIME_ERR", "INTERNAL_ERR"})

_CODE_WORDS = {
    503: "target error",
    911: "reader not started: check the network and parameters",
    912: "writer not started: check the network and parameters",
    913: "the scheduling request failed",
    915: "the task is not running normally",
}


def explain_code(code: int | None, when: str = "date_from") -> str:
    """A monitor status code in words, with what it means for a rewind (``when``: the instant
    the task was rewound to, in words)."""
    if code == 103:
        return f"a source error (103): the source's change log may no longer reach back to {when}"
    if code in _CODE_WORDS:
        return f"{_CODE_WORDS[code]} ({code})"
    return describe_monitor_status(code)


@dataclass(frozen=True, slots=True)
class Verdict:
    """``verified``: ``log`` is an execution since the restart that reads; ``failed``: ``log``
    (or the monitor, when ``log`` is None) shows a failure, ``code`` its status code;
    ``waiting``: nothing decisive yet, ``reason`` says what was seen."""

    state: Literal["verified", "failed", "waiting"]
    reason: str
    log: MonitorLog | None = None
    code: int | None = None


def _upper(text: str | None) -> str:
    return (text or "").strip().upper()


def _failed(log: MonitorLog) -> bool:
    return (
        log.status in FAILURE_CODES
        or _upper(log.position_status) in _FAILED_POSITION
        or _upper(log.execute_status) == "ERROR"
    )


def _reading(log: MonitorLog) -> bool:
    return log.status in READING_CODES and _upper(log.position_status) in ("", "NORMAL")


def _failure(log: MonitorLog, when: str) -> str:
    if log.status in FAILURE_CODES:
        return explain_code(log.status, when)
    flag = _upper(log.position_status) if _upper(log.position_status) in _FAILED_POSITION else ""
    return f"{flag or 'ERROR'} at {describe_monitor_status(log.status)}"


def judge(
    logs: Sequence[MonitorLog],
    since_ms: int,
    monitor: TaskMonitor | None = None,
    when: str = "date_from",
) -> Verdict:
    """The verdict on one task from its monitor logs (and monitor info) since ``since_ms``;
    ``when`` names the instant it was rewound to, for the failure's words."""
    new = sorted(
        (log for log in logs if log.start_time is not None and log.start_time >= since_ms),
        key=lambda log: (log.start_time or 0, log.id),
    )
    for log in new:
        if _failed(log):
            reason = f"execution {log.id} since the restart failed: {_failure(log, when)}"
            return Verdict("failed", reason, log, log.status)
    reading = [log for log in new if _reading(log)]
    if reading:
        log = reading[-1]
        reason = f"execution {log.id} since the restart is {_doing(log)}"
        return Verdict("verified", reason, log, log.status)
    if (
        monitor is not None
        and _upper(monitor.execute_status) == "ERROR"
        and (monitor.last_execute_time or 0) >= since_ms
    ):
        return Verdict("failed", "the task monitor reports ERROR since the restart")
    if new:
        last = new[-1]
        reason = f"latest execution {last.id}: {describe_monitor_status(last.status)}"
        return Verdict("waiting", reason)
    return Verdict("waiting", "no execution since the restart yet")


def _doing(log: MonitorLog) -> str:
    return {
        99: "started (99)",
        100: "reading: reader started (100)",
        102: "reading data (102)",
        502: "writing data (502)",
    }.get(log.status or 0, describe_monitor_status(log.status))
