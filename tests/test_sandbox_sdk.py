"""The official Huawei Cloud SDK as a client of the sandbox: its models must parse our answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from roma_nb.sandbox import Sandbox

pytestmark = pytest.mark.sdk

AK = "HPUAEXAMPLEAK0000000"
SK = "exampleSecretKey0000000000000000000000000"


def _sdk_client(sandbox: Sandbox, ak: str = AK, sk: str = SK) -> object:
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkroma.v2 import RomaClient

    credentials = BasicCredentials(ak, sk, sandbox.project_id)
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

    instances = client.check_roma_instance_list_v2(  # type: ignore[attr-defined]
        CheckRomaInstanceListV2Request(limit=10, offset=0)
    )
    assert instances.total == 3
    assert instances.instances[0].id == instance_id

    tasks = client.list_tasks(  # type: ignore[attr-defined]
        ListTasksRequest(instance_id=instance_id, limit=20, offset=0, name="_to_")
    )
    assert tasks.total == 250
    assert len(tasks.entities) == 20
    assert {e.ext_type for e in tasks.entities} <= {"CDC", "", None}

    reset = client.reset_multi_task_offset(  # type: ignore[attr-defined]
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
    assert authorization.startswith(f"SDK-HMAC-SHA256 Access={AK}, SignedHeaders=")
    assert call.header("x-project-id") == roma_sandbox.project_id
    assert (isolated_home / ".huaweicloud").is_dir()
