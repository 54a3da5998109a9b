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
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ValidationError
from ._common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    HelpFormatter,
    add_connection_arguments,
    add_format_argument,
    client_from_args,
    history_refusals,
    render,
    run_guarded,
)
from ._world import positions
from .reset import _WORDS, EXIT_NOT_CONFIRMED, RESULT_COLUMNS, _open_log, _send

if TYPE_CHECKING:
    from ..client import RomaClient
    from ..plans import ApplyCheck, Plan

__all__ = ["register", "run"]

_OK_OUTCOMES = ("success", "dry-run")


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
    parser.add_argument("--yes", action="store_true", help="send the planned calls")
    parser.add_argument(
        "--force",
        action="store_true",
        help="with --yes, send even though a task's state changed since planning",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="record a dry run in the history; send nothing"
    )
    parser.add_argument(
        "--concurrency", type=int, default=8, metavar="N", help="requests in flight (default 8)"
    )
    parser.add_argument(
        "--history",
        type=Path,
        metavar="PATH",
        help="history file (default: $ROMA_NB_HISTORY, else the per-user data directory)",
    )
    add_format_argument(parser)
    add_connection_arguments(parser)
    parser.set_defaults(func=run)


def _check(client: RomaClient, plan: Plan, now_ms: int) -> ApplyCheck:
    """The verdict of ``check_apply`` in the world the client sees, asking it only what is
    needed: nothing for another project or an expired plan, positions only for tasks that are
    still there."""
    from ..errors import NotFoundError
    from ..plans import Environment, World, check_apply

    here = Environment.of(client)
    verdict = check_apply(plan, World(here, now_ms, None))
    if not verdict.ok:
        return verdict
    try:
        listed = client.list_tasks(plan.instance_id, combined_only=False)
    except NotFoundError:  # the instance is gone, and every task with it
        listed = []
    verdict = check_apply(plan, World(here, now_ms, listed))
    if not verdict.ok:
        return verdict
    where = positions(client, plan.instance_id, (t.id for t in plan.tasks))
    return check_apply(plan, World(here, now_ms, listed, where))


def run(args: argparse.Namespace) -> int:
    def body() -> int:
        from ..plans import Plan

        if args.concurrency < 1:
            raise ValidationError("--concurrency must be at least 1.")
        plan = Plan.load(args.plan)
        with client_from_args(args) as client:
            log, where = None, ""
            if args.yes or args.dry_run:
                with history_refusals():
                    log, where = _open_log(client, args.history, plan_id=plan.plan_id)
            try:
                verdict = _check(client, plan, time.time_ns() // 1_000_000)
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
                results = _send(client, plan.targets(), plan.date_from.ms, log, args)
            finally:
                if log is not None:
                    log.close()
        counts = Counter(r.outcome for r in results)
        summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
        try:
            render(results, RESULT_COLUMNS, args.format)
        finally:
            print(f"{summary}. plan_id {plan.plan_id}. History: {where}", file=sys.stderr)
        return EXIT_OK if all(r.outcome in _OK_OUTCOMES for r in results) else EXIT_FAILED

    return run_guarded("roma-nb apply", body, _WORDS)
