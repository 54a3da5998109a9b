"""The rewind's history rows and the rule that finds tasks a rewind left stopped.

``left_stopped`` lives in ``roma_nb.models`` so that the history (which may import only the
models) applies the very rule tested here, to rows written ahead — including the ``pending``
rows a killed process leaves behind.
"""

from __future__ import annotations

from typing import NamedTuple

from procedure_world import DATE_FROM, MemoryRecorder, make_world

from roma_nb.models import RewindStep, left_stopped
from roma_nb.procedure import RewindOptions, SendBatch, SyncHandler, rewind_procedure, run_rewind

FAST = RewindOptions(stop_timeout=5, start_timeout=5, verify_timeout=10)


def row(step: str, outcome: str, task: str = "t0", rewind: str = "a", **more: object) -> RewindStep:
    return RewindStep(rewind, step, "inst-0", task, outcome, **more)  # type: ignore[arg-type]


def listed(rows: list[RewindStep]) -> list[tuple[str, str]]:
    return [(r.rewind_id, r.task_id) for r in left_stopped(rows)]


def test_a_stop_without_a_start_is_left_stopped() -> None:
    assert listed([row("look", "success", was_running=True), row("stop", "success")]) == [
        ("a", "t0")
    ]


def test_a_confirmed_start_clears_it() -> None:
    assert listed([row("stop", "success"), row("reset", "success"), row("start", "success")]) == []


def test_a_start_that_failed_or_is_unknown_or_pending_does_not_clear_it() -> None:
    for outcome in ("failed", "unknown", "pending", "skipped"):
        assert listed([row("stop", "success"), row("start", outcome)]) == [("a", "t0")]


def test_stops_that_may_have_happened_count_and_refused_ones_do_not() -> None:
    assert listed([row("stop", "pending")]) == [("a", "t0")]  # killed mid-call
    assert listed([row("stop", "unknown")]) == [("a", "t0")]  # answer lost / not confirmed
    for outcome in ("failed", "skipped", "dry-run"):
        assert listed([row("stop", outcome)]) == []


def test_a_later_look_that_sees_it_running_clears_it_and_one_that_sees_it_stopped_does_not() -> (
    None
):
    stop = row("stop", "success")
    assert listed([stop, row("look", "success", rewind="b", was_running=True)]) == []
    assert listed([stop, row("look", "success", rewind="b", was_running=False)]) == [("a", "t0")]
    assert listed([stop, row("look", "failed", rewind="b", was_running=True)]) == [("a", "t0")]


def test_the_latest_rewind_that_stopped_it_is_named_once() -> None:
    rows = [
        row("stop", "success", rewind="a"),
        row("start", "failed", rewind="a"),
        row("stop", "success", task="t1", rewind="a"),
        row("stop", "success", rewind="b"),
    ]
    assert listed(rows) == [("a", "t1"), ("b", "t0")]


def test_tasks_are_told_apart_by_instance_and_id() -> None:
    rows = [
        RewindStep("a", "stop", "inst-0", "t0", "success"),
        RewindStep("a", "stop", "inst-1", "t0", "success"),
        RewindStep("a", "start", "inst-0", "t0", "success"),
    ]
    assert [(r.instance_id, r.task_id) for r in left_stopped(rows)] == [("inst-1", "t0")]


def test_any_row_type_with_the_fields_works() -> None:
    class Stored(NamedTuple):
        step: str
        outcome: str
        instance_id: str
        task_id: str
        was_running: bool | None
        row_id: int

    rows = [
        Stored("stop", "success", "i", "t", True, 1),
        Stored("start", "failed", "i", "t", True, 2),
    ]
    assert [r.row_id for r in left_stopped(rows)] == [1]


def test_a_crash_between_the_stops_and_the_starts_lists_exactly_the_tasks_stopped() -> None:
    world, refs = make_world(
        [(True, []), (True, []), (False, []), (True, ["stop_refused"]), (True, [])]
    )
    log = MemoryRecorder()
    handler = SyncHandler(world, log=log, sleep=world.sleep)
    procedure = rewind_procedure(refs, DATE_FROM, FAST, clock=world.clock, rewind_id="rw-kill")
    effect = next(procedure)
    while not (isinstance(effect, SendBatch) and effect.action == "start"):
        effect = procedure.send(handler(effect))
    procedure.close()  # the process dies here: nothing after this runs
    found = {(r.instance_id, r.task_id) for r in left_stopped(log.rows)}
    stopped_that_ran = {
        key for key, task in world.tasks.items() if task.running and world.status(key) == 0
    }
    assert found == stopped_that_ran == {("inst-0", "t0"), ("inst-0", "t1"), ("inst-0", "t4")}
    assert {r.rewind_id for r in left_stopped(log.rows)} == {"rw-kill"}


def test_a_crash_while_watching_for_a_late_stop_lists_the_task() -> None:
    """The start row of a task whose stop was not confirmed stays pending while the late stop
    may still land: a crash then lists it (it may end stopped with nobody watching)."""
    world, refs = make_world([(True, ["stop_late"]), (True, [])], refuse_running_start=True)
    log = MemoryRecorder()
    handler = SyncHandler(world, log=log, sleep=world.sleep)
    options = RewindOptions(stop_timeout=1, verify=False)
    procedure = rewind_procedure(refs, DATE_FROM, options, clock=world.clock)
    effect = next(procedure)
    while not (isinstance(effect, SendBatch) and effect.action == "start"):
        effect = procedure.send(handler(effect))
    effect = procedure.send(handler(effect))
    while not any(
        r.task_id == "t1" and r.step == "start" and r.outcome != "pending" for r in log.rows
    ):
        effect = procedure.send(handler(effect))  # t1 reports running: its row is complete
    procedure.close()  # killed during the watch
    assert [(r.task_id, r.step, r.outcome) for r in log.rows if r.step == "start"] == [
        ("t0", "start", "pending"),
        ("t1", "start", "success"),
    ]
    assert [r.task_id for r in left_stopped(log.rows)] == ["t0"]
    world.settle()
    assert world.status(("inst-0", "t0")) == 0  # the late stop landed: listed rightly


def test_a_second_start_after_a_late_stop_is_sent_even_if_the_history_fails() -> None:
    world, refs = make_world([(True, ["stop_late"])], refuse_running_start=True)
    (result,) = run_rewind(
        world,
        refs,
        DATE_FROM,
        RewindOptions(stop_timeout=1, verify=False),
        log=MemoryRecorder({"start"}),
        clock=world.clock,
        sleep=world.sleep,
    )
    assert [c.action for c in world.batch_calls] == ["stop", "start", "start"]
    assert result.outcome == "failed" and "it was started again and is running" in result.message
    assert "history could not be written" in result.message
    world.settle()
    assert world.status(("inst-0", "t0")) == 1


def test_a_crash_during_the_stop_call_lists_the_pending_stops_as_may_be_stopped() -> None:
    world, refs = make_world([(True, []), (False, [])])
    log = MemoryRecorder()
    handler = SyncHandler(world, log=log, sleep=world.sleep)
    procedure = rewind_procedure(refs, DATE_FROM, FAST, clock=world.clock)
    effect = next(procedure)
    while not isinstance(effect, SendBatch):
        effect = procedure.send(handler(effect))
    procedure.close()
    assert [(r.task_id, r.outcome) for r in left_stopped(log.rows)] == [("t0", "pending")]


def test_every_step_is_written_ahead_and_completed_in_place() -> None:
    world, refs = make_world([(True, [])])
    log = MemoryRecorder()
    seen: list[list[tuple[str, str]]] = []

    class Watching(SyncHandler):
        def __call__(self, effect: object) -> object:
            if isinstance(effect, SendBatch) or type(effect).__name__ == "ResetTasks":
                seen.append([(r.step, r.outcome) for r in log.rows])
            return super().__call__(effect)  # type: ignore[arg-type]

    procedure = rewind_procedure(refs, DATE_FROM, FAST, clock=world.clock)
    from roma_nb.procedure import drive

    drive(procedure, Watching(world, log=log, sleep=world.sleep))
    assert seen == [
        [("look", "success"), ("stop", "pending")],
        [("look", "success"), ("stop", "success"), ("reset", "pending")],
        [("look", "success"), ("stop", "success"), ("reset", "success"), ("start", "pending")],
    ]
    assert [r.outcome for r in log.rows] == ["success"] * 5
    reset = log.rows[2]
    assert (reset.date_from, reset.was_running, reset.status_code) == (DATE_FROM, True, 200)


def test_a_history_that_cannot_be_written_ahead_stops_the_rewind_before_it_sends() -> None:
    world, refs = make_world([(True, [])])
    results = run_rewind(
        world,
        refs,
        DATE_FROM,
        FAST,
        log=MemoryRecorder({"stop"}),
        clock=world.clock,
        sleep=world.sleep,
    )
    assert results[0].outcome == "failed"
    assert world.batch_calls == []
    assert results[0].message == (
        "Not rewound, not reset, it stays as it was: Not sent: the history could not be "
        "written ahead (disk full). (The history could not be written: disk full.)"
    )


def test_starts_that_put_back_what_was_stopped_are_sent_even_if_the_history_fails() -> None:
    world, refs = make_world([(True, []), (False, [])])
    results = run_rewind(
        world,
        refs,
        DATE_FROM,
        RewindOptions(restart="always", verify=False),
        log=MemoryRecorder({"start"}),
        clock=world.clock,
        sleep=world.sleep,
    )
    assert [r.outcome for r in results] == ["success", "failed"]
    assert world.status(("inst-0", "t0")) == 1  # put back
    assert world.status(("inst-0", "t1")) == 0  # a new start is not sent without its row
    assert "history could not be written" in results[0].message
