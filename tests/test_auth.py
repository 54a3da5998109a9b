"""TokenAuth and AkSkAuth through real httpx clients (the network replaced by MockTransport)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from roma_nb.auth import AkSkAuth, TokenAuth, mask_secret
from roma_nb.auth.signing import check_sdk_date
from roma_nb.errors import ValidationError

AK = "HPUAEXAMPLEAK0000000"
SK = "exampleSecretKey0000000000000000000000000"
PROJECT = "0123456789abcdef0123456789abcdef"
BASE = "https://roma.cn-north-4.myhuaweicloud.com"
RESET = f"/v2/{PROJECT}/fdi/instances/inst-1/multi-tasks/task-1/reset"
DATE = {"X-Sdk-Date": "20240101T000000Z"}


class Recorder:
    """A MockTransport handler that keeps every request as it arrived."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return httpx.Response(200, json={"message": "ok"})


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def aksk_client(recorder: Recorder) -> Iterator[httpx.Client]:
    auth = AkSkAuth(AK, SK, project_id=PROJECT)
    with httpx.Client(base_url=BASE, auth=auth, transport=httpx.MockTransport(recorder)) as client:
        yield client


def _signature(request: httpx.Request) -> str:
    return request.headers["Authorization"].rpartition("Signature=")[2]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            b'{"date_from": 1700000000000}',
            "aa93867f03d4b036764168d79c795cf337bf812bdcd346dff67ae10ce808df81",
        ),
        (b"{}", "944218c82534c3610138e94a93cc899c4344a7cd1edf97b564814b14675e622b"),
    ],
)
def test_golden_reset_vectors_through_httpx(
    aksk_client: httpx.Client, recorder: Recorder, body: bytes, expected: str
) -> None:
    headers = {**DATE, "Content-Type": "application/json;charset=utf-8"}
    aksk_client.post(RESET, content=body, headers=headers)
    (sent,) = recorder.requests
    assert _signature(sent) == expected
    assert sent.headers["X-Project-Id"] == PROJECT
    assert sent.headers["Authorization"].startswith(f"SDK-HMAC-SHA256 Access={AK}, ")
    assert (
        "SignedHeaders=content-type;host;x-project-id;x-sdk-date," in sent.headers["Authorization"]
    )


def test_golden_get_vector_rewrites_the_query_httpx_would_send(
    aksk_client: httpx.Client, recorder: Recorder
) -> None:
    headers = {**DATE, "Content-Type": "application/json"}
    params: dict[str, str | int] = {"limit": 10, "offset": 0, "name": "a b/c"}
    aksk_client.get(f"/v2/{PROJECT}/fdi/instances/inst-1/tasks", params=params, headers=headers)
    (sent,) = recorder.requests
    assert sent.url.query == b"limit=10&name=a%20b%2Fc&offset=0"
    assert _signature(sent) == "38ac52ee2be642b0d11d1e5a9028d92a4bf3c696f86cff393a09d24ec09ac568"


def test_without_a_date_the_current_one_is_added(
    aksk_client: httpx.Client, recorder: Recorder
) -> None:
    aksk_client.get("/v2/x")
    (sent,) = recorder.requests
    assert check_sdk_date(sent.headers["X-Sdk-Date"]) == sent.headers["X-Sdk-Date"]
    assert "x-sdk-date" in sent.headers["Authorization"]


def test_a_malformed_date_is_refused_before_sending(
    aksk_client: httpx.Client, recorder: Recorder
) -> None:
    with pytest.raises(ValidationError, match="X-Sdk-Date"):
        aksk_client.get("/v2/x", headers={"X-Sdk-Date": "yesterday"})
    assert recorder.requests == []


def test_only_the_chosen_headers_are_signed(aksk_client: httpx.Client, recorder: Recorder) -> None:
    aksk_client.get("/v2/x", headers={**DATE, "X-Extra": "1", "User-Agent": "ua"})
    (sent,) = recorder.requests
    assert "SignedHeaders=host;x-project-id;x-sdk-date," in sent.headers["Authorization"]


def test_security_token_is_sent_and_signed(recorder: Recorder) -> None:
    auth = AkSkAuth(AK, SK, security_token="temporary-security-token-0001")
    with httpx.Client(auth=auth, transport=httpx.MockTransport(recorder)) as client:
        client.get(f"{BASE}/v2/x", headers=DATE)
    (sent,) = recorder.requests
    assert sent.headers["X-Security-Token"] == "temporary-security-token-0001"
    assert "SignedHeaders=host;x-sdk-date;x-security-token," in sent.headers["Authorization"]
    assert "X-Project-Id" not in sent.headers


def test_a_streamed_body_is_read_and_hashed(recorder: Recorder) -> None:
    auth = AkSkAuth(AK, SK, project_id=PROJECT)
    headers = {**DATE, "Content-Type": "application/json;charset=utf-8"}

    def chunks() -> Iterator[bytes]:
        yield b'{"date_from": '
        yield b"1700000000000}"

    with httpx.Client(base_url=BASE, auth=auth, transport=httpx.MockTransport(recorder)) as client:
        client.post(RESET, content=chunks(), headers=headers)
    (sent,) = recorder.requests
    assert _signature(sent) == "aa93867f03d4b036764168d79c795cf337bf812bdcd346dff67ae10ce808df81"


def test_async_client_signs_the_same_way(recorder: Recorder) -> None:
    async def main() -> None:
        auth = AkSkAuth(AK, SK, project_id=PROJECT)
        transport = httpx.MockTransport(recorder)
        async with httpx.AsyncClient(base_url=BASE, auth=auth, transport=transport) as client:
            headers = {**DATE, "Content-Type": "application/json;charset=utf-8"}
            await client.post(RESET, content=b"{}", headers=headers)

    asyncio.run(main())
    (sent,) = recorder.requests
    assert _signature(sent) == "944218c82534c3610138e94a93cc899c4344a7cd1edf97b564814b14675e622b"


def test_token_auth_sends_the_token_sync_and_async(recorder: Recorder) -> None:
    auth = TokenAuth("  MIIExampleTokenValue0123456789  ")
    with httpx.Client(auth=auth, transport=httpx.MockTransport(recorder)) as client:
        client.get(f"{BASE}/v2/x")

    async def main() -> None:
        transport = httpx.MockTransport(recorder)
        async with httpx.AsyncClient(auth=auth, transport=transport) as client:
            await client.get(f"{BASE}/v2/x")

    asyncio.run(main())
    assert [r.headers["X-Auth-Token"] for r in recorder.requests] == [
        "MIIExampleTokenValue0123456789"
    ] * 2


def test_reprs_hide_the_secrets() -> None:
    token = "MIIExampleTokenValue0123456789"
    assert repr(TokenAuth(token)) == "TokenAuth(token='MII…789')"
    aksk = AkSkAuth(AK, SK, project_id=PROJECT, security_token="temporary-security-token-0001")
    text = repr(aksk) + str(aksk)
    assert "HPU…000" in text
    for secret in (AK, SK, "temporary-security-token-0001", token):
        assert secret not in text


@pytest.mark.parametrize(
    ("value", "shown"),
    [("HPUAEXAMPLEAK0000000", "HPU…000"), ("short", "…"), ("", "…"), (None, "None")],
)
def test_mask_secret(value: str | None, shown: str) -> None:
    assert mask_secret(value) == shown


@pytest.mark.parametrize("bad", ["", "   ", "abc\ndef", "tab\there", 42])
def test_unusable_credentials_are_refused_without_echoing_them(bad: object) -> None:
    with pytest.raises(ValidationError) as caught:
        AkSkAuth(AK, bad)  # type: ignore[arg-type]
    assert "SK" in str(caught.value)
    if isinstance(bad, str) and bad.strip():
        assert bad not in str(caught.value)
    with pytest.raises(ValidationError):
        TokenAuth(bad)  # type: ignore[arg-type]
