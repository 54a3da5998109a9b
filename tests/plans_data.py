"""Plans and records for the ``test_plans_*`` files: one realistic plan, and a strategy for any."""

from __future__ import annotations

from hypothesis import strategies as st

from roma_nb.dates import MAX_MS, SECONDS_LIKE
from roma_nb.models import Task
from roma_nb.plans import (
    DateFrom,
    Environment,
    Plan,
    PlannedTask,
    Position,
    Procedure,
    build_plan,
)

H = 3_600_000
M = 60_000
NOW = 1_710_072_000_000  # 2024-03-10T12:00:00Z
SANDBOX = Environment("SANDBOX", "SANDBOX", "p1")
INSTANCE = "inst-1"


def task(
    task_id: str,
    name: str = "",
    *,
    status: int | None = 1,
    execute_status: str | None = "RUNNING",
    ext_type: str | None = "CDC",
    instance_id: str | None = INSTANCE,
) -> Task:
    return Task(
        task_id=task_id,
        task_name=name or f"name-{task_id}",
        instance_id=instance_id,
        status=status,
        execute_status=execute_status,
        ext_type=ext_type,
    )


def sample_plan(**changes: object) -> Plan:
    """Two running combined tasks, 2 h ago from NOW, one replaying 6 h 12 min."""
    options: dict[str, object] = {
        "environment": SANDBOX,
        "instance_id": INSTANCE,
        "instance_name": "roma-prod",
        "tasks": [task("t1", "orders"), task("t2", "customers", status=0, execute_status=None)],
        "date_from": DateFrom(NOW - 2 * H, "Europe/Paris", "2h ago"),
        "now_ms": NOW,
        "positions": {
            "t1": Position("monitor-log", NOW - 2 * H + (6 * H + 12 * M)),
            "t2": Position("last-execute-time", NOW - 2 * H),
        },
        "planner": "alice",
    }
    options.update(changes)
    return build_plan(**options)  # type: ignore[arg-type]


# --- any plan --------------------------------------------------------------------------------

_REAL = st.integers(min_value=SECONDS_LIKE.stop, max_value=MAX_MS - 400 * 86_400_000)
ids = st.text(
    st.characters(categories=("L", "M", "N", "P", "S", "Z")), min_size=1, max_size=64
).filter(lambda s: s == s.strip() and s not in (".", ".."))
texts = st.text(max_size=40)  # any text but lone surrogates, control characters too
zones = st.sampled_from(["UTC", "Europe/Paris", "America/New_York", "Australia/Lord_Howe"])
environments = st.builds(
    Environment,
    label=st.sampled_from(["SANDBOX", "roma.example.com / project p", "生产"]),
    endpoint=st.sampled_from(["SANDBOX", "https://roma.example.com", "http://127.0.0.1:8080"]),
    project_id=ids,
)
positions = st.one_of(
    st.just(Position()),
    st.builds(Position, st.sampled_from(["monitor-log", "last-execute-time"]), _REAL),
)
procedures = st.one_of(
    st.builds(
        Procedure.rewind,
        restart=st.sampled_from(["as_before", "always", "never"]),
        verify=st.booleans(),
        allow_forward=st.booleans(),
    ),
    st.builds(Procedure.reset, allow_forward=st.booleans()),
)


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    task_ids = draw(st.lists(ids, min_size=1, max_size=4, unique=True))
    created = draw(_REAL)
    return Plan(
        environment=draw(environments),
        instance_id=draw(ids),
        instance_name=draw(texts),
        tasks=tuple(
            PlannedTask(
                id=task_id,
                name=draw(texts),
                status=draw(st.sampled_from(["running", "stopped", "unknown"])),
                execute_status=draw(st.none() | texts),
                position=draw(positions),
            )
            for task_id in task_ids
        ),
        date_from=DateFrom(draw(st.none() | _REAL), draw(zones), draw(st.none() | texts)),
        procedure=draw(procedures),
        planner=draw(texts),
        created_ms=created,
        expires_ms=created + draw(st.integers(1, 365 * 86_400_000)),
        retention_ms=draw(st.integers(1, 30 * 86_400_000)),
        warnings=tuple(draw(st.lists(texts, max_size=3))),
    )
