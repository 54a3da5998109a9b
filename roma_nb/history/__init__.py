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

Depends only on ``roma_nb.models`` (and ``roma_nb.errors``); pandas is imported on first use.
"""

from __future__ import annotations

from ._context import SANDBOX_LABEL, RecordContext, default_actor, endpoint_label
from ._errors import HistoryError
from ._exports import read_csv, read_parquet
from ._filters import OUTCOME_CATEGORIES, parse_when
from ._frame import COLUMNS, column_dtypes, empty_frame
from ._log import INTERRUPTED_MESSAGE, ResultLog
from ._paths import ENV_VAR, default_history_path, user_data_dir
from ._schema import FORMAT, MIGRATIONS
from ._store import Durability
from ._style import style_frame

__all__ = [
    "COLUMNS",
    "ENV_VAR",
    "FORMAT",
    "INTERRUPTED_MESSAGE",
    "MIGRATIONS",
    "OUTCOME_CATEGORIES",
    "SANDBOX_LABEL",
    "Durability",
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
]
