"""Configuration resolution: arguments, then environment, then the credentials file."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest
import trustme
from hypothesis import given
from hypothesis import strategies as st

from roma_nb.auth import AkSkAuth, PasswordAuth, TokenAuth
from roma_nb.config import (
    Profile,
    iam_endpoint_for_region,
    read_credentials_file,
    region_from_endpoint,
    region_override_name,
    resolve_endpoint,
    resolve_iam_endpoint,
    resolve_settings,
    resolve_verify,
    roma_endpoint_for_region,
    wants_sandbox,
)
from roma_nb.errors import ConfigurationError

AK = "HPUAEXAMPLEAK0000000"
SK = "exampleSecretKey0000000000000000000000000"
PROJECT = "0123456789abcdef0123456789abcdef"
NOWHERE = "/nonexistent/roma-nb-credentials"


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "credentials"
    path.write_text(text, encoding="utf-8")
    return path


# -- endpoints ------------------------------------------------------------------------------------


def test_region_ids_map_to_roma_and_iam_hosts() -> None:
    assert roma_endpoint_for_region("cn-north-4") == "https://roma.cn-north-4.myhuaweicloud.com"
    assert iam_endpoint_for_region("ap-southeast-1") == (
        "https://iam.ap-southeast-1.myhuaweicloud.com"
    )
    assert region_override_name("cn-north-4") == "HUAWEICLOUD_SDK_REGION_ROMA_CN_NORTH_4"
    assert region_from_endpoint("https://roma.cn-east-3.myhuaweicloud.com") == "cn-east-3"
    assert region_from_endpoint("https://roma.example.internal") is None


@given(st.from_regex(r"[a-z0-9]+(-[a-z0-9]+)*", fullmatch=True))
def test_any_well_formed_region_id_is_accepted(region: str) -> None:
    assert resolve_endpoint(region=region, env={}) == f"https://roma.{region}.myhuaweicloud.com"


@pytest.mark.parametrize("region", ["CN-North-4", "cn north 4", "cn_north_4", "-cn", "", "a/b"])
def test_malformed_region_ids_are_refused(region: str) -> None:
    with pytest.raises(ConfigurationError, match="not a region id"):
        resolve_endpoint(region=region, env={})


@pytest.mark.parametrize(
    ("endpoint", "region", "env", "expected"),
    [
        ("https://roma.example.internal/", None, {}, "https://roma.example.internal"),
        (None, "cn-north-4", {}, "https://roma.cn-north-4.myhuaweicloud.com"),
        (
            None,
            "cn-north-4",
            {"HUAWEICLOUD_SDK_REGION_ROMA_CN_NORTH_4": "https://roma-vpc.example:8443/"},
            "https://roma-vpc.example:8443",
        ),
        (None, None, {"ROMA_NB_ENDPOINT": "http://127.0.0.1:9000"}, "http://127.0.0.1:9000"),
        (None, None, {"ROMA_NB_REGION": "cn-east-3"}, "https://roma.cn-east-3.myhuaweicloud.com"),
        (
            None,
            None,
            {"ROMA_NB_ENDPOINT": "https://a.example", "ROMA_NB_REGION": "cn-east-3"},
            "https://a.example",
        ),
        (
            None,
            "cn-north-1",
            {"ROMA_NB_ENDPOINT": "https://a.example"},
            "https://roma.cn-north-1.myhuaweicloud.com",
        ),
        ("https://b.example", "cn-north-1", {}, "https://b.example"),
    ],
)
def test_resolve_endpoint_order(
    endpoint: str | None, region: str | None, env: dict[str, str], expected: str
) -> None:
    assert resolve_endpoint(endpoint, region, env) == expected


@pytest.mark.parametrize("bad", ["roma.example", "ftp://x.example", "https://", "https://h?x=1"])
def test_malformed_endpoints_are_refused(bad: str) -> None:
    with pytest.raises(ConfigurationError, match="not an http"):
        resolve_endpoint(bad, env={})


def test_no_endpoint_and_sandbox_endpoint_are_explained() -> None:
    with pytest.raises(ConfigurationError, match="ROMA_NB_ENDPOINT"):
        resolve_endpoint(env={})
    with pytest.raises(ConfigurationError, match=r"roma_nb.connect\(\)"):
        resolve_endpoint(env={"ROMA_NB_ENDPOINT": "sandbox"})


def test_wants_sandbox() -> None:
    assert wants_sandbox("sandbox", env={})
    assert wants_sandbox(" SANDBOX ", env={})
    assert not wants_sandbox("cn-north-4", env={"ROMA_NB_ENDPOINT": "sandbox"})
    assert wants_sandbox(env={"ROMA_NB_ENDPOINT": "sandbox"})
    assert not wants_sandbox(region="cn-north-4", env={"ROMA_NB_ENDPOINT": "sandbox"})
    assert not wants_sandbox(env={"ROMA_NB_ENDPOINT": "sandbox", "ROMA_NB_REGION": "cn-north-4"})
    assert not wants_sandbox(env={})


def test_iam_endpoint_order(tmp_path: Path) -> None:
    profile = Profile(path=tmp_path, section="basic", iam_endpoint="https://iam.file.example")
    env = {"HUAWEICLOUD_SDK_IAM_ENDPOINT": "https://iam.env.example/"}
    assert resolve_iam_endpoint("https://iam.arg.example", "cn-north-4", env, profile) == (
        "https://iam.arg.example"
    )
    assert resolve_iam_endpoint(None, "cn-north-4", env, profile) == "https://iam.env.example"
    assert resolve_iam_endpoint(None, "cn-north-4", {}, profile) == "https://iam.file.example"
    assert resolve_iam_endpoint(None, "cn-north-4", {}, None) == (
        "https://iam.cn-north-4.myhuaweicloud.com"
    )
    assert resolve_iam_endpoint(None, None, {}, None) is None


# -- TLS ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return path


def test_verification_is_on_by_default_and_only_explicitly_off(ca_bundle: Path) -> None:
    assert resolve_verify(env={}) is True
    assert resolve_verify(False, env={"ROMA_NB_CA_BUNDLE": str(ca_bundle)}) is False
    context = ssl.create_default_context()
    assert resolve_verify(context, env={}) is context


def test_a_ca_bundle_becomes_a_verifying_context(ca_bundle: Path) -> None:
    for verify, env in ((None, {"ROMA_NB_CA_BUNDLE": str(ca_bundle)}), (ca_bundle, {})):
        context = resolve_verify(verify, env)
        assert isinstance(context, ssl.SSLContext)
        assert context.verify_mode == ssl.CERT_REQUIRED
        assert context.check_hostname
        assert len(context.get_ca_certs()) == 1
    directory = resolve_verify(str(ca_bundle.parent), {})
    assert isinstance(directory, ssl.SSLContext)


def test_an_unusable_ca_bundle_is_explained(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="ROMA_NB_CA_BUNDLE"):
        resolve_verify(env={"ROMA_NB_CA_BUNDLE": str(tmp_path / "missing.pem")})
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    with pytest.raises(ConfigurationError, match="cannot be used"):
        resolve_verify(junk, env={})


# -- the credentials file -------------------------------------------------------------------------


@pytest.mark.parametrize("section", ["basic", "basiccredentials", "BASIC"])
def test_credentials_file_sections(tmp_path: Path, section: str) -> None:
    path = _file(
        tmp_path,
        f"[global]\nak = other\n\n[{section}]\nak = {AK}\nsk = abc%def{SK}\n"
        f"project_id = {PROJECT}\nsecurity_token = tok-0000000000\n"
        "iam_endpoint = https://iam.example\n",
    )
    profile = read_credentials_file(path)
    assert profile is not None
    assert (profile.ak, profile.sk, profile.project_id) == (AK, f"abc%def{SK}", PROJECT)
    assert (profile.security_token, profile.iam_endpoint) == (
        "tok-0000000000",
        "https://iam.example",
    )
    assert SK not in repr(profile)
    assert AK not in repr(profile)
    assert "tok-0000000000" not in repr(profile)


def test_credentials_file_absent_or_without_section(tmp_path: Path) -> None:
    assert read_credentials_file(tmp_path / "missing") is None
    assert read_credentials_file(_file(tmp_path, "[global]\nak = x\n")) is None


def test_a_broken_credentials_file_is_explained_without_its_content(tmp_path: Path) -> None:
    path = _file(tmp_path, f"ak = {AK}\n[basic\nsk = {SK}\n")
    with pytest.raises(ConfigurationError) as caught:
        read_credentials_file(path)
    assert str(path) in str(caught.value)
    assert SK not in str(caught.value)
    assert AK not in str(caught.value)


# -- everything together --------------------------------------------------------------------------


def test_nothing_configured_lists_every_gap_in_one_message() -> None:
    with pytest.raises(ConfigurationError) as caught:
        resolve_settings(env={}, credentials_file=NOWHERE)
    message = str(caught.value)
    for hint in (
        "3 setting(s)",
        "ROMA_NB_ENDPOINT",
        "ROMA_NB_REGION",
        "HUAWEICLOUD_SDK_PROJECT_ID",
        "ROMA_NB_TOKEN",
        "HUAWEICLOUD_SDK_AK",
        "ROMA_NB_USERNAME",
        "~/.huaweicloud/credentials",
        "connect('sandbox')",
    ):
        assert hint in message


def test_all_from_the_environment_with_a_token() -> None:
    env = {
        "ROMA_NB_REGION": "cn-north-4",
        "HUAWEICLOUD_SDK_PROJECT_ID": PROJECT,
        "ROMA_NB_TOKEN": "MIIExampleTokenValue0123456789",
        "HUAWEICLOUD_SDK_AK": AK,
        "HUAWEICLOUD_SDK_SK": SK,
    }
    settings = resolve_settings(env=env, credentials_file=NOWHERE)
    assert settings.endpoint == "https://roma.cn-north-4.myhuaweicloud.com"
    assert settings.project_id == PROJECT
    assert isinstance(settings.auth, TokenAuth)
    assert settings.credentials_from == "ROMA_NB_TOKEN"
    assert settings.verify is True
    assert settings.label == f"roma.cn-north-4.myhuaweicloud.com / project {PROJECT}"
    for secret in ("MIIExampleTokenValue0123456789", SK, AK):
        assert secret not in repr(settings)


def test_aksk_from_the_environment_carries_project_and_security_token() -> None:
    env = {
        "ROMA_NB_ENDPOINT": "https://roma.cn-north-4.myhuaweicloud.com",
        "HUAWEICLOUD_SDK_PROJECT_ID": PROJECT,
        "HUAWEICLOUD_SDK_AK": AK,
        "HUAWEICLOUD_SDK_SK": SK,
        "HUAWEICLOUD_SDK_SECURITY_TOKEN": "temporary-token-000000",
    }
    settings = resolve_settings(env=env, credentials_file=NOWHERE)
    assert isinstance(settings.auth, AkSkAuth)
    assert settings.auth.project_id == PROJECT
    assert settings.region == "cn-north-4"
    signed = next(settings.auth.sync_auth_flow(httpx.Request("GET", settings.endpoint + "/v2")))
    assert signed.headers["X-Security-Token"] == "temporary-token-000000"


def test_password_login_from_the_environment(tmp_path: Path) -> None:
    env = {
        "HUAWEICLOUD_SDK_PROJECT_ID": PROJECT,
        "ROMA_NB_USERNAME": "alice",
        "ROMA_NB_PASSWORD": " spaced password ",
        "ROMA_NB_DOMAIN": "example-domain",
    }
    settings = resolve_settings("cn-north-4", env=env, credentials_file=NOWHERE)
    assert isinstance(settings.auth, PasswordAuth)
    assert settings.iam_endpoint == "https://iam.cn-north-4.myhuaweicloud.com"
    assert "spaced password" not in repr(settings)

    private = resolve_settings(
        "https://roma.example.internal",
        env={**env, "HUAWEICLOUD_SDK_IAM_ENDPOINT": "https://iam.example.internal"},
        credentials_file=NOWHERE,
    )
    assert private.iam_endpoint == "https://iam.example.internal"


def test_password_login_against_a_private_endpoint_needs_an_iam_endpoint() -> None:
    env = {
        "HUAWEICLOUD_SDK_PROJECT_ID": PROJECT,
        "ROMA_NB_USERNAME": "alice",
        "ROMA_NB_PASSWORD": "pw-000000",
        "ROMA_NB_DOMAIN": "d",
    }
    with pytest.raises(ConfigurationError, match="HUAWEICLOUD_SDK_IAM_ENDPOINT"):
        resolve_settings("https://roma.example.internal", env=env, credentials_file=NOWHERE)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HUAWEICLOUD_SDK_AK": AK}, "HUAWEICLOUD_SDK_AK is set but HUAWEICLOUD_SDK_SK is not"),
        ({"HUAWEICLOUD_SDK_SK": SK}, "HUAWEICLOUD_SDK_SK is set but HUAWEICLOUD_SDK_AK is not"),
        ({"ROMA_NB_USERNAME": "alice"}, "ROMA_NB_PASSWORD and ROMA_NB_DOMAIN not set"),
        ({"HUAWEICLOUD_SDK_AK": AK, "HUAWEICLOUD_SDK_SK": "a\nb"}, "SK contains a line break"),
    ],
)
def test_incomplete_credentials_are_named(env: dict[str, str], message: str) -> None:
    full = {"ROMA_NB_REGION": "cn-north-4", "HUAWEICLOUD_SDK_PROJECT_ID": PROJECT, **env}
    with pytest.raises(ConfigurationError, match=message) as caught:
        resolve_settings(env=full, credentials_file=NOWHERE)
    assert "1 setting(s)" in str(caught.value)
    assert SK not in str(caught.value)


def test_explicit_arguments_beat_the_environment(ca_bundle: Path) -> None:
    env = {
        "ROMA_NB_ENDPOINT": "https://env.example",
        "HUAWEICLOUD_SDK_PROJECT_ID": "env-project",
        "ROMA_NB_TOKEN": "env-token-0000000000",
        "ROMA_NB_CA_BUNDLE": str(ca_bundle),
    }
    mine = TokenAuth("argument-token-000000")
    settings = resolve_settings(
        endpoint="https://arg.example",
        project_id="arg-project",
        auth=mine,
        verify=False,
        env=env,
        credentials_file=NOWHERE,
    )
    assert (settings.endpoint, settings.project_id, settings.auth) == (
        "https://arg.example",
        "arg-project",
        mine,
    )
    assert settings.verify is False
    assert settings.credentials_from == "auth="
    from_env = resolve_settings(env=env, credentials_file=NOWHERE)
    assert isinstance(from_env.verify, ssl.SSLContext)


def test_the_credentials_file_is_the_last_resort(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _file(tmp_path, f"[basiccredentials]\nak = {AK}\nsk = {SK}\nproject_id = {PROJECT}\n")
    settings = resolve_settings("cn-north-4", env={}, credentials_file=path)
    assert isinstance(settings.auth, AkSkAuth)
    assert settings.project_id == PROJECT
    assert settings.credentials_from == f"{path} [basiccredentials]"

    by_env = resolve_settings("cn-north-4", env={"HUAWEICLOUD_SDK_CREDENTIALS_FILE": str(path)})
    assert isinstance(by_env.auth, AkSkAuth)

    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".huaweicloud").mkdir()
    path.rename(tmp_path / ".huaweicloud" / "credentials")
    assert resolve_settings("cn-north-4", env={}).project_id == PROJECT

    env_wins = resolve_settings(
        "cn-north-4",
        env={"HUAWEICLOUD_SDK_PROJECT_ID": "env-project", "ROMA_NB_TOKEN": "env-token-0000"},
    )
    assert env_wins.project_id == "env-project"
    assert isinstance(env_wins.auth, TokenAuth)


def test_a_broken_credentials_file_is_ignored_when_not_needed(tmp_path: Path) -> None:
    path = _file(tmp_path, "[basic\n")
    env = {"HUAWEICLOUD_SDK_PROJECT_ID": PROJECT, "ROMA_NB_TOKEN": "env-token-0000"}
    assert resolve_settings("cn-north-4", env=env, credentials_file=path).project_id == PROJECT
    with pytest.raises(ConfigurationError, match="cannot be read"):
        resolve_settings("cn-north-4", env={"ROMA_NB_TOKEN": "t0000"}, credentials_file=path)


@pytest.mark.parametrize(
    ("target", "kwargs", "message"),
    [
        ("not a target!", {}, "neither 'sandbox', an endpoint URL nor a region id"),
        ("cn-north-4", {"endpoint": "https://x.example"}, "give one of them"),
        ("sandbox", {}, r"connect\('sandbox'\)"),
    ],
)
def test_bad_targets(target: str, kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        resolve_settings(target, env={}, credentials_file=NOWHERE, **kwargs)  # type: ignore[arg-type]


def test_a_malformed_project_id_is_reported_with_its_source() -> None:
    env = {"HUAWEICLOUD_SDK_PROJECT_ID": "x" * 65, "ROMA_NB_TOKEN": "t0000"}
    with pytest.raises(ConfigurationError, match="from HUAWEICLOUD_SDK_PROJECT_ID"):
        resolve_settings("cn-north-4", env=env, credentials_file=NOWHERE)
