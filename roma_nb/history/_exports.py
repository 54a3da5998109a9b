"""CSV and Parquet: the history leaves the notebook and comes back with the same dtypes.

Parquet keeps everything exactly (``read_parquet`` only restores the Python string storage that
pyarrow swaps for its own). CSV is text: times are ISO-8601 in UTC, integers are read back from
their digits (never through float, so 2**63-1 survives), ``date_from`` is rebuilt from
``date_from_ms``, and an empty cell is missing — CSV cannot tell an empty text from a missing one.
"""

from __future__ import annotations

import csv
import os
import sys
from datetime import datetime, timedelta, timezone
from typing import IO, TYPE_CHECKING, Any

from ._frame import (
    COLUMNS,
    INT_COLUMNS,
    STRING_COLUMNS,
    column_dtypes,
    date_from_array,
    float_array,
    int64_values,
    int_array,
    object_array,
    outcome_array,
    string_array,
    time_array,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["read_csv", "read_parquet", "write_csv", "write_parquet"]

_US_COLUMNS = ("at", "completed_at")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ONE_US = timedelta(microseconds=1)


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
    from ._errors import HistoryError

    for name in STRING_COLUMNS:
        if name in frame.columns and frame[name].str.contains("\0", regex=False).any():
            raise HistoryError(
                f"{name} holds a NUL character, which CSV cannot hold on Python 3.10: export "
                "JSON or Parquet instead, or use Python 3.11 or newer."
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


def read_csv(source: str | os.PathLike[str] | IO[str]) -> pd.DataFrame:
    """Read a CSV written by ``ResultLog.to_csv`` back into a frame with the history's dtypes."""
    import pandas as pd

    # The python engine reads with the csv module that to_csv writes with: pandas 2's own C parser
    # cuts a text at a NUL character.
    raw = pd.read_csv(source, dtype=str, keep_default_na=False, na_values=[""], engine="python")
    _check_columns(raw, "CSV")

    def cells(name: str) -> list[str | None]:
        return [None if pd.isna(value) else str(value) for value in raw[name]]

    def ints(name: str) -> tuple[Any, Any]:
        return int64_values(object_array([None if v is None else int(v) for v in cells(name)]))

    data: dict[str, Any] = {}
    for name in COLUMNS:
        if name in INT_COLUMNS:
            data[name] = int_array(ints(name))
        elif name in STRING_COLUMNS:
            data[name] = string_array(object_array(cells(name)))
        elif name in _US_COLUMNS:
            times = [None if v is None else _epoch_us(v) for v in cells(name)]
            data[name] = time_array(int64_values(object_array(times)), "us")
        elif name == "date_from":
            data[name] = date_from_array(ints("date_from_ms"))
        elif name == "outcome":
            data[name] = outcome_array(cells(name))
        elif name == "elapsed_ms":
            data[name] = float_array(
                object_array([None if v is None else float(v) for v in cells(name)])
            )
        elif name == "dry_run":
            flags = {"True": True, "False": False}
            data[name] = pd.array([flags.get(v or "") for v in cells(name)], dtype="boolean")
    frame: pd.DataFrame = pd.DataFrame(data, columns=list(COLUMNS))
    return frame


def write_parquet(frame: pd.DataFrame, target: str | os.PathLike[str]) -> None:
    """Parquet (needs pyarrow, the ``parquet`` extra)."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        from ._errors import HistoryError

        raise HistoryError("Parquet export needs pyarrow: pip install 'roma-nb[parquet]'") from None
    frame.to_parquet(target, index=False)


def read_parquet(source: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a Parquet file written by ``ResultLog.to_parquet`` with the history's dtypes."""
    import pandas as pd

    frame = pd.read_parquet(source)
    _check_columns(frame, "Parquet file")
    conformed: pd.DataFrame = frame[list(COLUMNS)].astype(column_dtypes())
    return conformed
