"""``roma-nb tasks``: an instance's combined tasks and their state, to choose what to reset."""

from __future__ import annotations

import argparse
from typing import Any

from ._common import (
    EXIT_OK,
    Column,
    HelpFormatter,
    add_connection_arguments,
    add_execute_status_argument,
    add_format_argument,
    client_from_args,
    iso_utc,
    render,
    resolve_instance,
    run_guarded,
)

__all__ = ["COLUMNS", "register", "run"]

COLUMNS = (
    Column("task_id", lambda t: t.task_id),
    Column("task_name", lambda t: t.task_name),
    Column("status", lambda t: t.status_text),
    Column("execute_status", lambda t: t.execute_status),
    Column("task_type", lambda t: t.task_type),
    Column("ext_type", lambda t: t.ext_type),
    Column("last_modified", lambda t: iso_utc(t.last_modified_time)),
)
_STATUS = {"running": 1, "stopped": 0}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "tasks",
        formatter_class=HelpFormatter,
        help="list an instance's combined tasks (or all its tasks)",
        description=(
            "List the combined (CDC) tasks of an instance, every page. Combined tasks are the "
            "ones whose progress `roma-nb reset` can reset."
        ),
        epilog="Example: roma-nb tasks roma-prod-cn-north-4 --execute-status ERROR",
    )
    parser.add_argument("instance", metavar="INSTANCE", help="instance id or name")
    parser.add_argument(
        "--all", action="store_true", help="every task, not only combined (CDC) ones"
    )
    parser.add_argument("--name", help="only tasks whose name contains this text")
    add_execute_status_argument(parser)
    parser.add_argument("--status", choices=tuple(_STATUS), help="started or stopped tasks only")
    add_format_argument(parser)
    add_connection_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    def body() -> int:
        with client_from_args(args) as client:
            instance = resolve_instance(client, args.instance)
            tasks = client.list_tasks(
                instance.id,
                combined_only=not args.all,
                name=args.name,
                execute_status=args.execute_status,
                status=None if args.status is None else _STATUS[args.status],
            )
        render(tasks, COLUMNS, args.format)
        return EXIT_OK

    return run_guarded("roma-nb tasks", body)
