"""The gateway locks an AK after 5 bad signatures (roma-api.md §4.6); the sandbox does too."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from roma_nb.auth import AkSkAuth

Sandbox = Any


def instances(sandbox: Sandbox, sk: str) -> httpx.Response:
    auth = AkSkAuth(sandbox.ak, sk, project_id=sandbox.project_id)
    with httpx.Client(base_url=sandbox.url, auth=auth) as http:
        return http.get(f"/v2/{sandbox.project_id}/instances")


def test_five_bad_signatures_lock_the_key_even_for_good_ones(
    roma_sandbox_factory: Callable[..., Sandbox],
) -> None:
    sandbox = roma_sandbox_factory(ak_lock_after=5, ak_lock_s=60)
    wrong = "x" * len(sandbox.sk)
    assert instances(sandbox, sandbox.sk).status_code == 200
    for _ in range(4):
        assert instances(sandbox, wrong).status_code == 401
    assert instances(sandbox, sandbox.sk).status_code == 200  # four are not enough
    assert instances(sandbox, wrong).status_code == 401  # the fifth locks it
    locked = instances(sandbox, sandbox.sk)
    assert locked.status_code == 401
    assert locked.json()["error_code"] == "APIGW.0301"
    assert "locked" in locked.json()["error_msg"]
    sandbox.reset_state()
    assert instances(sandbox, sandbox.sk).status_code == 200


def test_the_lock_ends(roma_sandbox_factory: Callable[..., Sandbox]) -> None:
    sandbox = roma_sandbox_factory(ak_lock_after=1, ak_lock_s=0.3)
    assert instances(sandbox, "x" * len(sandbox.sk)).status_code == 401
    assert instances(sandbox, sandbox.sk).status_code == 401
    time.sleep(0.35)
    assert instances(sandbox, sandbox.sk).status_code == 200
