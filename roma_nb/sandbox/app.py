"""``create_app(state)``: the sandbox as one Starlette (ASGI) application.

Serve it with uvicorn (``serve()`` does) or call it in-process with httpx, no socket needed::

    state = SandboxState(seed=1)
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
        r = await http.get(f"/v2/{state.project_id}/instances",
                           headers={"X-Auth-Token": state.token})

(httpx's ASGI transport is async-only. A ``drop`` fault cannot close a connection there: it
raises ``ConnectionResetError`` out of the transport instead.)
"""

from __future__ import annotations

import threading

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from . import control, fdi, iam, operations
from .gateway import Gateway
from .params import BadRequest
from .responses import fdi_error, gateway_error
from .state import SandboxState

__all__ = ["create_app"]


async def _bad_request(request: Request, exc: Exception) -> Response:
    return fdi_error(400, "FDI.3002", str(exc))


async def _refusal(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, fdi.Refusal)
    return exc.response


async def _no_such_api(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 404
    return gateway_error(
        404 if status in (404, 405) else status,
        "APIGW.0101",
        "The API does not exist or has not been published in the environment.",
        fdi.request_id(request),
    )


def create_app(state: SandboxState | None = None) -> Starlette:
    """The sandbox application over ``state`` (a fresh default ``SandboxState`` if omitted)."""
    state = state if state is not None else SandboxState()
    closing = threading.Event()
    app = Starlette(
        routes=[*fdi.routes, *operations.routes, *iam.routes, *control.routes],
        middleware=[Middleware(Gateway, state=state, closing=closing)],
        exception_handlers={
            BadRequest: _bad_request,
            fdi.Refusal: _refusal,
            404: _no_such_api,
            405: _no_such_api,
        },
    )
    app.state.roma = state
    app.state.closing = closing  # set by serve() on exit: ends pending latency/slow waits
    return app
