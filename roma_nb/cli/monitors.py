"""``roma-nb monitors``: monitoring state of an instance's tasks, or one task's decoded logs.

Without a ``TASK_ID`` it lists every task's monitor state (last execution, reader/writer position).
With one it lists that task's monitor logs, each numeric ``status`` code decoded into
words and the side of the sync it comes from (reader 100-499, writer 500-899, other 900+), which
is what someone asking "why did this task stop?" needs first.
"""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING, Any

from ..errors import NotFoundError, ValidationError
from ..models import MonitorLog
from ._common import (
    EXIT_OK,
    Column,
    HelpFormatter,
    add_connection_arguments,
    add_execute_status_argument,
    add_format_argument,
    client_from_args,
    iso_utc,
    parse_time,
    render,
    resolve_instance,
    run_guarded,
)

if TYPE_CHECKING:
    from ..client import RomaClient
    from ..models import Instance

__all__ = ["LOG_COLUMNS", "MONITOR_COLUMNS", "register", "run", "side"]

MONITOR_COLUMNS = (
    Column("task_id", lambda m: m.task_id),
    Column("task_name", lambda m: m.task_name),
    Column("status", lambda m: {0: "stopped", 1: "running"}.get(m.status)),
    Column("execute_status", lambda m: m.execute_status),
    Column("position", lambda m: m.position),
    Column("last_execute_time", lambda m: iso_utc(m.last_execute_time)),
    Column("ext_type", lambda m: m.ext_type),
    Column("source", lambda m: m.source_app_name),
    Column("target", lambda m: m.target_app_name),
)


def side(code: int | None) -> str:
    """Which part of the sync a monitor status code comes from (``roma-api.md`` §2)."""
    if code is None:
        return ""
    if 100 <= code <= 499:
        return "reader"
    if 500 <= code <= 899:
        return "writer"
    return "other" if code >= 900 else ""


LOG_COLUMNS = (
    Column("id", lambda log: log.id),
    Column("start_time", lambda log: iso_utc(log.start_time)),
    Column("end_time", lambda log: iso_utc(log.end_time)),
    Column("execute_status", lambda log: log.execute_status),
    Column("side", lambda log: side(log.status)),
    Column("status", lambda log: log.status),
    Column("meaning", lambda log: log.status_text),
    Column("position", lambda log: log.position),
    Column("position_status", lambda log: log.position_status),
    Column("data_count", lambda log: log.data_count),
    Column("dirty_data_count", lambda log: log.dirty_data_count),
    Column("spend_time_ms", lambda log: log.spend_time),
    Column("remarks", lambda log: log.remarks),
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "monitors",
        formatter_class=HelpFormatter,
        help="monitor state of an instance's tasks, or one task's decoded monitor logs",
        description=(
            "Without TASK_ID: the monitoring state of every task of INSTANCE. With TASK_ID: that "
            "task's monitor logs, oldest first, status codes decoded (reader/writer side)."
        ),
        epilog=(
            "Examples: roma-nb monitors roma-prod-cn-north-4 --execute-status ERROR\n"
            "          roma-nb monitors roma-prod-cn-north-4 TASK_ID --since 24h"
        ),
    )
    parser.add_argument("instance", metavar="INSTANCE", help="instance id or name")
    parser.add_argument(
        "task_id", metavar="TASK_ID", nargs="?", help="show this task's monitor logs instead"
    )
    parser.add_argument("--task", metavar="TASK_ID", help="the same as TASK_ID")
    parser.add_argument("--name", help="(state) only tasks whose name contains this text")
    add_execute_status_argument(parser, "(state) ")
    parser.add_argument(
        "--combined-only", action="store_true", help="(state) only combined (CDC) tasks"
    )
    parser.add_argument(
        "--since",
        metavar="WHEN",
        help="(logs) from WHEN: ISO-8601, epoch ms, or relative: 90m, -2h, now-1d, yesterday 02:00",
    )
    parser.add_argument("--until", metavar="WHEN", help="(logs) until WHEN, same forms")
    parser.add_argument(
        "--tz", default="UTC", help="zone of --since/--until without an offset (default UTC)"
    )
    add_format_argument(parser)
    add_connection_arguments(parser)
    parser.set_defaults(func=run)


def _sorted_logs(logs: list[MonitorLog]) -> list[MonitorLog]:
    return sorted(logs, key=lambda log: (log.start_time is None, log.start_time or 0, log.id))


def _window(args: argparse.Namespace) -> tuple[int | None, int | None]:
    """``--since`` / ``--until`` as epoch ms, both relative to one reading of the clock; an empty
    or inverted window is refused here, not sent for the service to refuse."""
    now = time.time_ns() // 1_000_000
    begin = (
        None if args.since is None else parse_time(args.since, args.tz, flag="--since", now_ms=now)
    )
    end = (
        None if args.until is None else parse_time(args.until, args.tz, flag="--until", now_ms=now)
    )
    if begin is not None and end is not None and begin >= end:
        raise ValidationError(
            f"--since {args.since} ({iso_utc(begin)}) is not before --until {args.until} "
            f"({iso_utc(end)}): the window holds no time. A duration counts back from now, so "
            "--since 2h --until 1h is the hour before the last one."
        )
    return begin, end


def _name_hint(client: RomaClient, instance: Instance, text: str) -> str:
    """When ``text`` is the name of a task rather than its id, the sentence that gives the id."""
    named = [t for t in client.list_tasks(instance.id, combined_only=False) if t.task_name == text]
    if not named:
        return ""
    ids = " or ".join(t.task_id for t in named)
    return f" {text!r} is a task name; give its id: roma-nb monitors {instance.id} {ids}"


def run(args: argparse.Namespace) -> int:
    def body() -> int:
        if args.task_id and args.task and args.task_id != args.task:
            raise ValidationError("Give the task once: TASK_ID or --task, not two different ones.")
        task = args.task_id or args.task
        if task is None and (args.since or args.until):
            raise ValidationError("--since and --until select monitor logs: give a TASK_ID too.")
        begin, end = _window(args)
        with client_from_args(args) as client:
            instance = resolve_instance(client, args.instance)
            if task is not None:
                try:
                    logs = client.monitor_logs(instance.id, task, begin_time=begin, end_time=end)
                except NotFoundError as exc:
                    exc.args = (f"{exc}{_name_hint(client, instance, task)}",)
                    raise
                render(_sorted_logs(logs), LOG_COLUMNS, args.format)
            else:
                monitors = client.task_monitors(
                    instance.id,
                    task_name=args.name,
                    execute_status=args.execute_status,
                    combined_only=args.combined_only,
                )
                render(monitors, MONITOR_COLUMNS, args.format)
        return EXIT_OK

    return run_guarded("roma-nb monitors", body)
