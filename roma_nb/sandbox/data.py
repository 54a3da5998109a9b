"""The sandbox's seeded, deterministic world: instances, tasks, monitor info and monitor logs.

Everything is derived from ``seed`` and the time base ``now_ms`` through string-seeded
``random.Random`` instances (stable across processes and Python versions, unlike ``hash()``), one
per instance and one per task's logs. So the same options always give the same ids, names and
numbers, and asking for more tasks on one instance does not change another instance's tasks.

Monitor logs are made on demand per task (``monitoring``, cached by the state): 10,000 tasks
cost nothing until someone asks for their logs.

Shapes follow ``roma-api.md`` §2 and the official SDK's models, every field of each model present
(``null`` where it does not apply), as ``tests/test_sandbox_sdk.py`` checks. Some variety is on
purpose, to keep clients honest: a normal task's ``ext_type`` is ``""`` or ``null``; the task
detail's ``status`` is ``"0"``/``"1"`` for some tasks and the SDK's words ``stop``/``running`` for
others (which of the two the service sends is open).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

__all__ = [
    "DAY_MS",
    "InstanceRow",
    "TaskRow",
    "iso_utc",
    "make_instances",
    "make_project_id",
    "make_tasks",
]

DAY_MS = 86_400_000
HOUR_MS = 3_600_000

_INSTANCE_PRESETS = (
    ("roma-prod-cn-north-4", "RUNNING", "Production data integration", "professional"),
    ("roma-staging", "RUNNING", "Staging copy of production syncs", "basic"),
    ("roma-legacy-dr", "FROZEN", "Disaster-recovery instance, frozen for arrears", "basic"),
)

_DOMAINS = (
    "orders",
    "customers",
    "payments",
    "inventory",
    "shipments",
    "invoices",
    "products",
    "refunds",
    "accounts",
    "ledger",
    "sessions",
    "clicks",
    "reviews",
    "coupons",
    "suppliers",
    "warehouses",
    "employees",
    "tickets",
    "subscriptions",
    "devices",
    "contracts",
    "claims",
    "loyalty",
    "pricing",
    "returns",
    "carts",
    "campaigns",
    "audit",
    "users",
    "branches",
)
_SOURCES = ("mysql", "oracle", "sqlserver", "postgresql", "gaussdb")
_TARGETS = ("dws", "mrs_hive", "kafka", "obs", "gaussdb", "clickhouse")
_APPS = ("app_core_sync", "app_analytics", "app_finance", "app_ops")


def iso_utc(ms: int) -> str:
    """Epoch milliseconds as ``YYYY-MM-DDTHH:MM:SSZ`` (the form the official SDK parses)."""
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hex32(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


def _uuid(rng: random.Random) -> str:
    h = _hex32(rng)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def make_project_id(seed: int) -> str:
    return _hex32(random.Random(f"roma-sandbox/{seed}/project"))


@dataclass(frozen=True, slots=True)
class InstanceRow:
    """One ROMA Connect instance, in the shape of ``GET /v2/{project_id}/instances``."""

    id: str
    name: str
    status: str
    description: str
    flavor_type: str
    project_id: str
    create_time_ms: int
    index: int

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "flavor_id": f"00400-30101-0--{self.index}",
            "flavor_type": self.flavor_type,
            "cpu_arch": "x86_64",
            "vpc_id": "8f7ac0d9-2b4e-4bc7-91a8-6c1f0b3f8e10",
            "subnet_id": "0c1a9f0e-55b1-4d27-9a44-2f62c1b6f001",
            "security_group_id": "1d2b7c6e-8f10-4f3a-a2b7-52b7c0c2aa11",
            "publicip_enable": self.index == 0,
            "publicip_id": "5a9c3e1b-7d24-4f6e-9b1a-0c8e2f4d6a10" if self.index == 0 else None,
            "publicip_address": "203.0.113.10" if self.index == 0 else None,
            "status": self.status,
            "error_code": None,
            "error_msg": None,
            "charge_type": "postPaid",
            "project_id": self.project_id,
            "create_time": iso_utc(self.create_time_ms),
            "update_time": iso_utc(self.create_time_ms + 7 * DAY_MS),
            "maintain_begin": "22:00:00",
            "maintain_end": "02:00:00",
            "available_zone_ids": ["cn-north-4a"],
            "enterprise_project_id": "0",
        }


def make_instances(seed: int, count: int, project_id: str, now_ms: int) -> list[InstanceRow]:
    rng = random.Random(f"roma-sandbox/{seed}/instances")
    rows = []
    for index in range(count):
        if index < len(_INSTANCE_PRESETS):
            name, status, description, flavor = _INSTANCE_PRESETS[index]
        else:
            name, status, description, flavor = (
                f"roma-instance-{index + 1:02d}",
                "RUNNING",
                "Generated instance",
                "basic",
            )
        rows.append(
            InstanceRow(
                id=_uuid(rng),
                name=name,
                status=status,
                description=description,
                flavor_type=flavor,
                project_id=project_id,
                create_time_ms=now_ms - rng.randrange(200, 900) * DAY_MS,
                index=index,
            )
        )
    return rows


@dataclass(slots=True)
class TaskRow:
    """One FDI task. Its state (``status``, ``execute_status``, ``position``,
    ``last_execute_ms``) is changed by the lifecycle (``lifecycle``), under the state's lock."""

    instance_id: str
    task_id: str
    task_name: str
    task_type: str  # REALTIME | TIMING
    ext_type: str | None  # "CDC" for a combined task; "" or None otherwise
    status: int  # 0 stopped, 1 running
    execute_status: str
    created_ms: int
    last_modified_ms: int
    last_execute_ms: int
    position: str
    source_app_id: str
    target_app_id: str
    source_app_name: str
    target_app_name: str
    source_kind: str
    target_kind: str
    source_datasource_id: str
    target_datasource_id: str
    task_tag: str
    version: str
    words_in_detail: bool
    order: int

    @property
    def combined(self) -> bool:
        return self.ext_type == "CDC"

    def to_list_entity(self) -> dict[str, Any]:
        """The ``ListTasks`` entity."""
        return {
            "task_id": self.task_id,
            "task_name": self.task_name,
            "task_type": self.task_type,
            "status": self.status,
            "created_date": iso_utc(self.created_ms),
            "version": self.version,
            "last_modified_time": self.last_modified_ms,
            "execute_status": self.execute_status,
            "source_app_id": self.source_app_id,
            "target_app_id": self.target_app_id,
            "source_instance_id": self.instance_id,
            "target_instance_id": self.instance_id,
            "ext_type": self.ext_type,
            "enterprise_project_id": "0",
            "task_tag": self.task_tag,
        }

    def to_monitor_entity(self) -> dict[str, Any]:
        """The ``ListMonitorInfos`` entity. Scheduling fields are null where the SDK says the
        attribute does not exist: all of them for a REALTIME task, ``cron`` without Quartz,
        ``period`` / ``dispatch_interval`` with it; ``ext_type`` is CDC or null."""
        timing = self.task_type == "TIMING"
        quartz = timing and self.order % 3 == 0
        return {
            "task_id": self.task_id,
            "task_name": self.task_name,
            "task_type": self.task_type,
            "status": self.status,
            "last_execute_time": self.last_execute_ms,
            "use_quartz_cron": quartz if timing else None,
            "cron": "0 0 2 * * ?" if quartz else None,
            "period": "DAY" if timing and not quartz else None,
            "dispatch_interval": 1 if timing and not quartz else None,
            "position": self.position,
            "execute_status": self.execute_status,
            "source_app_id": self.source_app_id,
            "source_app_name": self.source_app_name,
            "source_instance_id": self.instance_id,
            "target_app_id": self.target_app_id,
            "target_app_name": self.target_app_name,
            "target_instance_id": self.instance_id,
            "ext_type": "CDC" if self.combined else None,
            "enterprise_project_id": "0",
            "task_tag": self.task_tag,
        }

    def to_detail(self, project_id: str) -> dict[str, Any]:
        """The ``ShowTask`` body: ``task`` plus ``task_detail`` as a JSON *string*."""
        if self.words_in_detail:
            status: str = "running" if self.status == 1 else "stop"
        else:
            status = str(self.status)
        detail = {
            "task_name": self.task_name,
            "task_type": self.task_type,
            "ext_type": self.ext_type,
            "source_datasource": {"id": self.source_datasource_id, "type": self.source_kind},
            "target_datasource": {"id": self.target_datasource_id, "type": self.target_kind},
            "mapping": [{"source": "*", "target": "*"}],
        }
        return {
            "task": {
                "task_id": self.task_id,
                "task_name": self.task_name,
                "task_type": self.task_type,
                "status": status,
                "project_id": project_id,
                "source_datasource_id": self.source_datasource_id,
                "target_datasource_id": self.target_datasource_id,
                "source_datasource_name": f"{self.source_kind}_source",
                "target_datasource_name": f"{self.target_kind}_target",
                "source_app_id": self.source_app_id,
                "target_app_id": self.target_app_id,
                "source_app_name": self.source_app_name,
                "target_app_name": self.target_app_name,
                "created_date": self.created_ms,
                "last_modified_date": self.last_modified_ms,
                "description": f"Sandbox task {self.task_name}",
                "task_tag": self.task_tag,
            },
            "task_detail": json.dumps(detail, separators=(",", ":")),
        }


def _task_name(rng: random.Random, used: set[str]) -> tuple[str, str, str]:
    """A readable unique name like ``orders_mysql_to_dws``, and its source and target kinds."""
    source, target = rng.choice(_SOURCES), rng.choice(_TARGETS)
    base = f"{rng.choice(_DOMAINS)}_{source}_to_{target}"
    name, n = base, 1
    while name in used:
        n += 1
        name = f"{base}_{n:02d}"
    used.add(name)
    return name, source, target


def make_tasks(seed: int, instance: InstanceRow, count: int, now_ms: int) -> list[TaskRow]:
    """``count`` tasks for ``instance``: about 40 % combined (CDC, REALTIME), the rest normal."""
    rng = random.Random(f"roma-sandbox/{seed}/tasks/{instance.id}")
    used: set[str] = set()
    apps = [(name, _uuid(rng)) for name in _APPS]
    rows = []
    for order in range(count):
        name, source_kind, target_kind = _task_name(rng, used)
        combined = rng.random() < 0.4
        if combined:
            task_type = "REALTIME"
            ext_type: str | None = "CDC"
            status = 1 if rng.random() < 0.75 else 0
            if status == 1:
                execute_status = "ERROR" if rng.random() < 0.15 else "RUNNING"
            else:
                execute_status = rng.choice(("UNSTARTED", "CANCELLED", "ERROR"))
        else:
            task_type = "TIMING" if rng.random() < 0.7 else "REALTIME"
            ext_type = rng.choice(("", None))
            status = 1 if rng.random() < 0.6 else 0
            if task_type == "TIMING":
                execute_status = rng.choice(("SUCCESS", "SUCCESS", "WAITING", "ERROR"))
            else:
                execute_status = "RUNNING" if status == 1 else "UNSTARTED"
        if ext_type is None:
            rng.random()  # a draw once used for a missing ext_type key: keeps the world as it was
        created = now_ms - rng.randrange(2 * DAY_MS, 400 * DAY_MS)
        modified = min(now_ms, created + rng.randrange(0, 30 * DAY_MS))
        last_exec = now_ms - rng.randrange(60_000, 2 * DAY_MS)
        (src_name, src_app), (dst_name, dst_app) = rng.choice(apps), rng.choice(apps)
        position = "ADAPTER" if execute_status in ("UNSTARTED", "WAITING") else "WRITER"
        if execute_status in ("RUNNING", "CANCELLED"):
            position = "READER"  # where the newest execution is (reading) or was cancelled
        if execute_status == "ERROR":
            position = rng.choice(("READER", "WRITER", "ADAPTER"))
        rows.append(
            TaskRow(
                instance_id=instance.id,
                task_id=_hex32(rng),
                task_name=name,
                task_type=task_type,
                ext_type=ext_type,
                status=status,
                execute_status=execute_status,
                created_ms=created,
                last_modified_ms=modified,
                last_execute_ms=last_exec,
                position=position,
                source_app_id=src_app,
                target_app_id=dst_app,
                source_app_name=src_name,
                target_app_name=dst_name,
                source_kind=source_kind,
                target_kind=target_kind,
                source_datasource_id=_hex32(rng),
                target_datasource_id=_hex32(rng),
                task_tag=rng.choice(("", "", "core", "finance", "nightly")),
                version=str(rng.randrange(1, 12)),
                words_in_detail=rng.random() < 0.5,
                order=order,
            )
        )
    return rows
