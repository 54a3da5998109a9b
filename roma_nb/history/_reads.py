"""Reading the history: one SQL builder for frames, plain records and "latest per task".

Frames read ``attempts`` directly (ids only) and look targets and writers up once each, which is
what keeps ``to_frame`` on 100,000 rows close to plain pandas; records read the ``history`` view,
which names everything. "Latest per task" ranks attempts per (instance, task) by ``at`` (then
id), with every filter but ``outcome`` applied before ranking and ``outcome`` after.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._filters import Query
from ._frame import FRAME_SQL, TARGETS_SQL, WRITERS_SQL, frame_from_rows
from ._rows import from_epoch_us
from ._store import Store

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["RECORD_FIELDS", "read_frame", "read_records", "select"]

RECORD_FIELDS: tuple[str, ...] = (
    "id",
    "at_us",
    "instance_id",
    "task_id",
    "task_name",
    "date_from_ms",
    "outcome",
    "status_code",
    "message",
    "error_code",
    "error_msg",
    "request_id",
    "elapsed_ms",
    "attempts",
    "dry_run",
    "project_id",
    "endpoint",
    "actor",
    "completed_at_us",
)


def select(columns: str, source: str, query: Query, *, latest: bool) -> tuple[str, list[Any]]:
    """(SQL, params) reading ``columns`` from ``source`` (``attempts`` or ``history``)."""
    if not latest:
        where, params = query.where()
        return f"SELECT {columns} FROM {source}{where} ORDER BY id", params
    where, params = query.where(with_outcome=False)
    outer, outer_params = query.outcome_clause()
    ranked = (
        "SELECT *, ROW_NUMBER() OVER (PARTITION BY instance_id, task_id "
        f"ORDER BY at_us DESC, id DESC) AS latest_rank FROM history{where}"
    )
    joiner = " AND" if outer else " WHERE"
    sql = f"SELECT {columns} FROM ({ranked}){outer}{joiner} latest_rank = 1 ORDER BY id"
    return sql, params + outer_params


def read_frame(store: Store, query: Query, *, latest: bool) -> pd.DataFrame:
    rows = store.read(*select(FRAME_SQL, "attempts", query, latest=latest))
    # After the rows: targets and writers are only ever added, so every id named is there.
    return frame_from_rows(rows, store.read(TARGETS_SQL), store.read(WRITERS_SQL))


def read_records(store: Store, query: Query, *, latest: bool) -> list[dict[str, Any]]:
    """Plain dicts in ``COLUMNS`` order, minus ``date_from`` (only the exact ``date_from_ms``)."""
    records = []
    for row in store.read(*select(", ".join(RECORD_FIELDS), "history", query, latest=latest)):
        raw = dict(zip(RECORD_FIELDS, row, strict=True))
        record = {"id": raw["id"], "at": from_epoch_us(raw["at_us"])}
        record.update((name, raw[name]) for name in RECORD_FIELDS[2:-1])
        record["dry_run"] = bool(raw["dry_run"])
        record["completed_at"] = from_epoch_us(raw["completed_at_us"])
        records.append(record)
    return records
