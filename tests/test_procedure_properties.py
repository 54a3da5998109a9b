"""Invariants of the rewind over random mixes of tasks, faults and options (hypothesis).

Whatever happens: nothing raises; a task the rewind stopped runs again or is reported
``left-stopped`` (and only such a task is, after its start failed or with
``restart="never"``) — also once every change still on its way has landed (a stop that lands
late must not leave it stopped unsaid), whether the service refuses a start of a running task
(``FDI.3023``) or accepts it as a no-op; a task said to be running is; the history's
``left_stopped`` rule names exactly those; no task is reset unless it was confirmed stopped; no
batch call carries more than ten tasks; a dry run sends nothing; ``success`` means the reset
happened and the task is where the plan put it.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from procedure_world import DATE_FROM, FAULTS, MemoryRecorder, make_world

from roma_nb.models import REWIND_OUTCOMES, left_stopped
from roma_nb.procedure import (
    MAX_BATCH,
    RESTARTS,
    RewindOptions,
    final_state,
    plan_steps,
    run_rewind,
)

task = st.tuples(st.booleans(), st.frozensets(st.sampled_from(FAULTS), max_size=2))
options = st.builds(
    RewindOptions,
    restart=st.sampled_from(RESTARTS),
    verify=st.booleans(),
    stop_timeout=st.sampled_from([1.0, 5.0]),
    start_timeout=st.sampled_from([1.0, 5.0]),
    verify_timeout=st.sampled_from([1.0, 5.0]),
    dry_run=st.booleans(),
    deadline=st.none() | st.floats(min_value=0.001, max_value=12.0),
    concurrency=st.integers(min_value=1, max_value=4),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tasks=st.lists(task, min_size=1, max_size=24),
    instances=st.integers(min_value=1, max_value=3),
    opts=options,
    whole_call_not_found=st.booleans(),
    refuse_running_start=st.booleans(),
    whole_call_running=st.booleans(),
)
def test_the_rewind_keeps_its_promises(
    tasks: list[tuple[bool, frozenset[str]]],
    instances: int,
    opts: RewindOptions,
    whole_call_not_found: bool,
    refuse_running_start: bool,
    whole_call_running: bool,
) -> None:
    world, refs = make_world(
        tasks,
        instances,
        whole_call_not_found=whole_call_not_found,
        refuse_running_start=refuse_running_start,
        whole_call_running=whole_call_running,
    )
    log = MemoryRecorder()
    results = run_rewind(
        world, refs, DATE_FROM, opts, log=log, clock=world.clock, sleep=world.sleep
    )

    assert [(r.instance_id, r.task_id) for r in results] == [
        (t.instance_id, t.task_id) for t in refs
    ]
    by_key = {(r.instance_id, r.task_id): r for r in results}
    for result in results:
        assert result.outcome in REWIND_OUTCOMES
        assert result.message and "\n" not in result.message

    # No batch call carries more than ten tasks.
    assert all(1 <= len(call.task_ids) <= MAX_BATCH for call in world.batch_calls)

    # No reset of a task that was not confirmed stopped.
    assert world.violations == []
    for key in {(i, t) for i, t, _ in world.resets}:
        result = by_key[key]
        assert result.was_running is False or (
            result.stop is not None and result.stop.outcome == "success"
        )

    # A task the rewind stopped runs again, or says left-stopped; only such a task says so.
    # Also once what is still on its way has landed: a late stop is answered, not left behind.
    for key in world.stopped_by_us:
        assert world.status(key) == 1 or by_key[key].outcome == "left-stopped", by_key[key]
    world.settle()
    for key in world.stopped_by_us:
        assert world.status(key) == 1 or by_key[key].outcome == "left-stopped", by_key[key]
    # A task said to be running is (not "LEFT STOPPED" about a running task, either).
    for key, result in by_key.items():
        if final_state(result).startswith("running"):
            assert world.status(key) == 1, result
        if result.outcome == "left-stopped" and not opts.dry_run:
            assert (
                result.start is None
                or world.status(key) != 1
                or (result.start.outcome == "unknown")
            ), result
    for key, result in by_key.items():
        if result.outcome == "left-stopped":
            assert key in world.stopped_by_us or (
                result.stop is not None and result.stop.outcome == "unknown"
            )
            # ... and only because its start was tried and failed, or restart="never".
            assert opts.restart == "never" or (
                result.start is not None and result.start.outcome in ("failed", "unknown")
            )

    # The history's rule names exactly the tasks reported left stopped.
    assert {(r.instance_id, r.task_id) for r in left_stopped(log.rows)} == {
        key for key, r in by_key.items() if r.outcome == "left-stopped"
    }

    if opts.dry_run:
        assert world.batch_calls == [] and world.resets == []
        assert {r.outcome for r in results} <= {"dry-run", "failed"}

    # Success: reset to the instant, and where the plan puts it.
    for key, result in by_key.items():
        if result.outcome == "success":
            assert (*key, DATE_FROM) in world.resets
            assert result.was_running is not None
            planned = plan_steps(result.was_running, opts.restart, opts.verify)
            assert world.status(key) == (1 if "start" in planned else 0)
