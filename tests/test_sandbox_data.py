"""The sandbox's seeded data: deterministic, realistic, and sized on demand (no server needed)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from roma_nb.sandbox.data import DAY_MS
from roma_nb.sandbox.monitoring import CODE_STATES
from roma_nb.sandbox.state import SandboxOptions, SandboxState

HEX32 = re.compile(r"[0-9a-f]{32}")
NOW = 1_700_000_040_000


def _later() -> int:
    """A fixed lifecycle clock an hour after NOW: running executions render the same each time."""
    return NOW + 3_600_000


def _snapshot(state: SandboxState) -> list[object]:
    out: list[object] = [state.project_id]
    for inst in state.instances:
        out.append(inst.to_api())
        tasks = state.tasks(inst.id)
        out.extend(t.to_list_entity() for t in tasks)
        out.extend(state.monitor_logs(t) for t in tasks[:5])
    return out


def test_same_seed_same_data_other_seed_other_data() -> None:
    a = SandboxState(seed=7, tasks_per_instance=30, now_ms=NOW, clock=_later)
    b = SandboxState(seed=7, tasks_per_instance=30, now_ms=NOW, clock=_later)
    c = SandboxState(seed=8, tasks_per_instance=30, now_ms=NOW, clock=_later)
    assert _snapshot(a) == _snapshot(b)
    assert a.project_id != c.project_id
    assert {t.task_id for t in a.tasks(a.instances[0].id)}.isdisjoint(
        t.task_id for t in c.tasks(c.instances[0].id)
    )


def test_more_tasks_on_one_instance_leaves_the_others_alone() -> None:
    small = SandboxState(seed=1, tasks_per_instance=(5, 20), now_ms=NOW)
    big = SandboxState(seed=1, tasks_per_instance=(50, 20), now_ms=NOW)
    second = small.instances[1].id
    assert [t.task_id for t in small.tasks(second)] == [t.task_id for t in big.tasks(second)]
    assert [t.task_id for t in big.tasks(small.instances[0].id)][:5] == [
        t.task_id for t in small.tasks(small.instances[0].id)
    ]


def test_default_world_shape() -> None:
    state = SandboxState(now_ms=NOW)
    assert HEX32.fullmatch(state.project_id)
    assert len(state.instances) == 3
    assert {i.status for i in state.instances} - {"RUNNING"}, "one instance is not RUNNING"
    for inst in state.instances:
        tasks = state.tasks(inst.id)
        assert len(tasks) == 250
        combined = [t for t in tasks if t.combined]
        assert 0 < len(combined) < len(tasks)
        assert all(t.task_type == "REALTIME" for t in combined)
        entities = [t.to_list_entity() for t in tasks if not t.combined]
        # normal tasks carry ext_type "" or null (the key is always there, as in the SDK model)
        assert {e["ext_type"] for e in entities} == {"", None}
        for task in tasks:
            assert HEX32.fullmatch(task.task_id)
            assert re.fullmatch(r"[a-z]+_[a-z]+_to_[a-z_]+(_\d\d)?", task.task_name)
            assert task.created_ms < NOW
            assert task.execute_status in (
                "UNSTARTED", "WAITING", "RUNNING", "SUCCESS", "CANCELLED", "ERROR"
            )  # fmt: skip


def test_ten_thousand_tasks_on_one_instance_have_unique_ids_and_names() -> None:
    state = SandboxState(instances=1, tasks_per_instance=10_000, now_ms=NOW)
    tasks = state.tasks(state.instances[0].id)
    assert len(tasks) == 10_000
    assert len({t.task_id for t in tasks}) == 10_000
    assert len({t.task_name for t in tasks}) == 10_000


def test_monitor_logs_cover_the_days_before_the_last_execution_with_documented_codes() -> None:
    state = SandboxState(
        seed=3, tasks_per_instance=80, logs_per_task=30, log_days=3, now_ms=NOW, clock=_later
    )
    codes: set[int] = set()
    for task in state.tasks(state.instances[0].id):
        logs = state.monitor_logs(task)
        assert len(logs) == 30
        starts = [log["start_time"] for log in logs]
        assert starts == sorted(starts, reverse=True), "newest first"
        assert starts[0] == task.last_execute_ms, "the monitor state and the logs agree"
        assert all(task.last_execute_ms - 4 * DAY_MS <= s <= NOW for s in starts)
        for log in logs:
            codes.add(log["status"])
            if log["end_time"] is not None:
                assert log["end_time"] - log["start_time"] == log["spend_time"]
            position, position_status, execute_status = CODE_STATES[log["status"]]
            assert (log["position"], log["position_status"], log["execute_status"]) == (
                position,
                position_status,
                execute_status,
            )
            steps = log["detail_logs"]
            assert steps, "every execution has its steps"
            assert log["status"] in {s["status"] for s in steps}
            assert {s["stage"] for s in steps} <= {
                "adapter",
                f"{task.source_kind}reader",
                f"{task.target_kind}writer",
            }
    assert {103, 503, 913, 901} <= codes


def test_error_tasks_have_failing_recent_logs() -> None:
    state = SandboxState(now_ms=NOW)
    failing = [t for t in state.tasks(state.instances[0].id) if t.execute_status == "ERROR"]
    assert failing
    for task in failing:
        newest = state.monitor_logs(task)[0]
        assert (newest["execute_status"], newest["position"]) == ("ERROR", task.position)


def test_running_realtime_tasks_have_a_running_execution() -> None:
    state = SandboxState(now_ms=NOW, clock=_later)
    running = [
        t
        for t in state.tasks(state.instances[0].id)
        if t.status == 1 and t.execute_status == "RUNNING" and t.task_type == "REALTIME"
    ]
    assert running
    for task in running:
        newest = state.monitor_logs(task)[0]
        assert (newest["status"], newest["position_status"], newest["end_time"]) == (
            102,
            "NORMAL",
            None,
        )
        assert newest["spend_time"] == _later() - task.last_execute_ms


def test_task_detail_has_json_string_and_either_status_style() -> None:
    state = SandboxState(now_ms=NOW)
    details = [t.to_detail(state.project_id) for t in state.tasks(state.instances[0].id)]
    assert all(isinstance(d["task_detail"], str) for d in details)
    assert all("ext_type" not in d["task"] for d in details)
    styles = {d["task"]["status"] for d in details}
    assert styles == {"0", "1", "stop", "running"}


@pytest.mark.parametrize(
    "options",
    [
        {"offset_mode": "bytes"},
        {"instances": 0},
        {"tasks_per_instance": -1},
        {"latency_ms": -1.0},
        {"log_days": 0},
        {"stop_delay_ms": -1.0},
        {"start_delay_ms": -1.0},
        {"log_retention_days": 0},
    ],
)
def test_options_are_checked(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each message differs
        SandboxState(SandboxOptions(), **options)


def test_reset_restores_data_and_forgets_refusals() -> None:
    state = SandboxState(tasks_per_instance=10, now_ms=NOW, clock=_later)
    task = state.tasks(state.instances[0].id)[0]
    before = task.to_list_entity()
    assert (state.stop_task(task) if task.status else state.start_task(task)) is None
    assert task.to_list_entity() != before
    state.advance(60_000)
    state.reject_token("t")
    state.reset()
    assert state.tasks(state.instances[0].id)[0].to_list_entity() == before
    assert not state.is_rejected("t")
    assert state.now() == _later(), "the clock is back where it was"
