"""TLS against a private CA: refused by default, trusted only when the user says so.

The sandbox serves HTTPS (uvicorn) with a certificate issued by a throw-away CA made by
``trustme``, as a private ROMA Connect deployment would. The client must refuse it unless given
that CA (``verify=`` a path or an ``ssl.SSLContext``, or ``ROMA_NB_CA_BUNDLE`` read by
``connect()``; the client's constructor reads no environment), must say how to
fix the refusal, must not retry it (retrying cannot make a certificate trusted) and must send
nothing: no request reaches the server, which its call log proves. The handshakes themselves are
counted from httpcore's DEBUG log, which records each one.

``connect()``'s reading of ``ROMA_NB_CA_BUNDLE`` is also covered in ``test_config_connect.py``
(a listing); here it carries a reset, and an IAM password login over the same private CA.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

from roma_nb.auth import TokenAuth
from roma_nb.client import AsyncRomaClient, RetryPolicy, RomaClient
from roma_nb.connection import connect
from roma_nb.errors import ConfigurationError, TransportError
from roma_nb.history import ResultLog
from roma_nb.sandbox import Sandbox, serve

DATE_FROM = 1630052714000
CA_BUNDLE = "ROMA_NB_CA_BUNDLE"
NOWHERE = "/nonexistent/roma-nb-credentials"


@dataclass(frozen=True)
class Pki:
    """A private CA's bundle, and a server certificate it issued."""

    bundle: Path
    cert: Path
    key: Path


def make_pki(directory: Path, *hosts: str) -> Pki:
    ca = trustme.CA()
    issued = ca.issue_cert(*hosts)
    pki = Pki(directory / "ca.pem", directory / "cert.pem", directory / "key.pem")
    ca.cert_pem.write_to_path(str(pki.bundle))
    issued.cert_chain_pems[0].write_to_path(str(pki.cert))
    issued.private_key_pem.write_to_path(str(pki.key))
    return pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"), "127.0.0.1")


@pytest.fixture(scope="module")
def _tls_server(pki: Pki) -> Iterator[Sandbox]:
    with serve(  # raw resets of running tasks too
        ssl_certfile=str(pki.cert), ssl_keyfile=str(pki.key), refuse_running=False
    ) as sandbox:
        yield sandbox


@pytest.fixture
def tls_sandbox(_tls_server: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """The module's HTTPS sandbox, reset; no CA bundle in the environment unless a test sets it."""
    monkeypatch.delenv(CA_BUNDLE, raising=False)
    _tls_server.reset_state()
    return _tls_server


class Handshakes(logging.Handler):
    """Counts the TLS handshakes httpcore starts and the ones that fail."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.started = 0
        self.failed = 0

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        self.started += message.startswith("start_tls.started")
        self.failed += message.startswith("start_tls.failed")


@pytest.fixture
def handshakes() -> Iterator[Handshakes]:
    logger = logging.getLogger("httpcore.connection")
    handler, level = Handshakes(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


def first_task(sandbox: Sandbox) -> tuple[str, str]:
    instance = sandbox.state.instances[0].id
    return instance, sandbox.state.combined_tasks(instance)[0].task_id


def client_for(sandbox: Sandbox, **options: object) -> RomaClient:
    return RomaClient(
        sandbox.url,
        project_id=sandbox.project_id,
        auth=TokenAuth("t0ken"),
        retry=RetryPolicy(max_attempts=4, backoff_base=0.01),
        **options,  # type: ignore[arg-type]
    )


# -- refused by default ------------------------------------------------------------------------


def test_a_private_ca_is_refused_by_default_once_and_nothing_is_sent(
    tls_sandbox: Sandbox, handshakes: Handshakes
) -> None:
    assert tls_sandbox.url.startswith("https://")
    with client_for(tls_sandbox) as client, pytest.raises(TransportError) as caught:
        client.reset_combined_task(*first_task(tls_sandbox), DATE_FROM)
    message = str(caught.value)
    assert "not trusted" in message and "Nothing was sent" in message
    assert "verify=" in message and CA_BUNDLE in message  # says how to fix it
    assert (handshakes.started, handshakes.failed) == (1, 1), "a refused certificate is final"
    assert tls_sandbox.calls == [] and tls_sandbox.resets == []


def test_a_refused_batch_records_failures_that_sent_nothing(
    tls_sandbox: Sandbox, handshakes: Handshakes, tmp_path: Path
) -> None:
    instance = tls_sandbox.state.instances[0].id
    targets = [(instance, t.task_id) for t in tls_sandbox.state.combined_tasks(instance)[:3]]
    with client_for(tls_sandbox) as client, ResultLog(tmp_path / "history.sqlite") as log:
        results = client.reset_many(targets, DATE_FROM, concurrency=1, log=log)
        rows = log.records()
    assert [(r.outcome, r.attempts, r.status_code) for r in results] == [("failed", 1, None)] * 3
    assert all("not trusted" in (r.message or "") for r in results)
    assert sorted((r["task_id"], r["outcome"], r["attempts"]) for r in rows) == sorted(
        (task, "failed", 1) for _, task in targets
    )
    assert handshakes.started == handshakes.failed == 3
    assert tls_sandbox.calls == []


def test_an_explicit_verify_true_ignores_the_environment_bundle(
    tls_sandbox: Sandbox, pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CA_BUNDLE, str(pki.bundle))
    with client_for(tls_sandbox, verify=True) as client, pytest.raises(TransportError):
        client.list_instances()
    assert tls_sandbox.calls == []


def test_the_right_ca_does_not_excuse_the_wrong_host_name(
    roma_sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    other = make_pki(tmp_path, "roma.internal.example")
    sandbox = roma_sandbox_factory(
        ssl_certfile=str(other.cert), ssl_keyfile=str(other.key), refuse_running=False
    )
    with (
        client_for(sandbox, verify=other.bundle) as client,
        pytest.raises(TransportError, match="not trusted"),
    ):
        client.reset_combined_task(*first_task(sandbox), DATE_FROM)
    assert sandbox.calls == []


def test_the_async_client_refuses_by_default_too(tls_sandbox: Sandbox) -> None:
    async def reset() -> None:
        async with AsyncRomaClient(
            tls_sandbox.url, project_id=tls_sandbox.project_id, auth=TokenAuth("t0ken")
        ) as client:
            await client.reset_combined_task(*first_task(tls_sandbox), DATE_FROM)

    with pytest.raises(TransportError, match="not trusted"):
        asyncio.run(reset())
    assert tls_sandbox.calls == []


# -- accepted when the user names the CA -------------------------------------------------------


def ca_context(pki: Pki) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(pki.bundle))


VERIFY_FORMS: dict[str, Callable[[Pki], object]] = {
    "path string": lambda pki: str(pki.bundle),
    "Path": lambda pki: pki.bundle,
    "SSLContext": ca_context,
}


@pytest.mark.parametrize("form", list(VERIFY_FORMS))
def test_verify_accepts_the_private_ca(tls_sandbox: Sandbox, pki: Pki, form: str) -> None:
    instance, task = first_task(tls_sandbox)
    with client_for(tls_sandbox, verify=VERIFY_FORMS[form](pki)) as client:
        result = client.reset_combined_task(instance, task, DATE_FROM)
    assert (result.outcome, result.attempts) == ("success", 1)
    [reset] = tls_sandbox.resets
    assert (reset.task_id, reset.date_from) == (task, DATE_FROM)


def test_the_client_constructor_does_not_read_the_environment_bundle(
    tls_sandbox: Sandbox, pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Configuration is read by ``connect()`` (below) and the CLI, never by the constructor."""
    monkeypatch.setenv(CA_BUNDLE, str(pki.bundle))
    with client_for(tls_sandbox) as client, pytest.raises(TransportError, match="not trusted"):
        client.reset_combined_task(*first_task(tls_sandbox), DATE_FROM)
    assert tls_sandbox.calls == []


def test_the_async_client_constructor_does_not_read_the_environment_bundle(
    tls_sandbox: Sandbox, pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CA_BUNDLE, str(pki.bundle))

    async def reset() -> str:
        async with AsyncRomaClient(
            tls_sandbox.url, project_id=tls_sandbox.project_id, auth=TokenAuth("t0ken")
        ) as client:
            result = await client.reset_combined_task(*first_task(tls_sandbox), DATE_FROM)
            return result.outcome

    with pytest.raises(TransportError, match="not trusted"):
        asyncio.run(reset())
    assert tls_sandbox.calls == []


def test_connect_uses_the_environment_bundle(tls_sandbox: Sandbox, pki: Pki) -> None:
    env = {
        CA_BUNDLE: str(pki.bundle),
        "HUAWEICLOUD_SDK_PROJECT_ID": tls_sandbox.project_id,
        "ROMA_NB_TOKEN": "t0ken",
    }
    with connect(tls_sandbox.url, env=env, credentials_file=NOWHERE) as client:
        assert client.list_instances()
        client.reset_combined_task(*first_task(tls_sandbox), DATE_FROM)
    assert len(tls_sandbox.resets) == 1


def test_connect_resets_and_logs_in_over_the_private_ca(tls_sandbox: Sandbox, pki: Pki) -> None:
    """``connect()`` with ``ROMA_NB_CA_BUNDLE``: the IAM password login and the reset both
    trust the private CA (a login that ignored it would fail before the reset)."""
    user = tls_sandbox.users[tls_sandbox.username]
    env = {
        CA_BUNDLE: str(pki.bundle),
        "HUAWEICLOUD_SDK_PROJECT_ID": tls_sandbox.project_id,
        "ROMA_NB_USERNAME": user.name,
        "ROMA_NB_PASSWORD": user.password,
        "ROMA_NB_DOMAIN": user.domain,
        "HUAWEICLOUD_SDK_IAM_ENDPOINT": tls_sandbox.iam_url,
    }
    with connect(tls_sandbox.url, env=env, credentials_file=NOWHERE) as client:
        result = client.reset_combined_task(*first_task(tls_sandbox), DATE_FROM)
    assert result.outcome == "success"
    assert len(tls_sandbox.logins) == 1
    assert len(tls_sandbox.resets) == 1


def test_connect_without_the_bundle_refuses(tls_sandbox: Sandbox) -> None:
    env = {"HUAWEICLOUD_SDK_PROJECT_ID": tls_sandbox.project_id, "ROMA_NB_TOKEN": "t0ken"}
    with (
        connect(tls_sandbox.url, env=env, credentials_file=NOWHERE) as client,
        pytest.raises(TransportError, match="not trusted"),
    ):
        client.reset_combined_task(*first_task(tls_sandbox), DATE_FROM)
    assert tls_sandbox.calls == []


@pytest.mark.parametrize("bundle", ["missing.pem", "not-a-certificate.pem"])
def test_an_unusable_bundle_is_a_configuration_error_naming_its_source(
    tls_sandbox: Sandbox, tmp_path: Path, bundle: str
) -> None:
    (tmp_path / "not-a-certificate.pem").write_text("hello\n", encoding="utf-8")
    env = {
        CA_BUNDLE: str(tmp_path / bundle),
        "HUAWEICLOUD_SDK_PROJECT_ID": tls_sandbox.project_id,
        "ROMA_NB_TOKEN": "t0ken",
    }
    with pytest.raises(ConfigurationError, match=CA_BUNDLE):
        connect(tls_sandbox.url, env=env, credentials_file=NOWHERE)
    with pytest.raises(ConfigurationError, match="verify="):
        client_for(tls_sandbox, verify=tmp_path / bundle)
    assert tls_sandbox.calls == []
