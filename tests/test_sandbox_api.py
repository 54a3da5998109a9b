"""The sandbox's ROMA Connect endpoints over a real socket, driven with raw httpx."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sandbox_http import api_client

from roma_nb.sandbox import Sandbox


def _first_instance(sandbox: Sandbox) -> str:
    return sandbox.state.instances[0].id


def _tasks_url(instance_id: str) -> str:
    return f"/fdi/instances/{instance_id}/tasks"


def _reset_url(instance_id: str, task_id: str) -> str:
    return f"/fdi/instances/{instance_id}/multi-tasks/{task_id}/reset"


def _fdi_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["error_code"] == code
    assert 2 <= len(body["error_msg"]) <= 512
    return body


# -- instances -------------------------------------------------------------------------------


def test_instances_shape_and_paging(api: httpx.Client, roma_sandbox: Sandbox) -> None:
    r = api.get("/instances")
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 3
    assert body["size"] == 3
    first = body["instances"][0]
    for key in ("id", "name", "description", "status", "flavor_type", "project_id", "create_time"):
        assert key in first
    assert first["project_id"] == roma_sandbox.project_id
    assert {i["status"] for i in body["instances"]} != {"RUNNING"}

    page = api.get("/instances", params={"offset": 1, "limit": 1}).json()
    assert page["total"] == 3
    assert page["size"] == 1
    assert page["instances"][0]["id"] == body["instances"][1]["id"]
    assert api.get("/instances", params={"limit": 0}).json()["size"] == 0
    running = api.get("/instances", params={"status": "RUNNING"}).json()
    assert running["total"] == 2
    assert {i["status"] for i in running["instances"]} == {"RUNNING"}


@pytest.mark.parametrize(
    "params",
    [{"limit": 101}, {"limit": -1}, {"offset": -1}, {"offset": 101}, {"offset": "abc"}],
)
def test_instances_bad_query_is_the_instance_apis_400(
    api: httpx.Client, params: dict[str, Any]
) -> None:
    r = api.get("/instances", params=params)
    body = _fdi_error(r, 400, "ROMA.13000")
    assert body["error_details"]
    assert body["request_id"] == r.headers["x-request-id"]


# -- tasks -----------------------------------------------------------------------------------


def _all_task_ids(api: httpx.Client, instance_id: str, limit: int, *, pages: bool) -> list[str]:
    ids: list[str] = []
    offset = 0
    while True:
        body = api.get(_tasks_url(instance_id), params={"limit": limit, "offset": offset}).json()
        if not body["entities"]:
            return ids
        ids.extend(e["task_id"] for e in body["entities"])
        offset += 1 if pages else body["size"]


def test_tasks_paging_by_records(api: httpx.Client, roma_sandbox: Sandbox) -> None:
    instance_id = _first_instance(roma_sandbox)
    ids = _all_task_ids(api, instance_id, 40, pages=False)
    assert len(ids) == len(set(ids)) == 250
    assert set(ids) == {t.task_id for t in roma_sandbox.state.tasks(instance_id)}
    last = api.get(_tasks_url(instance_id), params={"limit": 40, "offset": 240}).json()
    assert (last["total"], last["size"]) == (250, 10)


def test_tasks_paging_by_pages(roma_sandbox_factory: Callable[..., Sandbox]) -> None:
    sandbox = roma_sandbox_factory(offset_mode="pages", tasks_per_instance=25)
    with api_client(sandbox) as api:
        instance_id = _first_instance(sandbox)
        sizes = [
            api.get(_tasks_url(instance_id), params={"limit": 10, "offset": n}).json()["size"]
            for n in range(4)
        ]
        assert sizes == [10, 10, 5, 0]
        ids = _all_task_ids(api, instance_id, 10, pages=True)
        assert len(set(ids)) == 25


def test_ten_thousand_tasks_in_pages_of_a_thousand(
    roma_sandbox_factory: Callable[..., Sandbox],
) -> None:
    sandbox = roma_sandbox_factory(instances=1, tasks_per_instance=10_000)
    with api_client(sandbox) as api:
        ids = _all_task_ids(api, _first_instance(sandbox), 1000, pages=False)
    assert len(set(ids)) == 10_000


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": "ten"},
        {"offset": "1.5"},
        {"status": 2},
        {"task_type": "HOURLY"},
        {"execute_status": "DONE"},
        {"sort_field": "NAME"},
        {"sort_type": "UP"},
        {"task_mode": "STREAM"},
    ],
)
def test_tasks_bad_query_is_400(
    api: httpx.Client, roma_sandbox: Sandbox, params: dict[str, Any]
) -> None:
    r = api.get(_tasks_url(_first_instance(roma_sandbox)), params=params)
    _fdi_error(r, 400, "FDI.3002")


def test_tasks_paging_clamps_as_the_sdk_documents(
    roma_sandbox_factory: Callable[..., Sandbox],
) -> None:
    """limit above 999 "returns 999"; an offset below 0 "is read as 0"."""
    sandbox = roma_sandbox_factory(instances=1, tasks_per_instance=1200)
    with api_client(sandbox) as api:
        url = _tasks_url(_first_instance(sandbox))
        for limit in (1000, 5000):
            body = api.get(url, params={"limit": limit}).json()
            assert (body["total"], body["size"], len(body["entities"])) == (1200, 999, 999)
        first = api.get(url, params={"limit": 5, "offset": 0}).json()["entities"]
        assert api.get(url, params={"limit": 5, "offset": -7}).json()["entities"] == first


def test_task_entity_shape(api: httpx.Client, roma_sandbox: Sandbox) -> None:
    entity = api.get(_tasks_url(_first_instance(roma_sandbox)), params={"limit": 1}).json()[
        "entities"
    ][0]
    for key in (
        "task_id", "task_name", "task_type", "status", "created_date", "version",
        "last_modified_time", "execute_status", "source_app_id", "target_app_id",
        "source_instance_id", "target_instance_id", "enterprise_project_id", "task_tag",
    ):  # fmt: skip
        assert key in entity
    assert isinstance(entity["status"], int)
    assert isinstance(entity["last_modified_time"], int)


def _query_all(api: httpx.Client, instance_id: str, **params: Any) -> list[dict[str, Any]]:
    body = api.get(_tasks_url(instance_id), params={"limit": 1000, **params}).json()
    assert body["total"] == body["size"]
    entities: list[dict[str, Any]] = body["entities"]
    return entities


def test_task_mode_filter(api: httpx.Client, roma_sandbox: Sandbox) -> None:
    instance_id = _first_instance(roma_sandbox)
    tasks = roma_sandbox.state.tasks(instance_id)
    cdc = _query_all(api, instance_id, task_mode="CDC")
    assert {e["task_id"] for e in cdc} == {t.task_id for t in tasks if t.ext_type == "CDC"}
    assert {e["ext_type"] for e in cdc} == {"CDC"}
    normal = _query_all(api, instance_id, task_mode="NORMAL")
    assert len(cdc) + len(normal) == len(tasks)
    assert all(e.get("ext_type") in ("", None) for e in normal)


def test_task_mode_ignored_by_an_older_server(
    roma_sandbox_factory: Callable[..., Sandbox],
) -> None:
    sandbox = roma_sandbox_factory(honour_task_mode=False, tasks_per_instance=30)
    with api_client(sandbox) as api:
        assert len(_query_all(api, _first_instance(sandbox), task_mode="CDC")) == 30
        assert len(_query_all(api, _first_instance(sandbox), task_mode="nonsense")) == 30


def test_task_filters(api: httpx.Client, roma_sandbox: Sandbox) -> None:
    instance_id = _first_instance(roma_sandbox)
    tasks = roma_sandbox.state.tasks(instance_id)
    target = tasks[17]
    [one] = _query_all(api, instance_id, task_id=target.task_id)
    assert one["task_name"] == target.task_name
    fragment = target.task_name.split("_to_")[0]
    for key in ("name", "task_name"):
        found = _query_all(api, instance_id, **{key: fragment})
        assert {e["task_id"] for e in found} == {
            t.task_id for t in tasks if fragment in t.task_name
        }
    assert _query_all(api, instance_id, name=fragment.upper()) == []  # case-sensitive
    running = _query_all(api, instance_id, status=1)
    assert len(running) == sum(t.status == 1 for t in tasks)
    assert {e["status"] for e in running} == {1}
    timing = _query_all(api, instance_id, task_type="timing")
    assert timing
    assert {e["task_type"] for e in timing} == {"TIMING"}
    errors = _query_all(api, instance_id, execute_status="ERROR")
    assert len(errors) == sum(t.execute_status == "ERROR" for t in tasks)
    both = _query_all(api, instance_id, task_mode="CDC", status=0)
    assert len(both) == sum(t.combined and t.status == 0 for t in tasks)
    for key in ("source_datasource_id", "target_datasource_id"):
        [by_source] = _query_all(api, instance_id, **{key: getattr(target, key)})
        assert by_source["task_id"] == target.task_id
    assert _query_all(api, instance_id, source_datasource_id="0" * 32) == []


def test_task_sorting(api: httpx.Client, roma_sandbox: Sandbox) -> None:
    instance_id = _first_instance(roma_sandbox)
    default = [e["created_date"] for e in _query_all(api, instance_id)]
    assert default == sorted(default, reverse=True)
    asc = [e["created_date"] for e in _query_all(api, instance_id, sort_type="ASC")]
    assert asc == sorted(asc)
    by_status = [
        e["status"] for e in _query_all(api, instance_id, sort_field="STATUS", sort_type="ASC")
    ]
    assert by_status == sorted(by_status)


def test_tasks_of_unknown_instance_is_404(api: httpx.Client) -> None:
    _fdi_error(api.get(_tasks_url("no-such-instance")), 404, "FDI.3180")


def test_task_detail(api: httpx.Client, roma_sandbox: Sandbox) -> None:
    instance_id = _first_instance(roma_sandbox)
    task = roma_sandbox.state.tasks(instance_id)[3]
    body = api.get(f"{_tasks_url(instance_id)}/{task.task_id}").json()
    assert body["task"]["task_id"] == task.task_id
    assert body["task"]["status"] in ("0", "1", "stop", "running")
    assert "ext_type" not in body["task"]  # the SDK's TaskBasicRsp has none: the list has it
    assert isinstance(body["task"]["created_date"], int)
    assert body["task"]["last_modified_date"] == task.last_modified_ms
    assert json.loads(body["task_detail"])["task_name"] == task.task_name
    _fdi_error(api.get(f"{_tasks_url(instance_id)}/{'f' * 32}"), 404, "FDI.3081")


def test_overlong_id_is_400(api: httpx.Client) -> None:
    _fdi_error(api.get(_tasks_url("i" * 65)), 400, "FDI.3002")


# -- monitors and logs -------------------------------------------------------------------


def test_task_monitors_paging_and_filters(api: httpx.Client, roma_sandbox: Sandbox) -> None:
    instance_id = _first_instance(roma_sandbox)
    url = f"/fdi/instances/{instance_id}/task-monitors"
    first = api.get(url, params={"offset": 1, "limit": 5}).json()
    second = api.get(url, params={"offset": 6, "limit": 5}).json()
    assert first["total"] == 250
    assert first["size"] == 5
    ids = [e["task_id"] for e in first["entities"] + second["entities"]]
    assert ids == [t.task_id for t in roma_sandbox.state.tasks(instance_id)[:10]]
    entity = first["entities"][0]
    for key in ("task_name", "last_execute_time", "position", "execute_status", "ext_type"):
        assert key in entity
    name = roma_sandbox.state.tasks(instance_id)[0].task_name
    named = api.get(url, params={"task_name": name, "limit": 999}).json()
    assert name in {e["task_name"] for e in named["entities"]}
    assert all(name in e["task_name"] for e in named["entities"])
    for params in ({"limit": 0}, {"limit": "x"}, {"execute_status": "x"}):
        _fdi_error(api.get(url, params=params), 400, "FDI.3002")
    # "offset 0 is treated as 1"; "above 999 returns 999"
    assert api.get(url, params={"offset": 0, "limit": 5}).json() == first
    assert api.get(url, params={"limit": 1000}).json()["size"] == 250


def test_task_monitors_in_pages_mode(roma_sandbox_factory: Callable[..., Sandbox]) -> None:
    sandbox = roma_sandbox_factory(offset_mode="pages", tasks_per_instance=12)
    with api_client(sandbox) as api:
        url = f"/fdi/instances/{_first_instance(sandbox)}/task-monitors"
        sizes = [api.get(url, params={"offset": n, "limit": 5}).json()["size"] for n in (1, 2, 3)]
    assert sizes == [5, 5, 2]


def test_monitor_logs(api: httpx.Client, roma_sandbox: Sandbox) -> None:
    instance_id = _first_instance(roma_sandbox)
    task = roma_sandbox.state.tasks(instance_id)[0]
    url = f"{_tasks_url(instance_id)}/{task.task_id}/monitor-logs"
    body = api.get(url, params={"offset": 1, "limit": 999}).json()
    assert body["total"] == body["size"] == 24
    log = body["entities"][0]
    for key in (
        "id", "start_time", "end_time", "execute_status", "position", "position_status",
        "status", "data_count", "dirty_data_count", "spend_time", "remarks",
    ):  # fmt: skip
        assert key in log
    starts = sorted(e["start_time"] for e in body["entities"])
    begin, end = starts[5], starts[10]
    window = api.get(url, params={"begin_time": begin, "end_time": end, "limit": 999}).json()
    assert window["total"] == 6
    _fdi_error(api.get(url, params={"begin_time": end, "end_time": begin}), 400, "FDI.3002")
    ids = [[e["id"] for e in api.get(url, params={"offset": n, "limit": 3}).json()["entities"]]
           for n in (0, 1)]  # fmt: skip
    assert ids[0] == ids[1]
    missing = f"{_tasks_url(instance_id)}/{'0' * 32}/monitor-logs"
    _fdi_error(api.get(missing), 404, "FDI.3081")


# -- reset -----------------------------------------------------------------------------------


def _combined(sandbox: Sandbox, *, running: bool | None = False) -> tuple[str, str]:
    """A combined task of the first instance: by default a stopped one, which the sandbox lets
    be reset (a running one is refused, FDI.3023, unless ``refuse_running=False``)."""
    instance_id = _first_instance(sandbox)
    task = next(
        t
        for t in sandbox.state.tasks(instance_id)
        if t.combined and (running is None or (t.status == 1) == running)
    )
    return instance_id, task.task_id


def test_reset_success_is_recorded(api: httpx.Client, roma_sandbox: Sandbox) -> None:
    instance_id, task_id = _combined(roma_sandbox)
    r = api.post(
        _reset_url(instance_id, task_id),
        content=b'{"date_from": 1630052714000}',
        headers={"Content-Type": "application/json;charset=UTF-8"},
    )
    assert r.status_code == 200
    assert r.json() == {"message": "Reset Success"}
    [reset] = roma_sandbox.resets
    assert (reset.instance_id, reset.task_id, reset.date_from) == (
        instance_id,
        task_id,
        1630052714000,
    )
    assert reset.request_id == r.headers["x-request-id"]
    assert reset.at.tzinfo is not None


@pytest.mark.parametrize("body", [b"{}", b'{"date_from": null}', b""])
def test_reset_without_date_from_lets_the_server_decide(
    api: httpx.Client, roma_sandbox: Sandbox, body: bytes
) -> None:
    instance_id, task_id = _combined(roma_sandbox)
    r = api.post(_reset_url(instance_id, task_id), content=body)
    assert r.status_code == 200
    assert [(x.task_id, x.date_from) for x in roma_sandbox.resets] == [(task_id, None)]


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b'{"date_from": 0}',
        b'{"date_from": 9223372036854775808}',
        b'{"date_from": "1630052714000"}',
        b'{"date_from": 1630052714.5}',
        b'{"date_from": true}',
        b"[1630052714000]",
    ],
)
def test_reset_bad_body_is_400_and_not_recorded(
    api: httpx.Client, roma_sandbox: Sandbox, body: bytes
) -> None:
    instance_id, task_id = _combined(roma_sandbox)
    _fdi_error(api.post(_reset_url(instance_id, task_id), content=body), 400, "FDI.3002")
    assert roma_sandbox.resets == []


def test_reset_refusals(api: httpx.Client, roma_sandbox: Sandbox) -> None:
    instance_id = _first_instance(roma_sandbox)
    normal = next(t for t in roma_sandbox.state.tasks(instance_id) if not t.combined)
    body = _fdi_error(api.post(_reset_url(instance_id, normal.task_id), json={}), 400, "FDI.3002")
    assert "not a combined task" in body["error_msg"]
    _fdi_error(api.post(_reset_url(instance_id, "f" * 32), json={}), 404, "FDI.3081")
    _fdi_error(api.post(_reset_url("no-such-instance", "f" * 32), json={}), 404, "FDI.3180")
    assert roma_sandbox.resets == []


def test_reset_of_running_task_when_refused(
    roma_sandbox_factory: Callable[..., Sandbox],
) -> None:
    sandbox = roma_sandbox_factory(refuse_running=True, tasks_per_instance=40)
    with api_client(sandbox) as api:
        instance_id, running = _combined(sandbox, running=True)
        body = _fdi_error(api.post(_reset_url(instance_id, running), json={}), 400, "FDI.3023")
        assert body["error_msg"] == "One or more tasks are running."
        _, stopped = _combined(sandbox, running=False)
        assert api.post(_reset_url(instance_id, stopped), json={}).status_code == 200
    assert [r.task_id for r in sandbox.resets] == [stopped]


def test_reset_of_running_task_is_refused_by_default_and_accepted_when_lenient(
    api: httpx.Client, roma_sandbox: Sandbox, lenient_sandbox: Sandbox
) -> None:
    assert roma_sandbox.state.options.refuse_running is True
    instance_id, running = _combined(roma_sandbox, running=True)
    refused = api.post(_reset_url(instance_id, running), json={})
    assert (refused.status_code, refused.json()["error_code"]) == (400, "FDI.3023")
    assert roma_sandbox.resets == []
    with api_client(lenient_sandbox) as lenient:
        instance_id, running = _combined(lenient_sandbox, running=True)
        assert lenient.post(_reset_url(instance_id, running), json={}).status_code == 200


# -- gateway: request ids, credentials, unknown APIs ----------------------------------------


def test_request_ids_are_unique(api: httpx.Client) -> None:
    ids = {api.get("/instances").headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5


def test_no_credentials_is_401(roma_sandbox: Sandbox) -> None:
    r = httpx.get(f"{roma_sandbox.url}/v2/{roma_sandbox.project_id}/instances")
    body = r.json()
    assert r.status_code == 401
    assert body["error_code"] == "APIGW.0301"
    assert body["request_id"] == r.headers["x-request-id"]


def test_rejected_and_denied_tokens(roma_sandbox: Sandbox) -> None:
    url = f"{roma_sandbox.url}/v2/{roma_sandbox.project_id}/instances"
    assert httpx.get(url, headers={"X-Auth-Token": "any-token"}).status_code == 200
    roma_sandbox.reject_token("revoked")
    roma_sandbox.deny("read-only")
    r = httpx.get(url, headers={"X-Auth-Token": "revoked"})
    assert (r.status_code, r.json()["error_code"]) == (401, "APIGW.0301")
    r = httpx.get(url, headers={"X-Auth-Token": "read-only"})
    assert (r.status_code, r.json()["error_code"]) == (403, "APIGW.0302")
    assert httpx.get(url, headers={"X-Auth-Token": ""}).status_code == 401


def test_other_project_is_403(roma_sandbox: Sandbox) -> None:
    r = httpx.get(
        f"{roma_sandbox.url}/v2/{'0' * 32}/instances",
        headers={"X-Auth-Token": roma_sandbox.token},
    )
    assert (r.status_code, r.json()["error_code"]) == (403, "APIGW.0302")


def test_unknown_api_is_404(api: httpx.Client) -> None:
    r = api.get("/fdi/instances/x/nothing-here")
    assert (r.status_code, r.json()["error_code"]) == (404, "APIGW.0101")
    r = api.delete("/instances")
    assert (r.status_code, r.json()["error_code"]) == (404, "APIGW.0101")


# -- recording -------------------------------------------------------------------------------


def test_calls_are_recorded_with_secrets_kept_out_of_repr(
    api: httpx.Client, roma_sandbox: Sandbox
) -> None:
    instance_id, task_id = _combined(roma_sandbox)
    api.get("/instances", params={"limit": 2, "status": "RUNNING"})
    api.post(_reset_url(instance_id, task_id), json={"date_from": 1700000000000})
    httpx.get(f"{roma_sandbox.url}/v2/{roma_sandbox.project_id}/instances")
    listed, reset, anonymous = roma_sandbox.calls
    assert (listed.method, listed.query, listed.status) == ("GET", "limit=2&status=RUNNING", 200)
    assert listed.path.endswith("/instances")
    assert listed.header("X-Auth-Token") == roma_sandbox.token
    assert reset.method == "POST"
    assert reset.status == 200
    assert json.loads(reset.body) == {"date_from": 1700000000000}
    assert anonymous.status == 401
    assert anonymous.header("x-auth-token") is None
    assert roma_sandbox.token not in repr(roma_sandbox.calls)
    assert roma_sandbox.token not in json.dumps(listed.redacted_headers())
    assert all(c.started <= c.finished for c in roma_sandbox.calls)
    roma_sandbox.clear_records()
    assert roma_sandbox.calls == []
    assert roma_sandbox.resets == []


def test_escaped_ids_are_recorded_raw_and_decoded(api: httpx.Client, roma_sandbox: Sandbox) -> None:
    r = api.get("/fdi/instances/a%20b/tasks")
    _fdi_error(r, 404, "FDI.3180")
    [call] = roma_sandbox.calls
    assert call.raw_path.endswith("/fdi/instances/a%20b/tasks")
    assert call.path.endswith("/fdi/instances/a b/tasks")
