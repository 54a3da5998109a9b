"""Gateway-like credential checks of the sandbox: IAM login, token expiry, AK/SK signatures.

The AK/SK requests are signed by a small signer written here from roma-api.md §4 (checked
against the document's golden vectors first), independent of the sandbox's verifier.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest

from roma_nb.sandbox import Sandbox

# -- an independent signer -------------------------------------------------------------------


def _sign(request: httpx.Request, ak: str, sk: str, *, date: str, signed: tuple[str, ...]) -> str:
    def enc(text: str) -> str:
        return quote(text, safe="~")

    path = request.url.raw_path.split(b"?")[0].decode()
    uri = "/".join(enc(s) for s in path.split("/"))
    uri = uri if uri.endswith("/") else uri + "/"
    pairs = sorted(request.url.params.multi_items())
    query = "&".join(f"{enc(k)}={enc(v)}" for k, v in pairs)
    headers = "".join(f"{h}:{request.headers[h].strip()}\n" for h in signed)
    body = request.content
    canonical = "\n".join(
        [request.method, uri, query, headers, ";".join(signed), hashlib.sha256(body).hexdigest()]
    )
    to_sign = f"SDK-HMAC-SHA256\n{date}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    sig = hmac.new(sk.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    return f"SDK-HMAC-SHA256 Access={ak}, SignedHeaders={';'.join(signed)}, Signature={sig}"


def _signed(
    method: str,
    url: str,
    ak: str,
    sk: str,
    *,
    project_id: str,
    content: bytes = b"",
    params: dict[str, Any] | None = None,
    when: datetime | None = None,
) -> httpx.Request:
    date = (when or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    request = httpx.Request(
        method,
        url,
        params=params,
        content=content,
        headers={
            "Content-Type": "application/json;charset=UTF-8",
            "X-Project-Id": project_id,
            "X-Sdk-Date": date,
            "Host": urlsplit(url).netloc,
        },
    )
    # httpx encodes spaces in the query as '+'; sign and send '%20', as the specification says.
    request.url = request.url.copy_with(
        query="&".join(
            f"{quote(k, safe='~')}={quote(v, safe='~')}"
            for k, v in sorted(request.url.params.multi_items())
        ).encode()
        or None
    )
    signed = ("content-type", "host", "x-project-id", "x-sdk-date")
    request.headers["Authorization"] = _sign(request, ak, sk, date=date, signed=signed)
    return request


def test_the_test_signer_reproduces_the_golden_vectors() -> None:
    project = "0123456789abcdef0123456789abcdef"
    base = f"https://roma.cn-north-4.myhuaweicloud.com/v2/{project}/fdi/instances/inst-1"
    when = datetime(2024, 1, 1, tzinfo=timezone.utc)
    ak, sk = "HPUAEXAMPLEAK0000000", "exampleSecretKey0000000000000000000000000"
    reset = _signed(
        "POST",
        f"{base}/multi-tasks/task-1/reset",
        ak,
        sk,
        project_id=project,
        content=b'{"date_from": 1700000000000}',
        when=when,
    )
    reset.headers["Content-Type"] = "application/json;charset=utf-8"
    signed = ("content-type", "host", "x-project-id", "x-sdk-date")
    assert _sign(reset, ak, sk, date="20240101T000000Z", signed=signed).endswith(
        "aa93867f03d4b036764168d79c795cf337bf812bdcd346dff67ae10ce808df81"
    )
    listing = _signed(
        "GET",
        f"{base}/tasks",
        ak,
        sk,
        project_id=project,
        params={"limit": 10, "offset": 0, "name": "a b/c"},
        when=when,
    )
    listing.headers["Content-Type"] = "application/json"
    assert listing.url.query == b"limit=10&name=a%20b%2Fc&offset=0"
    assert _sign(listing, ak, sk, date="20240101T000000Z", signed=signed).endswith(
        "38ac52ee2be642b0d11d1e5a9028d92a4bf3c696f86cff393a09d24ec09ac568"
    )


# -- AK/SK against the sandbox ---------------------------------------------------------------


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


def _tasks_url(sandbox: Sandbox) -> str:
    return (
        f"{sandbox.url}/v2/{sandbox.project_id}/fdi/instances/{sandbox.state.instances[0].id}/tasks"
    )


def test_signed_requests_are_accepted(http: httpx.Client, roma_sandbox: Sandbox) -> None:
    sb = roma_sandbox
    listing = _signed(
        "GET",
        _tasks_url(sb),
        sb.ak,
        sb.sk,
        project_id=sb.project_id,
        params={"limit": 5, "name": "a b/c~", "offset": 0},
    )
    r = http.send(listing)
    assert r.status_code == 200, r.text
    instance_id = sb.state.instances[0].id
    # A stopped task: the sandbox refuses a reset of a running one (FDI.3023), as the service may.
    task_id = next(t.task_id for t in sb.state.combined_tasks(instance_id) if t.status == 0)
    reset_url = (
        f"{sb.url}/v2/{sb.project_id}/fdi/instances/{instance_id}/multi-tasks/{task_id}/reset"
    )
    reset = _signed(
        "POST", reset_url, sb.ak, sb.sk, project_id=sb.project_id, content=b'{"date_from": 1}'
    )
    assert http.send(reset).json() == {"message": "Reset Success"}
    assert [r.date_from for r in sb.resets] == [1]


def _refusal(response: httpx.Response, status: int = 401, code: str = "APIGW.0301") -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error_code"] == code
    assert body["request_id"] == response.headers["x-request-id"]
    message: str = body["error_msg"]
    return message


def test_bad_signatures_are_refused(http: httpx.Client, roma_sandbox: Sandbox) -> None:
    sb = roma_sandbox
    url = _tasks_url(sb)
    wrong_sk = _signed("GET", url, sb.ak, "y" * 40, project_id=sb.project_id)
    assert "signature" in _refusal(http.send(wrong_sk))
    unknown_ak = _signed("GET", url, "NOSUCHAK000000000000", sb.sk, project_id=sb.project_id)
    assert "access key" in _refusal(http.send(unknown_ak))

    tampered_query = _signed(
        "GET", url, sb.ak, sb.sk, project_id=sb.project_id, params={"limit": 5}
    )
    tampered_query.url = tampered_query.url.copy_with(query=b"limit=6")
    _refusal(http.send(tampered_query))

    post_url = f"{url}/x/run"
    tampered_body = _signed("POST", post_url, sb.ak, sb.sk, project_id=sb.project_id, content=b"{}")
    tampered_body = httpx.Request("POST", post_url, headers=tampered_body.headers, content=b"[]")
    _refusal(http.send(tampered_body))

    missing = _signed("GET", url, sb.ak, sb.sk, project_id=sb.project_id)
    del missing.headers["X-Project-Id"]
    assert "missing" in _refusal(http.send(missing))

    malformed = httpx.Request("GET", url, headers={"Authorization": "SDK-HMAC-SHA256 Access=x"})
    assert "malformed" in _refusal(http.send(malformed))


def test_clock_skew(http: httpx.Client, roma_sandbox: Sandbox) -> None:
    sb = roma_sandbox
    now = datetime.now(timezone.utc)
    for offset in (timedelta(minutes=16), -timedelta(minutes=16)):
        late = _signed(
            "GET", _tasks_url(sb), sb.ak, sb.sk, project_id=sb.project_id, when=now + offset
        )
        assert "clock" in _refusal(http.send(late))
    nearly = _signed(
        "GET",
        _tasks_url(sb),
        sb.ak,
        sb.sk,
        project_id=sb.project_id,
        when=now - timedelta(minutes=14),
    )
    assert http.send(nearly).status_code == 200


def test_denied_ak_is_403(http: httpx.Client, roma_sandbox: Sandbox) -> None:
    sb = roma_sandbox
    sb.deny(sb.ak)
    request = _signed("GET", _tasks_url(sb), sb.ak, sb.sk, project_id=sb.project_id)
    _refusal(http.send(request), 403, "APIGW.0302")


def test_extra_access_keys_option(roma_sandbox_factory: Callable[..., Sandbox]) -> None:
    sb = roma_sandbox_factory(tasks_per_instance=1, access_keys={"EXTRAAK0000000000000": "s" * 40})
    request = _signed(
        "GET", _tasks_url(sb), "EXTRAAK0000000000000", "s" * 40, project_id=sb.project_id
    )
    with httpx.Client() as http:
        assert http.send(request).status_code == 200


# -- IAM -------------------------------------------------------------------------------------


def _login_body(name: str, password: str, domain: str, project: dict[str, str]) -> dict[str, Any]:
    return {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {"name": name, "password": password, "domain": {"name": domain}}
                },
            },
            "scope": {"project": project},
        }
    }


def _login(http: httpx.Client, sb: Sandbox, **changes: Any) -> httpx.Response:
    user = sb.users[sb.username]
    fields: dict[str, Any] = {
        "name": user.name,
        "password": user.password,
        "domain": user.domain,
        "project": {"id": sb.project_id},
    }
    fields.update(changes)
    params = {"nocatalog": "true"} if changes.pop("nocatalog", True) else None
    return http.post(f"{sb.iam_url}/v3/auth/tokens", params=params, json=_login_body(**fields))


def test_login_issues_a_token_that_works(http: httpx.Client, roma_sandbox: Sandbox) -> None:
    sb = roma_sandbox
    r = _login(http, sb)
    assert r.status_code == 201
    token = r.headers["x-subject-token"]
    assert len(token) > 1000
    body = r.json()["token"]
    assert body["project"]["id"] == sb.project_id
    assert "catalog" not in body
    expires = datetime.strptime(body["expires_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
    issued = datetime.strptime(body["issued_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert expires - issued == timedelta(hours=24)
    [login] = sb.logins
    assert (login.username, login.project_id) == (sb.username, sb.project_id)
    assert login.request_id == r.headers["x-request-id"]
    assert sb.state.issued(token) is not None

    instances = http.get(f"{sb.url}/v2/{sb.project_id}/instances", headers={"X-Auth-Token": token})
    assert instances.status_code == 200
    [*_, call] = sb.calls
    assert token not in repr(call)


def test_login_scopes_and_catalog(http: httpx.Client, roma_sandbox: Sandbox) -> None:
    sb = roma_sandbox
    by_name = http.post(
        f"{sb.url}/v3/auth/tokens",
        json=_login_body(
            sb.username,
            sb.users[sb.username].password,
            sb.users[sb.username].domain,
            {"name": "cn-north-4"},
        ),
    )
    assert by_name.status_code == 201
    assert by_name.json()["token"]["catalog"][0]["type"] == "roma"
    other = _login(http, sb, project={"id": "0" * 32})
    assert other.status_code == 400
    assert other.json()["error"]["title"] == "Bad Request"


@pytest.mark.parametrize(
    "changes",
    [{"password": "wrong"}, {"name": "nobody"}, {"domain": "other-domain"}],
)
def test_wrong_login_is_401_in_iam_shape(
    http: httpx.Client, roma_sandbox: Sandbox, changes: dict[str, str]
) -> None:
    r = _login(http, roma_sandbox, **changes)
    assert r.status_code == 401
    error = r.json()["error"]
    assert (error["code"], error["title"]) == (401, "Unauthorized")
    assert error["message"]
    assert "x-subject-token" not in r.headers
    assert roma_sandbox.logins == []


@pytest.mark.parametrize(
    "content",
    [b"not json", b"{}", b'{"auth": {"identity": {"methods": ["token"]}}}'],
)
def test_malformed_login_is_400(http: httpx.Client, roma_sandbox: Sandbox, content: bytes) -> None:
    r = http.post(f"{roma_sandbox.url}/v3/auth/tokens", content=content)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == 400


def test_expired_token_is_0307_and_a_new_login_fixes_it(
    http: httpx.Client, roma_sandbox: Sandbox
) -> None:
    sb = roma_sandbox
    url = f"{sb.url}/v2/{sb.project_id}/instances"
    old = _login(http, sb).headers["x-subject-token"]
    sb.expire_tokens()
    _refusal(http.get(url, headers={"X-Auth-Token": old}), 401, "APIGW.0307")
    new = _login(http, sb).headers["x-subject-token"]
    assert http.get(url, headers={"X-Auth-Token": new}).status_code == 200
    assert len(sb.logins) == 2


def test_tokens_expire_through_the_control_plane(http: httpx.Client, roma_sandbox: Sandbox) -> None:
    sb = roma_sandbox
    token = _login(http, sb).headers["x-subject-token"]
    assert http.post(f"{sb.url}/_sandbox/expire-tokens").status_code == 200
    r = http.get(f"{sb.url}/v2/{sb.project_id}/instances", headers={"X-Auth-Token": token})
    _refusal(r, 401, "APIGW.0307")
    logins = http.get(f"{sb.url}/_sandbox/logins").json()
    assert [x["username"] for x in logins] == [sb.username]


def test_token_lifetime_option(roma_sandbox_factory: Callable[..., Sandbox]) -> None:
    sb = roma_sandbox_factory(tasks_per_instance=1, token_lifetime_s=90)
    with httpx.Client() as http:
        body = _login(http, sb).json()["token"]
    expires = datetime.strptime(body["expires_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
    issued = datetime.strptime(body["issued_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert expires - issued == timedelta(seconds=90)


def test_strict_tokens(roma_sandbox_factory: Callable[..., Sandbox]) -> None:
    sb = roma_sandbox_factory(tasks_per_instance=1, strict_tokens=True)
    url = f"{sb.url}/v2/{sb.project_id}/instances"
    with httpx.Client() as http:
        _refusal(http.get(url, headers={"X-Auth-Token": "made-up"}))
        assert http.get(url, headers={"X-Auth-Token": sb.token}).status_code == 200
        issued = _login(http, sb).headers["x-subject-token"]
        assert http.get(url, headers={"X-Auth-Token": issued}).status_code == 200
        sb.deny(issued)
        _refusal(http.get(url, headers={"X-Auth-Token": issued}), 403, "APIGW.0302")


def test_extra_users_option_and_no_secrets_in_reprs(
    roma_sandbox_factory: Callable[..., Sandbox],
) -> None:
    sb = roma_sandbox_factory(tasks_per_instance=1, users={"ops": ("S3cret-pass", "acme")})
    assert sb.users["ops"].domain == "acme"
    with httpx.Client() as http:
        r = http.post(
            f"{sb.url}/v3/auth/tokens",
            json=_login_body("ops", "S3cret-pass", "acme", {"id": sb.project_id}),
        )
    assert r.status_code == 201
    shown = " ".join(
        [repr(sb), repr(sb.users), repr(sb.state.accounts), repr(sb.state.options), repr(sb.logins)]
    )
    for secret in ("S3cret-pass", sb.sk, sb.users[sb.username].password, sb.token):
        assert secret not in shown
