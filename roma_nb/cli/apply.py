"""``roma-nb apply PLAN.json``: execute exactly a reviewed plan, after checking the world again.

A plan file (``reset … --export`` or ``rewind … --export``) is what a second person approved.
Applying it later is only safe if that is still what will happen, so before anything is sent:

1. the file must be a plan, unedited (``Plan.load``: its ``plan_id`` is the hash of its content);
2. the client must talk to the plan's environment and project, and the plan must not have
   expired (checked before any call: a plan for another project asks nothing of it);
3. every task must still exist on the instance and still be combined; with where each task is
   now, a move the plan did not allow forward must still not be one (``plans.check_apply``).

Any refusal exits 2 with nothing sent. A change a reviewer did not see (a task's state or name,
the direction of its move) is a warning: without ``--force`` the command stops after it (exit
3), like a plan without ``--yes``. Then it sends exactly the planned calls, with the plan's
``date_from`` integer (not the text again: "2h ago" meant the instant it meant when planned),
and every history row carries the plan's ``plan_id``. A reset plan sends the raw resets
(``reset``'s ``_send``); a rewind plan runs the rewind procedure (``rewind_tasks``: stop if
running, reset, start per the plan's ``restart``, verify per its ``verify``), with this command's
``--stop-timeout`` / ``--verify-timeout``. Exit codes and result columns are those of the
command that made the plan.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ValidationError
from ._common import (
    EXIT_USAGE,
    HelpFormatter,
    add_connection_arguments,
    add_format_argument,
    client_from_args,
    history_refusals,
    run_guarded,
)
from ._sending import (
    EXIT_NOT_CONFIRMED,
    WORDS,
    _open_log,
    add_confirm_arguments,
    add_deadline_argument,
    report,
    send_recorded,
)
from .reset import RESULT_COLUMNS, _send
from .rewind import RESULT_COLUMNS as REWIND_COLUMNS
from .rewind import add_timeout_arguments, rewind_tasks

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ..client import RomaClient
    from ..history import ResultLog
    from ..plans import Plan

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "apply",
        formatter_class=HelpFormatter,
        help="execute a plan file made with reset/rewind --export (checks the world first)",
        description=(
            "Execute exactly the plan in PLAN.json (made with `roma-nb reset ... --export` or "
            "`roma-nb rewind ... --export`), "
            "after checking that it is unedited, unexpired, for this environment and project, "
            "and that its tasks still exist and are combined. The plan and the checks are "
            "printed first; nothing is sent without --yes. Every history row carries the "
            "plan's plan_id (`roma-nb history --plan-id ID`)."
        ),
        epilog=(
            "exit codes:\n"
            "  0  every task succeeded (or was dry-run)\n"
            "  1  any task failed, is unknown or was skipped\n"
            "  2  the plan is refused (edited, expired, other project, task gone...): "
            "nothing sent\n"
            "  3  plan shown without --yes, or the world changed since planning and --force "
            "was not given: nothing sent\n\n"
            "examples:\n"
            "  roma-nb apply plan.json            # check and show, send nothing\n"
            "  roma-nb apply plan.json --yes      # send the planned resets, or run the rewind"
        ),
    )
    parser.add_argument("plan", metavar="PLAN.json", type=Path, help="the plan file")
    add_confirm_arguments(
        parser,
        "the planned resets (or run the planned rewind)",
        force_help="with --yes, send even though the world changed since planning",
    )
    add_deadline_argument(
        parser,
        "what was not done by then is recorded as skipped (tasks a rewind stopped are still "
        "started again)",
    )
    add_timeout_arguments(parser)
    add_format_argument(parser)
    add_connection_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    def body() -> int:
        from ..plans import Plan, check_apply_now

        if args.concurrency < 1:
            raise ValidationError("--concurrency must be at least 1.")
        plan = Plan.load(args.plan)
        unrecorded = ""
        with client_from_args(args) as client:
            log, where = None, ""
            if args.yes or args.dry_run:
                with history_refusals():
                    log, where = _open_log(client, args.history, plan_id=plan.plan_id)
            try:
                verdict = check_apply_now(client, plan, time.time_ns() // 1_000_000)
                print(plan.review_text(), file=sys.stderr)
                print(verdict.text(), file=sys.stderr)
                if not verdict.ok:
                    print("Nothing sent: the plan is refused.", file=sys.stderr)
                    return EXIT_USAGE
                if verdict.warnings and not args.force and not args.dry_run:
                    print(
                        "Nothing sent: the world changed since planning (above). Review it; "
                        "add --force with --yes to apply the plan anyway, or make it again.",
                        file=sys.stderr,
                    )
                    return EXIT_NOT_CONFIRMED
                if log is None:
                    print(
                        "Nothing sent. Add --yes to apply this plan, or --dry-run to record "
                        "a dry run.",
                        file=sys.stderr,
                    )
                    return EXIT_NOT_CONFIRMED
                work = _work(client, plan, log, args)
                results, unrecorded = send_recorded(work, "roma-nb-apply")
            finally:
                if log is not None:
                    log.close()
        columns = REWIND_COLUMNS if plan.procedure.kind == "rewind" else RESULT_COLUMNS
        note = f"plan_id {plan.plan_id}. History: {where}"
        return report(results, columns, args.format, note, unrecorded)

    return run_guarded("roma-nb apply", body, WORDS)


def _work(
    client: RomaClient, plan: Plan, log: ResultLog, args: argparse.Namespace
) -> Callable[[threading.Event], Sequence[Any]]:
    """The plan's calls, to run in a worker thread: exactly its tasks, its ``date_from``
    integer and, for a rewind, its ``restart`` and ``verify``."""
    tasks, ms, procedure = plan.targets(), plan.date_from.ms, plan.procedure
    if procedure.kind == "reset":
        return lambda stop: _send(client, tasks, ms, log, args, stop)
    restart, verify = procedure.restart, procedure.verify
    assert restart is not None and verify is not None  # a rewind's Procedure has both
    return lambda stop: rewind_tasks(
        client, tasks, ms, log, args, stop, restart=restart, verify=verify
    )
