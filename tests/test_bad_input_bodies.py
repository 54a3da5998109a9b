"""Whatever the service, a gateway or a proxy answers, the client ends in a ``RomaError`` or a
result: never another exception, never a message that dumps the body, never an untruthful
attempt count.

``api_error_from_response`` itself is tested in ``test_errors.py``; here the answers go through
the whole client (its send loop, its retry decision on 429/503 with any ``Retry-After``, its
decoding), so the I/O boundary is swapped for ``httpx.MockTransport``: a socket would add
nothing but time to "the server sent these bytes".
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from roma_nb.auth import TokenAuth
from roma_nb.client import AsyncRomaClient, RetryPolicy, RomaClient
from roma_nb.errors import (
    ApiError,
    AuthError,
    MalformedAnswer,
    NotFoundError,
    RomaError,
    ServerError,
    ThrottledError,
)
from roma_nb.models import Instance, MonitorLog, ResetResult, Task, TaskMonitor

ENDPOINT = "https://roma.example.test"
PROJECT = "0123456789abcdef0123456789abcdef"
DATE_FROM = 1630052714000

NO_WAIT = RetryPolicy(max_attempts=2, backoff_base=0, backoff_cap=0, max_retry_after=0)
"""Retries without ever sleeping: a 429/503 is sent once more only when its Retry-After is
missing, unreadable or 0; any longer pause is beyond ``max_retry_after`` and ends the loop."""

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=16,
)
error_like = st.fixed_dictionaries(
    {},
    optional={
        "error_code": json_values,
        "error_msg": json_values,
        "request_id": json_values,
        "code": json_values,
        "reason": json_values,
        "error": json_values,
        "message": json_values,
    },
)
html_pages = st.builds(
    lambda title, text, closed: (
        f"<html><head><title>{title}</title></head><body><h1>{text}</h1>"
        + ("</body></html>" if closed else "")
    ),
    st.text(max_size=40),
    st.text(max_size=200),
    st.booleans(),
)


@st.composite
def truncated_json(draw: st.DrawFn) -> bytes:
    whole = json.dumps(draw(error_like | json_values)).encode()
    return whole[: draw(st.integers(0, max(0, len(whole) - 1)))]


DEEP = (b"[" * 5_000, b'{"a":' * 5_000)
"""JSON nested deeper than Python's recursion limit: ``json.loads`` raises RecursionError."""

shallow_bodies = st.one_of(
    (error_like | json_values).map(lambda v: json.dumps(v).encode()),
    truncated_json(),
    html_pages.map(str.encode),
    st.binary(max_size=2000),
    st.sampled_from([b"", b" ", b"\xff\xfe", b"null", b"[" * 50, b"{" * 50]),
)
bodies = shallow_bodies | st.sampled_from(DEEP)
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)
headers = st.fixed_dictionaries(
    {},
    optional={
        "content-type": st.sampled_from(
            ["application/json", "text/html", "application/octet-stream", "text/plain; charset=x"]
        ),
        "x-request-id": header_text,
        "retry-after": header_text
        | st.integers(-5, 5).map(str)
        | st.sampled_from(["Wed, 21 Oct 2015 07:28:00 GMT", "nan", "inf", "-0", "1e308"]),
    },
)


class TooManyRequests(Exception):
    """Raised by ``Server`` past its ``limit``: a client that would go on sending is stopped."""


class Server:
    """A ``MockTransport`` handler that gives the same answer to every request, and counts."""

    def __init__(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.status, self.body, self.headers = status, body, headers
        self.requests: list[httpx.Request] = []
        self.limit = 100

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if len(self.requests) > self.limit:
            raise TooManyRequests(f"{len(self.requests)} requests for one call")
        return httpx.Response(self.status, content=self.body, headers=self.headers)


def sync_client(server: Server) -> RomaClient:
    return RomaClient(
        ENDPOINT,
        project_id=PROJECT,
        auth=TokenAuth("t0ken"),
        transport=httpx.MockTransport(server),
        retry=NO_WAIT,
    )


EXPECTED_CLASS: dict[int, type[ApiError]] = {401: AuthError, 403: AuthError, 404: NotFoundError}


def check_api_error(error: ApiError, status: int, server: Server, body: bytes) -> None:
    """What every error answer must become, whatever its body."""
    expected = EXPECTED_CLASS.get(status) or (
        ThrottledError if status == 429 else ServerError if status >= 500 else ApiError
    )
    assert type(error) is expected
    assert error.status_code == status
    message = str(error)
    assert f"HTTP {status}" in message and message.startswith("Resetting task task-1")
    assert len(message) < 2000, "a huge body must not be dumped into the message"
    assert error.error_msg is None or len(error.error_msg) <= 512
    assert error.attempts == len(server.requests)
    sent_again = status in (429, 503) and (error.retry_after or 0) == 0
    assert len(server.requests) == (2 if sent_again else 1)
    request_id = server.headers.get("x-request-id")
    if request_id:
        assert error.request_id == request_id
    if len(body) > 10_000:
        assert body[:5000].decode("latin-1") not in message


@given(status=st.integers(400, 599), body=bodies, headers=headers)
@example(status=502, body=b"<html><title>502 Bad Gateway</title>", headers={})
@example(status=429, body=b"", headers={"retry-after": "0"})
@example(status=503, body=b"x" * 5_000_000, headers={"retry-after": "soon"})
@example(status=500, body=json.dumps({"error_msg": "y" * 100_000}).encode(), headers={})
@settings(max_examples=300, deadline=None)
def test_any_error_answer_to_a_reset_is_an_api_error(
    status: int, body: bytes, headers: dict[str, str]
) -> None:
    server = Server(status, body, headers)
    with sync_client(server) as client, pytest.raises(ApiError) as caught:
        client.reset_combined_task("inst-1", "task-1", DATE_FROM)
    check_api_error(caught.value, status, server, body)


@given(status=st.sampled_from([200, 201, 202, 204]), body=bodies, headers=headers)
@settings(max_examples=150, deadline=None)
def test_any_success_answer_to_a_reset_is_a_result_or_an_api_error(
    status: int, body: bytes, headers: dict[str, str]
) -> None:
    server = Server(status, body, headers)
    if not is_json(body):
        with sync_client(server) as client, pytest.raises(ApiError) as caught:
            client.reset_combined_task("inst-1", "task-1", DATE_FROM)
        assert "not JSON" in str(caught.value) and len(str(caught.value)) < 2000
        assert caught.value.attempts == len(server.requests) == 1
        return
    with sync_client(server) as client:
        result = client.reset_combined_task("inst-1", "task-1", DATE_FROM)
    assert isinstance(result, ResetResult)
    assert (result.outcome, result.status_code, result.attempts) == ("success", status, 1)
    assert result.message is None or isinstance(result.message, str)
    assert len(server.requests) == 1


def is_json(body: bytes) -> bool:
    """What a 2xx body must be for a reset to count as answered: JSON, or nothing at all."""
    if not body.strip():
        return True
    try:
        json.loads(body)
    except (ValueError, RecursionError):
        return False
    return True


@given(status=st.integers(400, 599), body=bodies, headers=headers)
@settings(max_examples=100, deadline=None)
def test_a_batch_records_any_error_answer_without_raising(
    status: int, body: bytes, headers: dict[str, str]
) -> None:
    server = Server(status, body, headers)
    with sync_client(server) as client:
        [result] = client.reset_many([("inst-1", "task-1")], DATE_FROM)
    assert (result.outcome, result.status_code) == ("failed", status)
    assert result.attempts == len(server.requests)
    assert result.message is not None and len(result.message) < 2000


Read = Callable[[RomaClient], object]
READS: dict[str, tuple[Read, type]] = {
    "list_instances": (lambda c: c.list_instances(), Instance),
    "list_tasks": (lambda c: c.list_tasks("inst-1", combined_only=False), Task),
    "get_task": (lambda c: [c.get_task("inst-1", "task-1")], Task),
    "task_monitors": (lambda c: c.task_monitors("inst-1"), TaskMonitor),
    "monitor_logs": (lambda c: c.monitor_logs("inst-1", "task-1"), MonitorLog),
}
record_like = st.fixed_dictionaries(
    {},
    optional=dict.fromkeys(
        ("id", "task_id", "name", "task_name", "status", "ext_type", "start_time"), json_values
    ),
)
"""Records with or without ids (of any JSON type), and any other fields."""
listed = st.lists(json_values.filter(lambda v: not isinstance(v, dict)) | record_like, max_size=8)
RESET: Read = lambda c: c.reset_combined_task("inst-1", "task-1", DATE_FROM)  # noqa: E731
list_bodies = st.one_of(
    bodies,
    st.fixed_dictionaries(
        {},
        optional={
            "total": json_values | st.integers(-5, 10**6).map(str),
            "size": json_values,
            "instances": listed,
            "entities": listed,
            "task": json_values,
        },
    ).map(lambda v: json.dumps(v).encode()),
)


@pytest.mark.parametrize("read", list(READS))
@given(body=list_bodies, headers=headers)
@settings(max_examples=60, deadline=None)
def test_any_200_answer_to_a_read_is_records_or_a_roma_error(
    read: str, body: bytes, headers: dict[str, str]
) -> None:
    """A 200 with a body of the wrong shape lists what it can, or says it cannot; no loop.

    Records without an id are told apart by their content, so a repeated page ends the listing
    too (``test_records_without_ids_do_not_make_the_listing_run_on``).
    """
    call, record_type = READS[read]
    server = Server(200, body, headers)
    with sync_client(server) as client:
        try:
            records = call(client)
        except RomaError:
            return
    assert isinstance(records, list)
    assert all(isinstance(r, record_type) for r in records)
    assert len(server.requests) <= 5, "the same page again must end the listing"


@pytest.mark.parametrize("read", [r for r in READS if r != "get_task"])
def test_records_without_ids_do_not_make_the_listing_run_on(read: str) -> None:
    """Records without ids are a malformed answer (issue 17): refused at the first page."""
    body = {"total": 500_000, "instances": [{}, {"name": "x"}], "entities": [{}, {"name": "x"}]}
    server = Server(200, json.dumps(body).encode(), {})
    with sync_client(server) as client:
        server.limit = 50  # the pager would go on for 10,000 pages; stop the test at 50
        with pytest.raises(MalformedAnswer, match="malformed"):
            READS[read][0](client)
    assert len(server.requests) == 1


@pytest.mark.parametrize("body", DEEP, ids=["lists", "objects"])
@pytest.mark.parametrize("read", ["reset_combined_task", *READS])
def test_a_200_answer_nested_too_deep_is_a_roma_error(read: str, body: bytes) -> None:
    server = Server(200, body, {})
    call = READS[read][0] if read in READS else RESET
    with sync_client(server) as client, pytest.raises(RomaError):
        call(client)


@given(status=st.integers(400, 599), body=bodies, headers=headers)
@settings(max_examples=50, deadline=None)
def test_the_async_client_reads_error_answers_the_same_way(
    status: int, body: bytes, headers: dict[str, str]
) -> None:
    server = Server(status, body, headers)

    async def reset() -> Any:
        async with AsyncRomaClient(
            ENDPOINT,
            project_id=PROJECT,
            auth=TokenAuth("t0ken"),
            transport=httpx.MockTransport(server),
            retry=NO_WAIT,
        ) as client:
            return await client.reset_combined_task("inst-1", "task-1", DATE_FROM)

    with pytest.raises(ApiError) as caught:
        asyncio.run(reset())
    check_api_error(caught.value, status, server, body)
