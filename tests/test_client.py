"""The clients against the sandbox over a real socket."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from roma_nb.auth import TokenAuth
from roma_nb.client import AsyncRomaClient, RomaClient
from roma_nb.errors import (
    ApiError,
    AuthError,
    ConfigurationError,
    NotFoundError,
    TransportError,
    ValidationError,
)
from roma_nb.models import ResetResult, Task

Sandbox = Any


@pytest.fixture
def roma_sandbox(lenient_sandbox: Sandbox) -> Sandbox:
    """These tests send raw resets to tasks whether they run or not: a sandbox that allows it
    (``refuse_running=False``; the default refuses them, and a rewind stops them first)."""
    return lenient_sandbox


@pytest.fixture
def client(roma_sandbox: Sandbox) -> Iterator[RomaClient]:
    with RomaClient(
        roma_sandbox.url, project_id=roma_sandbox.project_id, auth=TokenAuth("t0ken")
    ) as c:
        yield c


def first_instance(client: RomaClient) -> str:
    return client.list_instances()[0].id


def combined_tasks(client: RomaClient, count: int) -> list[Task]:
    tasks = client.list_tasks(first_instance(client))
    assert len(tasks) >= count
    return tasks[:count]


def test_lists_every_instance_and_combined_task(client: RomaClient, roma_sandbox: Sandbox) -> None:
    instances = client.list_instances()
    assert len(instances) >= 2
    assert all(i.id and i.name for i in instances)
    everything = client.list_tasks(instances[0].id, combined_only=False)
    combined = client.list_tasks(instances[0].id)
    assert combined and len(combined) < len(everything)
    assert all(t.is_combined and t.instance_id == instances[0].id for t in combined)
    assert len({t.task_id for t in everything}) == len(everything)
    sent = [c for c in roma_sandbox.calls if c.path.endswith("/tasks")]
    assert any("task_mode=CDC" in c.query for c in sent)


@pytest.mark.parametrize("offset_mode", ["records", "pages"])
@pytest.mark.parametrize("honour_task_mode", [True, False])
def test_paging_reads_everything_in_either_reading_of_offset(
    roma_sandbox_factory: Callable[..., Sandbox], offset_mode: str, honour_task_mode: bool
) -> None:
    sandbox = roma_sandbox_factory(
        tasks_per_instance=250, offset_mode=offset_mode, honour_task_mode=honour_task_mode
    )
    with RomaClient(sandbox.url, project_id=sandbox.project_id, auth=TokenAuth("t")) as client:
        instance = client.list_instances()[0].id
        tasks = client.list_tasks(instance, combined_only=False, page_size=40)
        assert len(tasks) == 250
        assert len({t.task_id for t in tasks}) == 250
        combined = client.list_tasks(instance, page_size=7)
        assert combined and all(t.is_combined for t in combined)
        monitors = client.task_monitors(instance, page_size=33)
        assert {m.task_id for m in monitors} == {t.task_id for t in tasks}


def test_get_task_monitors_and_logs(client: RomaClient) -> None:
    task = combined_tasks(client, 1)[0]
    assert task.instance_id is not None
    detail = client.get_task(task.instance_id, task.task_id)
    assert detail.task_id == task.task_id
    logs = client.monitor_logs(task.instance_id, task.task_id)
    assert logs
    assert all(log.task_id == task.task_id for log in logs)
    assert any(log.status is not None for log in logs)


def test_reset_sends_the_integer_and_returns_a_result(
    client: RomaClient, roma_sandbox: Sandbox
) -> None:
    task = combined_tasks(client, 1)[0]
    assert task.instance_id is not None
    result = client.reset_combined_task(task.instance_id, task.task_id, 1630052714000)
    assert isinstance(result, ResetResult)
    assert (result.outcome, result.message, result.attempts) == ("success", "Reset Success", 1)
    assert result.request_id
    reset = roma_sandbox.resets[-1]
    assert (reset.task_id, reset.date_from) == (task.task_id, 1630052714000)


def test_reset_without_date_sends_an_empty_object(
    client: RomaClient, roma_sandbox: Sandbox
) -> None:
    task = combined_tasks(client, 1)[0]
    assert task.instance_id is not None
    client.reset_combined_task(task.instance_id, task.task_id)
    call = [c for c in roma_sandbox.calls if c.method == "POST"][-1]
    assert call.body == b"{}"
    assert roma_sandbox.resets[-1].date_from is None


def test_reset_of_unknown_task_is_not_found(client: RomaClient) -> None:
    with pytest.raises(NotFoundError) as info:
        client.reset_combined_task(first_instance(client), "no-such-task", 1630052714000)
    assert info.value.request_id
    assert "does not exist" in str(info.value)


def test_reset_of_a_normal_task_is_refused(client: RomaClient) -> None:
    instance = first_instance(client)
    normal = next(t for t in client.list_tasks(instance, combined_only=False) if not t.is_combined)
    with pytest.raises(ApiError) as info:
        client.reset_combined_task(instance, normal.task_id, 1630052714000)
    assert info.value.status_code == 400


@pytest.mark.parametrize(
    ("task_id", "date_from"),
    [
        ("", 1630052714000),
        ("x" * 65, 1630052714000),
        ("a\nb", None),
        ("t", 1630052714),
        ("t", -1),
        ("t", 2**63),
        ("t", 1.5),
    ],
)
def test_bad_input_is_refused_before_anything_is_sent(
    client: RomaClient, roma_sandbox: Sandbox, task_id: str, date_from: object
) -> None:
    before = len(roma_sandbox.calls)
    with pytest.raises(ValidationError):
        client.reset_combined_task("inst", task_id, date_from)
    assert len(roma_sandbox.calls) == before


@pytest.mark.parametrize("task_id", ["../x", "a/b", "%2F", "?q=1", "#frag"])
def test_ids_cannot_change_the_url(client: RomaClient, roma_sandbox: Sandbox, task_id: str) -> None:
    instance = first_instance(client)
    with pytest.raises(NotFoundError):
        client.reset_combined_task(instance, task_id, 1630052714000)
    call = roma_sandbox.calls[-1]
    assert call.method == "POST"
    assert call.path.endswith("/reset")
    assert f"/fdi/instances/{instance}/multi-tasks/" in call.path


def test_a_rejected_token_is_an_auth_error(roma_sandbox: Sandbox) -> None:
    roma_sandbox.state.reject_token("bad")
    with (
        RomaClient(
            roma_sandbox.url, project_id=roma_sandbox.project_id, auth=TokenAuth("bad")
        ) as client,
        pytest.raises(AuthError) as info,
    ):
        client.list_instances()
    assert info.value.error_code == "APIGW.0301"
    assert "bad" not in repr(client)


def test_nothing_listening_is_a_transport_error() -> None:
    with (
        RomaClient("http://127.0.0.1:9", project_id="p", auth=TokenAuth("t"), timeout=2) as client,
        pytest.raises(TransportError, match="Nothing was sent"),
    ):
        client.reset_combined_task("i", "t", 1630052714000)


def test_configuration_errors_say_what_is_missing() -> None:
    with pytest.raises(ConfigurationError, match="endpoint"):
        RomaClient(project_id="p")
    with pytest.raises(ConfigurationError, match="project"):
        RomaClient("https://roma.example.com")
    with pytest.raises(ConfigurationError, match="http"):
        RomaClient("roma.example.com", project_id="p")


def test_the_client_names_where_it_points_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """``environment``, ``is_sandbox`` and ``endpoint_label`` come from the arguments alone."""
    monkeypatch.setenv("HUAWEICLOUD_SDK_REGION_ROMA_CN_NORTH_4", "https://elsewhere.example")
    monkeypatch.setenv("ROMA_NB_ENDPOINT", "https://elsewhere.example")
    with RomaClient(region="cn-north-4", project_id="p1", auth=TokenAuth("t")) as real:
        assert real.endpoint == "https://roma.cn-north-4.myhuaweicloud.com"
        assert real.environment == "roma.cn-north-4.myhuaweicloud.com / project p1"
        assert (real.is_sandbox, real.endpoint_label) == (False, real.endpoint.split("//")[1])
    with RomaClient("https://u:pw@Roma.Example:8443/x", project_id="p1") as other:
        assert (other.is_sandbox, other.endpoint_label) == (False, "roma.example:8443")
        assert "pw" not in other.environment
    with RomaClient("http://127.0.0.1:8800", project_id="p1", label="SANDBOX") as sandbox:
        assert (sandbox.is_sandbox, sandbox.endpoint_label) == (True, "SANDBOX")
    with pytest.raises(ConfigurationError, match="http"):
        RomaClient("https://roma.example:port", project_id="p1")


def test_reset_many_takes_planned_targets(client: RomaClient, roma_sandbox: Sandbox) -> None:
    """Anything with ``instance_id``, ``task_id`` and ``task_name`` is a target, as it is."""

    @dataclass(frozen=True)
    class Planned:
        instance_id: str
        task_id: str
        task_name: str

    tasks = combined_tasks(client, 2)
    planned = [Planned(t.instance_id or "", t.task_id, f"planned {t.task_name}") for t in tasks]
    results = client.reset_many(planned, 1630052714000)
    assert [(r.task_id, r.task_name, r.outcome) for r in results] == [
        (p.task_id, p.task_name, "success") for p in planned
    ]
    assert sorted(r.task_id for r in roma_sandbox.resets) == sorted(t.task_id for t in tasks)


def test_reset_many_keeps_input_order_and_records_each_target(
    client: RomaClient, roma_sandbox: Sandbox
) -> None:
    tasks = combined_tasks(client, 6)
    instance = tasks[0].instance_id
    assert instance is not None
    targets: list[Task | tuple[str, str]] = [*tasks[:3], (instance, "missing-task"), *tasks[3:]]
    seen: list[tuple[int, int]] = []
    results = client.reset_many(
        targets, 1630052714000, concurrency=4, progress=lambda d, t, r: seen.append((d, t))
    )
    assert [r.task_id for r in results] == [
        t.task_id if isinstance(t, Task) else t[1] for t in targets
    ]
    assert [r.outcome for r in results].count("success") == 6
    assert results[3].outcome == "failed" and results[3].status_code == 404
    assert results[0].task_name == tasks[0].task_name
    assert seen == [(i, 7) for i in range(1, 8)]
    assert sorted(r.task_id for r in roma_sandbox.resets) == sorted(t.task_id for t in tasks)


def test_reset_many_dry_run_sends_nothing(client: RomaClient, roma_sandbox: Sandbox) -> None:
    tasks = combined_tasks(client, 3)
    before = len(roma_sandbox.calls)
    results = client.reset_many(tasks, 1630052714000, dry_run=True)
    assert [r.outcome for r in results] == ["dry-run"] * 3
    assert all(r.attempts == 0 for r in results)
    assert len(roma_sandbox.calls) == before


def test_reset_many_stop_skips_what_was_not_sent(client: RomaClient, roma_sandbox: Sandbox) -> None:
    tasks = combined_tasks(client, 10)
    stop = threading.Event()

    def stop_after_two(done: int, total: int, result: ResetResult) -> None:
        if done == 2:
            stop.set()

    results = client.reset_many(
        tasks, 1630052714000, concurrency=1, progress=stop_after_two, stop=stop
    )
    outcomes = [r.outcome for r in results]
    sent = outcomes.count("success")
    assert sent >= 2 and outcomes.count("skipped") == 10 - sent
    assert outcomes == ["success"] * sent + ["skipped"] * (10 - sent)
    assert len(roma_sandbox.resets) == sent


def test_reset_many_never_raises_for_a_bad_target(client: RomaClient) -> None:
    results = client.reset_many([("inst", ""), ("inst", "x" * 80)], 1630052714000)
    assert [r.outcome for r in results] == ["failed", "failed"]
    assert all(r.error_code == "VALIDATION" and r.attempts == 0 for r in results)


def test_reset_many_refuses_a_bad_instant_for_the_whole_batch(client: RomaClient) -> None:
    with pytest.raises(ValidationError, match="seconds"):
        client.reset_many([("i", "t")], 1630052714)


def test_async_client_does_the_same(roma_sandbox: Sandbox) -> None:
    async def scenario() -> list[ResetResult]:
        async with AsyncRomaClient(
            roma_sandbox.url, project_id=roma_sandbox.project_id, auth=TokenAuth("t")
        ) as client:
            instance = (await client.list_instances())[0].id
            tasks = (await client.list_tasks(instance))[:5]
            logs = await client.monitor_logs(instance, tasks[0].task_id)
            assert logs
            single = await client.reset_combined_task(instance, tasks[0].task_id, 1630052714000)
            assert single.outcome == "success"
            return await client.reset_many(
                [*tasks, (instance, "missing")], 1630052714000, concurrency=3
            )

    results = asyncio.run(scenario())
    assert [r.outcome for r in results] == ["success"] * 5 + ["failed"]
    assert len(roma_sandbox.resets) == 6
