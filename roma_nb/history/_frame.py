"""Shaping history rows into a pandas DataFrame with stable columns and honest dtypes.

pandas is imported inside the functions, never at module import, so ``import roma_nb`` stays light.

Columns, in this order (``COLUMNS``), and their dtypes (``column_dtypes()``):

==================  ====================  ===================================================
``id``              ``Int64``             row id, increasing in write order
``at``              ``datetime64[us,UTC]`` when the attempt started
``instance_id``     ``string``
``task_id``         ``string``
``task_name``       ``string``
``date_from``       ``datetime64[ms,UTC]`` the instant sent; ``NaT`` when none was sent
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

``date_from`` uses millisecond resolution, which represents every positive int64 the API accepts
(up to 2**63-1 ms, year 292278994) exactly; the single value it cannot show is -2**63 (pandas'
``NaT`` marker), which ``date_from_ms`` still holds. Strings use the ``string`` dtype with Python
storage so the frame's dtypes are the same whether or not pyarrow is installed.
"""

from __future__ import annotations

import csv
import itertools
import os
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

from ._filters import OUTCOME_CATEGORIES

if TYPE_CHECKING:
    import pandas as pd
    from pandas.io.formats.style import Styler

__all__ = [
    "COLUMNS",
    "FRAME_SELECT",
    "FRAME_SQL",
    "TARGETS_SQL",
    "WRITERS_SQL",
    "column_dtypes",
    "empty_frame",
    "frame_from_rows",
    "read_csv",
    "style_frame",
    "write_csv",
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

_STRING_COLUMNS = (
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
_INT_COLUMNS = ("id", "date_from_ms", "status_code", "attempts")
_US_COLUMNS = ("at", "completed_at")
_NAT = -(2**63)  # numpy's NaT as int64


def column_dtypes() -> dict[str, Any]:
    """Column name → dtype, as ``to_frame`` produces them."""
    import pandas as pd

    dtypes: dict[str, Any] = {}
    for name in COLUMNS:
        if name in _STRING_COLUMNS:
            dtypes[name] = pd.StringDtype("python")
        elif name in _INT_COLUMNS:
            dtypes[name] = pd.Int64Dtype()
        elif name in _US_COLUMNS:
            dtypes[name] = pd.DatetimeTZDtype("us", "UTC")
        elif name == "date_from":
            dtypes[name] = pd.DatetimeTZDtype("ms", "UTC")
        elif name == "outcome":
            dtypes[name] = _outcome_dtype()
        elif name == "elapsed_ms":
            dtypes[name] = pd.Float64Dtype()
        elif name == "dry_run":
            dtypes[name] = pd.BooleanDtype()
    return dtypes


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


def _int64(column: Any, *, nullable: bool = True) -> tuple[Any, Any]:
    """(int64 values, missing mask) from an object column; missing values hold NaT's integer,
    so the same values serve an ``Int64`` column (masked) and a datetime column (NaT).
    """
    import numpy as np

    mask = _mask(column) if nullable else np.zeros(len(column), dtype=bool)
    if mask.any():
        return np.where(mask, _NAT, column).astype(np.int64), mask
    return column.astype(np.int64), mask


def _ints(values_and_mask: tuple[Any, Any]) -> Any:
    import pandas as pd

    values, mask = values_and_mask
    return pd.arrays.IntegerArray(values, mask)


def _floats(column: Any) -> Any:
    import numpy as np
    import pandas as pd

    mask = _mask(column)
    values = np.where(mask, 0.0, column).astype(np.float64)
    return pd.arrays.FloatingArray(values, mask)


def _times(values_and_mask: tuple[Any, Any], unit: str) -> Any:
    """Integer epoch values (masked ones hold NaT) → tz-aware UTC datetimes."""
    import pandas as pd

    values, _ = values_and_mask
    return pd.DatetimeIndex(values.view(f"datetime64[{unit}]")).tz_localize("UTC").array


def _strings(column: Any) -> Any:
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
        columns[name] = _strings(values).take(position, allow_fill=True)
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
    date_from = _int64(raw["date_from_ms"])
    data: dict[str, Any] = {
        "id": _ints(_int64(raw["id"], nullable=False)),
        "at": _times(_int64(raw["at_us"], nullable=False), "us"),
        "date_from": _times(date_from, "ms"),
        "date_from_ms": _ints(date_from),
        "outcome": pd.Categorical.from_codes(outcome_codes, dtype=_outcome_dtype()),
        "status_code": _ints(_int64(raw["status_code"])),
        "elapsed_ms": _floats(raw["elapsed_ms"]),
        "attempts": _ints(_int64(raw["attempts"], nullable=False)),
        "dry_run": pd.arrays.BooleanArray(dry, np.zeros(len(dry), dtype=bool)),
        "completed_at": _times(_int64(raw["completed_at_us"]), "us"),
        **_looked_up(
            raw["target_id"].astype(np.int64), targets, ("instance_id", "task_id", "task_name")
        ),
        **_looked_up(
            raw["writer_id"].astype(np.int64), writers, ("project_id", "endpoint", "actor")
        ),
    }
    for name in _STRING_COLUMNS:
        if name not in data:
            data[name] = _strings(raw[name])
    frame: pd.DataFrame = pd.DataFrame({name: data[name] for name in COLUMNS})
    return frame


def empty_frame() -> pd.DataFrame:
    """The frame of an empty history: no rows, every column, every dtype."""
    return frame_from_rows([])


def write_csv(frame: pd.DataFrame, target: str | os.PathLike[str] | IO[str]) -> None:
    """CSV with ISO times (UTC) and empty cells for missing values.

    CSV cannot tell an empty text from a missing one: both read back as missing. Parquet can.
    """
    frame.to_csv(target, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")


def read_csv(source: str | os.PathLike[str] | IO[str]) -> pd.DataFrame:
    """Read a CSV written by ``ResultLog.to_csv`` back into a frame with the history's dtypes.

    ``date_from`` is rebuilt from the exact ``date_from_ms`` integers rather than parsed.
    """
    import pandas as pd

    dtypes = column_dtypes()
    text_columns = dict.fromkeys(_STRING_COLUMNS, "string")
    raw = pd.read_csv(
        source,
        dtype={**text_columns, "outcome": "string", "dry_run": "string", "elapsed_ms": "Float64"},
        keep_default_na=False,
        na_values=[""],
        converters=dict.fromkeys(_INT_COLUMNS, _int_or_none),
    )
    missing = [name for name in COLUMNS if name not in raw.columns]
    if missing:
        raise ValueError(f"not a roma_nb history CSV: missing columns {', '.join(missing)}")
    frame: pd.DataFrame = pd.DataFrame(index=raw.index)
    for name in COLUMNS:
        if name in _INT_COLUMNS:
            frame[name] = _ints(_int64(_optional_ints(raw[name])))
        elif name in _US_COLUMNS:
            parsed = pd.to_datetime(raw[name], utc=True, format="ISO8601")
            frame[name] = parsed.dt.as_unit("us")
        elif name == "date_from":
            frame[name] = _times(_int64(_optional_ints(raw["date_from_ms"])), "ms")
        elif name == "dry_run":
            frame[name] = raw[name].map({"True": True, "False": False}).astype("boolean")
        else:
            frame[name] = raw[name].astype(dtypes[name])
    return frame


def _int_or_none(text: str) -> int | None:
    return int(text) if text.strip() else None


def _optional_ints(column: pd.Series) -> Any:
    """An object array of Python ints and None, as SQLite would have returned them."""
    import numpy as np
    import pandas as pd

    values = np.empty(len(column), dtype=object)
    values[:] = [None if pd.isna(value) else int(value) for value in column]
    return values


_OUTCOME_STYLE = {
    "success": "background-color: #d4edda; color: #155724",
    "failed": "background-color: #f8d7da; color: #721c24",
    "unknown": "background-color: #ffe5b4; color: #7a4100; font-weight: bold",
    "pending": "background-color: #fff3cd; color: #856404; font-style: italic",
    "dry-run": "background-color: #e2e3f3; color: #383d6e",
    "skipped": "background-color: #e9ecef; color: #495057",
}


def _format_time(value: Any) -> str:
    import pandas as pd

    if value is None or pd.isna(value):
        return ""
    text: str = value.strftime("%Y-%m-%d %H:%M:%S")
    return f"{text} UTC"


def style_frame(frame: pd.DataFrame) -> Styler:
    """A pandas ``Styler`` for notebooks: outcome coloured, times readable; data unchanged.

    Needs jinja2 (pandas' own requirement for styling).
    """

    def colour(column: pd.Series) -> list[str]:
        return [_OUTCOME_STYLE.get(str(value), "") for value in column]

    styler = frame.style
    if "outcome" in frame.columns:
        styler = styler.apply(colour, subset=["outcome"], axis=0)
    times = {name: _format_time for name in ("at", "completed_at", "date_from") if name in frame}
    styler = styler.format(times, na_rep="")  # type: ignore[arg-type]
    if "elapsed_ms" in frame.columns:
        styler = styler.format({"elapsed_ms": "{:,.0f} ms"}, na_rep="")
    styled: Styler = styler.hide(axis="index")
    return styled
