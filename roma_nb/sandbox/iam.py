"""``POST /v3/auth/tokens``: IAM's password login, as ``roma-api.md`` §4 describes it.

Success is 201 with the token in ``X-Subject-Token`` and ``{"token": {"expires_at", "project",
"user", ...}}`` (plus a service catalog unless ``?nocatalog=true``). A wrong user, password or
domain is 401 with IAM's own body ``{"error": {"code", "message", "title"}}``; a malformed body
or an unknown project scope is 400 in the same shape. Every login is recorded (``logins``).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .accounts import IssuedToken
from .fdi import request_id
from .records import Login
from .responses import iam_error, json_response
from .state import SandboxState

__all__ = ["routes"]


def _iso(epoch_s: float) -> str:
    stamp = datetime.fromtimestamp(epoch_s, tz=timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def _hex_id(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _field(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


class _BadLogin(ValueError):
    pass


def _parse(body: bytes) -> tuple[str, str, str, dict[str, Any]]:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise _BadLogin("The request body is not valid JSON.") from None
    methods = _field(data, "auth", "identity", "methods")
    if not isinstance(methods, list) or "password" not in methods:
        raise _BadLogin("auth.identity.methods must contain 'password'.")
    user = _field(data, "auth", "identity", "password", "user")
    name, password = _field(user, "name"), _field(user, "password")
    domain = _field(user, "domain", "name")
    if not all(isinstance(v, str) and v for v in (name, password, domain)):
        raise _BadLogin("auth.identity.password.user needs name, password and domain.name.")
    project = _field(data, "auth", "scope", "project")
    if not isinstance(project, dict):
        raise _BadLogin("auth.scope.project is required (name or id).")
    return name, password, domain, project


def _token_body(state: SandboxState, issued: IssuedToken, catalog: bool) -> dict[str, Any]:
    region = state.options.region
    domain_name = state.accounts.users[issued.username].domain
    domain = {"id": _hex_id(domain_name), "name": domain_name}
    token: dict[str, Any] = {
        "expires_at": _iso(issued.expires_at),
        "issued_at": _iso(issued.issued_at),
        "methods": ["password"],
        "project": {
            "id": state.project_id,
            "name": region,
            "domain": domain,
        },
        "user": {
            "id": _hex_id(issued.username),
            "name": issued.username,
            "domain": domain,
            "password_expires_at": "",
        },
        "roles": [{"id": "0", "name": "op_fine_grained"}, {"id": "0", "name": "roma_admin"}],
    }
    if catalog:
        token["catalog"] = [
            {
                "type": "roma",
                "name": "roma",
                "id": "roma",
                "endpoints": [
                    {
                        "id": "roma-endpoint",
                        "interface": "public",
                        "region": region,
                        "region_id": region,
                        "url": f"https://roma.{region}.myhuaweicloud.com",
                    }
                ],
            }
        ]
    return {"token": token}


async def issue_token(request: Request) -> Response:
    state: SandboxState = request.app.state.roma
    try:
        name, password, domain, project = _parse(await request.body())
    except _BadLogin as exc:
        return iam_error(400, "Bad Request", str(exc))
    user = state.accounts.check_password(name, password, domain)
    if user is None:
        return iam_error(401, "Unauthorized", "The username or password is wrong.")
    project_id, project_name = project.get("id"), project.get("name")
    if (
        (project_id is None and project_name is None)
        or (project_id is not None and project_id != state.project_id)
        or (project_name is not None and project_name != state.options.region)
    ):
        return iam_error(400, "Bad Request", "The project in auth.scope does not exist.")
    token, issued = state.accounts.issue(user, state.project_id, state.options.token_lifetime_s)
    state.record_login(
        Login(
            username=user.name,
            domain=user.domain,
            project_id=state.project_id,
            at=datetime.now(timezone.utc),
            request_id=request_id(request),
        )
    )
    catalog = request.query_params.get("nocatalog", "").lower() != "true"
    return json_response(
        _token_body(state, issued, catalog), 201, headers={"X-Subject-Token": token}
    )


routes = [Route("/v3/auth/tokens", issue_token, methods=["POST"])]
