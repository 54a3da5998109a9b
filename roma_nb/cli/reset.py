"""``roma-nb reset``: reset combined tasks' progress to one instant, for people outside Jupyter.

The same safety rules as the panel, adapted to a shell where ``input()`` is not welcome (scripts,
CI, a pasted command at 3 a.m.):

* the history is checked first: a ``--history`` that is a directory, not a history, or cannot be
  written is refused before any plan (exit 2);
* the plan is printed first, on stderr (``_plan``): environment, instance, every task by name and
  id, and the instant as UTC ISO, in ``--tz`` and as the ``date_from`` integer, with warnings
  (future, instance not RUNNING, older than the CDC log retention, a task still running);
* nothing is sent without ``--yes``; without it the command stops after the plan (exit 3), and
  ``--dry-run`` records a dry run instead of sending. A plan with a warning that matters (a
  future ``date_from``, an instance that is not RUNNING) needs ``--force`` as well;
* a plan not sent is written to stdout as JSON with ``--format json``, for review by a program;
* every task must be a combined task of the instance, checked before anything is sent;
* every attempt goes to the history (``--history`` or ``$ROMA_NB_HISTORY`` or the per-user file),
  pending before its request and completed after, like the notebooks do;
* Ctrl-C stops the batch: what was not sent yet is recorded as ``skipped``;
* the exit code is 0 only when every task succeeded (or was dry-run), 1 when any did not;
* ``--date-from`` takes relative times (``2h ago``, ``-90m``, ``PT2H``, ``now-1d``,
  ``yesterday 02:00`` in ``--tz``), resolved once against one reading of the clock; the plan
  shows the text typed and the instant it meant;
* ``--export PLAN.json`` writes a plan file for review instead (``_export``); nothing is sent.

The results (one row per task) go to stdout in ``--format``, so ``--format json`` can be piped.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from ._common import Column, HelpFormatter
from ._export import add_export_arguments
from ._sending import (
    EXIT_NOT_CONFIRMED,
    TASK_COLUMNS,
    WORDS,
    Command,
    add_deadline_argument,
    add_sending_arguments,
    run_command,
)

if TYPE_CHECKING:
    from ..client import BatchOutlook, RomaClient
    from ..history import ResultLog
    from ..models import ResetResult, Task
    from ..plans import Procedure

__all__ = [
    "EXIT_NOT_CONFIRMED",
    "RESULT_COLUMNS",
    "add_deadline_argument",
    "register",
    "run",
]

RESULT_COLUMNS = (
    *TASK_COLUMNS,
    Column("outcome", lambda r: r.outcome),
    Column("status_code", lambda r: r.status_code),
    Column("error_code", lambda r: r.error_code),
    Column("message", lambda r: r.error_msg or r.message),
    Column("request_id", lambda r: r.request_id),
    Column("attempts", lambda r: r.attempts),
)


_QUIET = 10.0  # seconds without a result after which a throttled batch says where it stands


def _outlook_text(outlook: BatchOutlook) -> str:
    """`` — throttled by the gateway, about 40 s left``, or ``""`` when there is nothing to say."""
    text = outlook.describe()
    return f" — {text}" if text else ""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "reset",
        formatter_class=HelpFormatter,
        help="reset combined tasks' progress to an instant (plan first; sends only with --yes)",
        description=(
            "Reset the progress of one or more combined tasks of INSTANCE so they re-read the "
            "change log from --date-from. The plan is printed first; nothing is sent without "
            "--yes. Every attempt is recorded in the history (see `roma-nb history`). A running "
            "task may be refused by the service: `roma-nb rewind` stops it first and starts "
            "it again."
        ),
        epilog=(
            "exit codes:\n"
            "  0  every task succeeded (or was dry-run)\n"
            "  1  any task failed, is unknown or was skipped\n"
            "  2  bad arguments, configuration or history file: nothing sent\n"
            "  3  plan shown without --yes (or without --force when a warning needs it): "
            "nothing sent\n\n"
            "examples:\n"
            "  roma-nb reset roma-prod-cn-north-4 TASK_A TASK_B --date-from 2024-05-01T02:00 "
            "--tz Asia/Shanghai\n"
            "  roma-nb reset INSTANCE_ID TASK_A --date-from 1714528800000 --yes\n"
            "  roma-nb reset INSTANCE_ID TASK_A --date-from 2024-05-01T02:00Z --dry-run\n"
            "  roma-nb reset INSTANCE_ID TASK_A --date-from '2h ago' --export plan.json\n"
            "  roma-nb reset INSTANCE_ID TASK_A --date-from 'yesterday 02:00' --tz Europe/Paris"
        ),
    )
    add_sending_arguments(parser, "the resets")
    add_deadline_argument(parser)
    add_export_arguments(parser)
    parser.set_defaults(func=run)


def _send(
    client: RomaClient,
    tasks: list[Task],
    ms: int | None,
    log: ResultLog,
    args: argparse.Namespace,
    stop: threading.Event,
) -> list[ResetResult]:
    from ..client import BatchWatch

    deadline: float | None = args.deadline
    last_line = [time.monotonic()]

    def say(line: str) -> None:
        last_line[0] = time.monotonic()
        print(line, file=sys.stderr)

    def progress(done: int, total: int, result: ResetResult) -> None:
        outlook = watch.outlook()
        more = "" if outlook is None else _outlook_text(outlook)
        say(f"  [{done}/{total}] {result.task_id}: {result.outcome}{more}")

    watch = BatchWatch(progress)
    finished = threading.Event()

    def tell_while_quiet() -> None:
        """While the gateway holds the batch back and no result arrives, say so now and then."""
        while not finished.wait(1.0):
            outlook = watch.outlook()
            if outlook is None or not outlook.throttled:
                continue
            if time.monotonic() - last_line[0] >= _QUIET:
                say(f"  [{outlook.done}/{outlook.total}] waiting{_outlook_text(outlook)}")

    teller = threading.Thread(target=tell_while_quiet, name="roma-nb-time-left", daemon=True)
    teller.start()
    try:
        results = client.reset_many(
            tasks,
            ms,
            concurrency=args.concurrency,
            log=log,
            dry_run=args.dry_run,
            progress=watch,
            stop=stop,
            deadline=deadline,
        )
    finally:
        finished.set()
        teller.join()
    late = [r for r in results if r.outcome == "skipped" and "deadline" in (r.message or "")]
    refused = [r for r in results if "Not sent again: the batch's deadline" in (r.message or "")]
    if late or refused:
        said = f"The deadline of {deadline:g} s passed: {len(late)} reset(s) were not sent "
        said += "(recorded as skipped)"
        if refused:
            said += (
                f"; {len(refused)} reset(s) the gateway throttled were not sent again "
                "(recorded as failed)"
            )
        say(said + ".")
    return results


_WORDS = WORDS
"""The shell's words of this command's messages (shared with ``rewind``)."""


def _procedure(args: argparse.Namespace) -> Procedure:
    """The raw reset (forward moves only with ``--allow-forward``): what the plan shows and
    ``--export`` records."""
    from ..plans import Procedure

    return Procedure.reset(allow_forward=args.allow_forward)


COMMAND = Command("reset", "these resets", _send, RESULT_COLUMNS, _procedure)


def run(args: argparse.Namespace) -> int:
    return run_command(COMMAND, args)
