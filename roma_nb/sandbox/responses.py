"""The bodies the sandbox answers with, one builder per family of ``roma-api.md`` §3.

FDI errors are ``{"error_code", "error_msg"}``; the instance API's are ``ROMA.*`` with
``error_details`` and ``request_id``; the API gateway adds ``request_id``; IAM has its own
``{"error": {...}}``. Codes used by the sandbox (constants in ``codes``), and when:

=================  ======  ================================================================
code               status  when
=================  ======  ================================================================
FDI.3002           400     a bad query value, path id or body (limit below 1, non-numeric
                           offset, unknown enum value, body not JSON, bad ``date_from``),
                           more than 10 tasks in one batch start/stop, and a reset of a task
                           that is not a combined task
FDI.3021           in 200  batch start/stop: the task does not exist (in ``failure[]``)
FDI.3022           in 200  batch start/stop: an entry without a task id (in ``failure[]``)
FDI.3023           400     "One or more tasks are running.": a reset of a running task
                           (``refuse_running``), fault ``task_running``, a run while an
                           execution runs; in a batch start's ``failure[]`` for a task that runs
FDI.3019/3020      in 200  batch stop, fault ``stop_fails`` (real-time / scheduled task)
FDI.3026/3027      in 200  batch start, fault ``start_fails``
FDI.3081           404     the task does not exist in the instance
FDI.3150           400     batch start/stop with an empty ``list``
FDI.3180           404     the instance does not exist in the project
FDI.9999           500     fault ``server_error``
ROMA.13000         400     the instances list with an offset or limit outside 0..100
APIGW.0101         404     no such API (an unknown path or method)
APIGW.0201         502/504 fault ``slow`` with ``effective=False`` (backend timeout, 504)
APIGW.0301         401     no credentials, an unknown or rejected token, a bad AK/SK signature,
                           a clock more than 15 minutes off
APIGW.0302         403     a denied token or AK, or a project id that is not the sandbox's
APIGW.0307         401     a token that expired, fault ``expired_token``
APIGW.0308         429     rate limit, fault ``throttle`` (with ``Retry-After``)
IAM error body     400     ``/v3/auth/tokens`` with a malformed body or an unknown project
IAM error body     401     ``/v3/auth/tokens`` with a wrong user, password or domain
=================  ======  ================================================================

Every response carries ``X-Request-Id`` (added by the gateway layer, see ``gateway``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

__all__ = [
    "fdi_error",
    "gateway_error",
    "html_page",
    "iam_error",
    "json_response",
    "roma_error",
]

JSON_TYPE = "application/json;charset=UTF-8"


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(payload, status_code=status, headers=dict(headers or {}), media_type=JSON_TYPE)


def fdi_error(status: int, code: str, message: str) -> Response:
    return json_response({"error_code": code, "error_msg": message}, status)


def roma_error(status: int, code: str, message: str, details: str, request_id: str) -> Response:
    """An error of the instance API (``ROMA.*``, with ``error_details`` and ``request_id``)."""
    body = {
        "error_code": code,
        "error_msg": message,
        "error_details": details,
        "request_id": request_id,
    }
    return json_response(body, status)


def gateway_error(
    status: int,
    code: str,
    message: str,
    request_id: str,
    headers: Mapping[str, str] | None = None,
) -> Response:
    body = {"error_code": code, "error_msg": message, "request_id": request_id}
    return json_response(body, status, headers)


def iam_error(status: int, title: str, message: str) -> Response:
    return json_response({"error": {"code": status, "message": message, "title": title}}, status)


def html_page(status: int, title: str) -> Response:
    """An error page as a proxy or load balancer would send it (no JSON at all)."""
    page = (
        f"<html>\r\n<head><title>{status} {title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    )
    return Response(page.encode("ascii"), status_code=status, media_type="text/html")
