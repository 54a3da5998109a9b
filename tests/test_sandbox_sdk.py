"""The official Huawei Cloud SDK against the sandbox: its models parse our answers, its signer
agrees with our verifier, and a wrong secret key is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from roma_nb.sandbox import Sandbox

pytestmark = pytest.mark.sdk


def _sdk_client(sandbox: Sandbox, *, sk: str | None = None) -> Any:
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkroma.v2 import RomaClient

    credentials = BasicCredentials(sandbox.ak, sk or sandbox.sk, sandbox.project_id)
    return RomaClient.new_builder().with_credentials(credentials).with_endpoint(sandbox.url).build()


def test_sdk_reset_list_tasks_and_instances(roma_sandbox: Sandbox, isolated_home: Path) -> None:
    from huaweicloudsdkroma.v2 import (
        CheckRomaInstanceListV2Request,
        ListTasksRequest,
        MultiTaskResetBody,
        ResetMultiTaskOffsetRequest,
    )

    client = _sdk_client(roma_sandbox)
    instance_id = roma_sandbox.state.instances[0].id
    task_id = roma_sandbox.state.combined_tasks(instance_id)[0].task_id

    instances = client.check_roma_instance_list_v2(
        CheckRomaInstanceListV2Request(limit=10, offset=0)
    )
    assert instances.total == 3
    assert instances.instances[0].id == instance_id

    # "a b/c"-style values exercise the query canonicalisation on both sides.
    tasks = client.list_tasks(
        ListTasksRequest(instance_id=instance_id, limit=20, offset=0, name="_to_")
    )
    assert tasks.total == 250
    assert len(tasks.entities) == 20
    assert {e.ext_type for e in tasks.entities} <= {"CDC", "", None}
    spaced = client.list_tasks(ListTasksRequest(instance_id=instance_id, name="a b/c~d"))
    assert spaced.total == 0

    reset = client.reset_multi_task_offset(
        ResetMultiTaskOffsetRequest(
            instance_id=instance_id,
            task_id=task_id,
            body=MultiTaskResetBody(date_from=1630052714000),
        )
    )
    assert reset.message == "Reset Success"
    [record] = roma_sandbox.resets
    assert (record.task_id, record.date_from) == (task_id, 1630052714000)
    [call] = [c for c in roma_sandbox.calls if c.method == "POST"]
    authorization = call.header("authorization") or ""
    assert authorization.startswith(f"SDK-HMAC-SHA256 Access={roma_sandbox.ak}, SignedHeaders=")
    assert call.header("x-project-id") == roma_sandbox.project_id


def test_sdk_with_a_wrong_secret_key_is_refused(roma_sandbox: Sandbox, isolated_home: Path) -> None:
    from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
    from huaweicloudsdkroma.v2 import CheckRomaInstanceListV2Request

    client = _sdk_client(roma_sandbox, sk="x" * 40)
    with pytest.raises(ClientRequestException) as caught:
        client.check_roma_instance_list_v2(CheckRomaInstanceListV2Request())
    assert caught.value.status_code == 401
    assert caught.value.error_code == "APIGW.0301"
    assert "signature" in caught.value.error_msg
