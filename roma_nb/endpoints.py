"""Where the ROMA Connect service is, how it is trusted and how it is named: pure helpers.

The client needs these to open (an endpoint from a region, an explicit ``verify``, the label its
banners show); ``config`` builds on them to read the environment and files. They live apart so
that importing the client does not load configuration's resolution (its records, the secret
masking): ``from roma_nb import RomaClient`` is meant to cost little more than ``import httpx``.
``config`` re-exports every name, its public home.
"""

from __future__ import annotations

import os
import re
import ssl
from pathlib import Path
from urllib.parse import urlsplit

from .errors import ConfigurationError

__all__ = [
    "REGION_ID",
    "ca_context",
    "check_region",
    "environment_label",
    "iam_endpoint_for_region",
    "region_from_endpoint",
    "roma_endpoint_for_region",
    "tls_verify",
]

REGION_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_PUBLIC_HOST = re.compile(r"roma\.([a-z0-9-]+)\.myhuaweicloud\.com")


def check_region(region: str, source: str) -> str:
    region = region.strip()
    if not REGION_ID.fullmatch(region):
        raise ConfigurationError(
            f"Region {region!r} (from {source}) is not a region id such as 'cn-north-4': "
            "lower-case letters, digits and dashes."
        )
    return region


def roma_endpoint_for_region(region: str) -> str:
    """``cn-north-4`` → ``https://roma.cn-north-4.myhuaweicloud.com``."""
    return f"https://roma.{check_region(region, 'region=')}.myhuaweicloud.com"


def iam_endpoint_for_region(region: str) -> str:
    """``cn-north-4`` → ``https://iam.cn-north-4.myhuaweicloud.com``."""
    return f"https://iam.{check_region(region, 'region=')}.myhuaweicloud.com"


def region_from_endpoint(endpoint: str) -> str | None:
    """The region of a public ROMA endpoint (``roma.cn-north-4.myhuaweicloud.com``), else None."""
    match = _PUBLIC_HOST.fullmatch(urlsplit(endpoint).hostname or "")
    return match.group(1) if match else None


def tls_verify(verify: bool | str | os.PathLike[str] | ssl.SSLContext) -> bool | ssl.SSLContext:
    """An explicit ``verify`` for httpx, without looking at the environment (the client's rule).

    A CA bundle path (file or directory) becomes an ``ssl.SSLContext`` trusting it, because
    httpx no longer takes a path directly.
    """
    if isinstance(verify, (bool, ssl.SSLContext)):
        return verify
    return ca_context(os.fspath(verify), "verify=")


def ca_context(path_text: str, source: str) -> ssl.SSLContext:
    """An ``ssl.SSLContext`` trusting a CA bundle (file or directory); ``source`` says where the
    path came from, for the error."""
    path = Path(path_text).expanduser()
    try:
        if path.is_dir():
            return ssl.create_default_context(capath=str(path))
        return ssl.create_default_context(cafile=str(path))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(
            f"CA bundle {str(path)!r} (from {source}) cannot be used: {exc}. "
            "Give a PEM file or a directory of PEM certificates."
        ) from None


def environment_label(endpoint: str, project_id: str) -> str:
    """How the environment is named to people: the host (never user info) and the project."""
    return f"{urlsplit(endpoint).netloc.rsplit('@', 1)[-1]} / project {project_id}"
