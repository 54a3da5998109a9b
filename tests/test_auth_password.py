"""PasswordAuth: IAM login, caching, renewal, re-login on APIGW.0307, errors, concurrency.

IAM and the API are MockTransport handlers here; the same behaviour over real sockets against
the sandbox is in ``test_auth_sandbox.py``. Time is a fake monotonic clock, so renewal is tested
without sleeping.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from roma_nb.auth import PasswordAuth
from roma_nb.auth.password import (
    DEFAULT_LIFETIME_S,
    GLOBAL_IAM_ENDPOINT,
    default_iam_endpoint,
    login_body,
    parse_iam_time,
    refresh_margin,
    token_lifetime,
)
from roma_nb.errors import AuthError, ServerError, TransportError, ValidationError

IAM = "https://iam.cn-north-4.myhuaweicloud.com"
API = "https://roma.cn-north-4.myhuaweicloud.com"
PASSWORD = "correct horse battery staple"
ISSUED = datetime(2024, 1, 1, tzinfo=timezone.utc)


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeIam:
    """Answers logins like IAM; ``delay`` widens the window in which concurrent callers race."""

    def __init__(self, *, lifetime_s: float = 100.0, delay: float = 0.0) -> None:
        self.lifetime_s = lifetime_s
        self.delay = delay
        self.bodies: list[dict[str, object]] = []
        self.urls: list[str] = []
        self.failure: httpx.Response | None = None
        self._lock = threading.Lock()

    @property
    def logins(self) -> int:
        return len(self.bodies)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.bodies.append(json.loads(request.content))
            self.urls.append(str(request.url))
            number = len(self.bodies)
        if self.failure is not None:
            return self.failure
        expires = ISSUED + timedelta(seconds=self.lifetime_s)
        return httpx.Response(
            201,
            headers={"X-Subject-Token": f"token-{number:04d}-" + "x" * 40},
            json={"token": {"issued_at": _iso(ISSUED), "expires_at": _iso(expires)}},
        )

    def handler(self, request: httpx.Request) -> httpx.Response:
        time.sleep(self.delay)
        return self._answer(request)

    async def async_handler(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(self.delay)
        return self._answer(request)


class FakeApi:
    """Accepts any token except those listed in ``expired`` (answered 401 APIGW.0307)."""

    def __init__(self) -> None:
        self.expired: set[str] = set()
        self.refuse_code = "APIGW.0307"
        self.seen: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()

    def handler(self, request: httpx.Request) -> httpx.Response:
        token = request.headers.get("X-Auth-Token", "")
        with self._lock:
            self.seen.append((token, request.read()))
        if token in self.expired:
            return httpx.Response(
                401,
                json={
                    "error_code": self.refuse_code,
                    "error_msg": "Token expired",
                    "request_id": "r",
                },
            )
        return httpx.Response(200, json={"message": "Reset Success"})


def _auth(iam: FakeIam, clock: FakeClock | None = None, **kwargs: object) -> PasswordAuth:
    return PasswordAuth(
        "alice",
        PASSWORD,
        "example-domain",
        project_name="cn-north-4",
        transport=httpx.MockTransport(iam.handler),
        async_transport=httpx.MockTransport(iam.async_handler),
        clock=clock or time.monotonic,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


MakeClient = Callable[[httpx.Auth], httpx.Client]


@pytest.fixture
def client_for(api: FakeApi) -> Iterator[MakeClient]:
    """Builds sync clients that talk to ``api``; closes them after the test."""
    clients: list[httpx.Client] = []

    def make(auth: httpx.Auth) -> httpx.Client:
        client = httpx.Client(base_url=API, auth=auth, transport=httpx.MockTransport(api.handler))
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def test_login_request_and_token_use(client_for: MakeClient, api: FakeApi) -> None:
    iam = FakeIam()
    auth = _auth(iam)
    client = client_for(auth)
    assert client.post("/v2/p/reset", content=b"{}").status_code == 200
    assert client.get("/v2/p/instances").status_code == 200
    assert iam.logins == 1
    assert auth.login_count == 1
    assert iam.urls == [f"{IAM}/v3/auth/tokens?nocatalog=true"]
    assert iam.bodies[0] == login_body(
        "alice", PASSWORD, "example-domain", project_name="cn-north-4"
    )
    assert {token for token, _ in api.seen} == {"token-0001-" + "x" * 40}


def test_token_is_renewed_a_margin_before_expiry(client_for: MakeClient) -> None:
    iam = FakeIam(lifetime_s=100.0)
    clock = FakeClock()
    client = client_for(_auth(iam, clock))
    client.get("/v2/x")
    clock.now += 100.0 - refresh_margin(100.0) - 0.01
    client.get("/v2/x")
    assert iam.logins == 1
    clock.now += 0.02
    client.get("/v2/x")
    assert iam.logins == 2


def test_expired_token_answer_causes_one_relogin_and_resend(
    client_for: MakeClient, api: FakeApi
) -> None:
    iam = FakeIam()
    client = client_for(_auth(iam))
    client.get("/v2/x")
    api.expired.add("token-0001-" + "x" * 40)
    response = client.post("/v2/p/reset", content=b'{"date_from": 1}')
    assert response.status_code == 200
    assert iam.logins == 2
    assert [body for _, body in api.seen[1:]] == [b'{"date_from": 1}'] * 2
    assert api.seen[-1][0] == "token-0002-" + "x" * 40


def test_relogin_happens_once_per_call_not_more(client_for: MakeClient, api: FakeApi) -> None:
    iam = FakeIam()
    client = client_for(_auth(iam))
    api.expired.update({"token-0001-" + "x" * 40, "token-0002-" + "x" * 40})
    response = client.get("/v2/x")
    assert response.status_code == 401
    assert iam.logins == 2
    assert len(api.seen) == 2


@pytest.mark.parametrize("code", ["APIGW.0301", "APIGW.0302"])
def test_other_401_answers_are_returned_as_they_are(
    client_for: MakeClient, api: FakeApi, code: str
) -> None:
    iam = FakeIam()
    client = client_for(_auth(iam))
    api.expired.add("token-0001-" + "x" * 40)
    api.refuse_code = code
    assert client.get("/v2/x").status_code == 401
    assert iam.logins == 1
    assert len(api.seen) == 1


def test_iam_refusal_is_a_clear_auth_error_and_is_not_retried(
    client_for: MakeClient, api: FakeApi
) -> None:
    iam = FakeIam()
    iam.failure = httpx.Response(
        401,
        json={
            "error": {
                "code": 401,
                "message": "The username or password is wrong.",
                "title": "Unauthorized",
            }
        },
    )
    auth = _auth(iam)
    client = client_for(auth)
    with pytest.raises(AuthError) as caught:
        client.get("/v2/x")
    error = caught.value
    assert error.status_code == 401
    assert error.error_code == "IAM.401"
    assert "Logging in to IAM (iam.cn-north-4.myhuaweicloud.com) as user 'alice'" in str(error)
    assert "The username or password is wrong." in str(error)
    assert PASSWORD not in str(error) + repr(error)
    with pytest.raises(AuthError):  # a second call must not risk locking the account
        client.get("/v2/x")
    assert iam.logins == 1
    assert api.seen == []
    assert auth.login_count == 0


def test_iam_server_errors_are_raised_and_a_later_call_tries_again(
    client_for: MakeClient,
) -> None:
    iam = FakeIam()
    iam.failure = httpx.Response(503, text="<html><title>Service Unavailable</title></html>")
    client = client_for(_auth(iam))
    with pytest.raises(ServerError, match="Service Unavailable"):
        client.get("/v2/x")
    iam.failure = None
    assert client.get("/v2/x").status_code == 200
    assert iam.logins == 2


def test_iam_unreachable_is_a_transport_error(client_for: MakeClient) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    auth = PasswordAuth(
        "alice", PASSWORD, "d", project_id="p1", transport=httpx.MockTransport(refuse)
    )
    client = client_for(auth)
    with pytest.raises(TransportError, match="ConnectError: connection refused"):
        client.get("/v2/x")


def test_a_login_answer_without_token_is_an_auth_error(client_for: MakeClient) -> None:
    iam = FakeIam()
    iam.failure = httpx.Response(201, json={"token": {}})
    client = client_for(_auth(iam))
    with pytest.raises(AuthError, match="without an X-Subject-Token"):
        client.get("/v2/x")


def test_missing_expiry_falls_back_to_the_default_lifetime(
    client_for: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    iam = FakeIam()
    iam.failure = httpx.Response(201, headers={"X-Subject-Token": "t" * 30}, json={})
    client = client_for(_auth(iam, clock))
    with caplog.at_level(logging.WARNING, logger="roma_nb.auth"):
        client.get("/v2/x")
    assert "no usable token expiry" in caplog.text
    clock.now += DEFAULT_LIFETIME_S - refresh_margin(DEFAULT_LIFETIME_S) - 1
    client.get("/v2/x")
    assert iam.logins == 1


def test_sixteen_threads_cause_one_login(client_for: MakeClient) -> None:
    iam = FakeIam(delay=0.05)
    client = client_for(_auth(iam))
    start = threading.Barrier(16)

    def call(_: int) -> int:
        start.wait()
        return client.get("/v2/x").status_code

    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(call, range(16)))
    assert statuses == [200] * 16
    assert iam.logins == 1


def test_sixteen_threads_hitting_an_expired_token_cause_one_relogin(
    client_for: MakeClient, api: FakeApi
) -> None:
    iam = FakeIam(delay=0.05)
    client = client_for(_auth(iam))
    client.get("/v2/x")
    api.expired.add("token-0001-" + "x" * 40)
    start = threading.Barrier(16)

    def call(_: int) -> int:
        start.wait()
        return client.get("/v2/x").status_code

    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(call, range(16)))
    assert statuses == [200] * 16
    assert iam.logins == 2


def test_concurrent_waiters_share_a_failed_login(client_for: MakeClient) -> None:
    iam = FakeIam(delay=0.05)
    iam.failure = httpx.Response(500, json={"error": {"code": 500, "message": "IAM is down"}})
    client = client_for(_auth(iam))
    start = threading.Barrier(8)

    def call(_: int) -> str:
        start.wait()
        with pytest.raises(ServerError) as caught:
            client.get("/v2/x")
        return caught.value.error_msg or ""

    with ThreadPoolExecutor(8) as pool:
        messages = list(pool.map(call, range(8)))
    assert messages == ["IAM is down"] * 8
    assert iam.logins == 1


def test_sixteen_tasks_cause_one_login(api: FakeApi) -> None:
    iam = FakeIam(delay=0.05)
    auth = _auth(iam)

    async def main() -> list[int]:
        transport = httpx.MockTransport(api.handler)
        async with httpx.AsyncClient(base_url=API, auth=auth, transport=transport) as client:
            responses = await asyncio.gather(*(client.get("/v2/x") for _ in range(16)))
            api.expired.add("token-0001-" + "x" * 40)
            responses += await asyncio.gather(*(client.get("/v2/x") for _ in range(16)))
        return [r.status_code for r in responses]

    assert asyncio.run(main()) == [200] * 32
    assert iam.logins == 2


def test_one_object_serves_several_event_loops_and_threads(api: FakeApi) -> None:
    iam = FakeIam(delay=0.01)
    clock = FakeClock()
    auth = _auth(iam, clock)

    async def calls() -> list[int]:
        transport = httpx.MockTransport(api.handler)
        async with httpx.AsyncClient(base_url=API, auth=auth, transport=transport) as client:
            responses = await asyncio.gather(*(client.get("/v2/x") for _ in range(4)))
        return [r.status_code for r in responses]

    def in_new_loop(_: int) -> list[int]:
        return asyncio.run(calls())

    assert asyncio.run(calls()) == [200] * 4
    clock.now += 1000  # the token is due for renewal: each loop's lock now guards a login
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(in_new_loop, range(3)))
    assert results == [[200] * 4] * 3
    assert 2 <= iam.logins <= 4


def test_repr_hides_the_password() -> None:
    auth = PasswordAuth("alice", PASSWORD, "example-domain", project_id="p1")
    text = repr(auth) + str(auth)
    assert PASSWORD not in text
    assert "password='<hidden>'" in text
    assert "project_id='p1'" in text


def test_scope_and_endpoint_defaults() -> None:
    assert default_iam_endpoint("cn-north-4") == IAM
    assert default_iam_endpoint("my-project") == GLOBAL_IAM_ENDPOINT
    assert default_iam_endpoint(None) == GLOBAL_IAM_ENDPOINT
    by_id = PasswordAuth("u", "p", "d", project_id="p1", project_name="cn-north-4")
    assert by_id.iam_endpoint == IAM
    body = login_body("u", "p", "d", project_id="p1", project_name="cn-north-4")
    assert body["auth"]["scope"] == {"project": {"id": "p1"}}
    custom = PasswordAuth("u", "p", "d", project_id="p1", iam_endpoint="https://iam.example/v3/")
    assert custom.iam_endpoint == "https://iam.example"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "project_id= or project_name="),
        ({"project_id": "p", "iam_endpoint": "iam.example"}, "not an http"),
        ({"project_id": ""}, "project_id is empty"),
    ],
)
def test_bad_configuration_is_refused(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        PasswordAuth("u", "p", "d", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2020-01-04T09:05:22.701000Z", datetime(2020, 1, 4, 9, 5, 22, 701000, timezone.utc)),
        ("2020-01-04T09:05:22.7Z", datetime(2020, 1, 4, 9, 5, 22, 700000, timezone.utc)),
        ("2020-01-04T09:05:22Z", datetime(2020, 1, 4, 9, 5, 22, tzinfo=timezone.utc)),
        ("2020-01-04T17:05:22+08:00", datetime(2020, 1, 4, 9, 5, 22, tzinfo=timezone.utc)),
        ("2020-01-04T09:05:22", datetime(2020, 1, 4, 9, 5, 22, tzinfo=timezone.utc)),
        ("2020-13-04T09:05:22Z", None),
        ("tomorrow", None),
        (12345, None),
    ],
)
def test_parse_iam_time(text: object, expected: datetime | None) -> None:
    assert parse_iam_time(text) == expected


def test_token_lifetime() -> None:
    both = {"token": {"issued_at": "2024-01-01T00:00:00Z", "expires_at": "2024-01-02T00:00:00Z"}}
    assert token_lifetime(json.dumps(both).encode()) == 86400.0
    only_expiry = json.dumps({"token": {"expires_at": "2024-01-01T00:00:10Z"}}).encode()
    assert token_lifetime(only_expiry, now=ISSUED) == 10.0
    assert token_lifetime(only_expiry, now=ISSUED + timedelta(hours=1)) is None
    assert token_lifetime(b"not json") is None
    assert token_lifetime(b'{"token": "x"}') is None


def test_refresh_margin() -> None:
    assert refresh_margin(86400.0) == 300.0
    assert refresh_margin(2.0) == pytest.approx(0.4)
    assert refresh_margin(-5.0) == 0.0
