"""``serve()``, the in-process ASGI use, TLS, latency and the ``roma-nb sandbox`` command."""

from __future__ import annotations

import argparse
import asyncio
import io
import re
import shlex
import ssl
import threading
from collections.abc import Callable
from contextlib import redirect_stdout
from pathlib import Path

import httpx
import pytest
import trustme

from roma_nb.cli import sandbox as sandbox_cli
from roma_nb.sandbox import (
    Sandbox,
    SandboxOptions,
    SandboxState,
    create_app,
    options_from_environment,
    serve,
)
from roma_nb.sandbox.state import OPTIONS_VARIABLE


def test_serve_starts_answers_and_stops() -> None:
    with serve(tasks_per_instance=5, seed=4) as sandbox:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", sandbox.url)
        r = httpx.get(
            f"{sandbox.url}/v2/{sandbox.project_id}/instances",
            headers={"X-Auth-Token": sandbox.token},
        )
        assert r.status_code == 200
        assert sandbox.env == {
            "ROMA_NB_ENDPOINT": sandbox.url,
            "HUAWEICLOUD_SDK_PROJECT_ID": sandbox.project_id,
            "ROMA_NB_TOKEN": sandbox.token,
        }
        assert sandbox.token not in repr(sandbox)
        url = sandbox.url
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/v2/x/instances")


def test_serve_takes_a_state_or_options_not_both() -> None:
    with pytest.raises(TypeError), serve(state=SandboxState(), seed=1):
        pass


def test_latency_does_not_serialise_requests(
    roma_sandbox_factory: Callable[..., Sandbox],
) -> None:
    """20 requests with 200 ms latency each: all are in flight at once (overlapping records)."""
    sandbox = roma_sandbox_factory(latency_ms=200, tasks_per_instance=5)

    async def fire() -> list[int]:
        async with httpx.AsyncClient(
            base_url=f"{sandbox.url}/v2/{sandbox.project_id}",
            headers={"X-Auth-Token": sandbox.token},
            limits=httpx.Limits(max_connections=20),
        ) as client:
            responses = await asyncio.gather(*(client.get("/instances") for _ in range(20)))
        return [r.status_code for r in responses]

    assert asyncio.run(fire()) == [200] * 20
    calls = sandbox.calls
    assert len(calls) == 20
    # Every request arrived before any answer was finished: they were all waiting together.
    assert max(c.started for c in calls) < min(c.finished for c in calls)


def test_latency_can_be_changed_while_running(roma_sandbox: Sandbox) -> None:
    roma_sandbox.set_latency(50)
    assert roma_sandbox.state.latency_ms == 50
    with pytest.raises(ValueError, match="negative"):
        roma_sandbox.set_latency(-1)
    roma_sandbox.reset_state()
    assert roma_sandbox.state.latency_ms == 0


def test_fixture_state_is_fresh_for_each_test_part_one(roma_sandbox: Sandbox) -> None:
    _dirty(roma_sandbox)


def test_fixture_state_is_fresh_for_each_test_part_two(roma_sandbox: Sandbox) -> None:
    _dirty(roma_sandbox)


def _dirty(sandbox: Sandbox) -> None:
    """Find the sandbox clean, then leave it dirty: run twice, this fails if state leaks."""
    assert sandbox.calls == []
    assert sandbox.resets == []
    headers = {"X-Auth-Token": "leaky"}
    url = f"{sandbox.url}/v2/{sandbox.project_id}/instances"
    assert httpx.get(url, headers=headers).status_code == 200
    sandbox.reject_token("leaky")
    assert httpx.get(url, headers=headers).status_code == 401


def test_in_process_through_asgi_transport() -> None:
    state = SandboxState(tasks_per_instance=20)

    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(state))
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
            instance = state.instances[0].id
            task = next(t for t in state.combined_tasks(instance) if t.status == 0).task_id
            return await http.post(
                f"/v2/{state.project_id}/fdi/instances/{instance}/multi-tasks/{task}/reset",
                json={"date_from": 1630052714000},
                headers={"X-Auth-Token": state.token},
            )

    response = asyncio.run(run())
    assert response.json() == {"message": "Reset Success"}
    assert response.headers["x-request-id"] == state.resets[0].request_id


def test_https_with_a_private_ca(tmp_path: Path) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(certfile))
    cert.private_key_pem.write_to_path(str(keyfile))
    with serve(ssl_certfile=str(certfile), ssl_keyfile=str(keyfile), tasks_per_instance=1) as sb:
        assert sb.url.startswith("https://127.0.0.1:")
        url = f"{sb.url}/v2/{sb.project_id}/instances"
        context = ssl.create_default_context()
        ca.configure_trust(context)
        assert httpx.get(url, headers={"X-Auth-Token": "t"}, verify=context).status_code == 200
        with pytest.raises(httpx.ConnectError):
            httpx.get(url, headers={"X-Auth-Token": "t"})  # system CAs do not know it


def test_cli_prints_how_to_use_it_and_serves() -> None:
    parser = argparse.ArgumentParser()
    sandbox_cli.add_arguments(parser)
    args = parser.parse_args(["--tasks", "3", "--offset-mode", "pages", "--strict-tokens"])
    stop = threading.Event()
    out = io.StringIO()
    result: list[int] = []

    def target() -> None:
        with redirect_stdout(out):
            result.append(sandbox_cli.run(args, stop=stop))

    thread = threading.Thread(target=target)
    thread.start()
    try:
        for _ in range(2000):
            if "Ctrl-C" in out.getvalue():
                break
            stop.wait(0.005)
        text = out.getvalue()
        endpoint = re.search(r"export ROMA_NB_ENDPOINT=(\S+)", text)
        project = re.search(r"export HUAWEICLOUD_SDK_PROJECT_ID=(\S+)", text)
        token = re.search(r"export ROMA_NB_TOKEN=(\S+)", text)
        assert endpoint, text
        assert project, text
        assert token, text
        url = f"{endpoint[1]}/v2/{project[1]}/instances"
        assert httpx.get(url, headers={"X-Auth-Token": token[1]}).status_code == 200
        assert httpx.get(url, headers={"X-Auth-Token": "made-up"}).status_code == 401
        login = re.search(
            r"ROMA_NB_USERNAME=(\S+) ROMA_NB_PASSWORD=(\S+) ROMA_NB_DOMAIN=(\S+)", text
        )
        assert login, text
        [[name], [password], [domain]] = (shlex.split(part) for part in login.groups())
        user = {"name": name, "password": password, "domain": {"name": domain}}
        auth = {
            "identity": {"methods": ["password"], "password": {"user": user}},
            "scope": {"project": {"id": project[1]}},
        }
        r = httpx.post(f"{endpoint[1]}/v3/auth/tokens", json={"auth": auth})
        assert r.status_code == 201
        assert "HUAWEICLOUD_SDK_AK=" in text
    finally:
        stop.set()
        thread.join()
    assert result == [0]


def test_cli_refuses_a_certfile_without_key(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    sandbox_cli.add_arguments(parser)
    assert sandbox_cli.run(parser.parse_args(["--certfile", "x.pem"])) == 2
    assert "--keyfile" in capsys.readouterr().err


def test_cli_lifecycle_flags_and_the_sandboxs_own_defaults() -> None:
    parser = argparse.ArgumentParser()
    sandbox_cli.add_arguments(parser)
    flags = "--stop-delay-ms 1500 --start-delay-ms 900 --log-retention-days 3 --refuse-running"
    given = sandbox_cli._options(parser.parse_args(flags.split()))
    options = SandboxState(**given).options
    assert (options.stop_delay_ms, options.start_delay_ms) == (1500, 900)
    assert (options.log_retention_days, options.refuse_running) == (3, True)
    assert (
        sandbox_cli._options(parser.parse_args(["--no-refuse-running"]))["refuse_running"] is False
    )
    defaults = SandboxState(**sandbox_cli._options(parser.parse_args([]))).options
    assert defaults.refuse_running is SandboxOptions().refuse_running
    assert (defaults.stop_delay_ms, defaults.log_retention_days) == (0, 2)


def test_sandbox_options_from_the_environment() -> None:
    assert options_from_environment({}) == {}
    assert options_from_environment({OPTIONS_VARIABLE: ' {"stop_delay_ms": 5} '}) == {
        "stop_delay_ms": 5
    }
    with pytest.raises(ValueError, match="JSON object"):
        options_from_environment({OPTIONS_VARIABLE: "[1]"})
    with pytest.raises(ValueError, match="stop_dleay_ms"):
        options_from_environment({OPTIONS_VARIABLE: '{"stop_dleay_ms": 5}'})
