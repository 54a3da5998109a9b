"""PasswordAuth's IAM login is bounded like every other send: by the call's deadline and a size cap.

The login runs inside the call (``httpx.Auth``), against the hostile server of ``hostile_server``
on 127.0.0.1 standing in for IAM. Before, the login opened a plain ``httpx.Client`` and read the
answer whole: a status line trickled a byte at a time held a ``deadline=2`` reset as long as the
server chose (each read was quick, so the 30 s read timeout never fired), and an endless body was
read into memory. No assertion here is on time: each test says *why* the call failed, and
``pytest.mark.timeout`` stops a call that hangs (the trickles last far longer than the timeout).
"""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest
from hostile_child import in_child
from hostile_server import PROJECT_ID, hostile

from roma_nb.auth import PasswordAuth
from roma_nb.client import AsyncRomaClient, RomaClient
from roma_nb.errors import RomaError, TransportError
from roma_nb.transport.deadline import DEADLINE

PASSWORD = "correct horse battery staple"
LOGIN = ("POST", "/v3/auth/tokens")
CUT = "deadline ran out during the IAM login"
HEADERS_FOR_MINUTES = {"interval": 0.5, "max_seconds": 240.0}  # the status line, 2 bytes a second


def password_auth(iam: str) -> PasswordAuth:
    return PasswordAuth("alice", PASSWORD, "example", project_name="cn-north-4", iam_endpoint=iam)


def check_cut(error: RomaError, iam: str) -> None:
    """A deadline cut of the login: a transport failure naming IAM, no secret, nothing sent."""
    message = str(error)
    assert isinstance(error, TransportError), repr(error)
    assert CUT in message and "Nothing was sent to ROMA Connect" in message, message
    assert f"Logging in to IAM ({iam.removeprefix('http://')})" in message, message
    assert PASSWORD not in message


@pytest.mark.timeout(40)
@pytest.mark.parametrize("mode", ["trickle-headers", "trickle"])
def test_a_trickled_login_ends_at_the_calls_deadline(mode: str) -> None:
    """``trickle-headers``: the status line never ends; ``trickle``: the body never does."""
    with hostile(mode, **HEADERS_FOR_MINUTES) as iam:
        auth = password_auth(iam.url)
        roma = RomaClient(iam.url, project_id=PROJECT_ID, auth=auth, deadline=2)
        with roma, pytest.raises(TransportError) as caught:
            roma.reset_combined_task("i-1", "t-1")
    check_cut(caught.value, iam.url)
    assert iam.requests == [LOGIN]  # the reset itself was never sent
    assert auth.login_count == 0


@pytest.mark.timeout(40)
def test_a_trickled_login_ends_at_the_deadline_for_the_async_client() -> None:
    async def reset(url: str, auth: PasswordAuth) -> None:
        async with AsyncRomaClient(url, project_id=PROJECT_ID, auth=auth, deadline=2) as roma:
            await roma.reset_combined_task("i-1", "t-1")

    with (
        hostile("trickle-headers", **HEADERS_FOR_MINUTES) as iam,
        pytest.raises(TransportError) as caught,
    ):
        asyncio.run(reset(iam.url, password_auth(iam.url)))
    check_cut(caught.value, iam.url)
    assert iam.requests == [LOGIN]


@pytest.mark.timeout(60)
def test_a_deadline_cut_is_not_shared_with_callers_waiting_for_the_login() -> None:
    """The deadline is the caller's, not IAM's fault: a caller that waited for the cut login
    (with a later deadline of its own) logs in itself instead of raising the first one's error.
    Kept as a shared failure, the second call would have failed at once without a login."""
    errors: dict[str, BaseException] = {}

    def reset(name: str, auth: PasswordAuth, url: str, deadline: float) -> None:
        with RomaClient(url, project_id=PROJECT_ID, auth=auth, deadline=deadline) as roma:
            try:
                roma.reset_combined_task("i-1", "t-1")
            except RomaError as exc:
                errors[name] = exc

    with hostile("trickle-headers", **HEADERS_FOR_MINUTES) as iam:
        auth = password_auth(iam.url)
        first = threading.Thread(target=reset, args=("first", auth, iam.url, 3))
        first.start()
        for _ in range(200):  # until the first login is at IAM (the second then waits for it)
            if iam.requests:
                break
            time.sleep(0.01)
        second = threading.Thread(target=reset, args=("second", auth, iam.url, 6))
        second.start()
        first.join()
        second.join()
    assert iam.requests == [LOGIN, LOGIN]
    assert errors["first"] is not errors["second"]
    for error in errors.values():
        assert isinstance(error, RomaError)
        check_cut(error, iam.url)


@pytest.mark.parametrize(
    ("mode", "options"),
    [("endless", {"max_seconds": 120.0}), ("bomb", {"bomb_bytes": 512 << 20})],
)
def test_an_endless_or_huge_login_answer_is_refused_with_bounded_memory(
    mode: str, options: dict[str, float]
) -> None:
    """``endless``: a 201 whose body never ends; ``bomb``: 512 MiB once decompressed. Both are
    refused at the 4 MiB cap, in a process of its own whose peak memory is read (as in
    ``test_bounds``: the interpreter, httpx and about twice the cap)."""
    with hostile(mode, **options) as iam:
        report = in_child(iam.url, "reset", iam=iam.url)
    assert report["outcome"] == "TransportError", report
    assert f"Logging in to IAM ({iam.url.removeprefix('http://')})" in report["error"], report
    assert "larger than 4,194,304 bytes once decompressed" in report["error"], report
    assert report["max_rss_mb"] < 110, report
    assert iam.requests == [LOGIN]


@pytest.mark.parametrize("deadline", [5.0, None])
def test_the_login_carries_the_calls_deadline_through_a_transport_given_as_is(
    deadline: float | None,
) -> None:
    """A ``transport=`` given to PasswordAuth is used as given, and still sees the deadline."""
    seen: list[tuple[str, object]] = []

    def iam(request: httpx.Request) -> httpx.Response:
        seen.append(("iam", request.extensions.get(DEADLINE)))
        return httpx.Response(201, headers={"X-Subject-Token": "s" * 40}, json={"token": {}})

    def api(request: httpx.Request) -> httpx.Response:
        seen.append(("api", request.extensions.get(DEADLINE)))
        return httpx.Response(200, json={"instances": [], "total": 0})

    auth = PasswordAuth(
        "alice", PASSWORD, "example", project_id="p1", transport=httpx.MockTransport(iam)
    )
    with RomaClient(
        "https://roma.example",
        project_id=PROJECT_ID,
        auth=auth,
        transport=httpx.MockTransport(api),
        deadline=deadline,
    ) as roma:
        assert roma.list_instances() == []
    [(_, at)] = [entry for entry in seen if entry[0] == "api"]
    assert seen == [("iam", at), ("api", at)]
    assert (at is None) == (deadline is None)
