"""Fault injection, the rate limit and the ``/_sandbox`` control plane, over a real socket."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import httpx
import pytest

from roma_nb.sandbox import Sandbox, SandboxState, create_app, faults, serve
from roma_nb.sandbox.faults import FAULT_KINDS, TASK_FAULT_KINDS


@pytest.fixture
def roma_sandbox(lenient_sandbox: Sandbox) -> Sandbox:
    """These tests send raw resets to tasks whether they run or not: a sandbox that allows it
    (``refuse_running=False``; the default refuses them, and a rewind stops them first)."""
    return lenient_sandbox


def _reset_path(sandbox: Sandbox, index: int = 0) -> tuple[str, str]:
    instance_id = sandbox.state.instances[0].id
    task_id = sandbox.state.combined_tasks(instance_id)[index].task_id
    return task_id, f"/fdi/instances/{instance_id}/multi-tasks/{task_id}/reset"


# The exact bytes sent: httpx's own JSON style changed between versions (0.28 dropped the spaces).
RESET_BODY = b'{"date_from":1630052714000}'
JSON = {"Content-Type": "application/json"}


def _reset(api: httpx.Client, path: str, **kwargs: object) -> httpx.Response:
    return api.post(path, content=RESET_BODY, headers=JSON, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("throttle", 429, "APIGW.0308"),
        ("unavailable", 503, "APIGW.0201"),
        ("server_error", 500, "FDI.9999"),
        ("task_running", 400, "FDI.3023"),
        ("expired_token", 401, "APIGW.0307"),
    ],
)
def test_error_faults_answer_instead_of_the_backend(
    api: httpx.Client, roma_sandbox: Sandbox, kind: str, status: int, code: str
) -> None:
    task_id, path = _reset_path(roma_sandbox)
    roma_sandbox.inject(kind, match=task_id)
    faulted = _reset(api, path)
    assert faulted.status_code == status
    assert faulted.json()["error_code"] == code
    assert faulted.headers["x-request-id"]
    assert roma_sandbox.resets == []
    assert _reset(api, path).status_code == 200, "times=1: the next request passes"
    first, second = roma_sandbox.calls
    assert (first.status, first.fault) == (status, kind)
    assert (second.status, second.fault) == (200, None)
    assert len(roma_sandbox.resets) == 1


@pytest.mark.parametrize("kind", ["throttle", "unavailable"])
def test_retry_after(api: httpx.Client, roma_sandbox: Sandbox, kind: str) -> None:
    roma_sandbox.inject(kind, retry_after=7)
    assert api.get("/instances").headers["retry-after"] == "7"
    roma_sandbox.inject(kind)
    assert api.get("/instances").headers["retry-after"] == "1"
    roma_sandbox.inject(kind, retry_after=None)
    assert "retry-after" not in api.get("/instances").headers


def test_bad_gateway_html(api: httpx.Client, roma_sandbox: Sandbox) -> None:
    task_id, path = _reset_path(roma_sandbox)
    roma_sandbox.inject("bad_gateway_html", match=task_id)
    r = _reset(api, path)
    assert r.status_code == 502
    assert r.headers["content-type"].startswith("text/html")
    assert "<h1>502 Bad Gateway</h1>" in r.text
    assert roma_sandbox.resets == []


def test_drop_closes_the_connection_without_an_answer(
    api: httpx.Client, roma_sandbox: Sandbox
) -> None:
    task_id, path = _reset_path(roma_sandbox)
    assert api.get("/instances").status_code == 200  # a kept-alive connection exists
    roma_sandbox.inject("drop", match=task_id)
    with pytest.raises(httpx.RemoteProtocolError):
        _reset(api, path)
    [_, dropped] = roma_sandbox.calls
    assert (dropped.status, dropped.fault) == (None, "drop")
    assert dropped.body == RESET_BODY
    assert roma_sandbox.resets == []
    assert _reset(api, path).status_code == 200, "the client reconnects"


def test_drop_with_reset(api: httpx.Client, roma_sandbox: Sandbox) -> None:
    roma_sandbox.inject("drop", rst=True)
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        api.get("/instances")
    assert api.get("/instances").status_code == 200


def test_slow_and_effective_the_reset_happens_while_the_client_times_out(
    api: httpx.Client, roma_sandbox: Sandbox
) -> None:
    task_id, path = _reset_path(roma_sandbox)
    roma_sandbox.inject("slow", match=task_id, delay_s=30)
    with pytest.raises(httpx.ReadTimeout):
        _reset(api, path, timeout=httpx.Timeout(5, read=0.3))
    [reset] = roma_sandbox.resets
    assert reset.task_id == task_id
    [call] = roma_sandbox.calls
    assert (call.status, call.fault) == (200, "slow")


def test_slow_answer_still_arrives_for_a_patient_client(
    api: httpx.Client, roma_sandbox: Sandbox
) -> None:
    task_id, path = _reset_path(roma_sandbox)
    roma_sandbox.inject("slow", match=task_id, delay_s=0.2)
    r = _reset(api, path)
    assert r.json() == {"message": "Reset Success"}
    assert r.headers["x-request-id"] == roma_sandbox.resets[0].request_id


def test_slow_and_not_effective(api: httpx.Client, roma_sandbox: Sandbox) -> None:
    task_id, path = _reset_path(roma_sandbox)
    roma_sandbox.inject("slow", match=task_id, delay_s=30, effective=False)
    with pytest.raises(httpx.ReadTimeout):
        _reset(api, path, timeout=httpx.Timeout(5, read=0.3))
    roma_sandbox.inject("slow", match=task_id, delay_s=0.1, effective=False)
    r = _reset(api, path)
    assert (r.status_code, r.json()["error_code"]) == (504, "APIGW.0201")
    assert roma_sandbox.resets == []


def test_match_times_and_method(api: httpx.Client, roma_sandbox: Sandbox) -> None:
    task_a, path_a = _reset_path(roma_sandbox, 0)
    _, path_b = _reset_path(roma_sandbox, 1)
    roma_sandbox.inject("server_error", times=2, match=task_a)
    assert _reset(api, path_b).status_code == 200, "another task is not affected"
    assert [_reset(api, path_a).status_code for _ in range(3)] == [500, 500, 200]

    roma_sandbox.inject("throttle", method="POST", times=None)
    assert api.get("/instances").status_code == 200
    assert [_reset(api, path_b).status_code for _ in range(3)] == [429] * 3
    assert [f.kind for f in roma_sandbox.faults] == ["throttle"]
    roma_sandbox.clear()
    assert roma_sandbox.faults == []
    assert _reset(api, path_b).status_code == 200


def test_unmatched_fault_spares_the_iam_path(roma_sandbox: Sandbox) -> None:
    roma_sandbox.inject("server_error")
    r = httpx.post(f"{roma_sandbox.url}/v3/auth/tokens", json={})
    assert r.status_code != 500
    assert [f.kind for f in roma_sandbox.faults] == ["server_error"]


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("teapot", {}),
        ("throttle", {"delay_s": 1}),
        ("throttle", {"times": 0}),
        ("throttle", {"retry_after": 1.5}),
        ("slow", {"delay_s": -1}),
        ("drop", {"match": ""}),
        ("stop_fails", {"error_code": "FDI.3026"}),
        ("start_fails", {"error_code": "FDI.3019"}),
        ("stuck_stopping", {"error_code": "FDI.3019"}),
    ],
)
def test_inject_checks_its_arguments(
    roma_sandbox: Sandbox, kind: str, params: dict[str, object]
) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message names the problem
        roma_sandbox.inject(kind, **params)  # type: ignore[arg-type]


def test_every_kind_is_documented_and_accepted(roma_sandbox: Sandbox) -> None:
    kinds = (*FAULT_KINDS, *TASK_FAULT_KINDS)
    for kind in kinds:
        assert roma_sandbox.inject(kind).kind == kind
    assert len(roma_sandbox.faults) == len(kinds)
    documented = faults.__doc__ or ""
    assert all(f"\n{kind} " in documented for kind in kinds)


def test_rate_limit(api: httpx.Client, roma_sandbox: Sandbox) -> None:
    roma_sandbox.set_rate_limit(0.5, burst=2)
    statuses = [api.get("/instances") for _ in range(3)]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert statuses[2].json()["error_code"] == "APIGW.0308"
    assert int(statuses[2].headers["retry-after"]) >= 1
    assert roma_sandbox.calls[2].fault == "rate_limit"
    roma_sandbox.set_rate_limit(None)
    assert api.get("/instances").status_code == 200


def test_rate_limit_option(roma_sandbox_factory: Callable[..., Sandbox]) -> None:
    sandbox = roma_sandbox_factory(rate_limit_rps=0.5, rate_limit_burst=1, tasks_per_instance=1)
    url = f"{sandbox.url}/v2/{sandbox.project_id}/instances"
    with httpx.Client(headers={"X-Auth-Token": "t"}) as client:
        assert [client.get(url).status_code for _ in range(2)] == [200, 429]


def test_drop_in_process_raises_connection_reset() -> None:
    state = SandboxState(tasks_per_instance=1)
    state.inject("drop")

    async def run() -> None:
        transport = httpx.ASGITransport(app=create_app(state))
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
            await http.get(f"/v2/{state.project_id}/instances", headers={"X-Auth-Token": "t"})

    with pytest.raises(ConnectionResetError):
        asyncio.run(run())


# -- the control plane over HTTP ------------------------------------------------------------


def test_control_plane_drives_faults_and_reads_records(
    api: httpx.Client, roma_sandbox: Sandbox
) -> None:
    control = httpx.Client(base_url=f"{roma_sandbox.url}/_sandbox")
    with control:
        task_id, path = _reset_path(roma_sandbox)
        r = control.post("/faults", json={"kind": "throttle", "match": task_id, "retry_after": 2})
        assert r.status_code == 201
        assert r.json()["kind"] == "throttle"
        assert [f["match"] for f in control.get("/faults").json()] == [task_id]
        assert _reset(api, path).status_code == 429
        assert _reset(api, path).status_code == 200

        calls = control.get("/calls").json()
        assert [(c["status"], c["fault"]) for c in calls] == [(429, "throttle"), (200, None)]
        assert roma_sandbox.token not in str(calls)
        assert calls[0]["headers"]["x-auth-token"].startswith("<redacted")
        assert calls[1]["body"] == RESET_BODY.decode()
        [reset] = control.get("/resets").json()
        assert (reset["task_id"], reset["date_from"]) == (task_id, 1630052714000)

        control.post("/faults", json={"kind": "server_error", "times": None})
        assert control.delete("/faults").json() == {"cleared": 1}
        assert control.delete("/records").status_code == 200
        assert roma_sandbox.calls == []

        assert control.post("/latency", json={"latency_ms": 5}).json() == {"latency_ms": 5}
        limited = control.post("/rate-limit", json={"rps": 2, "burst": 3}).json()
        assert limited == {"rate_limit": {"rps": 2.0, "burst": 3}}
        info = control.get("/info").json()
        assert info["project_id"] == roma_sandbox.project_id
        assert (info["latency_ms"], info["rate_limit"]["burst"]) == (5, 3)
        assert control.post("/rate-limit", json={"rps": None}).json() == {"rate_limit": None}

        assert control.post("/reject-token", json={"token": "old"}).status_code == 200
        assert control.post("/deny", json={"credential": "ro"}).status_code == 200
        assert api.get("/instances", headers={"X-Auth-Token": "old"}).status_code == 401
        assert api.get("/instances", headers={"X-Auth-Token": "ro"}).status_code == 403
        assert control.post("/reset-state").status_code == 200
        assert api.get("/instances", headers={"X-Auth-Token": "old"}).status_code == 200
        assert roma_sandbox.state.latency_ms == 0
        assert all(c.path.startswith("/v2/") for c in roma_sandbox.calls), "control not recorded"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/faults", {"kind": "teapot"}),
        ("/faults", {"match": "x"}),
        ("/faults", {"kind": "throttle", "times": -1}),
        ("/latency", {"latency_ms": "fast"}),
        ("/latency", {"latency_ms": -3}),
        ("/rate-limit", {"rps": 0}),
        ("/rate-limit", {"rps": True}),
        ("/reject-token", {}),
    ],
)
def test_control_plane_refuses_bad_input(
    roma_sandbox: Sandbox, path: str, body: dict[str, object]
) -> None:
    r = httpx.post(f"{roma_sandbox.url}/_sandbox{path}", json=body)
    assert r.status_code == 400
    assert r.json()["error"]
    assert roma_sandbox.faults == []


def test_stopping_the_server_ends_a_pending_slow_answer() -> None:
    """A client still waiting on a slow answer sees the connection close, not a 500."""
    outcome: list[object] = []
    with serve(tasks_per_instance=1) as sandbox:
        sandbox.inject("slow", delay_s=60)
        url = f"{sandbox.url}/v2/{sandbox.project_id}/instances"

        def wait() -> None:
            try:
                outcome.append(httpx.get(url, headers={"X-Auth-Token": "t"}, timeout=120))
            except httpx.HTTPError as exc:
                outcome.append(exc)

        waiter = threading.Thread(target=wait)
        waiter.start()
        for _ in range(1000):
            if sandbox.calls:
                break
            threading.Event().wait(0.01)
        assert [c.fault for c in sandbox.calls] == ["slow"]
    waiter.join()
    [seen] = outcome
    assert isinstance(seen, httpx.RemoteProtocolError)
