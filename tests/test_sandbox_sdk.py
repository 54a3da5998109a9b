"""The official Huawei Cloud SDK (3.1.219) against the sandbox over a real socket: its signer
agrees with our verifier, and every operation the project touches answers what the SDK models.

``Oracle`` compares each SDK response model (``to_dict()`` and the attributes behind it) with the
raw JSON the sandbox sent: no key the SDK lacks, no SDK key missing, each value of the JSON type
the model declares, and every code or enum value inside the set the SDK *documents* — the sets are
read from the model classes' docstrings (``DOCUMENTED``), never from our own constants.
"""

from __future__ import annotations

import datetime
import json
import re
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from roma_nb.sandbox import Sandbox
from roma_nb.sandbox.data import DAY_MS, TaskRow

pytestmark = pytest.mark.sdk


def _sdk_client(sandbox: Sandbox, *, sk: str | None = None) -> Any:
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkroma.v2 import RomaClient

    credentials = BasicCredentials(sandbox.ak, sk or sandbox.sk, sandbox.project_id)
    return RomaClient.new_builder().with_credentials(credentials).with_endpoint(sandbox.url).build()


# -- the documented sets, read from the SDK ----------------------------------------------------


def _doc(model: str, attr: str) -> str:
    from huaweicloudsdkroma.v2 import model as models

    text: str = getattr(getattr(models, model), attr).fget.__doc__
    return text.split(":return:", maxsplit=1)[0]


def _found(model: str, attr: str, pattern: str, cast: Callable[[str], Any] = str) -> set[Any]:
    values = {cast(v) for v in re.findall(pattern, _doc(model, attr))}
    assert values, f"the SDK no longer documents {model}.{attr} as expected ({pattern})"
    return values


@dataclass(frozen=True)
class Documented:
    """The values the SDK documents for one attribute, and whether null is documented too."""

    values: frozenset[Any]
    nullable: bool = False
    ignore_case: bool = False

    def allows(self, value: Any) -> bool:
        if value is None:
            return self.nullable
        if self.ignore_case and isinstance(value, str):
            return value.lower() in {str(v).lower() for v in self.values}
        return value in self.values


def _documented() -> dict[tuple[str, str], Documented]:
    dash_words = r"([A-Z][A-Z_]+)-"  # "ADAPTER-任务处于初始化阶段, READER-..."
    bullet_words = r"- ([A-Za-z_]+) \("  # "- REALTIME (实时) - TIMING (定时)"
    codes = _found("TaskMonitorLog", "status", r"(\d+)-", int)
    sets: dict[tuple[str, str], Documented] = {
        ("TaskMonitorLog", "status"): Documented(frozenset(codes)),
        ("TaskMonitorDetailLog", "status"): Documented(
            frozenset(_found("TaskMonitorDetailLog", "status", r"(\d+)-", int))
        ),
        ("TaskMonitorInfo", "status"): Documented(
            frozenset(_found("TaskMonitorInfo", "status", r"(\d)-", int))
        ),
        ("BriefTaskRespBean", "status"): Documented(
            frozenset(_found("BriefTaskRespBean", "status", r"- (\d) \(", int))
        ),
        # "- stop (0停止\\未启动) - running (1运行中)": the words, or the digits they stand for
        ("TaskBasicRsp", "status"): Documented(
            frozenset(
                _found("TaskBasicRsp", "status", bullet_words)
                | _found("TaskBasicRsp", "status", r"\((\d)")
            )
        ),
        # the detail model writes "realtime" where the list and monitor models write REALTIME
        ("TaskBasicRsp", "task_type"): Documented(
            frozenset(_found("TaskBasicRsp", "task_type", bullet_words)), ignore_case=True
        ),
        ("BriefTaskRespBean", "task_type"): Documented(
            frozenset(_found("BriefTaskRespBean", "task_type", bullet_words))
        ),
        ("BriefTaskRespBean", "execute_status"): Documented(
            frozenset(_found("BriefTaskRespBean", "execute_status", bullet_words))
        ),
        ("TaskMonitorInfo", "task_type"): Documented(
            frozenset(_found("TaskMonitorInfo", "task_type", dash_words))
        ),
        ("TaskMonitorInfo", "period"): Documented(
            frozenset(_found("TaskMonitorInfo", "period", dash_words)), nullable=True
        ),
        ("RomaInstanceCheckListRespInstances", "cpu_arch"): Documented(
            frozenset(_found("RomaInstanceCheckListRespInstances", "cpu_arch", r"- (\w+):"))
        ),
    }
    for model in ("TaskMonitorLog", "TaskMonitorDetailLog", "TaskMonitorInfo"):
        for attr in ("position", "position_status", "execute_status"):
            if attr in _openapi_types(model):
                sets[(model, attr)] = Documented(frozenset(_found(model, attr, dash_words)))
    ext_doc = _doc("TaskMonitorInfo", "ext_type")
    assert "CDC" in ext_doc and "null" in ext_doc
    sets[("TaskMonitorInfo", "ext_type")] = Documented(frozenset({"CDC"}), nullable=True)
    return sets


def _openapi_types(model: str) -> dict[str, str]:
    from huaweicloudsdkroma.v2 import model as models

    types: dict[str, str] = getattr(models, model).openapi_types
    return types


def test_the_documented_sets_are_those_of_roma_api_section_2a() -> None:
    """The parse of the SDK's docstrings finds what roma-api.md §2a translated from them."""
    sets = _documented()
    codes = sets[("TaskMonitorLog", "status")].values
    assert {16, 99, 100, 102, 103, 104, 105, 106, 500, 503, 505, 900, 901, 913, 916} <= codes
    assert len(codes) == 35
    assert sets[("TaskMonitorLog", "position_status")].values == {
        "NORMAL", "NODE_END", "RUNTIME_CANCEL", "TASK_END", "RUNTIME_ERR", "INTERNAL_ERR"
    }  # fmt: skip
    assert sets[("TaskMonitorLog", "execute_status")].values == {
        "UNSTARTED", "WAITING", "RUNNING", "SUCCESS", "CANCELLED", "ERROR"
    }  # fmt: skip
    assert sets[("TaskBasicRsp", "status")].values == {"stop", "running", "0", "1"}


# -- the oracle ------------------------------------------------------------------------------

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "bool": (bool,),
    "float": (int, float),
}


class Oracle:
    """Compares SDK models with the raw JSON they were read from; collects scalar values."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], set[Any]] = defaultdict(set)
        self.responses = 0

    def check(self, response: Any) -> Any:
        """The raw JSON of ``response``, after checking the model against it."""
        raw = json.loads(response.raw_content)
        self._compare(response, raw, type(response).__name__)
        self.responses += 1
        return raw

    @staticmethod
    def _to_dict(model: Any) -> dict[str, Any]:
        # Response classes warn that to_dict() is deprecated (for to_json_object(), which only
        # echoes the raw JSON); the models inside them do not. Both still build the SDK's dict.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            as_dict: dict[str, Any] = model.to_dict()
        return as_dict

    def _compare(self, model: Any, raw: Any, where: str) -> None:
        cls = type(model)
        assert isinstance(raw, dict), f"{where}: not an object: {raw!r}"
        keys = {cls.attribute_map[attr]: attr for attr in cls.openapi_types}
        assert set(keys) == set(self._to_dict(model)), f"{where}: JSON names are not SDK names"
        assert not set(raw) - set(keys), f"{where}: keys the SDK lacks: {set(raw) - set(keys)}"
        assert not set(keys) - set(raw), f"{where}: SDK keys missing: {set(keys) - set(raw)}"
        for key, attr in keys.items():
            declared = cls.openapi_types[attr]
            value, sent = getattr(model, attr), raw[key]
            here = f"{where}.{key}"
            if sent is None:
                assert value is None, here
                self.seen[(cls.__name__, attr)].add(None)
            elif declared.startswith("list["):
                assert isinstance(sent, list) and len(value) == len(sent), here
                for index, (item, raw_item) in enumerate(zip(value, sent, strict=True)):
                    self._value(declared[5:-1], item, raw_item, f"{here}[{index}]", cls, attr)
            else:
                self._value(declared, value, sent, here, cls, attr)

    def _value(self, declared: str, value: Any, sent: Any, here: str, cls: type, attr: str) -> None:
        if declared == "date":  # BriefTaskRespBean.created_date: an ISO string parsed to a date
            assert isinstance(sent, str), here
            assert value == datetime.date.fromisoformat(sent[:10]), here
        elif declared in _JSON_TYPES:
            assert isinstance(sent, _JSON_TYPES[declared]), f"{here}: {sent!r} is no {declared}"
            assert declared == "bool" or not isinstance(sent, bool), here
            assert value == sent, here
            self.seen[(cls.__name__, attr)].add(sent)
        else:
            self._compare(value, sent, here)


@pytest.fixture
def oracle() -> Iterator[Oracle]:
    """An oracle whose collected values are checked against the documented sets at the end."""
    found = Oracle()
    yield found
    for (model, attr), documented in _documented().items():
        values = found.seen.get((model, attr))
        if values is None:
            continue
        outside = {v for v in values if not documented.allows(v)}
        assert not outside, f"{model}.{attr}: {outside} are not in the SDK's documented set"


# -- every operation --------------------------------------------------------------------------


def _tasks(sandbox: Sandbox) -> list[TaskRow]:
    return sandbox.state.tasks(sandbox.state.instances[0].id)


def test_instances(roma_sandbox: Sandbox, isolated_home: Path, oracle: Oracle) -> None:
    from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
    from huaweicloudsdkroma.v2 import CheckRomaInstanceListV2Request as Request

    client = _sdk_client(roma_sandbox)
    listed = oracle.check(client.check_roma_instance_list_v2(Request()))
    assert listed["total"] == 3
    first = listed["instances"][0]
    assert (first["publicip_enable"], first["publicip_address"]) == (True, "203.0.113.10")
    assert (first["error_code"], first["error_msg"]) == (None, None)
    running = oracle.check(client.check_roma_instance_list_v2(Request(status="RUNNING")))
    assert {i["status"] for i in running["instances"]} == {"RUNNING"}
    page = oracle.check(client.check_roma_instance_list_v2(Request(offset=1, limit=1)))
    assert [i["id"] for i in page["instances"]] == [listed["instances"][1]["id"]]
    with pytest.raises(ClientRequestException) as refused:
        client.check_roma_instance_list_v2(Request(offset=101))
    assert (refused.value.status_code, refused.value.error_code) == (400, "ROMA.13000")
    assert refused.value.request_id
    assert oracle.seen[("RomaInstanceCheckListRespInstances", "cpu_arch")] == {"x86_64"}


def test_list_tasks_with_each_filter(
    roma_sandbox: Sandbox, isolated_home: Path, oracle: Oracle
) -> None:
    from huaweicloudsdkroma.v2 import ListTasksRequest

    client = _sdk_client(roma_sandbox)
    instance_id = roma_sandbox.state.instances[0].id
    tasks = _tasks(roma_sandbox)
    target = next(t for t in tasks if t.task_tag and t.combined)

    def listed(**filters: Any) -> list[dict[str, Any]]:
        request = ListTasksRequest(instance_id=instance_id, limit=999, offset=0, **filters)
        body = oracle.check(client.list_tasks(request))
        assert body["size"] == len(body["entities"]) == body["total"]
        entities: list[dict[str, Any]] = body["entities"]
        return entities

    assert len(listed()) == 250
    expectations: dict[str, tuple[Any, Callable[[TaskRow], bool]]] = {
        "task_id": (target.task_id, lambda t: t.task_id == target.task_id),
        "name": (target.task_name[:6], lambda t: target.task_name[:6] in t.task_name),
        "status": (0, lambda t: t.status == 0),
        "task_type": ("realtime", lambda t: t.task_type == "REALTIME"),
        "source_datasource_id": (
            target.source_datasource_id,
            lambda t: t.source_datasource_id == target.source_datasource_id,
        ),
        "target_datasource_id": (
            target.target_datasource_id,
            lambda t: t.target_datasource_id == target.target_datasource_id,
        ),
        "execute_status": ("ERROR", lambda t: t.execute_status == "ERROR"),
        "source_app_id": (target.source_app_id, lambda t: t.source_app_id == target.source_app_id),
        "target_app_id": (target.target_app_id, lambda t: t.target_app_id == target.target_app_id),
        "task_tag": (target.task_tag, lambda t: t.task_tag == target.task_tag),
    }
    for name, (value, wanted) in expectations.items():
        found = {e["task_id"] for e in listed(**{name: value})}
        assert found == {t.task_id for t in tasks if wanted(t)}, name
        assert found, name
    by_status = listed(sort_field="STATUS", sort_type="ASC")
    assert [e["status"] for e in by_status] == sorted(e["status"] for e in by_status)
    assert {e["ext_type"] for e in listed()} == {"CDC", "", None}


def test_show_task_is_a_task_basic_rsp_and_count_tasks(
    roma_sandbox: Sandbox, isolated_home: Path, oracle: Oracle
) -> None:
    from huaweicloudsdkroma.v2 import CountTasksRequest, ShowTaskRequest

    client = _sdk_client(roma_sandbox)
    instance_id = roma_sandbox.state.instances[0].id
    combined = roma_sandbox.state.combined_tasks(instance_id)
    styles = set()
    for task in [next(t for t in combined if t.words_in_detail), combined[0], combined[1]]:
        body = oracle.check(client.show_task(ShowTaskRequest(instance_id, task.task_id)))
        assert "ext_type" not in body["task"]
        assert body["task"]["last_modified_date"] == task.last_modified_ms
        assert json.loads(body["task_detail"])["task_name"] == task.task_name
        styles.add(body["task"]["status"])
    assert styles & {"stop", "running"} and styles & {"0", "1"}
    counts = oracle.check(client.count_tasks(CountTasksRequest(instance_id)))
    cdc = counts["cdc_task_details"]
    assert cdc["abnormal_tasks_count"] == sum(t.execute_status == "ERROR" for t in combined)


def test_monitor_infos_and_logs(roma_sandbox: Sandbox, isolated_home: Path, oracle: Oracle) -> None:
    from huaweicloudsdkroma.v2 import ListMonitorInfosRequest, ListMonitorLogRequest

    client = _sdk_client(roma_sandbox)
    instance_id = roma_sandbox.state.instances[0].id
    tasks = _tasks(roma_sandbox)
    infos = oracle.check(
        client.list_monitor_infos(ListMonitorInfosRequest(instance_id, offset=1, limit=999))
    )
    assert infos["total"] == len(infos["entities"]) == 250
    from_zero = oracle.check(
        client.list_monitor_infos(ListMonitorInfosRequest(instance_id, offset=0, limit=3))
    )
    assert [e["task_id"] for e in from_zero["entities"]] == [t.task_id for t in tasks[:3]]
    errors = oracle.check(
        client.list_monitor_infos(
            ListMonitorInfosRequest(instance_id, limit=999, execute_status="ERROR")
        )
    )
    assert {e["execute_status"] for e in errors["entities"]} == {"ERROR"}
    named = oracle.check(
        client.list_monitor_infos(
            ListMonitorInfosRequest(instance_id, limit=999, task_name=tasks[0].task_name)
        )
    )
    assert tasks[0].task_id in {e["task_id"] for e in named["entities"]}
    for task in tasks[:60]:
        oracle.check(
            client.list_monitor_log(
                ListMonitorLogRequest(instance_id, task.task_id, offset=1, limit=999)
            )
        )
    seen_codes = oracle.seen[("TaskMonitorLog", "status")]
    assert {102, 103, 503, 901, 913} <= seen_codes
    assert {900, 100, 104, 500, 504} <= oracle.seen[("TaskMonitorDetailLog", "status")]
    assert oracle.seen[("TaskMonitorInfo", "ext_type")] == {"CDC", None}
    monitoring = ("TaskMonitorLog", "TaskMonitorDetailLog", "TaskMonitorInfo")
    for model, attr in _documented():
        if model in monitoring:
            assert oracle.seen[(model, attr)] - {None}, f"{model}.{attr} was never exercised"


def test_start_stop_reset_run_and_terminate(
    roma_sandbox: Sandbox, isolated_home: Path, oracle: Oracle
) -> None:
    from huaweicloudsdkroma.v2 import (
        BatchStartOrStopTasksRequest,
        ListMonitorLogRequest,
        MultiTaskResetBody,
        OperateTasksBean,
        ResetMultiTaskOffsetRequest,
        RunTaskRequest,
        StopTaskRequest,
        TaskBean,
    )

    client = _sdk_client(roma_sandbox)
    instance_id = roma_sandbox.state.instances[0].id
    combined = [
        t for t in roma_sandbox.state.combined_tasks(instance_id) if t.execute_status == "RUNNING"
    ]
    fresh, stale, faulty = combined[:3]

    def batch(action: str, *task_ids: str) -> dict[str, Any]:
        body = OperateTasksBean(action_id=action, list=[TaskBean(task_id=t) for t in task_ids])
        raw: dict[str, Any] = oracle.check(
            client.batch_start_or_stop_tasks(BatchStartOrStopTasksRequest(instance_id, body))
        )
        return raw

    def reset(task: TaskRow, date_from: int) -> None:
        body = MultiTaskResetBody(date_from=date_from)
        request = ResetMultiTaskOffsetRequest(instance_id, task.task_id, body)
        assert oracle.check(client.reset_multi_task_offset(request)) == {"message": "Reset Success"}

    def newest_log(task: TaskRow) -> dict[str, Any]:
        request = ListMonitorLogRequest(instance_id, task.task_id, limit=1)
        logs: dict[str, Any] = oracle.check(client.list_monitor_log(request))
        return dict(logs["entities"][0])

    roma_sandbox.inject("stop_fails", match=faulty.task_id)
    stopped = batch("stop", fresh.task_id, stale.task_id, faulty.task_id, "f" * 32)
    assert [f["error_code"] for f in stopped["failure"]] == ["FDI.3019", "FDI.3021"]
    now = roma_sandbox.state.now()
    reset(fresh, now - 3_600_000)
    reset(stale, now - 3 * DAY_MS)
    started = batch("start", fresh.task_id, stale.task_id, faulty.task_id)
    assert [f["error_code"] for f in started["failure"]] == ["FDI.3023"]
    reading, failed = newest_log(fresh), newest_log(stale)
    assert (reading["status"], reading["position_status"], reading["end_time"]) == (
        102,
        "NORMAL",
        None,
    )
    assert [s["status"] for s in reading["detail_logs"]] == [99, 100, 102, 500, 502]
    assert (failed["status"], failed["position_status"], failed["execute_status"]) == (
        103,
        "RUNTIME_ERR",
        "ERROR",
    )

    terminated = oracle.check(client.stop_task(StopTaskRequest(instance_id, fresh.task_id)))
    assert terminated == {"message": "Stop Success"}
    assert newest_log(fresh)["status"] == 106
    assert oracle.check(client.run_task(RunTaskRequest(instance_id, fresh.task_id))) == {}
    assert newest_log(fresh)["status"] == 901
    assert oracle.responses == 10


def test_a_late_stop_answers_in_the_sdks_shapes(
    roma_sandbox: Sandbox, isolated_home: Path, oracle: Oracle
) -> None:
    """The ``late_stopping`` fault, read through the SDK's models: the stop is accepted (in
    ``success``) while the task still lists running; the next start is refused in ``failure``
    with FDI.3023 (the task runs); then the late stop lands and the task lists stopped."""
    from huaweicloudsdkroma.v2 import (
        BatchStartOrStopTasksRequest,
        ListTasksRequest,
        OperateTasksBean,
        TaskBean,
    )

    client = _sdk_client(roma_sandbox)
    instance_id = roma_sandbox.state.instances[0].id
    task = next(t for t in roma_sandbox.state.combined_tasks(instance_id) if t.status == 1)
    roma_sandbox.inject("late_stopping", match=task.task_id)

    def act(action: str) -> dict[str, Any]:
        body = OperateTasksBean(action_id=action, list=[TaskBean(task_id=task.task_id)])
        request = BatchStartOrStopTasksRequest(instance_id, body)
        answer: dict[str, Any] = oracle.check(client.batch_start_or_stop_tasks(request))
        return answer

    def status() -> int:
        request = ListTasksRequest(instance_id=instance_id, task_id=task.task_id)
        [entity] = oracle.check(client.list_tasks(request))["entities"]
        found: int = entity["status"]
        return found

    stopped = act("stop")
    assert (stopped["success_count"], stopped["failure_count"]) == (1, 0)
    assert status() == 1  # accepted, not landed
    started = act("start")
    assert (started["success_count"], started["failure_count"]) == (0, 1)
    assert [(f["task_id"], f["error_code"]) for f in started["failure"]] == [
        (task.task_id, "FDI.3023")
    ]
    assert status() == 0  # the late stop landed after the start was refused
    assert oracle.responses == 4


# -- signing (the SDK as a client of our gateway) -----------------------------------------------


def test_sdk_reset_list_tasks_and_instances(roma_sandbox: Sandbox, isolated_home: Path) -> None:
    from huaweicloudsdkroma.v2 import (
        CheckRomaInstanceListV2Request,
        ListTasksRequest,
        MultiTaskResetBody,
        ResetMultiTaskOffsetRequest,
    )

    client = _sdk_client(roma_sandbox)
    instance_id = roma_sandbox.state.instances[0].id
    task_id = next(  # a stopped task: the sandbox refuses to reset a running one
        t for t in roma_sandbox.state.combined_tasks(instance_id) if t.status == 0
    ).task_id

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
