"""The sandbox's seeded data: deterministic, realistic, and sized on demand (no server needed)."""

from __future__ import annotations

import re

import pytest

from roma_nb.sandbox.data import DAY_MS, MONITOR_CODES
from roma_nb.sandbox.state import SandboxOptions, SandboxState

HEX32 = re.compile(r"[0-9a-f]{32}")
NOW = 1_700_000_040_000


def _snapshot(state: SandboxState) -> list[object]:
    out: list[object] = [state.project_id]
    for inst in state.instances:
        out.append(inst.to_api())
        tasks = state.tasks(inst.id)
        out.extend(t.to_list_entity() for t in tasks)
        out.extend(state.monitor_logs(t) for t in tasks[:5])
    return out


def test_same_seed_same_data_other_seed_other_data() -> None:
    a = SandboxState(seed=7, tasks_per_instance=30, now_ms=NOW)
    b = SandboxState(seed=7, tasks_per_instance=30, now_ms=NOW)
    c = SandboxState(seed=8, tasks_per_instance=30, now_ms=NOW)
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
        # normal tasks carry ext_type "", null, or no ext_type at all
        assert {e.get("ext_type", "missing") for e in entities} == {"", None, "missing"}
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


def test_monitor_logs_cover_the_last_days_with_documented_codes() -> None:
    state = SandboxState(seed=3, tasks_per_instance=80, logs_per_task=30, log_days=3, now_ms=NOW)
    codes: set[int] = set()
    for task in state.tasks(state.instances[0].id):
        logs = state.monitor_logs(task)
        assert len(logs) == 30
        starts = [log["start_time"] for log in logs]
        assert starts == sorted(starts, reverse=True), "newest first"
        assert all(NOW - 3 * DAY_MS - DAY_MS <= s <= NOW for s in starts)
        for log in logs:
            codes.add(log["status"])
            assert log["end_time"] - log["start_time"] == log["spend_time"]
            position = MONITOR_CODES[log["status"]][0]
            assert log["position"] == position
    assert {103, 503, 913} <= codes
    assert any(100 <= c < 500 for c in codes)
    assert any(500 <= c < 900 for c in codes)
    assert any(c >= 900 for c in codes)


def test_error_tasks_have_failing_recent_logs() -> None:
    state = SandboxState(now_ms=NOW)
    failing = [t for t in state.tasks(state.instances[0].id) if t.execute_status == "ERROR"]
    assert failing
    for task in failing:
        assert state.monitor_logs(task)[0]["execute_status"] == "ERROR"


def test_task_detail_has_json_string_and_either_status_style() -> None:
    state = SandboxState(now_ms=NOW)
    details = [t.to_detail(state.project_id) for t in state.tasks(state.instances[0].id)]
    assert all(isinstance(d["task_detail"], str) for d in details)
    styles = {d["task"]["status"] for d in details}
    assert styles & {"0", "1"}
    assert styles & {"RUNNING", "STOPPED"}


@pytest.mark.parametrize(
    "options",
    [
        {"offset_mode": "bytes"},
        {"instances": 0},
        {"tasks_per_instance": -1},
        {"latency_ms": -1.0},
        {"log_days": 0},
    ],
)
def test_options_are_checked(options: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each message differs
        SandboxState(SandboxOptions(), **options)


def test_reset_restores_data_and_forgets_refusals() -> None:
    state = SandboxState(tasks_per_instance=10, now_ms=NOW)
    task = state.tasks(state.instances[0].id)[0]
    before = task.to_list_entity()
    state.set_task_status(task, running=task.status == 0)
    state.reject_token("t")
    state.reset()
    assert state.tasks(state.instances[0].id)[0].to_list_entity() == before
    assert not state.is_rejected("t")
