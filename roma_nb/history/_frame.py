"""Shaping history rows into a pandas DataFrame with stable columns and honest dtypes.

pandas is imported inside the functions, never at module import, so ``import roma_nb`` stays light.

Columns, in this order (``COLUMNS``), and their dtypes (``column_dtypes()``):

==================  ====================  ===================================================
``id``              ``Int64``             row id, increasing in write order
``at``              ``datetime64[us,UTC]`` when the attempt started
``instance_id``     ``string``
``task_id``         ``string``
``task_name``       ``string``
``date_from``       ``datetime64[ms,UTC]`` the instant sent; ``NaT`` when none (or see below)
``date_from_ms``    ``Int64``             the exact integer sent (epoch ms), the source of truth
``outcome``         ``category``          ``pending``, ``success``, ``failed``, ``unknown``,
                                          ``dry-run``, ``skipped``
``status_code``     ``Int64``
``message`` .. ``request_id``  ``string``
``elapsed_ms``      ``Float64``
``attempts``        ``Int64``             requests actually sent
``dry_run``         ``boolean``
``project_id``, ``endpoint``, ``actor``  ``string``
``completed_at``    ``datetime64[us,UTC]`` when the outcome was recorded; ``NaT`` while pending
==================  ====================  ===================================================

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
from collections.abc import Sequence
from datetime import timezone
from typing import TYPE_CHECKING, Any

from ._filters import OUTCOME_CATEGORIES

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "COLUMNS",
    "FRAME_SELECT",
    "FRAME_SQL",
    "TARGETS_SQL",
    "WRITERS_SQL",
    "column_dtypes",
    "date_from_array",
    "empty_frame",
    "float_array",
    "frame_from_rows",
    "int64_values",
    "int_array",
    "object_array",
    "outcome_array",
    "string_array",
    "time_array",
]

_OUTCOME_CODE = (
    "CASE outcome "
    + " ".join(f"WHEN '{name}' THEN {code}" for code, name in enumerate(OUTCOME_CATEGORIES))
    + " ELSE -1 END"
)

FRAME_SELECT: tuple[tuple[str, str], ...] = (
    ("id", "id"),
    ("at_us", "at_us"),
    ("target_id", "target_id"),
    ("date_from_ms", "date_from_ms"),
    ("outcome_code", _OUTCOME_CODE),  # categories' codes, computed by SQLite: no Python strings
    ("status_code", "status_code"),
    ("message", "message"),
    ("error_code", "error_code"),
    ("error_msg", "error_msg"),
    ("request_id", "request_id"),
    ("elapsed_ms", "elapsed_ms"),
    ("attempts", "attempts"),
    ("dry_run", "dry_run"),
    ("writer_id", "writer_id"),
    ("completed_at_us", "completed_at_us"),
)
"""(name, SQL expression) of the ``attempts`` columns a frame is built from, in row order."""

FRAME_SQL = ", ".join(expression for _, expression in FRAME_SELECT)
TARGETS_SQL = "SELECT id, instance_id, task_id, task_name FROM targets"
WRITERS_SQL = "SELECT id, project_id, endpoint, actor FROM writers"
"""The targets and writers a frame's rows point to. Read them *after* the rows: they are only
ever added to, so every id the rows name is then there."""

COLUMNS: tuple[str, ...] = (
    "id",
    "at",
    "instance_id",
    "task_id",
    "task_name",
    "date_from",
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
    "completed_at",
)
"""The frame's columns, in order. Stable: new columns are only ever appended."""

STRING_COLUMNS = (
    "instance_id",
    "task_id",
    "task_name",
    "message",
    "error_code",
    "error_msg",
    "request_id",
    "project_id",
    "endpoint",
    "actor",
)
INT_COLUMNS = ("id", "date_from_ms", "status_code", "attempts")
_US_COLUMNS = ("at", "completed_at")
_NAT = -(2**63)  # numpy's NaT as int64
_MIN_DATETIME_MS = -62_135_596_800_000  # 0001-01-01T00:00:00Z
_MAX_DATETIME_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z


def column_dtypes() -> dict[str, Any]:
    """Column name → dtype, as ``to_frame`` produces them."""
    import pandas as pd

    dtypes: dict[str, Any] = {}
    for name in COLUMNS:
        if name in STRING_COLUMNS:
            dtypes[name] = pd.StringDtype("python")
        elif name in INT_COLUMNS:
            dtypes[name] = pd.Int64Dtype()
        elif name in _US_COLUMNS:
            dtypes[name] = pd.DatetimeTZDtype("us", timezone.utc)
        elif name == "date_from":
            dtypes[name] = pd.DatetimeTZDtype("ms", timezone.utc)
        elif name == "outcome":
            dtypes[name] = _outcome_dtype()
        elif name == "elapsed_ms":
            dtypes[name] = pd.Float64Dtype()
        elif name == "dry_run":
            dtypes[name] = pd.BooleanDtype()
    return dtypes


def object_array(values: Sequence[Any]) -> Any:
    """A 1-D numpy object array holding ``values`` as they are (None stays None)."""
    import numpy as np

    array = np.empty(len(values), dtype=object)
    array[:] = list(values)
    return array


def outcome_array(values: Sequence[str | None]) -> Any:
    """A categorical with every outcome as a category (unknown text becomes NaN)."""
    import pandas as pd

    return pd.Categorical(list(values), dtype=_outcome_dtype())


def _outcome_dtype() -> pd.CategoricalDtype:
    import pandas as pd

    return pd.CategoricalDtype(list(OUTCOME_CATEGORIES))


def _grid(rows: Sequence[Sequence[Any]]) -> Any:
    """Rows → a 2-D object array without a Python-level transpose (the costly part)."""
    import numpy as np

    width = len(FRAME_SELECT)
    if not rows:
        return np.empty((0, width), dtype=object)
    flat = itertools.chain.from_iterable(rows)
    return np.fromiter(flat, dtype=object, count=len(rows) * width).reshape(len(rows), width)


def _mask(column: Any) -> Any:
    """Where an object column holds None (SQLite's NULL; it never returns NaN)."""
    import pandas as pd

    return pd.isna(column)


def int64_values(column: Any, *, nullable: bool = True) -> tuple[Any, Any]:
    """(int64 values, missing mask) from an object column; missing values hold NaT's integer,
    so the same values serve an ``Int64`` column (masked) and a datetime column (NaT).
    """
    import numpy as np

    mask = _mask(column) if nullable else np.zeros(len(column), dtype=bool)
    if mask.any():
        return np.where(mask, _NAT, column).astype(np.int64), mask
    return column.astype(np.int64), mask


def int_array(values_and_mask: tuple[Any, Any]) -> Any:
    import pandas as pd

    values, mask = values_and_mask
    return pd.arrays.IntegerArray(values, mask)


def float_array(column: Any) -> Any:
    import numpy as np
    import pandas as pd

    mask = _mask(column)
    values = np.where(mask, 0.0, column).astype(np.float64)
    return pd.arrays.FloatingArray(values, mask)


def time_array(values_and_mask: tuple[Any, Any], unit: str) -> Any:
    """Integer epoch values (masked ones hold NaT) → tz-aware UTC datetimes."""
    import pandas as pd

    values, _ = values_and_mask
    return pd.DatetimeIndex(values.view(f"datetime64[{unit}]")).tz_localize(timezone.utc).array


def date_from_array(values_and_mask: tuple[Any, Any]) -> Any:
    """``date_from`` times from exact ``date_from_ms`` values: NaT outside years 1..9999."""
    import numpy as np

    values, mask = values_and_mask
    shown = np.where((values < _MIN_DATETIME_MS) | (values > _MAX_DATETIME_MS), _NAT, values)
    return time_array((shown, mask), "ms")


def string_array(column: Any) -> Any:
    import numpy as np
    import pandas as pd

    return pd.array(np.ascontiguousarray(column), dtype=pd.StringDtype("python"))


def _looked_up(ids: Any, table: Sequence[Sequence[Any]], names: Sequence[str]) -> dict[str, Any]:
    """String columns per row from a small ``(id, *names)`` table: each distinct string is made
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
    columns = {}
    for index, name in enumerate(names, start=1):
        values = np.empty(len(ordered), dtype=object)
        values[:] = [entry[index] for entry in ordered]
        columns[name] = string_array(values).take(position, allow_fill=True)
    return columns


def frame_from_rows(
    rows: Sequence[Sequence[Any]],
    targets: Sequence[Sequence[Any]] = (),
    writers: Sequence[Sequence[Any]] = (),
) -> pd.DataFrame:
    """A frame from ``FRAME_SQL`` rows plus the ``TARGETS_SQL`` and ``WRITERS_SQL`` rows."""
    import numpy as np
    import pandas as pd

    grid = _grid(rows)
    raw = {name: grid[:, index] for index, (name, _) in enumerate(FRAME_SELECT)}
    dry = raw["dry_run"].astype(bool)
    outcome_codes = raw["outcome_code"].astype(np.int8)
    date_from = int64_values(raw["date_from_ms"])
    data: dict[str, Any] = {
        "id": int_array(int64_values(raw["id"], nullable=False)),
        "at": time_array(int64_values(raw["at_us"], nullable=False), "us"),
        "date_from": date_from_array(date_from),
        "date_from_ms": int_array(date_from),
        "outcome": pd.Categorical.from_codes(outcome_codes, dtype=_outcome_dtype()),
        "status_code": int_array(int64_values(raw["status_code"])),
        "elapsed_ms": float_array(raw["elapsed_ms"]),
        "attempts": int_array(int64_values(raw["attempts"], nullable=False)),
        "dry_run": pd.arrays.BooleanArray(dry, np.zeros(len(dry), dtype=bool)),
        "completed_at": time_array(int64_values(raw["completed_at_us"]), "us"),
        **_looked_up(
            raw["target_id"].astype(np.int64), targets, ("instance_id", "task_id", "task_name")
        ),
        **_looked_up(
            raw["writer_id"].astype(np.int64), writers, ("project_id", "endpoint", "actor")
        ),
    }
    for name in STRING_COLUMNS:
        if name not in data:
            data[name] = string_array(raw[name])
    frame: pd.DataFrame = pd.DataFrame({name: data[name] for name in COLUMNS})
    return frame


def empty_frame() -> pd.DataFrame:
    """The frame of an empty history: no rows, every column, every dtype."""
    return frame_from_rows([])
