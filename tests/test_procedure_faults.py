"""The rewind under each fault of issue 13's list, against the simulated service.

Each test names a fault, runs the whole procedure (``run_rewind`` with the blocking driver, on
the fake clock) and checks three things: the outcome and sentence the person sees, the state the
service is left in, and what the history says.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import pytest
from procedure_world import DATE_FROM, MemoryRecorder, World, make_world

from roma_nb.models import RewindResult, left_stopped
from roma_nb.procedure import RewindOptions, TaskRef, run_rewind

FAST = RewindOptions(stop_timeout=5, start_timeout=5, verify_timeout=10)


def rewind(
    world: World,
    refs: Sequence[TaskRef],
    options: RewindOptions = FAST,
    log: MemoryRecorder | None = None,
) -> list[RewindResult]:
    return run_rewind(
        world,
        refs,
        DATE_FROM,
        options,
        log=log,
        clock=world.clock,
        sleep=world.sleep,
        rewind_id="rw-1",
    )


def one(faults: Iterable[str], running: bool = True) -> tuple[World, RewindResult, MemoryRecorder]:
    world, refs = make_world([(running, faults)])
    log = MemoryRecorder()
    (result,) = rewind(world, refs, log=log)
    assert not world.violations
    return world, result, log


def words(message: str | None) -> str:
    """``message`` with each number of seconds as ``N`` (they depend on the polls' spacing)."""
    return re.sub(r"\d+(\.\d+)? s\b", "N s", message or "")


def steps(log: MemoryRecorder) -> list[tuple[str, str]]:
    return [(row.step, row.outcome) for row in log.rows]


def test_a_running_task_is_stopped_reset_started_and_verified() -> None:
    world, result, log = one([])
    assert result.outcome == "success"
    assert result.was_running is True
    assert result.message == (
        "Rewound to 2024-04-30T02:00:00Z and verified: execution t0-1 since the restart is "
        "reading data (102)."
    )
    assert result.verification is not None and result.verification.monitor_log is not None
    assert result.verification.monitor_log.id == "t0-1"  # not the execution from before
    assert world.resets == [("inst-0", "t0", DATE_FROM)]
    assert world.status(("inst-0", "t0")) == 1
    assert steps(log) == [
        ("look", "success"),
        ("stop", "success"),
        ("reset", "success"),
        ("start", "success"),
        ("verify", "success"),
    ]
    assert {row.rewind_id for row in log.rows} == {"rw-1"}
    assert left_stopped(log.rows) == []
    assert result.to_dict() == {
        "instance_id": "inst-0",
        "task_id": "t0",
        "task_name": "name-t0",
        "date_from": DATE_FROM,
        "was_running": True,
        "outcome": "success",
        "stop": "success",
        "reset": "success",
        "start": "success",
        "verify": "success",
        "verified_by": "t0-1",
        "message": result.message,
        "rewind_id": "rw-1",
    }


def test_a_stopped_task_is_reset_and_stays_stopped_by_default() -> None:
    world, result, log = one([], running=False)
    assert result.outcome == "success"
    assert result.stop is None and result.start is None and result.verification is None
    assert "stays stopped" in result.message
    assert world.status(("inst-0", "t0")) == 0
    assert [c.action for c in world.batch_calls] == []
    assert steps(log) == [("look", "success"), ("reset", "success")]


def test_restart_always_starts_a_stopped_task_and_verifies_it() -> None:
    world, refs = make_world([(False, [])])
    (result,) = rewind(world, refs, RewindOptions(restart="always", verify_timeout=10))
    assert result.outcome == "success"
    assert result.start is not None and result.start.message == "Running."
    assert world.status(("inst-0", "t0")) == 1


def test_stop_refused_inside_a_200_is_not_reset_and_keeps_running() -> None:
    world, result, log = one(["stop_refused"])
    assert result.outcome == "failed"
    assert result.stop is not None and result.stop.error_code == "FDI.3019"
    assert result.reset is None and result.start is None
    assert result.message.startswith("Not rewound, not reset, it stays as it was:")
    assert world.resets == []
    assert world.status(("inst-0", "t0")) == 1
    assert steps(log) == [("look", "success"), ("stop", "failed")]


def test_a_stop_that_never_completes_is_not_reset_and_is_started_again() -> None:
    world, result, log = one(["stop_stuck"])
    assert result.outcome == "failed"
    assert result.stop is not None and result.stop.outcome == "unknown"
    assert result.stop.message == "Asked to stop, but it did not report stopped within 5 s."
    # Started (accepted as a no-op: it still runs), then watched for another stop_timeout.
    assert result.message == (
        "Not rewound, not reset: its stop was accepted but was not seen to take effect within "
        "10.2 s; it is running (checked at 02:00:10 UTC)."
    )
    assert world.resets == []
    assert [c.action for c in world.batch_calls] == ["stop", "start"]
    assert steps(log) == [("look", "success"), ("stop", "unknown"), ("start", "success")]
    assert left_stopped(log.rows) == []


@pytest.mark.parametrize("refused", [False, True], ids=["start-accepted", "start-refused"])
def test_a_stop_that_never_lands_leaves_it_running_not_reset_in_both_readings(
    refused: bool,
) -> None:
    """The service may refuse a start of a running task (FDI.3023) or accept it as a no-op:
    either way the task, watched for another stop_timeout, is said to be running."""
    world, refs = make_world([(True, ["stop_stuck"])], refuse_running_start=refused)
    log = MemoryRecorder()
    (result,) = rewind(world, refs, log=log)
    assert result.outcome == "failed"
    assert "LEFT STOPPED" not in result.message
    never = "never took effect" if refused else "was not seen to take effect"
    assert words(result.message) == (
        f"Not rewound, not reset: its stop was accepted but {never} within N s; it is running "
        "(checked at 02:00:10 UTC)."
    )
    assert result.start is not None and result.start.outcome == "success"
    assert result.start.error_code == ("FDI.3023" if refused else None)
    assert [c.action for c in world.batch_calls] == ["stop", "start"]
    assert steps(log) == [("look", "success"), ("stop", "unknown"), ("start", "success")]
    assert left_stopped(log.rows) == []
    world.settle()
    assert world.status(("inst-0", "t0")) == 1


@pytest.mark.parametrize("refused", [False, True], ids=["start-accepted", "start-refused"])
@pytest.mark.parametrize("fault", ["stop_late", "stop_slow"])
def test_a_stop_that_lands_late_is_answered_with_a_second_start(refused: bool, fault: str) -> None:
    """stop_late lands just after the start call; stop_slow 1.5 s after the stop, beyond a
    stop_timeout of 1 s. The watch sees it stopped and starts it once more."""
    world, refs = make_world([(True, [fault]), (True, [])], refuse_running_start=refused)
    log = MemoryRecorder()
    late, other = rewind(world, refs, RewindOptions(stop_timeout=1, verify=False), log=log)
    assert (late.outcome, other.outcome) == ("failed", "success")
    assert words(late.message) == (
        "Not rewound, not reset: its stop landed late (seen stopped after N s); it was started "
        "again and is running."
    )
    assert late.start is not None and late.start.message == "Running again."
    assert [(c.action, c.task_ids) for c in world.batch_calls] == [
        ("stop", ("t0", "t1")),
        ("start", ("t0", "t1")),
        ("start", ("t0",)),
    ]
    rows = [(r.step, r.outcome) for r in log.rows if r.task_id == "t0"]
    assert rows == [
        ("look", "success"),
        ("stop", "unknown"),
        ("start", "failed"),
        ("start", "success"),
    ]
    first = next(r for r in log.rows if r.task_id == "t0" and r.step == "start")
    assert "it reported stopped N s after its stop was sent; it is started again." in (
        words(first.message)
    )
    assert left_stopped(log.rows) == []
    world.settle()
    assert world.status(("inst-0", "t0")) == world.status(("inst-0", "t1")) == 1


def test_a_late_stop_and_a_second_start_that_fails_is_left_stopped_and_says_why() -> None:
    world, refs = make_world([(True, ["stop_late", "start_refused"])])
    log = MemoryRecorder()
    (result,) = rewind(world, refs, log=log)
    assert result.outcome == "left-stopped"
    assert words(result.message) == (
        "LEFT STOPPED (not reset): its stop landed late (seen stopped after N s) and starting it "
        "again failed: The service refused starting the task (FDI.3026: Start failed.). Start it "
        "by hand."
    )
    assert [c.action for c in world.batch_calls] == ["stop", "start", "start"]
    assert [(r.task_id, r.step) for r in left_stopped(log.rows)] == [("t0", "stop")]
    world.settle()
    assert world.status(("inst-0", "t0")) == 0


def test_a_task_not_seen_during_the_watch_may_be_left_stopped() -> None:
    world, refs = make_world([(True, ["stop_stuck"])], refuse_running_start=True)

    def broken(instance_id: str, *, combined_only: bool = True) -> list[object]:
        if any(c.action == "start" for c in world.batch_calls):
            from roma_nb.errors import ServerError

            raise ServerError("Listing tasks failed: 502.", status_code=502)
        return World.list_tasks(world, instance_id, combined_only=combined_only)  # type: ignore[return-value]

    world.list_tasks = broken  # type: ignore[assignment,method-assign]
    log = MemoryRecorder()
    (result,) = rewind(world, refs, RewindOptions(stop_timeout=1), log=log)
    assert result.outcome == "left-stopped"
    assert result.message == (
        "MAY BE LEFT STOPPED (not reset): Not seen running (the start call said: The service "
        "refused starting the task (FDI.3023: One or more tasks are running.)) when the watch "
        "ended, 1 s after the start; its stop was not confirmed. Check it and start it by hand."
    )
    assert [r.task_id for r in left_stopped(log.rows)] == ["t0"]


def test_the_deadline_does_not_cut_the_watch_for_a_late_stop() -> None:
    world, refs = make_world([(True, ["stop_late"])], refuse_running_start=True)
    (result,) = rewind(world, refs, RewindOptions(stop_timeout=1, deadline=0.5))
    assert result.outcome == "skipped"
    assert words(result.message) == (
        "Not rewound, not reset (skipped: the deadline passed before it reported stopped): its "
        "stop landed late (seen stopped after N s); it was started again and is running."
    )
    world.settle()
    assert world.status(("inst-0", "t0")) == 1


def test_a_lost_stop_answer_is_settled_by_the_task_state() -> None:
    _, result, _ = one(["stop_lost"])
    assert result.outcome == "success"
    assert result.stop is not None
    assert (
        result.stop.message == "Stopped (the answer to the stop was lost, but it reports stopped)."
    )


def test_stop_throttled_until_retries_ran_out_fails_cleanly() -> None:
    world, result, _ = one(["stop_throttled_out"])
    assert result.outcome == "failed"
    assert result.stop is not None
    assert (result.stop.status_code, result.stop.error_code, result.stop.attempts) == (
        429,
        "APIGW.0308",
        4,
    )
    assert world.resets == [] and world.status(("inst-0", "t0")) == 1


def test_throttling_that_retries_succeed_shows_as_attempts() -> None:
    _, result, _ = one(["throttled"])
    assert result.outcome == "success"
    assert result.stop is not None and result.start is not None
    assert (result.stop.attempts, result.start.attempts) == (3, 3)


def test_start_that_fails_is_left_stopped_loudly_and_in_the_history() -> None:
    world, result, log = one(["start_refused"])
    assert result.outcome == "left-stopped"
    assert result.message.startswith("LEFT STOPPED (reset to 2024-04-30T02:00:00Z): starting it")
    assert "FDI.3026" in result.message
    assert world.status(("inst-0", "t0")) == 0
    assert result.verification is None
    (row,) = left_stopped(log.rows)
    assert (row.step, row.task_id, row.rewind_id) == ("stop", "t0", "rw-1")


def test_a_start_call_that_fails_whole_is_left_stopped() -> None:
    _, result, log = one(["start_error"])
    assert result.outcome == "left-stopped"
    assert result.start is not None and result.start.status_code == 500
    assert [row.task_id for row in left_stopped(log.rows)] == ["t0"]


def test_a_start_never_confirmed_may_be_left_stopped() -> None:
    _, result, log = one(["start_stuck"])
    assert result.outcome == "left-stopped"
    assert result.message.startswith("MAY BE LEFT STOPPED")
    assert result.start is not None and result.start.outcome == "unknown"
    assert [row.task_id for row in left_stopped(log.rows)] == ["t0"]


def test_a_failed_reset_starts_the_task_again() -> None:
    world, result, log = one(["reset_failed"])
    assert result.outcome == "failed"
    assert result.reset is not None and result.reset.error_code == "FDI.9999"
    assert result.message.startswith("Not rewound, it was started again: the reset failed:")
    assert result.verification is None  # nothing to verify: it was not rewound
    assert world.status(("inst-0", "t0")) == 1
    assert steps(log) == [
        ("look", "success"),
        ("stop", "success"),
        ("reset", "failed"),
        ("start", "success"),
    ]


def test_an_unknown_reset_stays_unknown_and_the_task_is_started_again() -> None:
    world, result, _ = one(["reset_unknown"])
    assert result.outcome == "unknown"
    assert result.reset is not None and result.reset.outcome == "unknown"
    assert "started again" in result.message
    assert world.status(("inst-0", "t0")) == 1


def test_a_failed_reset_of_a_stopped_task_leaves_it_stopped_as_it_was() -> None:
    world, result, _ = one(["reset_failed"], running=False)
    assert result.outcome == "failed"
    assert result.start is None
    assert world.status(("inst-0", "t0")) == 0


def test_verification_decodes_a_source_error_since_the_restart() -> None:
    _, result, log = one(["verify_103"])
    assert result.outcome == "failed"
    assert result.verification is not None
    assert result.verification.error_code == "103"
    assert (
        "the source's change log may no longer reach back to 2024-04-30T02:00:00Z" in result.message
    )
    assert log.rows[-1].step == "verify" and log.rows[-1].error_code == "103"


def test_no_execution_since_the_restart_is_unverified_not_success() -> None:
    world, result, _ = one(["verify_silent"])
    assert result.outcome == "unverified"
    assert result.message.endswith(
        "not verified: nothing decisive within 10 s; no execution since the restart yet."
    )
    assert world.status(("inst-0", "t0")) == 1


def test_verify_false_skips_the_verification() -> None:
    world, refs = make_world([(True, ["verify_silent"])])
    (result,) = rewind(world, refs, RewindOptions(verify=False))
    assert result.outcome == "success"
    assert result.verification is None
    assert result.message.endswith("reset and running again (not verified).")


def test_a_task_deleted_between_look_and_stop_fails_alone() -> None:
    world, refs = make_world([(True, []), (True, ["deleted_after_look"]), (True, [])])
    results = rewind(world, refs)
    assert [r.outcome for r in results] == ["success", "failed", "success"]
    assert results[1].stop is not None and results[1].stop.error_code == "FDI.3021"
    assert "may have been deleted since it was looked at" in results[1].message
    assert results[1].start is None and world.resets == [
        ("inst-0", "t0", DATE_FROM),
        ("inst-0", "t2", DATE_FROM),
    ]


def test_a_deleted_task_that_fails_its_whole_batch_call_does_not_fail_its_neighbours() -> None:
    world, refs = make_world(
        [(True, []), (True, ["deleted_after_look"]), (True, [])], whole_call_not_found=True
    )
    results = rewind(world, refs)
    assert [r.outcome for r in results] == ["success", "failed", "success"]
    stops = [c.task_ids for c in world.batch_calls if c.action == "stop"]
    assert stops == [("t0", "t1", "t2"), ("t0",), ("t1",), ("t2",)]


def test_a_running_task_that_fails_its_whole_start_call_does_not_leave_its_neighbours_stopped() -> (
    None
):
    """The other reading of FDI.3023: one task still running (its stop not confirmed in time,
    landing only after the start call) makes the service refuse the whole start call. Each
    task is then asked again alone: the two confirmed stopped start, the third is watched, its
    late stop lands, and it is started once more. None is left stopped."""
    world, refs = make_world(
        [(True, []), (True, ["stop_late"]), (True, [])], whole_call_running=True
    )
    results = rewind(world, refs, RewindOptions(stop_timeout=1, verify=False))
    assert [r.outcome for r in results] == ["success", "failed", "success"]
    assert "its stop landed late" in results[1].message
    starts = [c.task_ids for c in world.batch_calls if c.action == "start"]
    assert starts == [("t0", "t1", "t2"), ("t0",), ("t1",), ("t2",), ("t1",)]
    world.settle()
    assert [world.status(("inst-0", t)) for t in ("t0", "t1", "t2")] == [1, 1, 1]


def test_a_task_that_is_not_combined_or_not_settled_is_left_alone() -> None:
    world, refs = make_world([(True, ["not_combined"]), (True, ["transitional"])])
    log = MemoryRecorder()
    results = rewind(world, refs, log=log)
    assert [r.outcome for r in results] == ["failed", "failed"]
    assert "not a combined (CDC) task" in results[0].message
    assert "neither running nor stopped" in results[1].message
    assert world.batch_calls == [] and world.resets == []
    assert steps(log) == [("look", "failed"), ("look", "failed")]


def test_a_task_missing_from_its_instance_and_a_bad_target_are_failed_with_a_sentence() -> None:
    world, _ = make_world([(True, [])])
    refs = [TaskRef("inst-0", "nope"), TaskRef("inst-0", "", problem="task_id is empty")]
    results = rewind(world, refs)
    assert [r.outcome for r in results] == ["failed", "failed"]
    assert results[0].message.startswith("Task nope is not in instance inst-0")
    assert results[1].message == "task_id is empty; nothing was done."
    assert results[1].look is not None and results[1].look.error_code == "VALIDATION"


def test_a_task_list_that_cannot_be_read_fails_the_look_of_its_tasks_only() -> None:
    world, refs = make_world([(True, []), (True, [])], instances=2)

    def broken(instance_id: str, *, combined_only: bool = True) -> list[object]:
        if instance_id == "inst-1":
            from roma_nb.errors import ServerError

            raise ServerError("Listing tasks failed: 502.", status_code=502, request_id="r-9")
        return World.list_tasks(world, instance_id, combined_only=combined_only)  # type: ignore[return-value]

    world.list_tasks = broken  # type: ignore[assignment,method-assign]
    results = rewind(world, refs)
    assert [r.outcome for r in results] == ["success", "failed"]
    assert results[1].look is not None and results[1].look.request_id == "r-9"
    assert "Could not read the tasks of instance inst-1" in results[1].message


def test_restart_never_leaves_what_it_stopped_stopped_and_says_so() -> None:
    world, refs = make_world([(True, []), (False, [])])
    log = MemoryRecorder()
    results = rewind(world, refs, RewindOptions(restart="never"), log=log)
    assert [r.outcome for r in results] == ["left-stopped", "success"]
    assert results[0].message.startswith("Left stopped as asked (restart='never')")
    assert all(c.action == "stop" for c in world.batch_calls)
    assert [row.task_id for row in left_stopped(log.rows)] == ["t0"]


def test_restart_never_with_a_failed_reset_still_starts_nothing() -> None:
    world, refs = make_world([(True, ["reset_failed"])])
    (result,) = rewind(world, refs, RewindOptions(restart="never"))
    assert result.outcome == "left-stopped"
    assert "the reset failed" in result.message
    assert world.status(("inst-0", "t0")) == 0


@pytest.mark.parametrize(
    ("deadline", "outcomes"),
    [
        (1e-9, ["skipped", "skipped"]),  # before the stops: nothing is sent
        (0.05, ["skipped", "skipped"]),  # while waiting for the stop: not reset, started again
        (1.0, ["unverified", "success"]),  # after the resets: the verification is skipped
    ],
)
def test_a_deadline_skips_what_was_not_done_but_starts_what_was_stopped(
    deadline: float, outcomes: list[str]
) -> None:
    world, refs = make_world([(True, []), (False, [])])
    log = MemoryRecorder()
    results = rewind(world, refs, RewindOptions(deadline=deadline, stop_timeout=5), log=log)
    assert [r.outcome for r in results] == outcomes
    assert world.status(("inst-0", "t0")) == 1  # whatever was stopped runs again
    assert world.status(("inst-0", "t1")) == 0
    assert left_stopped(log.rows) == []
    if deadline < 0.01:
        assert world.batch_calls == [] and world.resets == []
        assert results[0].message == (
            "Skipped: the deadline passed before it was stopped. Nothing was done."
        )
    elif deadline < 1:
        # The stop was accepted: the rewind waits for it to land (a start sent before it would
        # be undone by it), then skips the reset and starts the task again.
        assert world.resets == []
        assert results[0].message == (
            "Not reset, it was started again: Skipped: the deadline passed before this reset "
            "was sent."
        )


def test_a_deadline_after_the_resets_leaves_the_rewind_unverified() -> None:
    world, refs = make_world([(True, [])])
    (result,) = rewind(world, refs, RewindOptions(deadline=1.0, verify_timeout=10))
    assert world.resets and world.status(("inst-0", "t0")) == 1
    assert result.outcome == "unverified"
    assert result.verification is not None and result.verification.outcome == "skipped"
    assert "the deadline passed" in result.message


def test_a_stop_signal_is_honoured_like_the_deadline() -> None:
    world, refs = make_world([(True, [])])

    class After:
        """Set once the service has received its first batch call."""

        def is_set(self) -> bool:
            return bool(world.batch_calls)

    results = run_rewind(
        world, refs, DATE_FROM, FAST, stop=After(), clock=world.clock, sleep=world.sleep
    )
    assert results[0].outcome == "skipped"
    assert results[0].reset is not None and results[0].reset.outcome == "skipped"
    assert "a stop was asked" in results[0].message
    assert world.resets == [] and world.status(("inst-0", "t0")) == 1


def test_dry_run_looks_but_sends_nothing_and_records_the_plan() -> None:
    world, refs = make_world([(True, []), (False, [])])
    log = MemoryRecorder()
    results = rewind(world, refs, RewindOptions(dry_run=True), log=log)
    assert [r.outcome for r in results] == ["dry-run", "dry-run"]
    assert results[0].message == (
        "Dry run, nothing sent: running → stop, reset to 2024-04-30T02:00:00Z, start again, verify."
    )
    assert world.batch_calls == [] and world.resets == []
    assert all(row.dry_run for row in log.rows if row.step != "look")
    assert [(r.step, r.outcome) for r in log.rows if r.task_id == "t0"] == [
        ("look", "success"),
        ("stop", "dry-run"),
        ("reset", "dry-run"),
        ("start", "dry-run"),
        ("verify", "dry-run"),
    ]
    assert left_stopped(log.rows) == []


def test_tasks_of_several_instances_share_rounds_of_at_most_ten() -> None:
    world, refs = make_world([(True, [])] * 23 + [(False, [])] * 2, instances=2)
    results = rewind(world, refs, RewindOptions(verify=False))
    assert {r.outcome for r in results} == {"success"}
    stops = [c for c in world.batch_calls if c.action == "stop"]
    starts = [c for c in world.batch_calls if c.action == "start"]
    assert [len(c.task_ids) for c in stops] == [10, 2, 10, 1]
    assert sorted(t for c in starts for t in c.task_ids) == sorted(
        t for c in stops for t in c.task_ids
    )
    assert len(world.resets) == 25
