"""``roma-nb history``: the reset history as a table, CSV or JSON, with the API's filters.

Reading never creates a history file: a path that does not exist yet prints an empty result and
says so on stderr. Filters are those of ``ResultLog.to_frame`` (``--latest`` is
``latest_per_task``). CSV is exactly what ``ResultLog.to_csv`` writes (``read_csv`` reads it
back with the frame's dtypes); JSON has every column, ``date_from_ms`` as the exact integer and
``date_from`` as ISO text (null beyond year 9999). The table is the short view for people.
"""

from __future__ import annotations

import argparse
import math
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TextIO

from ..history import COLUMNS, OUTCOME_CATEGORIES, ResultLog, default_history_path, empty_frame
from ..history._exports import write_csv
from ._common import EXIT_OK, EXIT_USAGE, Column, add_format_argument, render, run_guarded

__all__ = ["register", "run"]

_PROG = "roma-nb history"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_DRY_RUNS = {"include": None, "exclude": False, "only": True}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "history",
        help="show the history of reset attempts (table, CSV or JSON)",
        description=(
            "Show recorded reset attempts, oldest first. Times are UTC; --since/--until take "
            "ISO-8601 (naive means UTC) or a duration ago such as 90m, 2h, 7d."
        ),
    )
    parser.add_argument(
        "--path",
        type=Path,
        help="history file (default: $ROMA_NB_HISTORY, else the per-user data directory)",
    )
    add_format_argument(parser)
    parser.add_argument("--task", action="append", metavar="TASK_ID", help="repeatable")
    parser.add_argument("--instance", action="append", metavar="INSTANCE_ID", help="repeatable")
    parser.add_argument("--outcome", action="append", choices=OUTCOME_CATEGORIES, help="repeatable")
    parser.add_argument("--since", metavar="WHEN", help="attempts started at or after WHEN")
    parser.add_argument("--until", metavar="WHEN", help="attempts started before WHEN")
    parser.add_argument(
        "--dry-runs",
        choices=tuple(_DRY_RUNS),
        help="include (default), exclude or show only dry runs; --latest excludes them by default",
    )
    parser.add_argument(
        "--latest",
        action="store_true",
        help="only the latest attempt of each task (--outcome then filters those)",
    )
    parser.add_argument("--limit", type=int, metavar="N", help="only the N most recent rows")
    parser.add_argument(
        "--mark-interrupted",
        action="store_true",
        help="first turn pending rows whose process is gone into 'unknown' (a write)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    stream = out if out is not None else sys.stdout
    return run_guarded(_PROG, lambda: _show(args, stream))


def _show(args: argparse.Namespace, stream: TextIO) -> int:
    if args.limit is not None and args.limit < 0:
        print(f"{_PROG}: --limit must be 0 or more", file=sys.stderr)
        return EXIT_USAGE
    path: Path = args.path if args.path is not None else default_history_path()
    if not path.exists():
        print(f"{_PROG}: no history at {path} yet", file=sys.stderr)
        if args.format == "csv":
            write_csv(empty_frame(), stream)
        else:
            _render([], args.format, stream)
        return EXIT_OK
    dry_run = _DRY_RUNS[args.dry_runs] if args.dry_runs else (False if args.latest else None)
    filters: dict[str, Any] = {
        "task_id": args.task,
        "instance_id": args.instance,
        "outcome": args.outcome,
        "since": args.since,
        "until": args.until,
        "dry_run": dry_run,
    }
    with ResultLog(path) as log:
        if args.mark_interrupted:
            marked = log.mark_interrupted()
            print(f"{_PROG}: marked {marked} interrupted row(s) as unknown", file=sys.stderr)
        if args.format == "csv":
            frame = log.latest_per_task(**filters) if args.latest else log.to_frame(**filters)
            if args.limit is not None:
                frame = frame.tail(args.limit) if args.limit else frame.iloc[:0]
            write_csv(frame, stream)
            return EXIT_OK
        records = log.records(latest=args.latest, **filters)
    if args.limit is not None:
        records = records[len(records) - args.limit :] if args.limit else []
    _render(records, args.format, stream)
    return EXIT_OK


def _date_from_iso(ms: int | None) -> str | None:
    """``date_from`` as ISO text; None when absent or beyond what a datetime holds."""
    if ms is None:
        return None
    try:
        moment = _EPOCH + timedelta(milliseconds=ms)
    except OverflowError:
        return None
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def _finite(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None  # JSON has no infinity


def _json_column(name: str) -> Column:
    if name in ("at", "completed_at"):
        return Column(name, lambda r: _iso(r[name]))
    if name == "date_from":
        return Column(name, lambda r: _date_from_iso(r["date_from_ms"]))
    if name == "elapsed_ms":
        return Column(name, lambda r: _finite(r[name]))
    return Column(name, lambda r: r[name])


_JSON_COLUMNS = [_json_column(name) for name in COLUMNS]


def _task(record: dict[str, Any]) -> str:
    name, task_id = record["task_name"], record["task_id"]
    return f"{name} ({task_id})" if name else str(task_id)


def _outcome(record: dict[str, Any]) -> str:
    dry = record["dry_run"] and record["outcome"] != "dry-run"
    return f"{record['outcome']} (dry run)" if dry else str(record["outcome"])


_TABLE_COLUMNS = [
    Column("id", lambda r: r["id"]),
    Column("at (UTC)", lambda r: r["at"].strftime("%Y-%m-%d %H:%M:%S")),
    Column("instance", lambda r: r["instance_id"]),
    Column("task", _task),
    Column("date_from", lambda r: _date_from_iso(r["date_from_ms"]) or r["date_from_ms"]),
    Column("outcome", _outcome),
    Column("status", lambda r: r["status_code"]),
    Column("error", lambda r: r["error_code"]),
    Column("detail", lambda r: r["error_msg"] or r["message"]),
    Column("by", lambda r: r["actor"]),
]


def _render(records: list[dict[str, Any]], fmt: str, stream: TextIO) -> None:
    render(records, _JSON_COLUMNS if fmt == "json" else _TABLE_COLUMNS, fmt, stream)
