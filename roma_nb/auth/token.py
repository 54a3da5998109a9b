"""``TokenAuth``: a static IAM token sent as ``X-Auth-Token``.

For a token obtained elsewhere (the console, ``hcloud``, a CI secret) or for the sandbox. It is
never refreshed: when it expires the service answers 401 ``APIGW.0307`` and the caller needs a
new one, or ``PasswordAuth``.
"""

from __future__ import annotations

from collections.abc import Generator

import httpx

from .masking import install_log_redaction, mask_secret, register_secret, require_secret

__all__ = ["TokenAuth"]


class TokenAuth(httpx.Auth):
    """Adds ``X-Auth-Token: <token>`` to every request."""

    def __init__(self, token: str) -> None:
        self._token = require_secret("token", token)
        register_secret(self._token)
        install_log_redaction()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["X-Auth-Token"] = self._token
        yield request

    def __repr__(self) -> str:
        return f"TokenAuth(token={mask_secret(self._token)!r})"
