"""Where to connect and how to authenticate: explicit arguments, then environment, then files.

Pure resolution (nothing here opens a connection). Only ``roma_nb.connection.connect`` and the CLI
read the environment and files, through :func:`resolve_settings`, and turn the :class:`Settings`
into a client; the client itself takes explicit values and uses only the environment-free helpers
of ``roma_nb.endpoints`` (``roma_endpoint_for_region``, ``tls_verify``, ``environment_label``, all
re-exported here), so importing it does not load this module. The auth classes only load when
credentials are resolved. The names are those users of the official SDK already have
(``roma-api.md`` §4) plus ours (``DESIGN.md``):

============================  =====================================================================
``ROMA_NB_ENDPOINT``          endpoint URL, or ``sandbox``
``ROMA_NB_REGION``            region id, e.g. ``cn-north-4`` → ``https://roma.cn-north-4.myhuaweicloud.com``
``HUAWEICLOUD_SDK_REGION_ROMA_<REGION>``  the SDK's per-region endpoint override
``HUAWEICLOUD_SDK_PROJECT_ID``  project id
``ROMA_NB_TOKEN``             a ready IAM token
``HUAWEICLOUD_SDK_AK``/``_SK``  access key pair (+ ``HUAWEICLOUD_SDK_SECURITY_TOKEN`` if temporary)
``ROMA_NB_USERNAME``/``_PASSWORD``/``_DOMAIN``  IAM password login
``HUAWEICLOUD_SDK_IAM_ENDPOINT``  IAM endpoint for the login (default: from the region)
``ROMA_NB_CA_BUNDLE``         CA bundle (file or directory) for a private endpoint
``HUAWEICLOUD_SDK_CREDENTIALS_FILE``  another path for ``~/.huaweicloud/credentials``
============================  =====================================================================

The credentials file is INI as the SDK reads it; section ``[basic]`` (or ``[basiccredentials]``)
with ``ak``, ``sk``, ``project_id``, ``security_token``, ``iam_endpoint``. When something cannot
be found, one :class:`~roma_nb.errors.ConfigurationError` lists everything missing and how to set
it. TLS verification is on unless ``verify=False`` is passed explicitly; no environment variable
turns it off.
"""

from __future__ import annotations

import configparser
import os
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ParamSpec, TypeVar
from urllib.parse import urlsplit

import httpx

from .auth.masking import HIDDEN, mask_secret
from .endpoints import (
    REGION_ID,
    ca_context,
    check_region,
    environment_label,
    iam_endpoint_for_region,
    region_from_endpoint,
    roma_endpoint_for_region,
    tls_verify,
)
from .errors import ConfigurationError, ValidationError
from .ids import check_id

__all__ = [
    "CREDENTIALS_SECTIONS",
    "ENVIRONMENT_VARIABLES",
    "SANDBOX",
    "Profile",
    "Settings",
    "environment_label",
    "iam_endpoint_for_region",
    "read_credentials_file",
    "region_from_endpoint",
    "region_override_name",
    "resolve_endpoint",
    "resolve_iam_endpoint",
    "resolve_settings",
    "resolve_verify",
    "roma_endpoint_for_region",
    "tls_verify",
    "wants_sandbox",
]

SANDBOX = "sandbox"
CREDENTIALS_SECTIONS = ("basic", "basiccredentials")

ENDPOINT = "ROMA_NB_ENDPOINT"
REGION = "ROMA_NB_REGION"
PROJECT_ID = "HUAWEICLOUD_SDK_PROJECT_ID"
TOKEN = "ROMA_NB_TOKEN"
AK = "HUAWEICLOUD_SDK_AK"
SK = "HUAWEICLOUD_SDK_SK"
SECURITY_TOKEN = "HUAWEICLOUD_SDK_SECURITY_TOKEN"
USERNAME = "ROMA_NB_USERNAME"
PASSWORD = "ROMA_NB_PASSWORD"
DOMAIN = "ROMA_NB_DOMAIN"
IAM_ENDPOINT = "HUAWEICLOUD_SDK_IAM_ENDPOINT"
CA_BUNDLE = "ROMA_NB_CA_BUNDLE"
CREDENTIALS_FILE = "HUAWEICLOUD_SDK_CREDENTIALS_FILE"
DEFAULT_CREDENTIALS_FILE = "~/.huaweicloud/credentials"

ENVIRONMENT_VARIABLES = (
    ENDPOINT,
    REGION,
    PROJECT_ID,
    TOKEN,
    AK,
    SK,
    SECURITY_TOKEN,
    USERNAME,
    PASSWORD,
    DOMAIN,
    IAM_ENDPOINT,
    CA_BUNDLE,
    CREDENTIALS_FILE,
)
"""Every variable configuration reads (besides ``HUAWEICLOUD_SDK_REGION_ROMA_<REGION>``)."""

P = ParamSpec("P")
T = TypeVar("T")


# -- regions and endpoints ----------------------------------------------------------------------


def region_override_name(region: str) -> str:
    """The SDK's per-region endpoint variable, e.g. ``HUAWEICLOUD_SDK_REGION_ROMA_CN_NORTH_4``."""
    return "HUAWEICLOUD_SDK_REGION_ROMA_" + region.upper().replace("-", "_")


def _check_url(url: str, source: str, example: str) -> str:
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigurationError(
            f"{url!r} (from {source}) is not an http(s) URL such as {example!r}."
        )
    return url


def _env(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    return value.strip() if value is not None and value.strip() else None


def wants_sandbox(
    target: str | None = None,
    *,
    endpoint: str | None = None,
    region: str | None = None,
    env: Mapping[str, str] | None = None,
) -> bool:
    """Whether this configuration asks for the embedded sandbox (``"sandbox"``)."""
    env = os.environ if env is None else env
    if target is not None:
        return target.strip().lower() == SANDBOX
    if endpoint is not None or region is not None:
        return endpoint is not None and endpoint.strip().lower() == SANDBOX
    return (_env(env, ENDPOINT) or "").lower() == SANDBOX and _env(env, REGION) is None


def resolve_endpoint(
    endpoint: str | None = None,
    region: str | None = None,
    env: Mapping[str, str] | None = None,
) -> str:
    """The endpoint from ``endpoint``, ``region``, ``ROMA_NB_ENDPOINT`` or ``ROMA_NB_REGION``.

    A region becomes ``https://roma.{region}.myhuaweicloud.com`` unless the SDK's override
    ``HUAWEICLOUD_SDK_REGION_ROMA_<REGION>`` names another URL.
    """
    env = os.environ if env is None else env
    example = "https://roma.cn-north-4.myhuaweicloud.com"
    if endpoint is not None:
        return _check_url(endpoint, "endpoint=", example)
    source = "region="
    if region is None:
        from_env = _env(env, ENDPOINT)
        if from_env is not None:
            if from_env.lower() == SANDBOX:
                raise ConfigurationError(
                    f"{ENDPOINT}=sandbox asks for the embedded sandbox: use roma_nb.connect()."
                )
            return _check_url(from_env, ENDPOINT, example)
        region, source = _env(env, REGION), REGION
    if region is None:
        raise ConfigurationError(_missing_message([_MISSING_ENDPOINT]))
    region = check_region(region, source)
    override = _env(env, region_override_name(region))
    if override is not None:
        return _check_url(override, region_override_name(region), example)
    return roma_endpoint_for_region(region)


def resolve_iam_endpoint(
    iam_endpoint: str | None = None,
    region: str | None = None,
    env: Mapping[str, str] | None = None,
    profile: Profile | None = None,
) -> str | None:
    """IAM for a password login: explicit, ``HUAWEICLOUD_SDK_IAM_ENDPOINT``, file, region."""
    env = os.environ if env is None else env
    example = "https://iam.cn-north-4.myhuaweicloud.com"
    if iam_endpoint is not None:
        return _check_url(iam_endpoint, "iam_endpoint=", example)
    from_env = _env(env, IAM_ENDPOINT)
    if from_env is not None:
        return _check_url(from_env, IAM_ENDPOINT, example)
    if profile is not None and profile.iam_endpoint:
        return _check_url(profile.iam_endpoint, str(profile.path), example)
    if region is not None:
        return iam_endpoint_for_region(region)
    return None


def resolve_verify(
    verify: bool | str | os.PathLike[str] | ssl.SSLContext | None = None,
    env: Mapping[str, str] | None = None,
) -> bool | ssl.SSLContext:
    """TLS verification for httpx: explicit ``verify``, else ``ROMA_NB_CA_BUNDLE``, else on."""
    env = os.environ if env is None else env
    if verify is not None:
        return tls_verify(verify)
    bundle = _env(env, CA_BUNDLE)
    if bundle is not None:
        return ca_context(bundle, CA_BUNDLE)
    return True


# -- the credentials file -----------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """The ``[basic]`` section of a credentials file; ``repr`` hides the keys."""

    path: Path
    section: str
    ak: str | None = field(default=None, repr=False)
    sk: str | None = field(default=None, repr=False)
    project_id: str | None = None
    security_token: str | None = field(default=None, repr=False)
    iam_endpoint: str | None = None

    def __repr__(self) -> str:
        return (
            f"Profile(path={str(self.path)!r}, section={self.section!r}, "
            f"ak={mask_secret(self.ak)!r}, sk={HIDDEN!r}, project_id={self.project_id!r}, "
            f"iam_endpoint={self.iam_endpoint!r})"
        )


def read_credentials_file(path: str | os.PathLike[str]) -> Profile | None:
    """Read ``[basic]`` or ``[basiccredentials]``; ``None`` if the file or section is absent.

    Interpolation is off: a ``%`` in a secret key is just a character.
    """
    resolved = Path(path).expanduser()
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with resolved.open(encoding="utf-8") as handle:
            parser.read_file(handle)
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, configparser.Error) as exc:
        raise ConfigurationError(
            f"Credentials file {str(resolved)!r} cannot be read: {type(exc).__name__}."
        ) from None
    by_name = {name.lower(): name for name in parser.sections()}
    for wanted in CREDENTIALS_SECTIONS:
        if wanted in by_name:
            section = parser[by_name[wanted]]

            def value(key: str, section: configparser.SectionProxy = section) -> str | None:
                text = section.get(key)
                return text.strip() if text is not None and text.strip() else None

            return Profile(
                path=resolved,
                section=by_name[wanted],
                ak=value("ak"),
                sk=value("sk"),
                project_id=value("project_id"),
                security_token=value("security_token"),
                iam_endpoint=value("iam_endpoint"),
            )
    return None


def _credentials_path(
    credentials_file: str | os.PathLike[str] | None, env: Mapping[str, str]
) -> Path:
    if credentials_file is not None:
        return Path(credentials_file).expanduser()
    return Path(_env(env, CREDENTIALS_FILE) or DEFAULT_CREDENTIALS_FILE).expanduser()


# -- everything together ------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """A complete, checked configuration: what a client needs and nothing secret in its repr.

    ``label`` names the environment in confirmations: ``SANDBOX``, or ``host / project id``.
    ``credentials_from`` says where the credentials came from (never what they are).
    """

    endpoint: str
    project_id: str
    auth: httpx.Auth
    verify: bool | ssl.SSLContext = True
    iam_endpoint: str | None = None
    label: str = ""
    region: str | None = None
    credentials_from: str = ""


_MISSING_ENDPOINT = (
    f"endpoint: pass a URL or region id (connect('cn-north-4'), region=, endpoint=), "
    f"or set {ENDPOINT} (a URL, or 'sandbox') or {REGION}"
)


def _missing_message(problems: list[str]) -> str:
    lines = "\n".join(f"  - {problem}" for problem in problems)
    return (
        f"roma_nb cannot connect to ROMA Connect; {len(problems)} setting(s) missing or wrong:\n"
        f"{lines}\n"
        "For a local fake ROMA Connect to try things on, use roma_nb.connect('sandbox')."
    )


@dataclass
class _Resolution:
    """Accumulates findings so one error can list every problem at once."""

    env: Mapping[str, str]
    credentials_path: Path
    problems: list[str] = field(default_factory=list)
    _profile: Profile | None = None
    _profile_read: bool = False

    def attempt(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T | None:
        try:
            return fn(*args, **kwargs)
        except (ConfigurationError, ValidationError) as exc:
            self.problems.append(str(exc))
            return None

    def profile(self) -> Profile | None:
        """The credentials file, read only if a setting falls through to it."""
        if not self._profile_read:
            self._profile_read = True
            self._profile = self.attempt(read_credentials_file, self.credentials_path)
        return self._profile


def _split_target(
    target: str | None, endpoint: str | None, region: str | None
) -> tuple[str | None, str | None]:
    if target is None:
        return endpoint, region
    text = target.strip()
    if endpoint is not None or region is not None:
        raise ConfigurationError(
            f"connect({target!r}) was also given endpoint= or region=; give one of them."
        )
    if text.lower() == SANDBOX:
        raise ConfigurationError("'sandbox' is started by roma_nb.connect('sandbox').")
    if "://" in text:
        return text, None
    if REGION_ID.fullmatch(text):
        return None, text
    raise ConfigurationError(
        f"Target {target!r} is neither 'sandbox', an endpoint URL nor a region id "
        "such as 'cn-north-4'."
    )


def resolve_settings(
    target: str | None = None,
    *,
    endpoint: str | None = None,
    region: str | None = None,
    project_id: str | None = None,
    auth: httpx.Auth | None = None,
    verify: bool | str | os.PathLike[str] | ssl.SSLContext | None = None,
    iam_endpoint: str | None = None,
    env: Mapping[str, str] | None = None,
    credentials_file: str | os.PathLike[str] | None = None,
) -> Settings:
    """Endpoint, project, credentials and TLS (first match wins), or one error listing the gaps.

    ``target`` is a URL, a region id, or ``None`` (then the environment decides). ``env``
    defaults to ``os.environ``; ``credentials_file`` to ``HUAWEICLOUD_SDK_CREDENTIALS_FILE`` or
    ``~/.huaweicloud/credentials``.
    """
    env = os.environ if env is None else env
    endpoint, region = _split_target(target, endpoint, region)
    found = _Resolution(env, _credentials_path(credentials_file, env))

    resolved_endpoint: str | None = None
    if endpoint is None and region is None and not (_env(env, ENDPOINT) or _env(env, REGION)):
        found.problems.append(_MISSING_ENDPOINT)
    else:
        resolved_endpoint = found.attempt(resolve_endpoint, endpoint, region, env)
    if region is None and endpoint is None and _env(env, ENDPOINT) is None:
        region = _env(env, REGION)
    if region is None and resolved_endpoint is not None:
        region = region_from_endpoint(resolved_endpoint)

    project = _resolve_project_id(found, project_id)
    tls = found.attempt(resolve_verify, verify, env)
    if tls is None:
        tls = True  # the problem is recorded; this value is never used
    chosen, source = _resolve_auth(
        found, auth=auth, project_id=project, region=region, iam_endpoint=iam_endpoint, verify=tls
    )

    if found.problems or resolved_endpoint is None or project is None or chosen is None:
        raise ConfigurationError(_missing_message(found.problems))
    from .auth.password import PasswordAuth

    return Settings(
        endpoint=resolved_endpoint,
        project_id=project,
        auth=chosen,
        verify=tls,
        iam_endpoint=(chosen.iam_endpoint if isinstance(chosen, PasswordAuth) else iam_endpoint),
        label=environment_label(resolved_endpoint, project),
        region=region,
        credentials_from=source,
    )


def _resolve_project_id(found: _Resolution, project_id: str | None) -> str | None:
    candidates = [(project_id, "project_id="), (_env(found.env, PROJECT_ID), PROJECT_ID)]
    if all(value is None for value, _ in candidates):
        profile = found.profile()
        if profile is not None:
            candidates.append((profile.project_id, str(profile.path)))
    for value, source in candidates:
        if value is not None:
            try:
                return check_id("project_id", value.strip())
            except ValidationError as exc:
                found.problems.append(f"project id from {source}: {exc}")
                return None
    found.problems.append(
        f"project id: pass project_id=, or set {PROJECT_ID}, or add project_id under [basic] in "
        f"{DEFAULT_CREDENTIALS_FILE} (IAM console → My Credentials → Projects)"
    )
    return None


def _resolve_auth(
    found: _Resolution,
    *,
    auth: httpx.Auth | None,
    project_id: str | None,
    region: str | None,
    iam_endpoint: str | None,
    verify: bool | ssl.SSLContext,
) -> tuple[httpx.Auth | None, str]:
    """The first complete set of credentials, in the documented order, and where it came from."""
    from .auth.aksk import AkSkAuth
    from .auth.token import TokenAuth

    if auth is not None:
        return auth, "auth="
    env = found.env
    token = _env(env, TOKEN)
    if token is not None:
        return found.attempt(TokenAuth, token), TOKEN

    ak, sk = _env(env, AK), _env(env, SK)
    if ak is not None or sk is not None:
        if ak is None or sk is None:
            present, absent = (AK, SK) if sk is None else (SK, AK)
            found.problems.append(f"credentials: {present} is set but {absent} is not; set both")
            return None, ""
        security_token = _env(env, SECURITY_TOKEN)
        made = found.attempt(AkSkAuth, ak, sk, project_id=project_id, security_token=security_token)
        return made, f"{AK}/{SK}"

    login = {name: _env(env, name) for name in (USERNAME, PASSWORD, DOMAIN)}
    if any(value is not None for value in login.values()):
        return _password_auth(
            found,
            login=login,
            project_id=project_id,
            region=region,
            iam_endpoint=iam_endpoint,
            verify=verify,
        )

    profile = found.profile()
    if profile is not None and (profile.ak or profile.sk):
        where = f"{profile.path} [{profile.section}]"
        if not (profile.ak and profile.sk):
            found.problems.append(f"credentials: {where} needs both ak and sk")
            return None, ""
        made = found.attempt(
            AkSkAuth,
            profile.ak,
            profile.sk,
            project_id=project_id,
            security_token=profile.security_token,
        )
        return made, where

    found.problems.append(
        f"credentials: pass auth=, or set {TOKEN}; or {AK} and {SK} (plus {SECURITY_TOKEN} for "
        f"temporary keys); or {USERNAME}, {PASSWORD} and {DOMAIN}; or put ak and sk under "
        f"[basic] in {DEFAULT_CREDENTIALS_FILE}"
    )
    return None, ""


def _password_auth(
    found: _Resolution,
    *,
    login: Mapping[str, str | None],
    project_id: str | None,
    region: str | None,
    iam_endpoint: str | None,
    verify: bool | ssl.SSLContext,
) -> tuple[httpx.Auth | None, str]:
    from .auth.password import PasswordAuth

    username, domain = login[USERNAME], login[DOMAIN]
    absent = [name for name, value in login.items() if value is None]
    if absent or username is None or domain is None:
        found.problems.append(
            f"credentials: a password login needs {USERNAME}, {PASSWORD} and {DOMAIN}; "
            f"{' and '.join(absent)} not set"
        )
        return None, ""
    iam = found.attempt(resolve_iam_endpoint, iam_endpoint, region, found.env, found.profile())
    if iam is None:
        found.problems.append(
            f"IAM endpoint for the password login: pass iam_endpoint=, set {IAM_ENDPOINT}, or "
            f"give a region ({REGION}); a private endpoint alone does not say which IAM to use"
        )
        return None, ""
    if project_id is None and region is None:
        return None, ""  # the missing project id is reported already
    made = found.attempt(
        PasswordAuth,
        username,
        found.env[PASSWORD],  # as given: a password may start or end with a space
        domain,
        project_id=project_id,
        project_name=None if project_id is not None else region,
        iam_endpoint=iam,
        verify=verify,
    )
    return made, f"{USERNAME}/{PASSWORD}/{DOMAIN}"
