"""``check_apply``: the plan against the world as the client sees it now.

Pure tests over plain records, then one plan made from a real sandbox's records over a socket,
saved, loaded and checked there and against another sandbox (another project).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from plans_data import NOW, SANDBOX, H, M, sample_plan, task

from roma_nb.auth import TokenAuth
from roma_nb.client import RomaClient
from roma_nb.errors import ValidationError
from roma_nb.models import Task
from roma_nb.plans import (
    ApplyCheck,
    Environment,
    Plan,
    Position,
    Procedure,
    World,
    build_plan,
    check_apply,
    resolve_date_from,
    where_now,
)
from roma_nb.sandbox import Sandbox

LATER = NOW + 10 * M
TASKS = [task("t1", "orders"), task("t2", "customers", status=0, execute_status=None)]


def world(**changes: Any) -> World:
    return replace(World(SANDBOX, LATER, TASKS), **changes)


def test_the_same_world_a_little_later_is_fine() -> None:
    plan = sample_plan()
    verdict = check_apply(plan, world())
    assert verdict == ApplyCheck(plan.plan_id)
    assert verdict.ok
    assert verdict.text() == f"plan {plan.plan_id[:16]}…: OK"
    # other tasks on the instance, and tasks listed without their instance id, are fine
    extra = [*TASKS, task("t3"), replace(TASKS[0], instance_id=None)]
    assert check_apply(plan, world(tasks=extra)).ok


def test_another_project_or_endpoint_is_refused() -> None:
    plan = sample_plan()
    other = check_apply(plan, world(environment=Environment("SANDBOX", "SANDBOX", "p2")))
    assert other.refusals == (
        "The plan is for SANDBOX / project p1, but the client talks to SANDBOX / project p2.",
    )
    cloud = Environment("roma / p1", "https://roma.example.com", "p1")
    assert not check_apply(plan, world(environment=cloud)).ok


def test_an_expired_plan_is_refused_with_who_made_it_when() -> None:
    plan = sample_plan()
    [reason] = check_apply(plan, world(now_ms=plan.expires_ms + 5 * M)).refusals
    assert reason == (
        "The plan expired at 2024-03-11T12:00:00Z (5 min ago; alice made it at "
        "2024-03-10T12:00:00Z). Make the plan again."
    )
    assert "expired" in check_apply(plan, world(now_ms=plan.expires_ms)).refusals[0]
    assert check_apply(plan, world(now_ms=plan.expires_ms - 1)).ok


def test_a_date_from_that_left_the_retention_since_planning_is_refused() -> None:
    plan = sample_plan(date_from=resolve_date_from("47h ago", now_ms=NOW), positions={})
    assert check_apply(plan, world(now_ms=NOW + H)).ok
    [reason] = check_apply(plan, world(now_ms=NOW + 2 * H)).refusals
    assert "older than the CDC log retention of 2 days" in reason


def test_a_task_gone_or_no_longer_combined_is_refused_by_name() -> None:
    plan = sample_plan()
    gone = check_apply(plan, world(tasks=[TASKS[1]]))
    assert gone.refusals == ("Task orders (t1) no longer exists on instance inst-1.",)
    moved = [replace(TASKS[0], instance_id="inst-2"), TASKS[1]]
    assert check_apply(plan, world(tasks=moved)).refusals == gone.refusals
    normal = [replace(TASKS[0], ext_type="NORMAL"), TASKS[1]]
    assert check_apply(plan, world(tasks=normal)).refusals == (
        "Task orders (t1) is no longer a combined task (ext_type is now 'NORMAL').",
    )


def test_a_changed_state_or_name_is_a_warning_naming_the_task() -> None:
    plan = sample_plan()
    changed = [replace(TASKS[0], status=0, execute_status="CANCELLED"),
               replace(TASKS[1], task_name="customers_v2")]  # fmt: skip
    verdict = check_apply(plan, world(tasks=changed))
    assert verdict.ok
    assert verdict.warnings == (
        "Task orders (t1) was running (RUNNING) when planned and is stopped (CANCELLED) now.",
        "Task customers (t2) is now named 'customers_v2'.",
    )
    assert verdict.text().splitlines()[1:] == [f"  ! {w}" for w in verdict.warnings]
    assert "OK, with warnings" in verdict.text()


def test_only_the_approved_plan_may_be_applied() -> None:
    plan = sample_plan()
    assert check_apply(plan, world(), approved_plan_id=f" {plan.plan_id.upper()} ").ok
    other = sample_plan(planner="bob")
    [reason] = check_apply(other, world(), approved_plan_id=plan.plan_id).refusals
    assert reason.startswith(f"This plan's id is {other.plan_id}, not the approved {plan.plan_id}")


def test_fresh_evidence_rechecks_the_direction() -> None:
    plan = sample_plan()  # t1 replays 6 h 12 min, t2 starts where it is
    ahead = {"t1": Position("monitor-log", NOW - 2 * H - 5 * M)}
    [reason] = check_apply(plan, world(positions=ahead)).refusals
    assert reason.startswith("Task orders (t1): date_from 2024-03-10T10:00:00Z is 5 min after")
    assert reason.endswith(
        "When planned it replays 6 h 12 min; the plan does not allow forward moves."
    )
    allowed = sample_plan(procedure=Procedure.rewind(allow_forward=True))
    verdict = check_apply(allowed, world(positions=ahead))
    assert verdict.ok
    assert verdict.warnings == (
        "Task orders (t1) now skips 5 min of changes (when planned: replays 6 h 12 min).",
    )
    further = {"t2": Position("monitor-log", LATER)}  # it ran on: it now replays, as expected
    assert check_apply(plan, world(positions=further)).warnings == (
        "Task customers (t2) now replays 2 h 10 min (when planned: starts where it is: nothing "
        "replayed, nothing skipped).",
    )


def test_every_refusal_is_listed_at_once() -> None:
    plan = sample_plan()
    verdict = check_apply(
        plan,
        World(Environment("SANDBOX", "SANDBOX", "p9"), plan.expires_ms + 1, []),
        approved_plan_id="0" * 64,
    )
    assert len(verdict.refusals) == 5  # id, environment, expiry, two tasks gone
    assert verdict.text().startswith(f"plan {plan.plan_id[:16]}…: REFUSED\n  x This plan's id")


def test_the_clock_is_required() -> None:
    with pytest.raises(ValidationError, match=r"World\.now_ms is required"):
        check_apply(sample_plan(), world(now_ms=None))


# --- a real sandbox, over a socket -----------------------------------------------------------


def plan_from(client: RomaClient, instance_id: str, now: int) -> tuple[Plan, list[Task]]:
    """What a caller of the plans package does: fetch records, then plan from plain data."""
    listed = client.list_tasks(instance_id, combined_only=False)
    combined = [t for t in listed if t.is_combined][:3]
    monitors = {m.task_id: m for m in client.task_monitors(instance_id)}
    positions = {
        t.task_id: where_now(
            logs=client.monitor_logs(instance_id, t.task_id), monitor=monitors.get(t.task_id)
        )
        for t in combined
    }
    plan = build_plan(
        environment=Environment.of(client),
        instance_id=instance_id,
        tasks=combined,
        date_from=resolve_date_from("90m ago", "Asia/Shanghai", now_ms=now),
        now_ms=now,
        positions=positions,
        procedure=Procedure.rewind(allow_forward=True),
        planner="alice",
    )
    return plan, listed


def test_a_plan_from_sandbox_records_is_checked_there_and_refused_elsewhere(
    roma_sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    now = 1_710_072_000_000
    here = roma_sandbox_factory(seed=3, now_ms=now, instances=1, tasks_per_instance=12)
    there = roma_sandbox_factory(seed=4, now_ms=now, instances=1, tasks_per_instance=12)
    with (
        RomaClient(
            here.url, project_id=here.project_id, auth=TokenAuth(here.token), label="SANDBOX"
        ) as a,
        RomaClient(
            there.url, project_id=there.project_id, auth=TokenAuth(there.token), label="SANDBOX"
        ) as b,
    ):
        instance_id = a.list_instances()[0].id
        plan, listed = plan_from(a, instance_id, now)
        assert {t.position.evidence for t in plan.tasks} <= {"monitor-log", "last-execute-time"}
        loaded = Plan.load(plan.save(tmp_path / "plan.json"))
        assert loaded == plan
        later = now + 5 * M
        assert check_apply(loaded, World(Environment.of(a), later, listed)).refusals == ()
        elsewhere = check_apply(
            loaded, World(Environment.of(b), later, b.list_tasks(b.list_instances()[0].id))
        )
        assert elsewhere.refusals[0].startswith(
            f"The plan is for SANDBOX / project {here.project_id}, but the client talks to "
            f"SANDBOX / project {there.project_id}."
        )
        assert [r for r in elsewhere.refusals if "no longer exists" in r]
    assert here.resets == [] and there.resets == []
