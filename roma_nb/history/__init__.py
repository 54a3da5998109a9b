"""The history of reset attempts: a write-ahead audit trail you can read as a DataFrame.

Every attempt — success, API error, unknown, dry run, skipped — is one row, written as ``pending``
before its request is sent and completed after, in a SQLite file that survives crashes and is
shared safely by several kernels (or in memory when no path is given)::

    log = ResultLog.default()             # $ROMA_NB_HISTORY or the per-user data directory
    row = log.begin("inst-1", "task-1", date_from=1630052714000)
    ...                                   # send the request
    log.complete(row, result)
    log.to_frame(outcome="failed", since="24h")
    log.latest_per_task(outcome=["failed", "unknown"])

The columns are one table, ``SCHEMA`` (``_columns``); every reading method takes the filters of
``FilterArgs``. Depends only on ``roma_nb.models`` (and ``roma_nb.errors``); pandas is imported on
first use.
"""

from __future__ import annotations

from ._columns import COLUMNS, OUTCOME_CATEGORIES, RESULT_COLUMNS, SCHEMA, Column
from ._context import (
    ENV_VAR,
    SANDBOX_LABEL,
    RecordContext,
    default_actor,
    default_history_path,
    endpoint_label,
    user_data_dir,
)
from ._exports import read_csv, read_parquet, style_frame, write_csv
from ._filters import Filter, FilterArgs, parse_when
from ._frame import column_dtypes, empty_frame
from ._log import INTERRUPTED_MESSAGE, ResultLog
from ._schema import FORMAT, HistoryError
from ._sql import MIGRATIONS
from ._store import Durability

__all__ = [
    "COLUMNS",
    "ENV_VAR",
    "FORMAT",
    "INTERRUPTED_MESSAGE",
    "MIGRATIONS",
    "OUTCOME_CATEGORIES",
    "RESULT_COLUMNS",
    "SANDBOX_LABEL",
    "SCHEMA",
    "Column",
    "Durability",
    "Filter",
    "FilterArgs",
    "HistoryError",
    "RecordContext",
    "ResultLog",
    "column_dtypes",
    "default_actor",
    "default_history_path",
    "empty_frame",
    "endpoint_label",
    "parse_when",
    "read_csv",
    "read_parquet",
    "style_frame",
    "user_data_dir",
    "write_csv",
]
