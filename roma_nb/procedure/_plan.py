"""What a rewind will do to each task, decided once from its state and the options.

The preview, the confirmation and the machine all read ``plan_steps``: what the person is shown
before confirming is what runs. ``describe_task`` and ``summarize`` put it in words.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import tzinfo
from typing import TypedDict

from ..dates import format_instant
from ..errors import ValidationError
from ..models import RESTARTS, Restart, StepName

__all__ = [
    "MAX_BATCH",
    "RESTARTS",
    "Restart",
    "RewindOptions",
    "RewindSettings",
    "describe_instant",
    "describe_task",
    "plan_steps",
    "summarize",
]

MAX_BATCH = 10
"""Task ids per batch start/stop call (``roma-api.md`` §2)."""


@dataclass(frozen=True, slots=True)
class RewindOptions:
    """How a rewind runs. Times are seconds.

    ``stop_timeout`` / ``start_timeout``: how long to wait for a task to report stopped /
    running after the call was accepted; a task whose stop was not confirmed within
    ``stop_timeout`` is watched for as long again after its start, for the stop landing late
    (then it is started once more). ``verify_timeout``: how long after the starts to watch
    the monitor data for an execution that reads. The pause before each poll is
    ``poll_backoff - 1`` of the time waited so far (so the pauses grow by about that factor and
    a poll sees a task settle at most that share of the wait late), at least ``poll_interval``
    and at most ``max_poll_interval``. ``deadline``: an overall budget from the
    start of the rewind; once spent, what was not done is ``skipped`` (tasks already stopped
    are still started again, and their start is still confirmed; a stop the service accepted
    is still waited for, up to ``stop_timeout``, so that the start comes after it).
    ``concurrency`` bounds the requests in flight (resets, batch calls of one round, monitor
    reads).
    """

    restart: Restart = "as_before"
    verify: bool = True
    stop_timeout: float = 60.0
    start_timeout: float = 60.0
    verify_timeout: float = 120.0
    poll_interval: float = 0.1
    max_poll_interval: float = 5.0
    poll_backoff: float = 1.2
    concurrency: int = 8
    dry_run: bool = False
    deadline: float | None = None

    def __post_init__(self) -> None:
        if self.restart not in RESTARTS:
            raise ValidationError(
                f"restart={self.restart!r} is not one of {', '.join(map(repr, RESTARTS))}."
            )
        for name in ("stop_timeout", "start_timeout", "verify_timeout", "poll_interval"):
            _check_seconds(name, getattr(self, name))
        _check_seconds("max_poll_interval", self.max_poll_interval)
        if self.deadline is not None:
            _check_seconds("deadline", self.deadline)
        if not (isinstance(self.poll_backoff, (int, float)) and self.poll_backoff >= 1):
            raise ValidationError(f"poll_backoff must be a number ≥ 1, not {self.poll_backoff!r}.")
        if isinstance(self.concurrency, bool) or not isinstance(self.concurrency, int):
            raise ValidationError(f"concurrency must be an integer, not {self.concurrency!r}.")
        if self.concurrency < 1:
            raise ValidationError(f"concurrency must be at least 1, not {self.concurrency}.")


class RewindSettings(TypedDict, total=False):
    """``RewindOptions``' fields as keyword arguments, each optional: what ``client.rewind``
    takes as ``**settings`` (``restart="never"``, ``verify=False``...), so both clients state
    the options once, here."""

    restart: Restart
    verify: bool
    stop_timeout: float
    start_timeout: float
    verify_timeout: float
    poll_interval: float
    max_poll_interval: float
    poll_backoff: float
    concurrency: int
    dry_run: bool
    deadline: float | None


def _check_seconds(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(f"{name} must be a number of seconds, not {value!r}.")
    if not math.isfinite(value) or value <= 0:
        raise ValidationError(f"{name} must be a positive number of seconds, not {value!r}.")


def plan_steps(was_running: bool, restart: Restart, verify: bool) -> tuple[StepName, ...]:
    """The steps a rewind runs for a task whose look found it running or stopped, if all goes
    well: a running task is stopped first; it is started again per ``restart``; only a task
    started again can be verified."""
    steps: list[StepName] = ["stop"] if was_running else []
    steps.append("reset")
    if restart == "always" or (restart == "as_before" and was_running):
        steps.append("start")
        if verify:
            steps.append("verify")
    return tuple(steps)


def describe_instant(date_from: int | None, tz: str | tzinfo = "UTC") -> str:
    """``2024-05-01T02:00:00Z``, or with another zone ``2024-05-01 10:00:00 CST (+08:00)
    = 2024-05-01T02:00:00Z``; None is the start point the service chooses."""
    if date_from is None:
        return "the start point the service chooses"
    view = format_instant(date_from, tz)
    return view.utc_iso if view.zone == "UTC" else f"{view.local_iso} = {view.utc_iso}"


def describe_task(
    was_running: bool | None,
    date_from: int | None,
    restart: Restart = "as_before",
    verify: bool = True,
    tz: str | tzinfo = "UTC",
) -> str:
    """What will happen to one task, for the preview: ``running → stop, reset to
    2024-05-01T02:00:00Z, start again, verify``. ``was_running=None`` (state not known yet)
    describes both cases."""
    if was_running is None:
        return (
            f"state not known yet → if running: {_steps_text(True, date_from, restart, verify, tz)}"
            f"; if stopped: {_steps_text(False, date_from, restart, verify, tz)}"
        )
    state = "running" if was_running else "stopped"
    return f"{state} → {_steps_text(was_running, date_from, restart, verify, tz)}"


def _steps_text(
    was_running: bool, date_from: int | None, restart: Restart, verify: bool, tz: str | tzinfo
) -> str:
    words: list[str] = []
    for step in plan_steps(was_running, restart, verify):
        if step == "reset":
            words.append(f"reset to {describe_instant(date_from, tz)}")
        elif step == "start":
            words.append("start again" if was_running else "start")
        else:
            words.append(step)
    if "start" not in words and "start again" not in words:
        words.append(
            "leave stopped (restart='never')"
            if restart == "never" and was_running
            else "leave stopped, as it was"
        )
    return ", ".join(words)


def summarize(states: Iterable[bool], restart: Restart = "as_before", verify: bool = True) -> str:
    """The confirmation's line for tasks whose looks found them running (True) or stopped
    (False): ``stop 3 running tasks, reset 5, start 3 again, verify``."""
    plans = [(running, plan_steps(running, restart, verify)) for running in states]
    if not plans:
        return "nothing to rewind"
    stops = sum("stop" in steps for _, steps in plans)
    starts_again = sum("start" in steps and running for running, steps in plans)
    starts_new = sum("start" in steps and not running for running, steps in plans)
    parts: list[str] = []
    if stops:
        parts.append(f"stop {_count(stops, 'running task')}")
    parts.append(f"reset {len(plans) if stops else _count(len(plans), 'task')}")
    if starts_again:
        parts.append(f"start {_them(starts_again, stops)} again")
    if starts_new:
        parts.append(f"start {_count(starts_new, 'stopped task')}")
    if verify and (starts_again or starts_new):
        parts.append("verify")
    if stops and not starts_again:
        parts.append(f"leave {_them(stops, stops)} stopped (restart='never')")
    return ", ".join(parts)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _them(n: int, stops: int) -> str:
    if n == stops:
        return "it" if n == 1 else "them"
    return str(n)
