"""``connect()``: a client from configuration, and ``connect("sandbox")`` over a real socket."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
import trustme

from roma_nb.auth import AkSkAuth, TokenAuth
from roma_nb.connection import SANDBOX_LABEL, connect, embedded_sandbox
from roma_nb.errors import ConfigurationError, TransportError

if TYPE_CHECKING:
    from roma_nb.sandbox import Sandbox

PROJECT = "0123456789abcdef0123456789abcdef"
NOWHERE = "/nonexistent/roma-nb-credentials"


def test_connect_sandbox_starts_one_embedded_sandbox_and_talks_to_it() -> None:
    with connect("sandbox") as client:
        sandbox = embedded_sandbox()
        assert client.endpoint == sandbox.url
        assert client.project_id == sandbox.project_id
        assert client.environment == SANDBOX_LABEL
        assert isinstance(client.auth, TokenAuth)
        sandbox.clear_records()
        instances = client.list_instances()
        assert instances
        assert [call.path for call in sandbox.calls] == [f"/v2/{sandbox.project_id}/instances"]
    with connect(env={"ROMA_NB_ENDPOINT": "sandbox"}) as again:
        assert again.endpoint == sandbox.url  # the same sandbox, kept for the process


def test_connect_sandbox_accepts_other_credentials() -> None:
    auth = AkSkAuth("HPUAEXAMPLEAK0000000", "exampleSecretKey0000000000000000000000000")
    with connect("sandbox", auth=auth) as client:
        assert client.auth is auth


def test_connect_builds_a_client_from_the_environment() -> None:
    env = {
        "ROMA_NB_REGION": "cn-north-4",
        "HUAWEICLOUD_SDK_PROJECT_ID": PROJECT,
        "ROMA_NB_TOKEN": "MIIExampleTokenValue0123456789",
    }
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"total": 0, "size": 0, "instances": []})

    with connect(env=env, credentials_file=NOWHERE, transport=httpx.MockTransport(handler)) as c:
        assert c.endpoint == "https://roma.cn-north-4.myhuaweicloud.com"
        assert c.environment == f"roma.cn-north-4.myhuaweicloud.com / project {PROJECT}"
        assert c.list_instances() == []
    assert seen[0].headers["X-Auth-Token"] == "MIIExampleTokenValue0123456789"
    assert str(seen[0].url).startswith(
        f"https://roma.cn-north-4.myhuaweicloud.com/v2/{PROJECT}/instances"
    )


@pytest.fixture
def tls_sandbox(
    roma_sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> tuple[Sandbox, Path]:
    """A sandbox serving HTTPS with a certificate from a private CA, and that CA's bundle."""
    ca = trustme.CA()
    server_cert = ca.issue_cert("127.0.0.1")
    cert, key, bundle = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    server_cert.cert_chain_pems[0].write_to_path(str(cert))
    server_cert.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(bundle))
    sandbox = roma_sandbox_factory(ssl_certfile=str(cert), ssl_keyfile=str(key))
    return sandbox, bundle


def test_a_private_endpoint_with_its_ca_bundle(tls_sandbox: tuple[Sandbox, Path]) -> None:
    sandbox, bundle = tls_sandbox
    assert sandbox.url.startswith("https://")
    env = {"ROMA_NB_CA_BUNDLE": str(bundle), "ROMA_NB_TOKEN": sandbox.token}
    with connect(sandbox.url, project_id=sandbox.project_id, env=env) as client:
        assert client.list_instances()


def test_tls_verification_is_on_by_default(tls_sandbox: tuple[Sandbox, Path]) -> None:
    sandbox, _ = tls_sandbox
    env = {"ROMA_NB_TOKEN": sandbox.token}
    with (
        connect(sandbox.url, project_id=sandbox.project_id, env=env) as client,
        pytest.raises(TransportError, match=r"CERTIFICATE_VERIFY_FAILED|certificate"),
    ):
        client.list_instances()
    assert sandbox.calls == []


def test_connect_explains_what_is_missing() -> None:
    with pytest.raises(ConfigurationError, match="3 setting"):
        connect(env={}, credentials_file=NOWHERE)
