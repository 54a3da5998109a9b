"""What the runbook's conclusion says per task (``reset_state``) and what makes it fail
(``not_done``): the one question "is it reset, and to what?" for resets and rewinds alike."""

from __future__ import annotations

import pytest

from roma_nb.models import ResetResult, RewindResult, StepResult
from roma_nb.procedure import not_done, reset_state

MS = 1_714_528_800_000  # 2024-05-01T02:00:00Z


def reset(outcome: str) -> ResetResult:
    return ResetResult("i", "t", outcome, date_from=MS)  # type: ignore[arg-type]


def rewind(outcome: str, reset_outcome: str | None, *, start: str | None = None) -> RewindResult:
    look = StepResult("look", "i", "t", "success")
    return RewindResult(
        "i",
        "t",
        outcome,  # type: ignore[arg-type]
        "a sentence",
        date_from=MS,
        look=look,
        reset=reset(reset_outcome) if reset_outcome else None,
        start=StepResult("start", "i", "t", start) if start else None,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("result", "said"),
    [
        (reset("success"), "reset to 2024-05-01T02:00:00Z"),
        (reset("failed"), "NOT reset: failed"),
        (reset("unknown"), "NOT reset: unknown"),
        (reset("skipped"), "NOT reset: skipped"),
        (reset("dry-run"), "NOT reset: dry run"),
        (rewind("success", "success", start="success"), "reset to 2024-05-01T02:00:00Z"),
        (rewind("left-stopped", "success", start="failed"), "reset to 2024-05-01T02:00:00Z"),
        (rewind("failed", "failed", start="success"), "NOT reset: failed"),
        (rewind("unknown", "unknown", start="success"), "NOT reset: unknown"),
        (rewind("failed", None), "NOT reset: failed"),  # the stop was refused
        (rewind("skipped", None), "NOT reset: skipped"),
        (rewind("dry-run", "dry-run"), "NOT reset: dry run"),
    ],
)
def test_reset_state_answers_reset_to_what_or_why_not(
    result: ResetResult | RewindResult, said: str
) -> None:
    assert reset_state(result) == said


def test_reset_state_in_a_zone_shows_the_wall_time_and_utc() -> None:
    said = reset_state(reset("success"), "Asia/Shanghai")
    assert said.startswith("reset to 2024-05-01 10:00:00") and "2024-05-01T02:00:00Z" in said


def test_a_run_fails_for_every_task_not_fully_done_but_not_for_a_dry_run() -> None:
    done = rewind("success", "success", start="success")
    left = rewind("left-stopped", "success", start="failed")
    results: list[ResetResult | RewindResult] = [done, left, reset("failed"), reset("unknown")]
    results += [reset("dry-run"), reset("success")]
    assert not_done(results) == [left, results[2], results[3]]
    assert not_done([reset("dry-run"), rewind("dry-run", "dry-run")]) == []
