"""``roma-nb instances``: the project's ROMA Connect instances, to find the id a reset needs."""

from __future__ import annotations

import argparse
from typing import Any

from ._common import (
    EXIT_OK,
    Column,
    HelpFormatter,
    add_connection_arguments,
    add_format_argument,
    client_from_args,
    render,
    run_guarded,
)

__all__ = ["COLUMNS", "register", "run"]

COLUMNS = (
    Column("id", lambda i: i.id),
    Column("name", lambda i: i.name),
    Column("status", lambda i: i.status),
    Column("flavor_type", lambda i: i.flavor_type),
    Column("create_time", lambda i: i.create_time),
    Column("description", lambda i: i.description),
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "instances",
        formatter_class=HelpFormatter,
        help="list the project's ROMA Connect instances",
        description="List the ROMA Connect instances of the project (every page).",
        epilog="Example: roma-nb instances --format csv > instances.csv",
    )
    parser.add_argument("--status", help="only instances in this status, e.g. RUNNING")
    add_format_argument(parser)
    add_connection_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    def body() -> int:
        with client_from_args(args) as client:
            instances = client.list_instances(status=args.status)
        render(instances, COLUMNS, args.format)
        return EXIT_OK

    return run_guarded("roma-nb instances", body)
