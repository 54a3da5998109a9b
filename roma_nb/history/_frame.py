"""Rows as SQLite gives them, shaped into a DataFrame (or plain records), column by column.

Each column's ``kind`` (``_columns.SCHEMA``) decides its dtype and how its raw values — what SQLite
stores: integers, text, 0/1, category codes — become an array. The SQL reader and the CSV reader
both hand this module raw values, so a frame has the same dtypes whichever way it came in.
pandas is imported inside the functions, never at module import, so ``import roma_nb`` stays light.

``date_from_ms`` is the truth: every int64 round-trips exactly (the API accepts up to 2**63-1).
``date_from`` shows it as a time when it falls in years 1..9999, and is ``NaT`` beyond: pandas
could hold later instants in millisecond resolution, but such a ``Timestamp`` cannot be printed,
formatted or turned into a ``datetime``, which would make a harmless look at a bad row raise.
Times carry ``datetime.timezone.utc``, an object, never a zone name: given a name, pandas 2 looks
it up in pytz and pandas 3 in zoneinfo. To show them in a zone, ``tz_convert(ZoneInfo(name))``
gives the wall times ``roma_nb.dates`` computes, whatever the pandas version. Strings use the
``string`` dtype with Python storage so the frame's dtypes are the same whether or not pyarrow is
installed.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from datetime import timezone
from typing import TYPE_CHECKING, Any

from ._columns import OUTCOME_CATEGORIES, SCHEMA, Column, Kind
from ._filters import from_epoch_us
from ._sql import READ, TARGET_COLUMNS, WRITER_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "column_dtypes",
    "empty_frame",
    "frame_from_raw",
    "frame_from_rows",
    "object_array",
    "records_from_rows",
]

_NAT = -(2**63)  # numpy's NaT as int64
_MIN_DATETIME_MS = -62_135_596_800_000  # 0001-01-01T00:00:00Z
_MAX_DATETIME_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z


def _dtype(kind: Kind) -> Any:
    import pandas as pd

    if kind in ("id", "int"):
        return pd.Int64Dtype()
    if kind == "text":
        return pd.StringDtype("python")
    if kind == "time":
        return pd.DatetimeTZDtype("us", timezone.utc)
    if kind == "instant":
        return pd.DatetimeTZDtype("ms", timezone.utc)
    if kind == "outcome":
        return pd.CategoricalDtype(list(OUTCOME_CATEGORIES))
    if kind == "ms":
        return pd.Float64Dtype()
    return pd.BooleanDtype()


def column_dtypes() -> dict[str, Any]:
    """Column name → dtype, as ``to_frame`` produces them."""
    return {column.name: _dtype(column.kind) for column in SCHEMA}


def object_array(values: Sequence[Any]) -> Any:
    """A 1-D numpy object array holding ``values`` as they are (None stays None)."""
    import numpy as np

    array = np.empty(len(values), dtype=object)
    array[:] = list(values)
    return array


def _int64_values(column: Any, nullable: bool) -> tuple[Any, Any]:
    """(int64 values, missing mask) from an object column; missing values hold NaT's integer,
    so the same values serve an ``Int64`` column (masked) and a datetime column (NaT).
    """
    import numpy as np
    import pandas as pd

    if not nullable:  # what SQLite guarantees: no need to look for NULLs
        return column.astype(np.int64), np.zeros(len(column), dtype=bool)
    mask = pd.isna(column)  # SQLite's NULL is None; it never returns NaN
    if mask.any():
        return np.where(mask, _NAT, column).astype(np.int64), mask
    return column.astype(np.int64), mask


def _times(values: Any, unit: str) -> Any:
    """Integer epoch values (masked ones hold NaT) → tz-aware UTC datetimes."""
    import pandas as pd

    return pd.DatetimeIndex(values.view(f"datetime64[{unit}]")).tz_localize(timezone.utc).array


def _shaped(kind: Kind, raw: Any, nullable: bool) -> Any:
    """The array of a stored column of ``kind`` from its raw values (a numpy object array)."""
    import numpy as np
    import pandas as pd

    if kind == "text":
        return pd.array(np.ascontiguousarray(raw), dtype=pd.StringDtype("python"))
    if kind == "outcome":  # category codes, -1 for text that is not an outcome
        return pd.Categorical.from_codes(raw.astype(np.int8), dtype=_dtype(kind))
    if kind == "ms":
        mask = pd.isna(raw)
        return pd.arrays.FloatingArray(np.where(mask, 0.0, raw).astype(np.float64), mask)
    if kind == "flag":
        mask = pd.isna(raw) if nullable else np.zeros(len(raw), dtype=bool)
        return pd.arrays.BooleanArray(np.where(mask, False, raw).astype(bool), mask)
    values, mask = _int64_values(raw, nullable)
    if kind == "time":
        return _times(values, "us")
    return pd.arrays.IntegerArray(values, mask)


def _instants(milliseconds: Any) -> Any:
    """Times shown from an exact ``Int64`` epoch-ms array: NaT outside years 1..9999."""
    import numpy as np

    values = milliseconds.to_numpy(dtype=np.int64, na_value=_NAT)
    outside = (values < _MIN_DATETIME_MS) | (values > _MAX_DATETIME_MS)
    return _times(np.where(outside, _NAT, values), "ms")


def frame_from_raw(
    raw: Mapping[str, Any],
    looked_up: Mapping[str, Any] | None = None,
    *,
    from_sqlite: bool = False,
) -> pd.DataFrame:
    """A frame with every column of ``SCHEMA``: ``looked_up`` holds the finished arrays of some
    columns, ``raw`` the raw values of the other stored ones; shown columns come from their
    source. ``from_sqlite``: ``NOT NULL`` columns hold no NULL (a CSV cell may be empty)."""
    import pandas as pd

    done = dict(looked_up or {})
    for c in SCHEMA:
        if c.table is not None and c.name not in done:
            done[c.name] = _shaped(c.kind, raw[c.name], c.nullable or not from_sqlite)
    data = {c.name: done[c.name] if c.table else _instants(done[c.source]) for c in SCHEMA}
    frame: pd.DataFrame = pd.DataFrame(data)
    return frame


def _grid(rows: Sequence[Sequence[Any]]) -> Any:
    """Rows → a 2-D object array without a Python-level transpose (the costly part)."""
    import numpy as np

    width = len(READ)
    if not rows:
        return np.empty((0, width), dtype=object)
    flat = itertools.chain.from_iterable(rows)
    return np.fromiter(flat, dtype=object, count=len(rows) * width).reshape(len(rows), width)


def _looked_up(
    ids: Any, table: Sequence[Sequence[Any]], columns: Sequence[Column]
) -> dict[str, Any]:
    """String columns per row from a small ``(id, *columns)`` table: each distinct string is made
    once and spread with ``take`` (an id missing from the table gives NA).
    """
    import numpy as np

    ordered = sorted(table, key=lambda entry: int(entry[0]))
    known = np.array([entry[0] for entry in ordered], dtype=np.int64)
    if len(known):
        position = np.searchsorted(known, ids).clip(0, len(known) - 1)
        position = np.where(known[position] == ids, position, -1)
    else:
        position = np.full(len(ids), -1)
    found = {}
    for index, column in enumerate(columns, start=1):
        values = object_array([entry[index] for entry in ordered])
        found[column.name] = _shaped(column.kind, values, True).take(position, allow_fill=True)
    return found


def frame_from_rows(
    rows: Sequence[Sequence[Any]],
    targets: Sequence[Sequence[Any]] = (),
    writers: Sequence[Sequence[Any]] = (),
) -> pd.DataFrame:
    """A frame from ``_sql.READ`` rows plus the ``_sql.TARGETS`` and ``_sql.WRITERS`` rows."""
    import numpy as np

    grid = _grid(rows)
    raw = {name: grid[:, index] for index, (name, _) in enumerate(READ)}
    looked_up = {
        **_looked_up(raw["target_id"].astype(np.int64), targets, TARGET_COLUMNS),
        **_looked_up(raw["writer_id"].astype(np.int64), writers, WRITER_COLUMNS),
    }
    frame: pd.DataFrame = frame_from_raw(raw, looked_up, from_sqlite=True)
    return frame


def empty_frame() -> pd.DataFrame:
    """The frame of an empty history: no rows, every column, every dtype."""
    return frame_from_rows([])


def _plain(kind: Kind) -> Callable[[Any], Any] | None:
    """How a raw value of ``kind`` becomes a plain Python value (None: it already is one)."""
    if kind == "time":
        return from_epoch_us
    if kind == "outcome":
        return lambda code: (
            OUTCOME_CATEGORIES[code] if 0 <= code < len(OUTCOME_CATEGORIES) else None
        )
    if kind == "flag":
        return lambda value: None if value is None else bool(value)
    return None


def records_from_rows(
    rows: Sequence[Sequence[Any]],
    targets: Sequence[Sequence[Any]],
    writers: Sequence[Sequence[Any]],
) -> list[dict[str, Any]]:
    """Plain dicts in ``COLUMNS`` order of Python values (times aware datetimes), without the
    shown-only columns (``date_from``: records carry the exact ``date_from_ms``)."""
    names = (*(name for name, _ in READ), *(c.name for c in (*TARGET_COLUMNS, *WRITER_COLUMNS)))
    target_at, writer_at = names.index("target_id"), names.index("writer_id")
    target_of = {row[0]: tuple(row[1:]) for row in targets}
    writer_of = {row[0]: tuple(row[1:]) for row in writers}
    no_writer = (None,) * len(WRITER_COLUMNS)
    stored = [c.name for c in SCHEMA if c.table is not None]
    converted = [(c.name, fn) for c in SCHEMA if c.table is not None and (fn := _plain(c.kind))]
    records = []
    for row in rows:
        full = (*row, *target_of[row[target_at]], *writer_of.get(row[writer_at], no_writer))
        raw = dict(zip(names, full, strict=True))
        record = {name: raw[name] for name in stored}
        for name, convert in converted:
            record[name] = convert(record[name])
        records.append(record)
    return records
