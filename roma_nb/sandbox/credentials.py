"""What the API gateway checks before a request reaches ROMA Connect: credentials and project.

A request must carry ``X-Auth-Token`` or an ``Authorization: SDK-HMAC-SHA256 ...`` header.
Tokens: any non-empty token is accepted unless the state was told to reject it (401
APIGW.0301) or deny it (403 APIGW.0302). AK/SK requests are accepted in this version (signature
verification comes with ``signature``). The project id in ``/v2/{project_id}/...`` must be the
sandbox's (else 403 APIGW.0302, as for a token scoped to another project).
"""

from __future__ import annotations

from starlette.responses import Response

from .incoming import Incoming
from .responses import gateway_error
from .state import SandboxState

__all__ = ["check_credentials"]

BAD_CREDENTIALS = "APIGW.0301"
FORBIDDEN = "APIGW.0302"


def _unauthorized(incoming: Incoming, detail: str) -> Response:
    return gateway_error(
        401,
        BAD_CREDENTIALS,
        f"Incorrect IAM authentication information: {detail}",
        incoming.request_id,
    )


def _forbidden(incoming: Incoming, detail: str) -> Response:
    return gateway_error(403, FORBIDDEN, detail, incoming.request_id)


def _check_project(state: SandboxState, incoming: Incoming) -> Response | None:
    parts = incoming.path.split("/")
    if len(parts) > 2 and parts[1] == "v2" and parts[2] != state.project_id:
        return _forbidden(
            incoming, "The IAM user is not authorized to access the API: wrong project id."
        )
    return None


def check_credentials(state: SandboxState, incoming: Incoming) -> Response | None:
    """``None`` when the request may pass, else the gateway's error answer."""
    token = incoming.header("x-auth-token")
    authorization = incoming.header("authorization")
    if token:
        if state.is_rejected(token):
            return _unauthorized(incoming, "decrypt token fail")
        if state.is_denied(token):
            return _forbidden(incoming, "The IAM user is not authorized to access the API.")
    elif authorization and authorization.startswith("SDK-HMAC-SHA256 "):
        pass
    else:
        return _unauthorized(incoming, "x-auth-token not found")
    return _check_project(state, incoming)
