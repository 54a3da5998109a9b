"""What the preview and the confirmation say a rewind will do, and the options it takes."""

from __future__ import annotations

import pytest

from roma_nb.errors import ValidationError
from roma_nb.procedure import (
    RewindOptions,
    describe_instant,
    describe_task,
    plan_steps,
    summarize,
)

MAY_1 = 1_714_528_800_000  # 2024-05-01T02:00:00Z


@pytest.mark.parametrize(
    ("running", "restart", "verify", "steps"),
    [
        (True, "as_before", True, ("stop", "reset", "start", "verify")),
        (True, "as_before", False, ("stop", "reset", "start")),
        (False, "as_before", True, ("reset",)),
        (False, "always", True, ("reset", "start", "verify")),
        (True, "never", True, ("stop", "reset")),
        (False, "never", True, ("reset",)),
    ],
)
def test_plan_steps(running: bool, restart: str, verify: bool, steps: tuple[str, ...]) -> None:
    assert plan_steps(running, restart, verify) == steps  # type: ignore[arg-type]


def test_what_will_happen_to_each_task_in_words() -> None:
    assert describe_task(True, MAY_1) == (
        "running → stop, reset to 2024-05-01T02:00:00Z, start again, verify"
    )
    assert describe_task(False, MAY_1) == (
        "stopped → reset to 2024-05-01T02:00:00Z, leave stopped, as it was"
    )
    assert describe_task(False, MAY_1, "always", verify=False) == (
        "stopped → reset to 2024-05-01T02:00:00Z, start"
    )
    assert describe_task(True, None, "never") == (
        "running → stop, reset to the start point the service chooses, leave stopped "
        "(restart='never')"
    )
    assert describe_task(None, MAY_1, verify=False) == (
        "state not known yet → if running: stop, reset to 2024-05-01T02:00:00Z, start again; "
        "if stopped: reset to 2024-05-01T02:00:00Z, leave stopped, as it was"
    )


def test_the_instant_is_shown_in_the_chosen_zone_and_in_utc() -> None:
    assert describe_instant(MAY_1) == "2024-05-01T02:00:00Z"
    assert describe_instant(MAY_1, "Asia/Shanghai") == (
        "2024-05-01 10:00:00 CST (+08:00) = 2024-05-01T02:00:00Z"
    )


def test_the_confirmation_line() -> None:
    assert summarize([True, True, True, False, False]) == (
        "stop 3 running tasks, reset 5, start them again, verify"
    )
    assert summarize([True], verify=False) == "stop 1 running task, reset 1, start it again"
    assert summarize([False, False]) == "reset 2 tasks"
    assert summarize([True, False], "always") == (
        "stop 1 running task, reset 2, start it again, start 1 stopped task, verify"
    )
    assert summarize([True, True], "never") == (
        "stop 2 running tasks, reset 2, leave them stopped (restart='never')"
    )
    assert summarize([]) == "nothing to rewind"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"restart": "sometimes"}, "restart='sometimes' is not one of"),
        ({"stop_timeout": 0}, "stop_timeout must be a positive number of seconds"),
        ({"verify_timeout": float("nan")}, "verify_timeout must be a positive"),
        ({"poll_interval": "1"}, "poll_interval must be a number of seconds"),
        ({"deadline": -1}, "deadline must be a positive"),
        ({"concurrency": 0}, "concurrency must be at least 1"),
        ({"concurrency": True}, "concurrency must be an integer"),
        ({"poll_backoff": 0.5}, "poll_backoff must be a number ≥ 1"),
    ],
)
def test_bad_options_are_refused_before_anything_runs(
    options: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        RewindOptions(**options)  # type: ignore[arg-type]


def test_the_keyword_settings_are_the_options_fields() -> None:
    """``client.rewind(**settings)`` takes exactly what ``RewindOptions`` holds."""
    import dataclasses

    from roma_nb.procedure import RewindSettings

    fields = [f.name for f in dataclasses.fields(RewindOptions)]
    assert list(RewindSettings.__annotations__) == fields
