"""``roma-nb rewind``: stop, reset, start and verify combined tasks, as an operator would.

The same plan-first flow, exit codes and formats as ``roma-nb reset`` (``_sending``): the plan
lists every task with its state and the steps that will run for it, and says in one line what
the whole rewind does ("stop 3 running tasks, reset 5, start them again, verify"); nothing is
sent without ``--yes``. Each step goes to the history (pending, then completed), so a task the
rewind stopped and did not start again is listed by ``roma-nb history --left-stopped`` even
after a crash. The result is one row per task: each step's outcome and the rewind's
(``success``, ``failed``, ``unknown``, ``left-stopped``, ``unverified``, ``dry-run``,
``skipped``); exit 0 only when every task is ``success`` (or ``dry-run``). ``--export PLAN.json``
writes a rewind plan file instead (``_export``; its restart and verify are the plan's), which
``roma-nb apply`` carries out with ``rewind_tasks``.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

from ._common import Column, HelpFormatter
from ._export import add_export_arguments
from ._sending import (
    TASK_COLUMNS,
    Command,
    add_deadline_argument,
    add_sending_arguments,
    run_command,
)

if TYPE_CHECKING:
    from ..client import RomaClient
    from ..history import ResultLog
    from ..models import Restart, RewindResult, RewindStep, Task
    from ..plans import Procedure

__all__ = ["RESULT_COLUMNS", "add_timeout_arguments", "register", "rewind_tasks", "run"]


def _step(name: str) -> Column:
    return Column(name, lambda r: r.to_dict()[name])


RESULT_COLUMNS = (
    *TASK_COLUMNS,
    Column("was_running", lambda r: r.was_running),
    *(_step(name) for name in ("stop", "reset", "start", "verify")),
    Column("outcome", lambda r: r.outcome),
    Column("message", lambda r: r.message),
    Column("rewind_id", lambda r: r.rewind_id),
)

_RESTARTS: dict[str, Restart] = {"as-before": "as_before", "always": "always", "never": "never"}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "rewind",
        formatter_class=HelpFormatter,
        help="stop, reset, start and verify combined tasks (plan first; sends only with --yes)",
        description=(
            "Rewind combined tasks of INSTANCE to --date-from the way an operator does: stop "
            "each running task and wait until it reports stopped, reset its progress, start it "
            "again (--restart), and verify from its monitor data that an execution since the "
            "restart is reading. A task whose stop fails is not reset; a task whose reset fails "
            "is started again; a task that cannot be started again is reported LEFT STOPPED. "
            "The plan is printed first; nothing is sent without --yes. Every step is recorded "
            "in the history (see `roma-nb history --left-stopped`)."
        ),
        epilog=(
            "exit codes:\n"
            "  0  every task was rewound (or dry-run)\n"
            "  1  any task failed, is unknown, unverified, left stopped or was skipped (also "
            "for the --deadline)\n"
            "  2  bad arguments, configuration or history file: nothing sent\n"
            "  3  plan shown without --yes (or without --force when a warning needs it): "
            "nothing sent\n\n"
            "examples:\n"
            "  roma-nb rewind roma-prod-cn-north-4 TASK_A TASK_B --date-from 2024-05-01T02:00 "
            "--tz Asia/Shanghai\n"
            "  roma-nb rewind INSTANCE_ID TASK_A --date-from 1714528800000 --yes\n"
            "  roma-nb rewind INSTANCE_ID TASK_A --date-from 2024-05-01T02:00Z --restart never "
            "--yes\n"
            "  roma-nb rewind INSTANCE_ID TASK_A --date-from '2h ago' --export plan.json"
        ),
    )
    add_sending_arguments(parser, "the rewind")
    add_deadline_argument(
        parser,
        "what was not done by then is recorded as skipped (tasks the rewind stopped are still "
        "started again, once their stop has landed)",
    )
    parser.add_argument(
        "--restart",
        choices=tuple(_RESTARTS),
        default="as-before",
        help=(
            "start the tasks again after the reset: as-before (only those that were running, "
            "default), always, or never (they are left stopped, and listed as such)"
        ),
    )
    parser.add_argument(
        "--no-verify",
        dest="verify",
        action="store_false",
        help="do not watch the monitor data after the restart",
    )
    add_timeout_arguments(parser)
    add_export_arguments(parser)
    parser.set_defaults(func=run)


def add_timeout_arguments(parser: argparse.ArgumentParser) -> None:
    """``--stop-timeout`` and ``--verify-timeout``, which ``rewind_tasks`` reads (``rewind``,
    and ``apply`` of a rewind plan: how long to wait is not part of a plan)."""
    parser.add_argument(
        "--stop-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help=(
            "how long to wait for a task to report stopped; a stop not confirmed by then is "
            "watched for as long again after the task is started (default 60)"
        ),
    )
    parser.add_argument(
        "--verify-timeout",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="how long to watch for an execution that reads after the restart (default 120)",
    )


def _send(
    client: RomaClient,
    tasks: list[Task],
    ms: int | None,
    log: ResultLog,
    args: argparse.Namespace,
    stop: threading.Event,
) -> list[RewindResult]:
    return rewind_tasks(
        client, tasks, ms, log, args, stop, restart=_RESTARTS[args.restart], verify=args.verify
    )


def rewind_tasks(
    client: RomaClient,
    tasks: list[Task],
    ms: int | None,
    log: ResultLog,
    args: argparse.Namespace,
    stop: threading.Event,
    *,
    restart: Restart,
    verify: bool,
) -> list[RewindResult]:
    """``client.rewind`` with the timeouts, deadline, concurrency and dry run of ``args``, each
    step printed on stderr as it finishes."""
    started = time.monotonic()
    deadline: float | None = args.deadline

    def progress(row: RewindStep) -> None:
        what = f": {row.message}" if row.message and row.outcome != "success" else ""
        left = ""
        if deadline is not None:
            seconds = max(deadline - (time.monotonic() - started), 0)
            left = f" (the deadline stops it in {seconds:.0f} s)"
        print(f"  {row.step:<6} {row.task_id}: {row.outcome}{what}{left}", file=sys.stderr)

    results = client.rewind(
        tasks,
        ms,
        restart=restart,
        verify=verify,
        stop_timeout=args.stop_timeout,
        verify_timeout=args.verify_timeout,
        concurrency=args.concurrency,
        log=log,
        dry_run=args.dry_run,
        progress=progress,
        deadline=deadline,
        stop=stop,
    )
    late = Counter(r.outcome for r in results if "deadline" in (r.message or ""))
    if late["skipped"] or late["unverified"]:
        print(
            f"The deadline of {deadline:g} s passed: {late['skipped']} task(s) not rewound "
            "(recorded as skipped; what the rewind had stopped was started again), "
            f"{late['unverified']} rewound but not verified.",
            file=sys.stderr,
        )
    return results


def _procedure(args: argparse.Namespace) -> Procedure:
    """The rewind with its restart and verify options: what the plan shows and ``--export``
    records."""
    from ..plans import Procedure

    return Procedure.rewind(
        restart=_RESTARTS[args.restart], verify=args.verify, allow_forward=args.allow_forward
    )


COMMAND = Command("rewind", "the rewind", _send, RESULT_COLUMNS, _procedure)


def run(args: argparse.Namespace) -> int:
    return run_command(COMMAND, args)
