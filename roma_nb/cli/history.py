"""``roma-nb history``: the reset history as a table, CSV or JSON, with the API's filters.

Reading never creates a history file: a path that does not exist yet prints an empty result and
says so on stderr. Filters are those of ``ResultLog.to_frame`` (``--latest`` is
``latest_per_task``); ``--since`` / ``--until`` take what ``monitors`` takes, read in ``--tz``.

Every time (``at``, ``completed_at``, ``date_from``) is written the same way in all three formats:
ISO-8601 with milliseconds and the UTC offset, in ``--tz`` (default UTC), e.g.
``2024-05-01T10:00:00.000+08:00``. CSV is what ``ResultLog.to_csv`` writes but for those times, so
``read_csv`` still reads it back with the frame's dtypes; JSON has every column, ``date_from_ms``
as the exact integer (``date_from`` is null beyond year 9999). The table is the view for people:
ids are never cut, so they can be copied.

``--left-stopped`` lists instead the tasks a rewind stopped and nothing has shown running since
(``ResultLog.left_stopped``: one row per task, its stop), and exits 1 when there are any, so a
script or a cron job can alert on it.

``--task`` takes a task id or a task name (the history stores both). ``--instance`` takes an
instance id: the history does not store instance names, so a name matches nothing, and the
command says so and lists the instance ids it holds.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ..history import COLUMNS, OUTCOME_CATEGORIES, ResultLog, default_history_path, empty_frame
from ..history._exports import write_csv
from ._common import (
    EXIT_FAILED,
    EXIT_OK,
    Column,
    HelpFormatter,
    add_format_argument,
    history_refusals,
    parse_time,
    render,
    run_guarded,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["register", "run"]

_PROG = "roma-nb history"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_DRY_RUNS = {"include": None, "exclude": False, "only": True}
_TIMES = ("at", "completed_at")
_WORDS = (
    (
        "Point ROMA_NB_HISTORY or path= at another file.",
        "Give --path another file, or point ROMA_NB_HISTORY at one.",
    ),
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "history",
        formatter_class=HelpFormatter,
        help="show the history of reset attempts (table, CSV or JSON)",
        description=(
            "Show recorded reset attempts, oldest first. Times are ISO-8601 with their UTC "
            "offset, in --tz (default UTC); --since/--until take ISO-8601 (without an offset "
            "read in --tz), epoch milliseconds, or a duration ago such as 90m, 2h, 7d."
        ),
        epilog=(
            "examples:\n"
            "  roma-nb history --since 7d --tz Asia/Shanghai\n"
            "  roma-nb history --task orders_sync --latest --format json\n"
            "  roma-nb history --outcome failed --outcome unknown --format csv > failed.csv\n"
            "  roma-nb history --left-stopped   # exit 1 when a rewind left tasks stopped"
        ),
    )
    parser.add_argument(
        "--path",
        type=Path,
        help="history file (default: $ROMA_NB_HISTORY, else the per-user data directory)",
    )
    add_format_argument(parser)
    parser.add_argument(
        "--tz", default="UTC", help="zone times are shown in, and naive --since/--until read in"
    )
    parser.add_argument(
        "--task", action="append", metavar="TASK", help="task id or name (repeatable)"
    )
    parser.add_argument(
        "--instance",
        action="append",
        metavar="INSTANCE_ID",
        help="instance id (repeatable); the history does not store instance names",
    )
    parser.add_argument(
        "--plan-id",
        action="append",
        metavar="PLAN_ID",
        help="only the rows of this applied plan (roma-nb apply prints its plan_id; repeatable)",
    )
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
        "--left-stopped",
        action="store_true",
        help=(
            "only the tasks a rewind stopped and did not start again (also after a crash), "
            "one row per task; exit 1 when there are any"
        ),
    )
    parser.add_argument(
        "--mark-interrupted",
        action="store_true",
        help="first turn pending rows whose process is gone into 'unknown' (a write)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    stream = out if out is not None else sys.stdout
    return run_guarded(_PROG, lambda: _show(args, stream), _WORDS)


def _note(text: str) -> None:
    print(f"{_PROG}: {text}", file=sys.stderr)


def _moment(text: str | None, tz: str, flag: str, now_ms: int) -> datetime | None:
    if text is None:
        return None
    return _EPOCH + timedelta(milliseconds=parse_time(text, tz, flag=flag, now_ms=now_ms))


def _show(args: argparse.Namespace, stream: TextIO) -> int:
    from ..dates import resolve_zone
    from ..errors import ValidationError

    if args.limit is not None and args.limit < 0:
        raise ValidationError("--limit must be 0 or more.")
    zone = resolve_zone(args.tz)
    now = time.time_ns() // 1_000_000  # one reading for both: --since 2h --until 2h is empty
    since = _moment(args.since, args.tz, "--since", now)
    until = _moment(args.until, args.tz, "--until", now)
    path: Path = args.path if args.path is not None else default_history_path()
    if not path.exists():
        _note(f"no history at {path} yet")
        if args.format == "csv":
            write_csv(empty_frame(), stream)
        else:
            _render([], args.format, zone, stream)
        return EXIT_OK
    dry_run = _DRY_RUNS[args.dry_runs] if args.dry_runs else (False if args.latest else None)
    with history_refusals(), ResultLog(path) as log:
        if args.mark_interrupted:
            marked = log.mark_interrupted()
            _note(f"marked {marked} interrupted row(s) as unknown")
        if args.left_stopped:
            return _left_stopped(log, args.format, zone, stream)
        targets = log.records(latest=True) if (args.task or args.instance) else []
        filters: dict[str, Any] = {
            "task_id": _task_ids(args.task, targets, path),
            "instance_id": _instance_ids(args.instance, targets, path),
            "plan_id": args.plan_id,
            "outcome": args.outcome,
            "since": since,
            "until": until,
            "dry_run": dry_run,
        }
        if args.format == "csv":
            frame = log.latest_per_task(**filters) if args.latest else log.to_frame(**filters)
            if args.limit is not None:
                frame = frame.tail(args.limit) if args.limit else frame.iloc[:0]
            write_csv(_zoned(frame, zone), stream)
            return EXIT_OK
        records = log.records(latest=args.latest, **filters)
    if args.limit is not None:
        records = records[len(records) - args.limit :] if args.limit else []
    _render(records, args.format, zone, stream)
    return EXIT_OK


def _left_stopped(log: ResultLog, fmt: str, zone: tzinfo, stream: TextIO) -> int:
    """The tasks rewinds left stopped; exit 1 when there are any."""
    frame = log.left_stopped()
    ids = [int(row_id) for row_id in frame["id"]]
    if fmt == "csv":
        write_csv(_zoned(frame, zone), stream)
    else:
        _render(log.records(row_id=ids) if ids else [], fmt, zone, stream)
    if not ids:
        _note("no task is left stopped by a rewind")
        return EXIT_OK
    _note(
        f"{len(ids)} task(s) LEFT STOPPED by a rewind: start them again (the console, or "
        "client.start_tasks), then check them with `roma-nb monitors`"
    )
    return EXIT_FAILED


def _task_ids(
    given: list[str] | None, targets: list[dict[str, Any]], path: Path
) -> list[str] | None:
    """Task ids for ``--task`` values: an id as is, a name as the ids of the tasks so named."""
    if given is None:
        return None
    ids: list[str] = []
    for text in given:
        if any(t["task_id"] == text for t in targets):
            ids.append(text)
            continue
        named = sorted({t["task_id"] for t in targets if t["task_name"] == text})
        if named:
            _note(f"{text!r} is a task name; showing task id {' and '.join(named)}")
            ids += named
        else:
            _note(f"no attempt in {path} is for a task with the id or name {text!r}")
            ids.append(text)
    return ids


def _instance_ids(
    given: list[str] | None, targets: list[dict[str, Any]], path: Path
) -> list[str] | None:
    """``--instance`` values, each checked against the instance ids the history holds."""
    if given is None:
        return None
    known = sorted({t["instance_id"] for t in targets})
    for text in given:
        if text not in known:
            _note(
                f"no attempt in {path} is for an instance with the id {text!r}. The history "
                "records instance ids, not names (`roma-nb instances` shows each name's id); "
                f"it holds: {', '.join(known) or 'none'}."
            )
    return given


# -- times, one format everywhere -------------------------------------------------------------


def _iso(moment: datetime | None, zone: tzinfo) -> str | None:
    if moment is None:
        return None
    try:
        return moment.astimezone(zone).isoformat(timespec="milliseconds")
    except (OverflowError, ValueError):  # past year 9999 once shifted into the zone
        return None


def _date_from_iso(ms: int | None, zone: tzinfo) -> str | None:
    """``date_from`` as ISO text; None when absent or beyond what a datetime holds."""
    if ms is None:
        return None
    try:
        moment = _EPOCH + timedelta(milliseconds=ms)
    except OverflowError:
        return None
    return _iso(moment, zone)


def _zoned(frame: pd.DataFrame, zone: tzinfo) -> pd.DataFrame:
    """The frame with its times as the text every format uses, for ``write_csv``."""
    import pandas as pd

    shown: pd.DataFrame = frame.copy()
    for name in _TIMES:
        shown[name] = [None if pd.isna(t) else _iso(t.to_pydatetime(), zone) for t in frame[name]]
    shown["date_from"] = [
        None if pd.isna(ms) else _date_from_iso(int(ms), zone) for ms in frame["date_from_ms"]
    ]
    return shown


def _finite(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None  # JSON has no infinity


def _json_columns(zone: tzinfo) -> list[Column]:
    def column(name: str) -> Column:
        if name in _TIMES:
            return Column(name, lambda r: _iso(r[name], zone))
        if name == "date_from":
            return Column(name, lambda r: _date_from_iso(r["date_from_ms"], zone))
        if name == "elapsed_ms":
            return Column(name, lambda r: _finite(r[name]))
        return Column(name, lambda r: r[name])

    return [column(name) for name in COLUMNS]


def _outcome(record: dict[str, Any]) -> str:
    dry = record["dry_run"] and record["outcome"] != "dry-run"
    return f"{record['outcome']} (dry run)" if dry else str(record["outcome"])


def _table_columns(zone: tzinfo) -> list[Column]:
    def date_from(record: dict[str, Any]) -> object:
        return _date_from_iso(record["date_from_ms"], zone) or record["date_from_ms"]

    return [
        Column("id", lambda r: r["id"]),
        Column("at", lambda r: _iso(r["at"], zone), cut=False),
        Column("instance_id", lambda r: r["instance_id"], cut=False),
        Column("task_id", lambda r: r["task_id"], cut=False),
        Column("task_name", lambda r: r["task_name"]),
        Column("date_from", date_from, cut=False),
        Column("outcome", _outcome),
        Column("status", lambda r: r["status_code"]),
        Column("error", lambda r: r["error_code"]),
        Column("detail", lambda r: r["error_msg"] or r["message"]),
        Column("by", lambda r: r["actor"]),
    ]


def _render(records: list[dict[str, Any]], fmt: str, zone: tzinfo, stream: TextIO) -> None:
    columns = _json_columns(zone) if fmt == "json" else _table_columns(zone)
    render(records, columns, fmt, stream)
