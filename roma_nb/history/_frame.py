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
import os
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

from ._filters import OUTCOME_CATEGORIES

if TYPE_CHECKING:
    import pandas as pd
    from pandas.io.formats.style import Styler

__all__ = [
    "COLUMNS",
    "SELECT_COLUMNS",
    "column_dtypes",
    "empty_frame",
    "frame_from_rows",
    "read_csv",
    "style_frame",
    "write_csv",
]

SELECT_COLUMNS: tuple[str, ...] = (
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
"""The database columns read for a frame, in the order rows arrive."""

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
            dtypes[name] = pd.CategoricalDtype(list(OUTCOME_CATEGORIES))
        elif name == "elapsed_ms":
            dtypes[name] = pd.Float64Dtype()
        elif name == "dry_run":
            dtypes[name] = pd.BooleanDtype()
    return dtypes


def _times(values: Sequence[int | None], unit: str) -> Any:
    """Integer epoch values (None allowed) → tz-aware UTC datetimes, NaT for None."""
    import numpy as np
    import pandas as pd

    ints = np.fromiter(
        (_NAT if v is None else v for v in values), dtype=np.int64, count=len(values)
    )
    naive = pd.DatetimeIndex(ints.view(f"datetime64[{unit}]"))
    return naive.tz_localize("UTC").array


def _ints(values: Sequence[int | None]) -> Any:
    import numpy as np
    import pandas as pd

    mask = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
    data = np.fromiter((0 if v is None else v for v in values), dtype=np.int64, count=len(values))
    return pd.arrays.IntegerArray(data, mask)


def _floats(values: Sequence[float | None]) -> Any:
    import numpy as np
    import pandas as pd

    mask = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
    data = np.fromiter(
        (0.0 if v is None else v for v in values), dtype=np.float64, count=len(values)
    )
    return pd.arrays.FloatingArray(data, mask)


def _strings(values: Sequence[str | None]) -> Any:
    import numpy as np
    import pandas as pd

    objects = np.empty(len(values), dtype=object)
    objects[:] = values
    return pd.array(objects, dtype=pd.StringDtype("python"))


def frame_from_rows(rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """A frame from database rows in ``SELECT_COLUMNS`` order (see module doc for the dtypes)."""
    import numpy as np
    import pandas as pd

    if rows:
        columns: list[Sequence[Any]] = list(zip(*rows, strict=True))
    else:
        columns = [() for _ in SELECT_COLUMNS]
    raw = dict(zip(SELECT_COLUMNS, columns, strict=True))
    dry = np.fromiter((bool(v) for v in raw["dry_run"]), dtype=bool, count=len(raw["dry_run"]))
    data: dict[str, Any] = {
        "id": _ints(raw["id"]),
        "at": _times(raw["at_us"], "us"),
        "date_from": _times(raw["date_from_ms"], "ms"),
        "date_from_ms": _ints(raw["date_from_ms"]),
        "outcome": pd.Categorical(raw["outcome"], categories=OUTCOME_CATEGORIES),
        "status_code": _ints(raw["status_code"]),
        "elapsed_ms": _floats(raw["elapsed_ms"]),
        "attempts": _ints(raw["attempts"]),
        "dry_run": pd.arrays.BooleanArray(dry, np.zeros(len(dry), dtype=bool)),
        "completed_at": _times(raw["completed_at_us"], "us"),
    }
    for name in _STRING_COLUMNS:
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
            frame[name] = _ints(_optional_ints(raw[name]))
        elif name in _US_COLUMNS:
            parsed = pd.to_datetime(raw[name], utc=True, format="ISO8601")
            frame[name] = parsed.dt.as_unit("us")
        elif name == "date_from":
            frame[name] = _times(_optional_ints(raw["date_from_ms"]), "ms")
        elif name == "dry_run":
            frame[name] = raw[name].map({"True": True, "False": False}).astype("boolean")
        else:
            frame[name] = raw[name].astype(dtypes[name])
    return frame


def _int_or_none(text: str) -> int | None:
    return int(text) if text.strip() else None


def _optional_ints(column: pd.Series) -> list[int | None]:
    import pandas as pd

    return [None if pd.isna(value) else int(value) for value in column]


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
