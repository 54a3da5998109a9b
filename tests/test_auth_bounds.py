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
from collections.abc import Awaitable

import httpx
import pytest
from hostile_child import in_child
from hostile_server import PROJECT_ID, Hostile, hostile

from roma_nb.auth import PasswordAuth
from roma_nb.client import AsyncRomaClient, RomaClient
from roma_nb.errors import RomaError, TransportError
from roma_nb.transport.deadline import DEADLINE

PASSWORD = "correct horse battery staple"
LOGIN = ("POST", "/v3/auth/tokens")
DURING = "the call's deadline ran out during the IAM login"
WAITING = "the call's deadline ran out while waiting for another call's IAM login"
HEADERS_FOR_MINUTES = {"interval": 0.5, "max_seconds": 240.0}  # the status line, 2 bytes a second


def password_auth(iam: str) -> PasswordAuth:
    return PasswordAuth("alice", PASSWORD, "example", project_name="cn-north-4", iam_endpoint=iam)


def check_cut(error: BaseException, iam: str, when: str = DURING) -> None:
    """A deadline cut of the login: a transport failure naming IAM, no secret, nothing sent."""
    message = str(error)
    assert isinstance(error, TransportError), repr(error)
    assert when in message and "Nothing was sent to ROMA Connect" in message, message
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
    with hostile("trickle-headers", **HEADERS_FOR_MINUTES) as iam:
        auth = password_auth(iam.url)
        first = threading.Thread(target=reset, args=(errors, "first", auth, iam.url, 3))
        first.start()
        wait_for_a_login(iam)  # the second call then waits for the first one's login
        second = threading.Thread(target=reset, args=(errors, "second", auth, iam.url, 6))
        second.start()
        first.join()
        second.join()
    assert iam.requests == [LOGIN, LOGIN]
    assert errors["first"] is not errors["second"]
    for error in errors.values():
        check_cut(error, iam.url)


@pytest.mark.timeout(40)
def test_a_caller_waiting_for_another_calls_login_gives_up_at_its_own_deadline() -> None:
    """The first call has no deadline: its login lasts as long as IAM trickles. The second
    (``deadline=2``) waits for that login only until its own deadline."""
    errors: dict[str, BaseException] = {}
    with hostile("trickle-headers", **HEADERS_FOR_MINUTES) as iam:
        auth = password_auth(iam.url)
        first = threading.Thread(target=reset, args=(errors, "first", auth, iam.url, None))
        first.start()
        wait_for_a_login(iam)
        reset(errors, "second", auth, iam.url, 2)
        assert "first" not in errors  # still logging in
    first.join()  # the server hung up on it when it stopped
    check_cut(errors["second"], iam.url, WAITING)
    assert iam.requests == [LOGIN]


@pytest.mark.timeout(40)
def test_an_async_caller_waiting_for_a_login_gives_up_at_its_deadline_and_leaves_the_lock() -> None:
    """As above with tasks on one event loop; the first task is then cancelled, and the lock
    it waited on is free again: a third call makes its own login (cut by its deadline)."""

    async def calls(iam: Hostile) -> list[BaseException]:
        auth = password_auth(iam.url)
        slow = AsyncRomaClient(iam.url, project_id=PROJECT_ID, auth=auth, deadline=None)
        quick = AsyncRomaClient(iam.url, project_id=PROJECT_ID, auth=auth, deadline=2)
        async with slow, quick:
            first = asyncio.create_task(slow.reset_combined_task("i-1", "t-1"))
            while not iam.requests:
                await asyncio.sleep(0.01)
            waited = await failure(quick.reset_combined_task("i-1", "t-1"))
            first.cancel()
            logged_in = await failure(quick.reset_combined_task("i-1", "t-1"))
            with pytest.raises(asyncio.CancelledError):
                await first
        return [waited, logged_in]

    async def failure(call: Awaitable[object]) -> RomaError:
        with pytest.raises(RomaError) as caught:
            await call
        return caught.value

    with hostile("trickle-headers", **HEADERS_FOR_MINUTES) as iam:
        waited, logged_in = asyncio.run(calls(iam))
    check_cut(waited, iam.url, WAITING)
    check_cut(logged_in, iam.url, DURING)
    assert iam.requests == [LOGIN, LOGIN]


def reset(
    errors: dict[str, BaseException],
    name: str,
    auth: PasswordAuth,
    url: str,
    deadline: float | None,
) -> None:
    """One reset with ``auth``; what it raised goes in ``errors[name]``."""
    with RomaClient(url, project_id=PROJECT_ID, auth=auth, deadline=deadline) as roma:
        try:
            roma.reset_combined_task("i-1", "t-1")
        except RomaError as exc:
            errors[name] = exc


def wait_for_a_login(iam: Hostile) -> None:
    """Until the hostile IAM has seen a login (a test's ordering, not an assertion on time)."""
    for _ in range(500):
        if iam.requests:
            return
        time.sleep(0.01)


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
