"""The client reads what the official SDK documents: limits of 999, a task's combined-ness from the
list (the detail has no ``ext_type``), the SDK's fields in its records, every monitor code in
words, and a strict server that refuses to reset a running task as well as a lenient one."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from urllib.parse import parse_qs

import httpx
import pytest

from roma_nb.auth import TokenAuth
from roma_nb.client import AsyncRomaClient, RomaClient
from roma_nb.errors import ApiError
from roma_nb.models import MONITOR_STATUS_CODES, Task, describe_monitor_status
from roma_nb.sandbox import Sandbox


def _client(sandbox: Sandbox) -> RomaClient:
    return RomaClient(sandbox.url, project_id=sandbox.project_id, auth=TokenAuth(sandbox.token))


def _limits(sandbox: Sandbox, fragment: str) -> list[int]:
    return [
        int(parse_qs(c.query)["limit"][0])
        for c in sandbox.calls
        if c.path.endswith(fragment) and "limit" in parse_qs(c.query)
    ]


def test_no_limit_above_999_is_ever_sent(roma_sandbox_factory: Callable[..., Sandbox]) -> None:
    sandbox = roma_sandbox_factory(instances=1, tasks_per_instance=1500)
    instance = sandbox.state.instances[0].id
    task = sandbox.state.tasks(instance)[0]
    with _client(sandbox) as client:
        assert len(client.list_tasks(instance, combined_only=False)) == 1500
        assert len(client.list_tasks(instance, combined_only=False, page_size=5000)) == 1500
        assert len(client.task_monitors(instance, page_size=1000)) == 1500
        assert client.monitor_logs(instance, task.task_id, page_size=10_000)
        client.get_task(instance, task.task_id)
    limits = _limits(sandbox, "/tasks") + _limits(sandbox, "/task-monitors")
    limits += _limits(sandbox, "/monitor-logs")
    assert limits and max(limits) == 999


def test_get_task_tells_a_combined_task_from_the_list(
    client: RomaClient, roma_sandbox: Sandbox
) -> None:
    instance = roma_sandbox.state.instances[0].id
    tasks = roma_sandbox.state.tasks(instance)
    combined = next(t for t in tasks if t.combined)
    normal = next(t for t in tasks if not t.combined)
    detail = client.get_task(instance, combined.task_id)
    assert detail.is_combined
    assert detail.ext_type == "CDC"
    assert detail.last_modified_time == combined.last_modified_ms
    assert detail.raw["description"] == f"Sandbox task {combined.task_name}"  # from the detail
    assert detail.status == combined.status
    assert not client.get_task(instance, normal.task_id).is_combined
    [shown, listed] = [c for c in roma_sandbox.calls if c.method == "GET"][:2]
    assert shown.path.endswith(f"/tasks/{combined.task_id}")
    assert parse_qs(listed.query)["task_id"] == [combined.task_id]


def test_get_task_reads_last_modified_date_when_only_the_detail_knows_the_task() -> None:
    detail = {
        "task": {
            "task_id": "t-1",
            "task_name": "orders",
            "status": "running",
            "created_date": 1_700_000_000_000,
            "last_modified_date": 1_700_000_123_000,
        },
        "task_detail": "{}",
    }

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/tasks/t-1"):
            return httpx.Response(200, json=detail)
        return httpx.Response(200, json={"total": 0, "size": 0, "entities": []})

    with RomaClient(
        "https://roma.example",
        project_id="p" * 32,
        auth=TokenAuth("t"),
        transport=httpx.MockTransport(answer),
    ) as client:
        task = client.get_task("inst-1", "t-1")
    assert (task.last_modified_time, task.status, task.ext_type) == (1_700_000_123_000, 1, None)
    assert not task.is_combined


def test_the_async_client_resolves_get_task_the_same_way(roma_sandbox: Sandbox) -> None:
    instance = roma_sandbox.state.instances[0].id
    combined = roma_sandbox.state.combined_tasks(instance)[0]

    async def scenario() -> Task:
        async with AsyncRomaClient(
            roma_sandbox.url, project_id=roma_sandbox.project_id, auth=TokenAuth("t")
        ) as client:
            return await client.get_task(instance, combined.task_id)

    assert asyncio.run(scenario()).is_combined


def test_records_carry_the_sdks_fields(client: RomaClient, roma_sandbox: Sandbox) -> None:
    instance = client.list_instances()[0]
    assert instance.publicip_address == "203.0.113.10"
    assert instance.charge_type == "postPaid"
    assert instance.update_time and instance.error_code is None
    running = next(
        t
        for t in roma_sandbox.state.combined_tasks(instance.id)
        if t.status == 1 and t.execute_status == "RUNNING"
    )
    monitor = next(m for m in client.task_monitors(instance.id) if m.task_id == running.task_id)
    assert monitor.task_tag == running.task_tag
    [log, *older] = client.monitor_logs(instance.id, running.task_id)
    assert (log.status, log.end_time, log.position_status) == (102, None, "NORMAL")
    assert log.dispatch_time is not None and log.data_size is not None
    assert log.data_size_unit == "KB"
    assert [s.status for s in log.detail_logs] == [900, 100, 102, 500, 502]
    assert log.detail_logs[1].stage == f"{running.source_kind}reader"
    assert log.detail_logs[2].status_text == "reader (source side): reading data (102)"
    assert log.detail_logs[2].step_end_time is None
    finished = older[0]
    assert finished.end_time is not None and finished.write_spend_time is not None
    assert "unknown_field" not in log.raw
    assert log.raw["detail_logs"][0]["stage"] == "adapter"


def test_unknown_fields_stay_in_raw() -> None:
    from roma_nb.models import MonitorLog

    log = MonitorLog.from_api(
        {
            "id": "x",
            "status": "103",
            "data_size": "1.5",
            "detail_logs": [{"id": "s", "stage": "mysqlreader", "new": 1}, "junk"],
            "brand_new": {"a": 1},
        }
    )
    assert (log.status, log.data_size) == (103, 1.5)
    assert [s.stage for s in log.detail_logs] == ["mysqlreader"]
    assert log.detail_logs[0].raw["new"] == 1
    assert log.raw["brand_new"] == {"a": 1}


def test_every_documented_monitor_code_has_its_words() -> None:
    for code, words in MONITOR_STATUS_CODES.items():
        described = describe_monitor_status(code)
        assert described.endswith(f"{words} ({code})")
    assert describe_monitor_status(16) == "task: forcibly cancelled (16)"
    assert describe_monitor_status(99) == "task: task started (99)"
    assert describe_monitor_status(103).startswith("reader (source side): ")
    assert describe_monitor_status(503).startswith("writer (target side): ")
    assert describe_monitor_status(913).startswith("scheduler / other: ")
    assert describe_monitor_status(450) == "reader (source side): status 450"
    assert describe_monitor_status(-3) == "status -3"


@pytest.mark.sdk
def test_the_codes_in_words_are_exactly_the_sdks() -> None:
    import re

    from huaweicloudsdkroma.v2.model import TaskMonitorLog

    documented = {int(c) for c in re.findall(r"(\d+)-", TaskMonitorLog.status.fget.__doc__)}
    assert set(MONITOR_STATUS_CODES) == documented


# -- a strict server and a lenient one -------------------------------------------------------


@pytest.mark.parametrize("refuse_running", [False, True])
def test_resets_against_a_strict_and_a_lenient_server(
    roma_sandbox_factory: Callable[..., Sandbox], refuse_running: bool
) -> None:
    sandbox = roma_sandbox_factory(tasks_per_instance=40, refuse_running=refuse_running)
    instance = sandbox.state.instances[0].id
    running = next(t for t in sandbox.state.combined_tasks(instance) if t.status == 1)
    stopped = next(t for t in sandbox.state.combined_tasks(instance) if t.status == 0)
    with _client(sandbox) as client:
        results = client.reset_many(
            [(instance, running.task_id), (instance, stopped.task_id)], 1_700_000_000_000
        )
        outcomes = [r.outcome for r in results]
        if refuse_running:
            assert outcomes == ["failed", "success"]
            assert (results[0].status_code, results[0].error_code) == (400, "FDI.3023")
            assert "stop it before resetting" in (results[0].message or "")
            with pytest.raises(ApiError) as refused:
                client.reset_combined_task(instance, running.task_id, 1_700_000_000_000)
            assert refused.value.error_code == "FDI.3023"
        else:
            assert outcomes == ["success", "success"]
    # the batch sends concurrently: the order the server saw them in is not the order given
    assert sorted(r.task_id for r in sandbox.resets) == sorted(
        [stopped.task_id] if refuse_running else [running.task_id, stopped.task_id]
    )
