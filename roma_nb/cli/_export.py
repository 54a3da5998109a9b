"""``reset … --export PLAN.json``: write the plan for a second person to review; send nothing.

The plan is ``roma_nb.plans``' (``build_plan``): the environment, the instance, every task with
its state and where it is now (``plans.where_tasks_are``), the ``date_from`` with the text typed and
the instant it meant, the procedure, who planned it, when, and until when it may be applied. It
refuses what a reviewer should never be asked to approve: a ``date_from`` older than the change
-log retention, a forward move without ``--allow-forward``. ``roma-nb apply PLAN.json`` executes
it after checking the world again.

Exit 0 once the file is written; a refusal is bad input (exit 2) and writes no file.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from ..errors import ValidationError
from ._common import EXIT_OK

if TYPE_CHECKING:
    from ..client import RomaClient
    from ..models import Instance, Task
    from ..plans import DateFrom, Procedure

__all__ = ["PLAN_WORDS", "add_export_arguments", "check_export_arguments", "export"]

PLAN_WORDS = (
    ("Pass allow_forward=True if that is what you want.", "Give --allow-forward if it is."),
    ("or raise the retention setting if it keeps more.", "or --retention-days if it keeps more."),
    ("choose another name or pass overwrite=True.", "choose another name for --export."),
)
"""``roma_nb.plans``' words for a Python caller → the flags of ``reset`` (``_wording``)."""


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "plan files",
        "Write the plan to a file instead of sending (roma-nb apply PLAN.json executes it).",
    )
    group.add_argument(
        "--export",
        metavar="PLAN.json",
        help="write the plan to this file (a new file) and send nothing; exit 0 once written",
    )
    group.add_argument(
        "--allow-forward",
        action="store_true",
        help="let the plan move a task forward (skip changes the target will never receive)",
    )
    group.add_argument(
        "--expires-in",
        metavar="HOURS",
        type=float,
        default=24.0,
        help="how long the plan may be applied (default 24 hours)",
    )


def check_export_arguments(args: argparse.Namespace) -> None:
    """``--export`` sends nothing, so flags that send or record are a contradiction."""
    if args.export is None:
        if args.allow_forward:
            raise ValidationError(
                "--allow-forward is for --export: a plan file records it. Without a plan file, "
                "a future date_from or a move forward needs --force (with --yes)."
            )
        return
    clashes = [flag for flag, given in (("--yes", args.yes), ("--dry-run", args.dry_run)) if given]
    if clashes:
        raise ValidationError(
            f"--export writes a plan and sends nothing; leave out {' and '.join(clashes)} "
            "(roma-nb apply PLAN.json sends it)."
        )
    if not args.expires_in > 0:
        raise ValidationError("--expires-in must be more than 0 hours.")


def export(
    client: RomaClient,
    instance: Instance,
    tasks: list[Task],
    date_from: DateFrom,
    procedure: Procedure,
    now_ms: int,
    args: argparse.Namespace,
) -> int:
    """Build the plan from the world now, print it for review on stderr, write the file."""
    from datetime import timedelta

    from ..plans import Environment, build_plan, where_tasks_are

    plan = build_plan(
        environment=Environment.of(client),
        instance_id=instance.id,
        instance_name=instance.name or "",
        tasks=tasks,
        date_from=date_from,
        now_ms=now_ms,
        procedure=procedure,
        positions=where_tasks_are(client, instance.id, (t.task_id for t in tasks)),
        retention=args.retention_days,
        expires_in=timedelta(hours=args.expires_in),
    )
    written = plan.save(args.export)  # first: a plan that could not be written is not shown
    print(plan.review_text(), file=sys.stderr)
    print(
        f"Nothing sent. Plan written to {written}. Review it, then: roma-nb apply {written}",
        file=sys.stderr,
    )
    return EXIT_OK
