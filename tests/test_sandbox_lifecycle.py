"""The sandbox's task lifecycle over a real socket: batch start/stop that takes effect after a
delay, run and terminate as documented, a restart after a reset reading from ``date_from``, the
change-log retention, and the faults of the new steps (``roma-api.md`` §2, §2a)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
from sandbox_http import api_client

from roma_nb.sandbox import Sandbox
from roma_nb.sandbox.data import DAY_MS, TaskRow


def _frozen_clock() -> Callable[[], int]:
    """A lifecycle clock that stands still (at the current time) until the test advances it,
    so "not yet" after a delay is a fact rather than a race with the wall clock."""
    now = int(time.time() * 1000)
    return lambda: now


def _instance(sandbox: Sandbox) -> str:
    return sandbox.state.instances[0].id


def _combined(sandbox: Sandbox, *, running: bool, count: int = 1) -> list[TaskRow]:
    """Combined tasks that run (RUNNING) or are stopped and not in ERROR."""
    tasks = [
        t
        for t in sandbox.state.combined_tasks(_instance(sandbox))
        if t.status == int(running) and t.execute_status != "ERROR"
    ]
    assert len(tasks) >= count
    return tasks[:count]


def _batch(
    api: httpx.Client, sandbox: Sandbox, action: str, task_ids: list[str], status: int = 200
) -> dict[str, Any]:
    r = api.post(
        f"/fdi/instances/{_instance(sandbox)}/batch-operation/tasks",
        json={"action_id": action, "list": [{"task_id": t} for t in task_ids]},
    )
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    return body


def _listed(api: httpx.Client, sandbox: Sandbox, task_id: str) -> dict[str, Any]:
    body = api.get(f"/fdi/instances/{_instance(sandbox)}/tasks", params={"task_id": task_id})
    [entity] = body.json()["entities"]
    return dict(entity)


def _monitor(api: httpx.Client, sandbox: Sandbox, task: TaskRow) -> dict[str, Any]:
    body = api.get(
        f"/fdi/instances/{_instance(sandbox)}/task-monitors",
        params={"task_name": task.task_name, "limit": 999},
    ).json()
    [entity] = [e for e in body["entities"] if e["task_id"] == task.task_id]
    return dict(entity)


def _logs(api: httpx.Client, sandbox: Sandbox, task_id: str, **params: Any) -> list[Any]:
    url = f"/fdi/instances/{_instance(sandbox)}/tasks/{task_id}/monitor-logs"
    entities: list[Any] = api.get(url, params={"limit": 999, **params}).json()["entities"]
    return entities


def _reset(api: httpx.Client, sandbox: Sandbox, task_id: str, date_from: int | None) -> int:
    body = {} if date_from is None else {"date_from": date_from}
    url = f"/fdi/instances/{_instance(sandbox)}/multi-tasks/{task_id}/reset"
    return api.post(url, json=body).status_code


def _state(api: httpx.Client, sandbox: Sandbox, task_id: str) -> tuple[int, str]:
    entity = _listed(api, sandbox, task_id)
    return entity["status"], entity["execute_status"]


# -- the batch call ------------------------------------------------------------------------


def test_stop_takes_effect_after_the_stop_delay(
    roma_sandbox_factory: Callable[..., Sandbox],
) -> None:
    sandbox = roma_sandbox_factory(tasks_per_instance=40, stop_delay_ms=1500, clock=_frozen_clock())
    [task] = _combined(sandbox, running=True)
    with api_client(sandbox) as api:
        running_log = _logs(api, sandbox, task.task_id)[0]
        assert running_log["end_time"] is None
        stopped_at = sandbox.state.now()
        body = _batch(api, sandbox, "stop", [task.task_id])
        assert (body["success_count"], body["failure_count"]) == (1, 0)
        assert body["success"] == [
            {"task_id": task.task_id, "task_name": task.task_name, "error_code": None,
             "error_msg": None}
        ]  # fmt: skip
        assert _state(api, sandbox, task.task_id) == (1, "RUNNING"), "not yet: the old state"
        assert _monitor(api, sandbox, task)["status"] == 1
        sandbox.advance(1499)
        assert _state(api, sandbox, task.task_id) == (1, "RUNNING")
        sandbox.advance(1)
        assert _state(api, sandbox, task.task_id) == (0, "CANCELLED")
        assert (
            _monitor(api, sandbox, task)["status"],
            _monitor(api, sandbox, task)["position"],
        ) == (
            0,
            "READER",
        )
        [ended] = [
            log for log in _logs(api, sandbox, task.task_id) if log["id"] == running_log["id"]
        ]
    assert (ended["status"], ended["position_status"], ended["execute_status"]) == (
        106,
        "RUNTIME_CANCEL",
        "CANCELLED",
    )
    assert stopped_at + 1500 <= ended["end_time"] <= sandbox.state.now()
    assert [s["status"] for s in ended["detail_logs"]][-2:] == [106, 505]


def test_start_takes_effect_after_the_start_delay(
    roma_sandbox_factory: Callable[..., Sandbox],
) -> None:
    sandbox = roma_sandbox_factory(
        tasks_per_instance=40, start_delay_ms=2000, clock=_frozen_clock()
    )
    [task] = _combined(sandbox, running=False)
    with api_client(sandbox) as api:
        before = _state(api, sandbox, task.task_id)
        assert _batch(api, sandbox, "start", [task.task_id])["success_count"] == 1
        assert _state(api, sandbox, task.task_id) == before
        # a second start while the first is pending is accepted and changes nothing
        assert _batch(api, sandbox, "start", [task.task_id])["success_count"] == 1
        sandbox.advance(2000)
        assert _state(api, sandbox, task.task_id) == (1, "RUNNING")
        assert _batch(api, sandbox, "start", [task.task_id])["failure"][0]["error_code"] == (
            "FDI.3023"
        )


def test_a_stop_before_a_pending_start_shows_cancels_it(
    roma_sandbox_factory: Callable[..., Sandbox],
) -> None:
    sandbox = roma_sandbox_factory(tasks_per_instance=40, start_delay_ms=2000)
    [task] = _combined(sandbox, running=False)
    with api_client(sandbox) as api:
        before = _state(api, sandbox, task.task_id)
        _batch(api, sandbox, "start", [task.task_id])
        assert _batch(api, sandbox, "stop", [task.task_id])["success_count"] == 1
        sandbox.advance(10_000)
        assert _state(api, sandbox, task.task_id) == before


def test_a_batch_carries_at_most_ten_tasks(api: httpx.Client, roma_sandbox: Sandbox) -> None:
    ids = [t.task_id for t in roma_sandbox.state.tasks(_instance(roma_sandbox))[:11]]
    body = _batch(api, roma_sandbox, "stop", ids, status=400)
    assert body["error_code"] == "FDI.3002"
    assert "at most 10" in body["error_msg"]
    assert _batch(api, roma_sandbox, "stop", ids[:10])["success_count"] == 10
    assert _batch(api, roma_sandbox, "stop", [], status=400)["error_code"] == "FDI.3150"


def test_each_tasks_failure_is_in_failure_inside_a_200(
    api: httpx.Client, roma_sandbox: Sandbox
) -> None:
    [running] = _combined(roma_sandbox, running=True)
    [stopped] = _combined(roma_sandbox, running=False)
    r = api.post(
        f"/fdi/instances/{_instance(roma_sandbox)}/batch-operation/tasks",
        json={
            "action_id": "start",
            "list": [
                {"task_id": running.task_id},
                {"task_id": "f" * 32},
                {"task_id": ""},
                {},
                {"task_id": stopped.task_id},
            ],
        },
    )
    assert r.status_code == 200
    body = r.json()
    assert (body["success_count"], body["failure_count"]) == (1, 4)
    assert [f["error_code"] for f in body["failure"]] == [
        "FDI.3023",
        "FDI.3021",
        "FDI.3022",
        "FDI.3022",
    ]
    assert body["failure"][0]["task_name"] == running.task_name
    assert body["success"][0]["task_id"] == stopped.task_id
    # stopping a stopped task is no failure
    assert (
        _batch(api, roma_sandbox, "stop", [stopped.task_id, stopped.task_id])["success_count"] == 2
    )


# -- restart after a reset -----------------------------------------------------------------


def test_reset_then_start_begins_an_execution_reading_from_date_from(
    api: httpx.Client, roma_sandbox: Sandbox
) -> None:
    [task] = _combined(roma_sandbox, running=True)
    _batch(api, roma_sandbox, "stop", [task.task_id])
    date_from = roma_sandbox.state.now() - 6 * 3_600_000
    assert _reset(api, roma_sandbox, task.task_id, date_from) == 200
    before = roma_sandbox.state.now()
    _batch(api, roma_sandbox, "start", [task.task_id])
    after = roma_sandbox.state.now()

    monitor = _monitor(api, roma_sandbox, task)
    assert (monitor["status"], monitor["execute_status"], monitor["position"]) == (
        1,
        "RUNNING",
        "READER",
    )
    restart = monitor["last_execute_time"]
    assert before <= restart <= after
    since = _logs(api, roma_sandbox, task.task_id, begin_time=restart)
    [log] = since
    assert log["start_time"] == restart
    assert (log["status"], log["position"], log["position_status"], log["execute_status"]) == (
        102,
        "READER",
        "NORMAL",
        "RUNNING",
    )
    assert log["end_time"] is None
    steps = log["detail_logs"]
    assert [s["status"] for s in steps] == [99, 100, 102, 500, 502]
    assert [s["stage"] for s in steps] == [
        "adapter",
        f"{task.source_kind}reader",
        f"{task.source_kind}reader",
        f"{task.target_kind}writer",
        f"{task.target_kind}writer",
    ]
    reader = steps[1]
    assert f"date_from {date_from}" in reader["remarks"]
    assert f"date_from {date_from}" in log["remarks"]
    assert steps[2]["step_end_time"] is None

    roma_sandbox.advance(30_000)
    [later] = _logs(api, roma_sandbox, task.task_id, begin_time=restart)
    assert later["data_count"] > log["data_count"]
    assert later["detail_logs"][2]["data_count"] == later["data_count"]
    assert later["spend_time"] >= 30_000


def test_a_start_without_a_reset_resumes_from_the_saved_position(
    api: httpx.Client, roma_sandbox: Sandbox
) -> None:
    [task] = _combined(roma_sandbox, running=False)
    _batch(api, roma_sandbox, "start", [task.task_id])
    newest = _logs(api, roma_sandbox, task.task_id)[0]
    assert newest["status"] == 102
    assert "the saved position" in newest["detail_logs"][1]["remarks"]
    # a reset without date_from: the service chose the point
    _batch(api, roma_sandbox, "stop", [task.task_id])
    assert _reset(api, roma_sandbox, task.task_id, None) == 200
    _batch(api, roma_sandbox, "start", [task.task_id])
    assert "no date_from" in _logs(api, roma_sandbox, task.task_id)[0]["remarks"]


def test_a_date_from_older_than_the_log_retention_fails_the_new_execution(
    roma_sandbox_factory: Callable[..., Sandbox],
) -> None:
    sandbox = roma_sandbox_factory(tasks_per_instance=40, log_retention_days=2)
    [task] = _combined(sandbox, running=False)
    with api_client(sandbox) as api:
        date_from = sandbox.state.now() - 3 * DAY_MS
        assert _reset(api, sandbox, task.task_id, date_from) == 200
        _batch(api, sandbox, "start", [task.task_id])
        assert _state(api, sandbox, task.task_id) == (1, "ERROR")
        monitor = _monitor(api, sandbox, task)
        log = _logs(api, sandbox, task.task_id, begin_time=monitor["last_execute_time"])[0]
    assert (log["status"], log["position"], log["position_status"], log["execute_status"]) == (
        103,
        "READER",
        "RUNTIME_ERR",
        "ERROR",
    )
    assert "no longer reaches back" in log["remarks"]
    assert str(date_from) in log["remarks"]
    assert log["data_count"] == 0
    assert [s["status"] for s in log["detail_logs"]] == [99, 100, 103]
    assert monitor["execute_status"] == "ERROR"


def test_a_date_from_within_the_retention_reads(
    roma_sandbox_factory: Callable[..., Sandbox],
) -> None:
    sandbox = roma_sandbox_factory(tasks_per_instance=40, log_retention_days=4)
    [task] = _combined(sandbox, running=False)
    with api_client(sandbox) as api:
        assert _reset(api, sandbox, task.task_id, sandbox.state.now() - 3 * DAY_MS) == 200
        _batch(api, sandbox, "start", [task.task_id])
        assert _state(api, sandbox, task.task_id) == (1, "RUNNING")


# -- refuse_running: a strict and a lenient server -----------------------------------------


def test_a_strict_server_refuses_to_reset_a_running_task_until_it_is_stopped(
    roma_sandbox_factory: Callable[..., Sandbox],
) -> None:
    sandbox = roma_sandbox_factory(
        tasks_per_instance=40, refuse_running=True, stop_delay_ms=500, clock=_frozen_clock()
    )
    [task] = _combined(sandbox, running=True)
    with api_client(sandbox) as api:
        url = f"/fdi/instances/{_instance(sandbox)}/multi-tasks/{task.task_id}/reset"
        r = api.post(url, json={"date_from": 1_700_000_000_000})
        assert (r.status_code, r.json()["error_code"]) == (400, "FDI.3023")
        _batch(api, sandbox, "stop", [task.task_id])
        r = api.post(url, json={"date_from": 1_700_000_000_000})
        assert r.status_code == 400, "still stopping: still running"
        sandbox.advance(500)
        assert api.post(url, json={"date_from": 1_700_000_000_000}).status_code == 200
    assert [r.task_id for r in sandbox.resets] == [task.task_id]


def test_a_lenient_server_keeps_a_reset_of_a_running_task_for_the_next_start(
    lenient_sandbox: Sandbox,
) -> None:
    sandbox = lenient_sandbox
    assert sandbox.state.options.refuse_running is False
    [task] = _combined(sandbox, running=True)
    date_from = sandbox.state.now() - 3_600_000
    with api_client(sandbox) as api:
        assert _reset(api, sandbox, task.task_id, date_from) == 200
        assert _logs(api, sandbox, task.task_id)[0]["status"] == 102, "the run goes on"
        _batch(api, sandbox, "stop", [task.task_id])
        _batch(api, sandbox, "start", [task.task_id])
        assert f"date_from {date_from}" in _logs(api, sandbox, task.task_id)[0]["remarks"]


# -- run and terminate are not start and stop ----------------------------------------------


def test_run_triggers_one_scheduling_without_starting_the_task(
    api: httpx.Client, roma_sandbox: Sandbox
) -> None:
    tasks = roma_sandbox.state.tasks(_instance(roma_sandbox))
    task = next(t for t in tasks if t.task_type == "TIMING" and t.status == 0)
    url = f"/fdi/instances/{_instance(roma_sandbox)}/tasks/{task.task_id}"
    r = api.post(f"{url}/run")
    assert (r.status_code, r.json()) == (200, {})
    assert _state(api, roma_sandbox, task.task_id) == (0, "SUCCESS")
    newest = _logs(api, roma_sandbox, task.task_id)[0]
    assert (newest["status"], newest["position_status"], newest["execute_status"]) == (
        901,
        "TASK_END",
        "SUCCESS",
    )
    assert newest["detail_logs"][0]["status"] == 900
    assert _monitor(api, roma_sandbox, task)["last_execute_time"] == newest["start_time"]


def test_run_while_an_execution_runs_is_refused(api: httpx.Client, roma_sandbox: Sandbox) -> None:
    [task] = _combined(roma_sandbox, running=True)
    r = api.post(f"/fdi/instances/{_instance(roma_sandbox)}/tasks/{task.task_id}/run")
    assert (r.status_code, r.json()["error_code"]) == (400, "FDI.3023")


def test_terminate_cancels_the_current_execution_and_leaves_the_task_started(
    api: httpx.Client, roma_sandbox: Sandbox
) -> None:
    [task] = _combined(roma_sandbox, running=True)
    r = api.post(f"/fdi/instances/{_instance(roma_sandbox)}/tasks/{task.task_id}/terminate")
    assert (r.status_code, r.json()) == (200, {"message": "Stop Success"})
    assert _state(api, roma_sandbox, task.task_id) == (1, "CANCELLED")
    newest = _logs(api, roma_sandbox, task.task_id)[0]
    assert (newest["status"], newest["execute_status"]) == (106, "CANCELLED")
    assert newest["end_time"] is not None


# -- faults of the new steps ---------------------------------------------------------------


def test_stop_fails_lists_the_task_in_failure_and_leaves_it_running(
    api: httpx.Client, roma_sandbox: Sandbox
) -> None:
    first, second = _combined(roma_sandbox, running=True, count=2)
    roma_sandbox.inject("stop_fails", match=first.task_id)
    body = _batch(api, roma_sandbox, "stop", [first.task_id, second.task_id])
    assert [(f["task_id"], f["error_code"]) for f in body["failure"]] == [
        (first.task_id, "FDI.3019")  # a real-time task
    ]
    assert body["failure"][0]["error_msg"] == "Failed to stop the real-time task."
    assert [s["task_id"] for s in body["success"]] == [second.task_id]
    assert _state(api, roma_sandbox, first.task_id) == (1, "RUNNING")
    assert roma_sandbox.faults == [], "used up"
    assert _batch(api, roma_sandbox, "stop", [first.task_id])["success_count"] == 1


def test_stop_fails_on_a_scheduled_task_is_fdi_3020(
    api: httpx.Client, roma_sandbox: Sandbox
) -> None:
    tasks = roma_sandbox.state.tasks(_instance(roma_sandbox))
    timing = next(t for t in tasks if t.task_type == "TIMING" and t.status == 1)
    roma_sandbox.inject("stop_fails")
    assert _batch(api, roma_sandbox, "stop", [timing.task_id])["failure"][0]["error_code"] == (
        "FDI.3020"
    )


def test_start_fails_lists_the_task_in_failure(api: httpx.Client, roma_sandbox: Sandbox) -> None:
    first, second = _combined(roma_sandbox, running=False, count=2)
    roma_sandbox.inject("start_fails", match=first.task_id)
    roma_sandbox.inject("start_fails", match=second.task_id, error_code="FDI.3027")
    body = _batch(api, roma_sandbox, "start", [first.task_id, second.task_id])
    assert [(f["error_code"], f["error_msg"]) for f in body["failure"]] == [
        ("FDI.3026", "Failed to manually start the task."),
        ("FDI.3027", "Failed to manually stop the task."),
    ]
    assert _state(api, roma_sandbox, first.task_id)[0] == 0


def test_stuck_stopping_accepts_the_stop_but_never_stops(
    api: httpx.Client, roma_sandbox: Sandbox
) -> None:
    [task] = _combined(roma_sandbox, running=True)
    roma_sandbox.inject("stuck_stopping", match=task.task_id)
    assert _batch(api, roma_sandbox, "stop", [task.task_id])["success_count"] == 1
    roma_sandbox.advance(30 * DAY_MS)
    assert _state(api, roma_sandbox, task.task_id) == (1, "RUNNING")
    assert _batch(api, roma_sandbox, "stop", [task.task_id])["success_count"] == 1
    assert _state(api, roma_sandbox, task.task_id) == (1, "RUNNING")


def test_late_stopping_lands_only_after_the_start_it_makes_refused(
    api: httpx.Client, roma_sandbox: Sandbox
) -> None:
    [task] = _combined(roma_sandbox, running=True)
    roma_sandbox.inject("late_stopping", match=task.task_id)
    assert _batch(api, roma_sandbox, "stop", [task.task_id])["success_count"] == 1
    roma_sandbox.advance(30 * DAY_MS)
    assert _state(api, roma_sandbox, task.task_id) == (1, "RUNNING")
    failure = _batch(api, roma_sandbox, "start", [task.task_id])["failure"]
    assert [f["error_code"] for f in failure] == ["FDI.3023"], "it still runs"
    assert _state(api, roma_sandbox, task.task_id) == (0, "CANCELLED"), "then the stop lands"
    assert _batch(api, roma_sandbox, "start", [task.task_id])["success_count"] == 1
    assert _state(api, roma_sandbox, task.task_id) == (1, "RUNNING")


def test_task_faults_through_the_control_plane(roma_sandbox: Sandbox) -> None:
    [task] = _combined(roma_sandbox, running=True)
    with httpx.Client(base_url=roma_sandbox.url) as control:
        r = control.post(
            "/_sandbox/faults",
            json={"kind": "stop_fails", "match": task.task_id, "error_code": "FDI.3020"},
        )
        assert r.status_code == 201
        assert r.json()["error_code"] == "FDI.3020"
        bad = control.post("/_sandbox/faults", json={"kind": "stop_fails", "error_code": "X"})
        assert bad.status_code == 400
        assert "FDI.3019 or FDI.3020" in bad.json()["error"]
    with api_client(roma_sandbox) as api:
        failure = _batch(api, roma_sandbox, "stop", [task.task_id])["failure"]
    assert failure[0]["error_code"] == "FDI.3020"


def test_task_faults_leave_whole_requests_alone(api: httpx.Client, roma_sandbox: Sandbox) -> None:
    roma_sandbox.inject("stuck_stopping", times=None)
    roma_sandbox.inject("start_fails", times=None)
    assert api.get("/instances").status_code == 200
    [task] = _combined(roma_sandbox, running=False)
    assert _reset(api, roma_sandbox, task.task_id, None) == 200
    assert len(roma_sandbox.faults) == 2


# -- the clock and the options ---------------------------------------------------------------


def test_the_clock_moves_forward_over_http(roma_sandbox_factory: Callable[..., Sandbox]) -> None:
    sandbox = roma_sandbox_factory(
        tasks_per_instance=40, stop_delay_ms=1000, start_delay_ms=1500, log_retention_days=3
    )
    [task] = _combined(sandbox, running=True)
    with httpx.Client(base_url=sandbox.url) as control, api_client(sandbox) as api:
        info = control.get("/_sandbox/info").json()
        assert {k: info["options"][k] for k in ("stop_delay_ms", "start_delay_ms")} == {
            "stop_delay_ms": 1000,
            "start_delay_ms": 1500,
        }
        assert info["options"]["log_retention_days"] == 3
        assert info["options"]["refuse_running"] is True  # the default
        _batch(api, sandbox, "stop", [task.task_id])
        r = control.post("/_sandbox/advance", json={"ms": 1000})
        assert r.json()["clock_ms"] >= info["clock_ms"] + 1000
        assert _state(api, sandbox, task.task_id)[0] == 0
        assert control.post("/_sandbox/advance", json={"ms": -1}).status_code == 400
        assert control.post("/_sandbox/advance", json={"ms": "x"}).status_code == 400
