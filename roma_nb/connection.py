"""``connect()``: a ready client from configuration, or from an embedded sandbox.

``connect()`` reads arguments, the environment and ``~/.huaweicloud/credentials`` through
:func:`roma_nb.config.resolve_settings` and returns a :class:`~roma_nb.client.RomaClient`.
``connect("sandbox")`` (or ``ROMA_NB_ENDPOINT=sandbox``) instead starts the local fake ROMA
Connect on 127.0.0.1 once per process, keeps it running until the interpreter exits, and returns
a client for it labelled ``SANDBOX``, so a notebook can be tried without any cloud account.

This module sits above the client and the sandbox and imports both lazily, so that
``roma_nb.config`` (which the client uses) never depends on the client.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import ssl
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import httpx

from .auth import TokenAuth
from .config import resolve_settings, wants_sandbox
from .models import SANDBOX_LABEL

if TYPE_CHECKING:
    from .client import RomaClient
    from .sandbox import Sandbox

__all__ = ["SANDBOX_LABEL", "connect", "embedded_sandbox"]


_lock = threading.Lock()
_sandbox: Sandbox | None = None
_stack = contextlib.ExitStack()


def embedded_sandbox() -> Sandbox:
    """The process's embedded sandbox, started on first use and stopped at interpreter exit,
    with the options of ``$ROMA_NB_SANDBOX_OPTIONS`` (a JSON object; ``roma-nb demo`` sets it)."""
    global _sandbox
    with _lock:
        if _sandbox is None:
            from .sandbox import options_from_environment, serve

            _sandbox = _stack.enter_context(serve(**options_from_environment()))
            atexit.register(_stop)
        return _sandbox


def _stop() -> None:
    global _sandbox
    with _lock:
        _sandbox = None
        _stack.close()


def connect(
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
    **client_options: Any,
) -> RomaClient:
    """A ``RomaClient`` for ``target``: ``"sandbox"``, an endpoint URL, a region id, or ``None``.

    With ``None`` the environment decides (``ROMA_NB_ENDPOINT``, ``ROMA_NB_REGION``, ...; see
    ``roma_nb.config``). Explicit arguments win over the environment, which wins over the
    credentials file. ``client_options`` (``timeout``, ``transport``, ``retry``, ...) go to
    ``RomaClient`` unchanged. For the sandbox, ``auth`` may replace the sandbox's token.
    """
    from .client import RomaClient

    if wants_sandbox(target, endpoint=endpoint, region=region, env=env):
        sandbox = embedded_sandbox()
        return RomaClient(
            sandbox.url,
            project_id=sandbox.project_id,
            auth=auth if auth is not None else TokenAuth(sandbox.token),
            label=SANDBOX_LABEL,
            **client_options,
        )
    settings = resolve_settings(
        target,
        endpoint=endpoint,
        region=region,
        project_id=project_id,
        auth=auth,
        verify=verify,
        iam_endpoint=iam_endpoint,
        env=env,
        credentials_file=credentials_file,
    )
    return RomaClient(
        settings.endpoint,
        project_id=settings.project_id,
        auth=settings.auth,
        verify=settings.verify,
        label=settings.label,
        **client_options,
    )
