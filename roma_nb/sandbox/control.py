"""The control plane: the levers of ``Sandbox`` over HTTP, under ``/_sandbox/``.

So a notebook, a shell or another process can drive a running sandbox. No credentials are
checked here (the sandbox is a local test server; do not expose it), nothing here is recorded
in ``calls``, and no secret is served: headers in ``/_sandbox/calls`` are redacted.

====================================  =====================================================
``GET /_sandbox/info``                project id, options, latency, rate limit, queued faults
``POST /_sandbox/faults``             queue a fault: ``{"kind", "times", "match", "method",
                                      ...params}`` -> 201 with the fault
``GET /_sandbox/faults``              the queued faults
``DELETE /_sandbox/faults``           ``clear()``: remove faults and the rate limit
``GET /_sandbox/calls``               recorded calls (credentials redacted, body as text)
``GET /_sandbox/resets``              recorded resets
``GET /_sandbox/logins``              recorded IAM logins
``DELETE /_sandbox/records``          ``clear_records()``
``POST /_sandbox/latency``            ``{"latency_ms": 200}``
``POST /_sandbox/advance``            ``{"ms": 1500}``: move the lifecycle's clock forward, so
                                      delayed starts and stops fall due (``advance``)
``POST /_sandbox/rate-limit``         ``{"rps": 5, "burst": 5}``; ``{"rps": null}`` lifts it
``POST /_sandbox/reject-token``       ``{"token": "..."}``: answer 401 APIGW.0301 to it
``POST /_sandbox/deny``               ``{"credential": "..."}`` (token or AK): answer 403
``POST /_sandbox/expire-tokens``      expire every token issued so far (next use: 401 0307)
``POST /_sandbox/reset-state``        ``reset()``: fresh data, no records, faults or refusals
====================================  =====================================================

Errors are ``400 {"error": "..."}``.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .records import Call, Login, ResetRecord
from .responses import json_response
from .state import SandboxState

__all__ = ["routes"]


def _state(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.roma
    return state


def _error(message: str) -> Response:
    return json_response({"error": message}, 400)


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        data = json.loads(raw) if raw.strip() else {}
    except ValueError:
        raise ValueError("the body is not JSON") from None
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


def call_to_json(call: Call) -> dict[str, Any]:
    return {
        "request_id": call.request_id,
        "method": call.method,
        "path": call.path,
        "raw_path": call.raw_path,
        "query": call.query,
        "headers": call.redacted_headers(),
        "body": call.redacted_body(),
        "at": call.at.isoformat(),
        "started": call.started,
        "finished": call.finished,
        "status": call.status,
        "fault": call.fault,
    }


def reset_to_json(reset: ResetRecord) -> dict[str, Any]:
    return {
        "instance_id": reset.instance_id,
        "task_id": reset.task_id,
        "date_from": reset.date_from,
        "at": reset.at.isoformat(),
        "request_id": reset.request_id,
    }


def login_to_json(login: Login) -> dict[str, Any]:
    return {
        "username": login.username,
        "domain": login.domain,
        "project_id": login.project_id,
        "at": login.at.isoformat(),
        "request_id": login.request_id,
    }


async def info(request: Request) -> Response:
    state = _state(request)
    limiter = state.rate_limit
    opts = state.options
    return json_response(
        {
            "project_id": state.project_id,
            "now_ms": state.now_ms,
            "instances": [i.id for i in state.instances],
            "options": {
                "seed": opts.seed,
                "instances": opts.instances,
                "tasks_per_instance": opts.task_counts(),
                "logs_per_task": opts.logs_per_task,
                "offset_mode": opts.offset_mode,
                "honour_task_mode": opts.honour_task_mode,
                "refuse_running": opts.refuse_running,
                "start_delay_ms": opts.start_delay_ms,
                "stop_delay_ms": opts.stop_delay_ms,
                "log_retention_days": opts.log_retention_days,
            },
            "clock_ms": state.now(),
            "latency_ms": state.latency_ms,
            "rate_limit": None if limiter is None else limiter.to_json(),
            "faults": [f.to_json() for f in state.faults],
        }
    )


async def add_fault(request: Request) -> Response:
    try:
        data = await _body(request)
        kind = data.pop("kind", None)
        if not isinstance(kind, str):
            return _error("kind is required")
        fault = _state(request).inject(kind, **data)
    except (ValueError, TypeError) as exc:
        return _error(str(exc))
    return json_response(fault.to_json(), 201)


async def list_faults(request: Request) -> Response:
    return json_response([f.to_json() for f in _state(request).faults])


async def clear_faults(request: Request) -> Response:
    state = _state(request)
    count = len(state.faults)
    state.clear()
    return json_response({"cleared": count})


async def list_calls(request: Request) -> Response:
    return json_response([call_to_json(c) for c in _state(request).calls])


async def list_resets(request: Request) -> Response:
    return json_response([reset_to_json(r) for r in _state(request).resets])


async def list_logins(request: Request) -> Response:
    return json_response([login_to_json(x) for x in _state(request).logins])


async def clear_records(request: Request) -> Response:
    _state(request).clear_records()
    return json_response({"cleared": True})


async def set_latency(request: Request) -> Response:
    try:
        value = (await _body(request)).get("latency_ms")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return _error("latency_ms must be a number")
        _state(request).set_latency(value)
    except ValueError as exc:
        return _error(str(exc))
    return json_response({"latency_ms": _state(request).latency_ms})


async def advance(request: Request) -> Response:
    try:
        value = (await _body(request)).get("ms")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return _error("ms must be a number")
        _state(request).advance(value)
    except ValueError as exc:
        return _error(str(exc))
    return json_response({"clock_ms": _state(request).now()})


async def set_rate_limit(request: Request) -> Response:
    try:
        data = await _body(request)
        rps, burst = data.get("rps"), data.get("burst")
        if rps is not None and (isinstance(rps, bool) or not isinstance(rps, (int, float))):
            return _error("rps must be a number or null")
        if burst is not None and (isinstance(burst, bool) or not isinstance(burst, int)):
            return _error("burst must be an integer or null")
        _state(request).set_rate_limit(rps, burst)
    except ValueError as exc:
        return _error(str(exc))
    limiter = _state(request).rate_limit
    return json_response({"rate_limit": None if limiter is None else limiter.to_json()})


async def _credential(request: Request, key: str) -> str:
    value = (await _body(request)).get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} must be a non-empty string")
    return value


async def reject_token(request: Request) -> Response:
    try:
        _state(request).reject_token(await _credential(request, "token"))
    except ValueError as exc:
        return _error(str(exc))
    return json_response({"rejected": True})


async def deny(request: Request) -> Response:
    try:
        _state(request).deny(await _credential(request, "credential"))
    except ValueError as exc:
        return _error(str(exc))
    return json_response({"denied": True})


async def expire_tokens(request: Request) -> Response:
    _state(request).expire_tokens()
    return json_response({"expired": True})


async def reset_state(request: Request) -> Response:
    _state(request).reset()
    return json_response({"reset": True})


routes = [
    Route("/_sandbox/info", info, methods=["GET"]),
    Route("/_sandbox/faults", add_fault, methods=["POST"]),
    Route("/_sandbox/faults", list_faults, methods=["GET"]),
    Route("/_sandbox/faults", clear_faults, methods=["DELETE"]),
    Route("/_sandbox/calls", list_calls, methods=["GET"]),
    Route("/_sandbox/resets", list_resets, methods=["GET"]),
    Route("/_sandbox/logins", list_logins, methods=["GET"]),
    Route("/_sandbox/records", clear_records, methods=["DELETE"]),
    Route("/_sandbox/latency", set_latency, methods=["POST"]),
    Route("/_sandbox/advance", advance, methods=["POST"]),
    Route("/_sandbox/rate-limit", set_rate_limit, methods=["POST"]),
    Route("/_sandbox/reject-token", reject_token, methods=["POST"]),
    Route("/_sandbox/deny", deny, methods=["POST"]),
    Route("/_sandbox/expire-tokens", expire_tokens, methods=["POST"]),
    Route("/_sandbox/reset-state", reset_state, methods=["POST"]),
]
