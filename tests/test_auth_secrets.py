"""No token, password, AK or SK in any repr, str, exception or log line, even at DEBUG.

Every auth is used over a real socket against the sandbox with DEBUG logging on for httpx,
httpcore and roma_nb, directly and through ``RomaClient``, including the failure paths (wrong
password, wrong SK, expired token, a broken SK in the environment).
Then every emitted log line, every repr and str, and every exception with its whole chain is
searched for each secret. httpcore logs response headers at DEBUG, so the IAM token in
``X-Subject-Token`` does reach the logging system: the test also checks that this header was
logged (redacted), which proves the capture sees what a user's DEBUG handler would.
"""

from __future__ import annotations

import traceback

import httpx
import pytest
from debug_capture import DebugCapture

from roma_nb.auth import AkSkAuth, PasswordAuth, TokenAuth
from roma_nb.client import RomaClient
from roma_nb.config import resolve_settings
from roma_nb.errors import ConfigurationError, RomaError
from roma_nb.sandbox import Sandbox


class SeenTokens:
    """An httpx request hook: the tokens actually sent, so issued tokens are searched for too."""

    def __init__(self) -> None:
        self.tokens: set[str] = set()

    def __call__(self, request: httpx.Request) -> None:
        token = request.headers.get("X-Auth-Token")
        if token:
            self.tokens.add(token)


def _exception_text(error: BaseException) -> str:
    return "".join(traceback.format_exception(error)) + repr(error) + str(error)


def test_no_secret_is_shown_anywhere(roma_sandbox: Sandbox, debug_log: DebugCapture) -> None:
    user = roma_sandbox.users[roma_sandbox.username]
    instances = f"{roma_sandbox.url}/v2/{roma_sandbox.project_id}/instances"
    seen = SeenTokens()
    shown: list[str] = []
    errors: list[BaseException] = []

    def use(auth: httpx.Auth) -> list[int]:
        shown.extend([repr(auth), str(auth)])
        with httpx.Client(auth=auth, event_hooks={"request": [seen]}) as client:
            return [client.get(instances).status_code, client.get(instances).status_code]

    password_auth = PasswordAuth(
        user.name,
        user.password,
        user.domain,
        project_id=roma_sandbox.project_id,
        iam_endpoint=roma_sandbox.iam_url,
    )
    statuses = use(TokenAuth(roma_sandbox.token))
    statuses += use(AkSkAuth(roma_sandbox.ak, roma_sandbox.sk, project_id=roma_sandbox.project_id))
    statuses += use(password_auth)
    roma_sandbox.expire_tokens()
    statuses += use(password_auth)  # a 0307, a second login, the call re-sent
    with RomaClient(
        roma_sandbox.url, project_id=roma_sandbox.project_id, auth=password_auth
    ) as client:
        assert client.list_instances()
        shown.extend([repr(client), str(client)])
    assert statuses == [200] * 8
    assert len(roma_sandbox.logins) == 2

    assert use(AkSkAuth(roma_sandbox.ak, "W" * 40)) == [401, 401]
    wrong = PasswordAuth(
        user.name, "Wrong-Password-123", user.domain, project_id="p", iam_endpoint=roma_sandbox.url
    )
    with pytest.raises(RomaError) as login_failure:
        use(wrong)
    errors.append(login_failure.value)
    env = {
        "ROMA_NB_ENDPOINT": roma_sandbox.url,
        "HUAWEICLOUD_SDK_AK": roma_sandbox.ak,
        "HUAWEICLOUD_SDK_SK": roma_sandbox.sk[:20] + "\x01" + roma_sandbox.sk[20:],
        "ROMA_NB_PASSWORD": user.password,
    }
    with pytest.raises(ConfigurationError) as config_failure:
        resolve_settings(env=env, credentials_file="/nonexistent")
    errors.append(config_failure.value)
    settings = resolve_settings(
        env={**roma_sandbox.env, "ROMA_NB_TOKEN": roma_sandbox.token},
        credentials_file="/nonexistent",
    )
    shown.extend([repr(settings), str(settings)])

    secrets = {
        "token": roma_sandbox.token,
        "password": user.password,
        "wrong password": "Wrong-Password-123",
        "AK": roma_sandbox.ak,
        "SK": roma_sandbox.sk,
        "wrong SK": "W" * 40,
    }
    issued = seen.tokens - {roma_sandbox.token}
    assert len(issued) == 2  # both logins' tokens were sent, so both are searched for
    secrets.update({f"issued token {i}": token for i, token in enumerate(sorted(issued))})

    log_text = "\n".join(debug_log.lines)
    texts = {
        "logs": log_text,
        "reprs": "\n".join(shown),
        "exceptions": "\n".join(_exception_text(error) for error in errors),
    }
    leaks = [
        f"{kind} in {where}"
        for kind, secret in secrets.items()
        for where, text in texts.items()
        if secret in text
    ]
    assert leaks == []
    assert "x-subject-token" in log_text.lower()  # the header was logged, with its value removed
    assert "receive_response_headers.complete" in log_text
