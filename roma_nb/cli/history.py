"""``roma-nb history``: the reset history as a table, CSV or JSON, with the API's filters.

Reading never creates a history file: a path that does not exist yet prints an empty result and
says so on stderr. Filters are the ones of ``ResultLog.to_frame`` (``--latest`` is
``latest_per_task``); CSV is exactly what ``ResultLog.to_csv`` writes, and JSON carries
``date_from_ms`` as the exact integer beside an ISO ``date_from``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TextIO

from ..errors import ValidationError
from ..history import (
    COLUMNS,
    OUTCOME_CATEGORIES,
    HistoryError,
    ResultLog,
    default_history_path,
    empty_frame,
)
from ..history._exports import write_csv

__all__ = ["register", "run"]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_DRY_RUNS = {"include": None, "exclude": False, "only": True}
_TABLE = ("id", "at", "instance_id", "task", "date_from", "outcome", "status", "error", "detail")
_DETAIL_WIDTH = 60


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
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table")
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
        help="first turn pending rows of processes that are gone into 'unknown'",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    stream = out if out is not None else sys.stdout
    path: Path = args.path if args.path is not None else default_history_path()
    if args.limit is not None and args.limit < 0:
        print("roma-nb history: --limit must be 0 or more", file=sys.stderr)
        return 2
    dry_run = _DRY_RUNS[args.dry_runs] if args.dry_runs else (False if args.latest else None)
    filters: dict[str, Any] = {
        "task_id": args.task,
        "instance_id": args.instance,
        "outcome": args.outcome,
        "since": args.since,
        "until": args.until,
        "dry_run": dry_run,
    }
    if not path.exists():
        print(f"roma-nb history: no history at {path} yet", file=sys.stderr)
        _write_empty(args.format, stream)
        return 0
    try:
        with ResultLog(path) as log:
            if args.mark_interrupted:
                marked = log.mark_interrupted()
                print(f"roma-nb history: marked {marked} interrupted row(s)", file=sys.stderr)
            if args.format == "csv":
                _write_csv(log, stream, filters, latest=args.latest, limit=args.limit)
            else:
                records = log.records(latest=args.latest, **filters)
                if args.limit is not None:
                    records = records[len(records) - args.limit :] if args.limit else []
                if args.format == "json":
                    _write_json(records, stream)
                else:
                    stream.write(_table(records))
    except ValidationError as exc:
        print(f"roma-nb history: {exc}", file=sys.stderr)
        return 2
    except HistoryError as exc:
        print(f"roma-nb history: {exc}", file=sys.stderr)
        return 1
    return 0


def _write_empty(fmt: str, stream: TextIO) -> None:
    if fmt == "json":
        _write_json([], stream)
    elif fmt == "csv":
        write_csv(empty_frame(), stream)
    else:
        stream.write(_table([]))


def _write_json(records: list[dict[str, Any]], stream: TextIO) -> None:
    json.dump([_jsonable(r) for r in records], stream, ensure_ascii=False, indent=2)
    stream.write("\n")


def _write_csv(
    log: ResultLog, stream: TextIO, filters: dict[str, Any], *, latest: bool, limit: int | None
) -> None:
    """Exactly what ``ResultLog.to_csv`` writes, for the rows chosen."""
    frame = log.latest_per_task(**filters) if latest else log.to_frame(**filters)
    if limit is not None:
        frame = frame.tail(limit) if limit else frame.iloc[:0]
    write_csv(frame, stream)


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _date_from_iso(ms: int | None) -> str | None:
    """ISO text of ``date_from``; None when absent or beyond what datetime can show (year 9999)."""
    if ms is None:
        return None
    try:
        moment = _EPOCH + timedelta(milliseconds=ms)
    except OverflowError:
        return None
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _jsonable(record: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in COLUMNS:
        if name in ("at", "completed_at"):
            out[name] = _iso(record[name])
        elif name == "date_from":
            out[name] = _date_from_iso(record["date_from_ms"])
        elif name == "elapsed_ms" and record[name] is not None and not math.isfinite(record[name]):
            out[name] = None  # JSON has no infinity
        else:
            out[name] = record[name]
    return out


def _one_line(text: str | None, width: int) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _table(records: list[dict[str, Any]]) -> str:
    if not records:
        return "(no attempts)\n"
    rows = [_TABLE]
    for r in records:
        at: datetime = r["at"]
        date_from = _date_from_iso(r["date_from_ms"])
        task = r["task_id"] if not r["task_name"] else f"{r['task_name']} ({r['task_id']})"
        outcome = r["outcome"] + (
            " (dry run)" if r["dry_run"] and r["outcome"] != "dry-run" else ""
        )
        rows.append(
            (
                str(r["id"]),
                at.strftime("%Y-%m-%d %H:%M:%S"),
                _one_line(r["instance_id"], 40),
                _one_line(task, 60),
                date_from or ("" if r["date_from_ms"] is None else str(r["date_from_ms"])),
                outcome,
                "" if r["status_code"] is None else str(r["status_code"]),
                _one_line(r["error_code"], 20),
                _one_line(r["error_msg"] or r["message"], _DETAIL_WIDTH),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(_TABLE))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"
