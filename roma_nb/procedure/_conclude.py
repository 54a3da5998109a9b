"""A task's rewind in one outcome and one sentence, from what each step did.

The outcome names the loudest fact: a task the rewind stopped and did not see running again is
``left-stopped`` whatever else happened; then a step that was skipped, failed, unknown, a
verification that did not conclude; ``success`` only when every step that applied succeeded.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..models import ResetResult, RewindOutcome, RewindResult, StepResult
from ._job import Job, LateStop
from ._plan import Restart, describe_instant, describe_task

__all__ = ["conclude", "final_state", "not_done", "reset_state"]


def conclude(
    job: Job,
    *,
    restart: Restart,
    verify: bool,
    dry_run: bool,
    date_from: int | None,
    rewind_id: str,
    note: str | None = None,
) -> RewindResult:
    """The ``RewindResult`` of one finished ``Job``."""
    outcome, message = _verdict(job, restart, verify, dry_run, date_from)
    return RewindResult(
        instance_id=job.instance_id,
        task_id=job.task_id,
        outcome=outcome,
        message=f"{message} {note}" if note else message,
        task_name=job.task_name,
        date_from=date_from,
        was_running=job.was_running,
        look=job.look,
        stop=job.stop,
        reset=job.reset,
        start=job.start,
        verification=job.verification,
        rewind_id=rewind_id,
    )


def _reset_clause(reset: ResetResult | None, when: str) -> str:
    if reset is None:
        return "not reset"
    return {
        "success": f"reset to {when}",
        "failed": "the reset failed",
        "unknown": "the reset's outcome is unknown",
    }.get(reset.outcome, "not reset")


def _verdict(
    job: Job, restart: Restart, verify: bool, dry_run: bool, date_from: int | None
) -> tuple[RewindOutcome, str]:
    look, stop, reset, start, check = job.look, job.stop, job.reset, job.start, job.verification
    if look is None or look.outcome != "success":
        return "failed", (look.message if look and look.message else "Not looked at.")
    when = describe_instant(date_from)
    if dry_run:
        return (
            "dry-run",
            f"Dry run, nothing sent: {describe_task(job.was_running, date_from, restart, verify)}.",
        )
    started = start is not None and start.outcome == "success"
    if job.stop_sent and not started:
        return "left-stopped", _left_stopped(stop, start, _reset_clause(reset, when), job.late)
    if started and job.late is not None:
        return _late_stop(job, job.late, reset)
    again = "it was started again" if started else "it stays as it was"
    if stop is not None and stop.outcome == "skipped":
        return "skipped", f"{stop.message} Nothing was done."
    if reset is not None and reset.outcome == "skipped":
        return "skipped", f"Not reset, {again}: {reset.message}"
    if stop is not None and stop.outcome != "success":
        return "failed", f"Not rewound, not reset, {again}: {stop.message}"
    assert reset is not None  # a task confirmed stopped always gets a reset result
    if reset.outcome == "failed":
        return "failed", f"Not rewound, {again}: the reset failed: {reset.message}"
    if reset.outcome == "unknown":
        return "unknown", f"The reset's outcome is unknown, {again}: {reset.message}"
    if start is None:
        return "success", f"Reset to {when}; it was stopped before and stays stopped."
    if start.outcome == "skipped":
        return "skipped", f"Reset to {when}, but not started: {start.message}"
    if not started:
        return (
            "failed",
            f"Reset to {when}, but starting it failed (it was stopped before): {start.message}",
        )
    if check is None:
        return "success", f"Rewound to {when}: reset and running again (not verified)."
    if check.outcome == "success":
        return "success", f"Rewound to {when} and verified: {check.message}."
    if check.outcome == "failed":
        return "failed", f"Rewound to {when} and running, but {check.message}."
    return "unverified", f"Rewound to {when} and running, but {_lower_first(check.message)}"


def _lower_first(text: str | None) -> str:
    return f"{text[0].lower()}{text[1:]}" if text else "not verified."


def _late_stop(job: Job, late: LateStop, reset: ResetResult | None) -> tuple[RewindOutcome, str]:
    """The sentence for a task whose stop was not confirmed in time, watched after its start
    and seen running at the end: its stop landed late and it was started again, or it never
    took effect. ``skipped`` when the deadline (or a stop asked) skipped the reset."""
    skipped = reset is not None and reset.outcome == "skipped"
    why = f" ({_lower_first(reset.message).rstrip('.')})" if skipped and reset else ""
    outcome: RewindOutcome = "skipped" if skipped else "failed"
    if late.landed:
        return outcome, (
            f"Not rewound, not reset{why}: its stop landed late (seen stopped after {late.after}"
            " s); it was started again and is running."
        )
    asked = "accepted" if job.stop_accepted else "sent (no answer said it was accepted)"
    never = "never took effect" if late.ran_at_start else "was not seen to take effect"
    return outcome, (
        f"Not rewound, not reset{why}: its stop was {asked} but {never} within {late.after} s; "
        f"it is running (checked at {late.seen})."
    )


def _left_stopped(
    stop: StepResult | None, start: StepResult | None, done: str, late: LateStop | None
) -> str:
    """The sentence for a task the rewind stopped and did not see running again."""
    if start is None:
        if stop is not None and stop.outcome == "unknown":
            return f"MAY BE LEFT STOPPED (restart='never', {done}): {stop.message}"
        return f"Left stopped as asked (restart='never'), {done}; start it when ready."
    landed = (
        f"its stop landed late (seen stopped after {late.after} s) and "
        if late is not None and late.landed
        else ""
    )
    if start.outcome == "unknown":
        said = _lower_first(start.message) if landed else start.message
        return f"MAY BE LEFT STOPPED ({done}): {landed}{said} Check it and start it by hand."
    return (
        f"LEFT STOPPED ({done}): {landed}starting it again failed: {start.message} Start it by "
        "hand."
    )


def final_state(result: RewindResult) -> str:
    """Where the task stands after its rewind, in a few words, for a verification table:
    ``running, verified``, ``stopped, as before``, ``LEFT STOPPED``..."""
    look, start, check = result.look, result.start, result.verification
    if result.outcome == "dry-run":
        return "unchanged (dry run)"
    if result.outcome == "left-stopped":
        return "LEFT STOPPED"
    if look is None or look.outcome != "success":
        return "not known (not looked at)"
    if start is not None and start.outcome == "success":
        if result.stop is not None and result.stop.outcome == "unknown":
            return "running, not reset (its stop was not confirmed in time)"
        if check is None:
            return "running (not verified)"
        return {
            "success": "running, verified",
            "failed": "running, but its execution failed",
        }.get(check.outcome, "running, unverified")
    if start is not None:
        return f"stopped (start {start.outcome})"
    before = "running" if result.was_running else "stopped"
    if result.stop is not None and result.stop.outcome != "success":
        return f"{before}, as before (stop {result.stop.outcome})"
    return f"{before}, as before"


def reset_state(result: ResetResult | RewindResult, tz: str = "UTC") -> str:
    """The one question a run must answer per task: ``reset to <instant>``, or ``NOT reset:``
    and why (``dry run``, ``skipped``, ``failed``, ``unknown``: it may have happened)."""
    if result.outcome == "dry-run":
        return "NOT reset: dry run"
    reset = result.reset if isinstance(result, RewindResult) else result
    if reset is None:  # a rewind that never reached its reset (not looked at, stop refused)
        return f"NOT reset: {'skipped' if result.outcome == 'skipped' else 'failed'}"
    if reset.outcome == "success":
        return f"reset to {describe_instant(reset.date_from, tz)}"
    return f"NOT reset: {reset.outcome.replace('-', ' ')}"


def not_done(results: Sequence[ResetResult | RewindResult]) -> list[ResetResult | RewindResult]:
    """The results a run must fail for: every task not fully done — not reset, or (a rewind)
    reset but left stopped, unverified or not started again. A dry run is what was asked."""
    return [r for r in results if r.outcome not in ("success", "dry-run")]
