"""The history leaving the kernel: CSV and Parquet (and back, with the same dtypes), and a styled
notebook view.

Parquet keeps everything exactly (``read_parquet`` only restores the Python string storage that
pyarrow swaps for its own). CSV is text: times are ISO-8601 in UTC, integers are read back from
their digits (never through float, so 2**63-1 survives), ``date_from`` is rebuilt from
``date_from_ms``, and an empty cell is missing — CSV cannot tell an empty text from a missing one.
Styling needs jinja2 (pandas' own requirement for ``DataFrame.style``).
"""

from __future__ import annotations

import csv
import os
import sys
from collections.abc import Hashable
from datetime import datetime, timedelta, timezone
from typing import IO, TYPE_CHECKING, Any

from ._columns import COLUMNS, OUTCOME_CATEGORIES, SCHEMA, Column
from ._frame import column_dtypes, frame_from_raw, object_array
from ._schema import HistoryError

if TYPE_CHECKING:
    import pandas as pd
    from pandas.io.formats.style import Styler

__all__ = ["read_csv", "read_parquet", "style_frame", "write_csv", "write_parquet"]

_FLAGS = {"True": 1, "False": 0}
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ONE_US = timedelta(microseconds=1)
_OUTCOME_STYLE = {
    "success": "background-color: #d4edda; color: #155724",
    "failed": "background-color: #f8d7da; color: #721c24",
    "unknown": "background-color: #ffe5b4; color: #7a4100; font-weight: bold",
    "pending": "background-color: #fff3cd; color: #856404; font-style: italic",
    "dry-run": "background-color: #e2e3f3; color: #383d6e",
    "skipped": "background-color: #e9ecef; color: #495057",
}


def _check_columns(frame: pd.DataFrame, what: str) -> None:
    missing = [name for name in COLUMNS if name not in frame.columns]
    if missing:
        raise ValueError(f"not a roma_nb history {what}: missing columns {', '.join(missing)}")


def write_csv(frame: pd.DataFrame, target: str | os.PathLike[str] | IO[str]) -> None:
    """CSV with ISO times (UTC) and empty cells for missing values.

    RFC 4180 line ends: with "\n" alone the csv module would leave a bare "\r" in a value (a
    server's message may hold one) unquoted, and readers would split the row there.
    """
    if sys.version_info < (3, 11):
        _refuse_nul(frame)
    frame.to_csv(target, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")


def _refuse_nul(frame: pd.DataFrame) -> None:
    """Python 3.10's csv module can neither write nor read a NUL character (3.11 can both): say
    so before writing anything, instead of failing half-way through the file."""
    for column in SCHEMA:
        if column.kind != "text" or column.name not in frame.columns:
            continue
        if frame[column.name].str.contains("\0", regex=False).any():
            raise HistoryError(
                f"{column.name} holds a NUL character, which CSV cannot hold on Python 3.10: "
                "export JSON or Parquet instead, or use Python 3.11 or newer."
            )


def _epoch_us(text: str) -> int:
    """An ISO-8601 time from the CSV as integer microseconds since the epoch (naive text is UTC).

    Parsed by ``datetime``, not ``pandas.to_datetime``: pandas 2 parses text into nanoseconds,
    which end in 2262, while the history holds any time of the years 1..9999.
    """
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))  # Python 3.10 reads no "Z"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return (moment - _EPOCH) // _ONE_US


def _raw_from_text(column: Column, texts: pd.Series) -> Any:
    """A CSV column as the raw values SQLite would have given (see ``_frame``)."""
    import pandas as pd

    cells = [None if pd.isna(value) else str(value) for value in texts]
    if column.kind == "time":
        return object_array([None if v is None else _epoch_us(v) for v in cells])
    if column.kind in ("id", "int"):
        return object_array([None if v is None else int(v) for v in cells])
    if column.kind == "ms":
        return object_array([None if v is None else float(v) for v in cells])
    if column.kind == "flag":
        return object_array([_FLAGS.get(v or "") for v in cells])
    if column.kind == "outcome":
        codes = {name: code for code, name in enumerate(OUTCOME_CATEGORIES)}
        return object_array([codes.get(v or "", -1) for v in cells])
    return object_array(cells)


def read_csv(source: str | os.PathLike[str] | IO[str]) -> pd.DataFrame:
    """Read a CSV written by ``ResultLog.to_csv`` back into a frame with the history's dtypes."""
    import pandas as pd

    # The python engine reads with the csv module that to_csv writes with: pandas 2's own C parser
    # cuts a text at a NUL character.
    texts = pd.read_csv(source, dtype=str, keep_default_na=False, na_values=[""], engine="python")
    _check_columns(texts, "CSV")
    raw = {c.name: _raw_from_text(c, texts[c.name]) for c in SCHEMA if c.table is not None}
    return frame_from_raw(raw)


def write_parquet(frame: pd.DataFrame, target: str | os.PathLike[str]) -> None:
    """Parquet (needs pyarrow, the ``parquet`` extra)."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise HistoryError("Parquet export needs pyarrow: pip install 'roma-nb[parquet]'") from None
    frame.to_parquet(target, index=False)


def read_parquet(source: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a Parquet file written by ``ResultLog.to_parquet`` with the history's dtypes."""
    import pandas as pd

    frame = pd.read_parquet(source)
    _check_columns(frame, "Parquet file")
    conformed: pd.DataFrame = frame[list(COLUMNS)].astype(column_dtypes())
    return conformed


def _format_time(value: Any) -> str:
    import pandas as pd

    if value is None or pd.isna(value):
        return ""
    try:
        text: str = value.strftime("%Y-%m-%d %H:%M:%S")
    except (ValueError, OverflowError):  # beyond year 9999: datetime cannot format it
        text = str(value.isoformat()).replace("+00:00", "")
    return f"{text} UTC"


def style_frame(frame: pd.DataFrame) -> Styler:
    """A pandas ``Styler`` for notebooks: outcome coloured, times readable; data unchanged.

    Needs jinja2 (pandas' own requirement for styling). Works on any selection of columns.
    """

    def colour(column: pd.Series) -> list[str]:
        return [_OUTCOME_STYLE.get(str(value), "") for value in column]

    kinds = {c.name: c.kind for c in SCHEMA if c.name in frame.columns}
    styler = frame.style
    outcomes: list[Hashable] = [name for name, kind in kinds.items() if kind == "outcome"]
    if outcomes:
        styler = styler.apply(colour, subset=outcomes, axis=0)
    # One format() call: a second one would reset the columns the first one formatted.
    formats: dict[str, Any] = {}
    for name, kind in kinds.items():
        if kind in ("time", "instant"):
            formats[name] = _format_time
        elif kind == "ms":
            formats[name] = "{:,.0f} ms"
    styler = styler.format(formats, na_rep="")
    styled: Styler = styler.hide(axis="index")
    return styled
