"""``roma-nb apply PLAN.json``: execute exactly a reviewed plan, after checking the world again.

A plan file (``reset … --export``) is what a second person approved. Applying it later is only
safe if that is still what will happen, so before anything is sent:

1. the file must be a plan, unedited (``Plan.load``: its ``plan_id`` is the hash of its content);
2. the client must talk to the plan's environment and project, and the plan must not have
   expired (checked before any call: a plan for another project asks nothing of it);
3. every task must still exist on the instance and still be combined; with where each task is
   now, a move the plan did not allow forward must still not be one (``plans.check_apply``).

Any refusal exits 2 with nothing sent. A change a reviewer did not see (a task's state or name,
the direction of its move) is a warning: without ``--force`` the command stops after it (exit
3), like a plan without ``--yes``. Then it sends exactly the planned calls, with the plan's
``date_from`` integer (not the text again: "2h ago" meant the instant it meant when planned),
and every history row carries the plan's ``plan_id``. Exit codes are ``reset``'s.
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
    report,
    run_stoppable,
)
from .reset import RESULT_COLUMNS, _send, add_deadline_argument

if TYPE_CHECKING:
    from ..models import ResetResult

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "apply",
        formatter_class=HelpFormatter,
        help="execute a plan file made with reset --export (checks the world first)",
        description=(
            "Execute exactly the plan in PLAN.json (made with `roma-nb reset ... --export`), "
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
            "  roma-nb apply plan.json --yes      # send the planned resets"
        ),
    )
    parser.add_argument("plan", metavar="PLAN.json", type=Path, help="the plan file")
    add_confirm_arguments(
        parser,
        "the planned resets",
        force_help="with --yes, send even though the world changed since planning",
    )
    add_deadline_argument(parser)
    add_format_argument(parser)
    add_connection_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    def body() -> int:
        from ..plans import Plan, check_apply_now

        if args.concurrency < 1:
            raise ValidationError("--concurrency must be at least 1.")
        plan = Plan.load(args.plan)
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
                if plan.procedure.kind != "reset":
                    raise ValidationError(
                        "This is a rewind plan (stop, reset, start, verify); this roma-nb "
                        "cannot carry out a rewind yet. Nothing sent."
                    )
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
                sent_log, tasks = log, plan.targets()

                def work(stop: threading.Event) -> list[ResetResult]:
                    return _send(client, tasks, plan.date_from.ms, sent_log, args, stop)

                results = run_stoppable(work, "roma-nb-apply")
            finally:
                if log is not None:
                    log.close()
        note = f"plan_id {plan.plan_id}. History: {where}"
        return report(results, RESULT_COLUMNS, args.format, note)

    return run_guarded("roma-nb apply", body, WORDS)
