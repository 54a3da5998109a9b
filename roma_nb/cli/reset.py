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
import json
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ValidationError
from ._common import (
    EXIT_FAILED,
    EXIT_OK,
    Column,
    HelpFormatter,
    add_connection_arguments,
    add_format_argument,
    client_from_args,
    history_refusals,
    iso_utc,
    render,
    resolve_instance,
    run_guarded,
)
from ._export import PLAN_WORDS, add_export_arguments, check_export_arguments, export
from ._plan import Plan, build_plan

if TYPE_CHECKING:
    from ..client import RomaClient
    from ..history import ResultLog
    from ..models import Instance, ResetResult, Task
    from ..plans import DateFrom

__all__ = [
    "EXIT_NOT_CONFIRMED",
    "RESULT_COLUMNS",
    "add_sending_arguments",
    "register",
    "report",
    "run",
]

EXIT_NOT_CONFIRMED = 3
"""The plan was shown but neither ``--yes`` nor ``--dry-run`` was given: nothing was sent."""

RESULT_COLUMNS = (
    Column("instance_id", lambda r: r.instance_id),
    Column("task_id", lambda r: r.task_id),
    Column("task_name", lambda r: r.task_name),
    Column("date_from", lambda r: r.date_from),
    Column("date_from_utc", lambda r: iso_utc(r.date_from)),
    Column("outcome", lambda r: r.outcome),
    Column("status_code", lambda r: r.status_code),
    Column("error_code", lambda r: r.error_code),
    Column("message", lambda r: r.error_msg or r.message),
    Column("request_id", lambda r: r.request_id),
    Column("attempts", lambda r: r.attempts),
)
_OK_OUTCOMES = ("success", "dry-run")
_WORDS = (
    (
        "An empty string is not a time; pass None to let the service decide the start point.",
        "--date-from is empty: give a time, or --no-date-from to let the service decide the "
        "start point.",
    ),
    (
        "Point ROMA_NB_HISTORY or path= at another file.",
        "Give --history another file, or point ROMA_NB_HISTORY at one.",
    ),
    *PLAN_WORDS,
)


def _positive_days(text: str) -> timedelta:
    try:
        days = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days") from None
    if not days > 0:
        raise argparse.ArgumentTypeError("the retention must be more than 0 days")
    return timedelta(days=days)


def add_sending_arguments(parser: argparse.ArgumentParser, *, force_help: str) -> None:
    """What every command that sends resets takes (``reset``, ``apply``): how to confirm, how
    many in flight, where the history goes."""
    parser.add_argument(
        "--dry-run", action="store_true", help="record a dry run in the history; send nothing"
    )
    parser.add_argument("--yes", action="store_true", help="send the resets (after the plan)")
    parser.add_argument("--force", action="store_true", help=force_help)
    parser.add_argument(
        "--concurrency", type=int, default=8, metavar="N", help="requests in flight (default 8)"
    )
    parser.add_argument(
        "--history",
        type=Path,
        metavar="PATH",
        help="history file (default: $ROMA_NB_HISTORY, else the per-user data directory)",
    )


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "reset",
        formatter_class=HelpFormatter,
        help="reset combined tasks' progress to an instant (plan first; sends only with --yes)",
        description=(
            "Reset the progress of one or more combined tasks of INSTANCE so they re-read the "
            "change log from --date-from. The plan is printed first; nothing is sent without "
            "--yes. Every attempt is recorded in the history (see `roma-nb history`)."
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
    parser.add_argument("instance", metavar="INSTANCE", help="instance id or name")
    parser.add_argument("task_ids", metavar="TASK_ID", nargs="+", help="combined task ids")
    when = parser.add_mutually_exclusive_group(required=True)
    when.add_argument(
        "--date-from",
        metavar="WHEN",
        help=(
            "ISO-8601 (without an offset it is read in --tz), integer epoch milliseconds, or "
            "a time relative to now: '2h ago', -90m, PT2H, now-1d, 'yesterday 02:00' (in --tz)"
        ),
    )
    when.add_argument(
        "--no-date-from",
        action="store_true",
        help="send no date_from: the service decides the start point",
    )
    parser.add_argument(
        "--tz", default="UTC", help="zone of a --date-from without an offset (default UTC)"
    )
    add_sending_arguments(
        parser,
        force_help=(
            "with --yes, send even when the plan warns of a future date_from or an instance "
            "that is not RUNNING"
        ),
    )
    parser.add_argument(
        "--retention-days",
        type=_positive_days,
        default=timedelta(days=2),
        metavar="DAYS",
        help="how long the source keeps CDC logs, for the warning (default 2)",
    )
    add_export_arguments(parser)
    add_format_argument(parser)
    add_connection_arguments(parser)
    parser.set_defaults(func=run)


def _unique(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def _targets(client: RomaClient, instance: Instance, task_ids: list[str]) -> list[Task]:
    """The tasks to reset, in the order given; every one must be a combined task of the instance."""
    listed = client.list_tasks(instance.id, combined_only=False)
    tasks = {t.task_id: t for t in listed}
    missing = [i for i in task_ids if i not in tasks]
    normal = [i for i in task_ids if i in tasks and not tasks[i].is_combined]
    problems = []
    if missing:
        problems.append(f"not tasks of {instance.label}: {', '.join(missing)}")
        named = {t.task_name: t.task_id for t in listed if t.task_name in missing}
        problems += [f"{name!r} is a task name: its id is {tid}" for name, tid in named.items()]
    if normal:
        problems.append(
            f"not combined (CDC) tasks, whose progress cannot be reset: {', '.join(normal)}"
        )
    if problems:
        raise ValidationError("Nothing was sent. Task ids " + "; ".join(problems) + ".")
    return [tasks[i] for i in task_ids]


def _open_log(
    client: RomaClient, path: Path | None, *, plan_id: str | None = None
) -> tuple[ResultLog, str]:
    """The history for this command's rows, stamped with the client's environment (and the
    ``plan_id`` of the plan being applied, if any)."""
    from ..history import RecordContext, ResultLog

    context = RecordContext.of(client, plan_id=plan_id)
    if path is not None:
        return ResultLog(path, context=context), str(path)
    if client.is_sandbox:
        # The embedded sandbox dies with this command; its practice runs stay out of the
        # durable history, as in the panel.
        return ResultLog(context=context), "memory only (embedded sandbox; --history to keep)"
    log = ResultLog.default(context=context)
    return log, str(log.path)


def _send(
    client: RomaClient,
    tasks: list[Task],
    ms: int | None,
    log: ResultLog,
    args: argparse.Namespace,
) -> list[ResetResult]:
    """Run the batch in a worker thread so Ctrl-C here stops it cleanly (rest: ``skipped``)."""
    stop = threading.Event()
    outcome: dict[str, Any] = {}

    def progress(done: int, total: int, result: ResetResult) -> None:
        print(f"  [{done}/{total}] {result.task_id}: {result.outcome}", file=sys.stderr)

    def work() -> None:
        try:
            outcome["results"] = client.reset_many(
                tasks,
                ms,
                concurrency=args.concurrency,
                log=log,
                dry_run=args.dry_run,
                progress=progress,
                stop=stop,
            )
        except BaseException as exc:  # re-raised in the main thread
            outcome["error"] = exc

    worker = threading.Thread(target=work, name="roma-nb-reset")
    worker.start()
    while worker.is_alive():
        try:
            worker.join(0.2)
        except KeyboardInterrupt:
            stop.set()
            print(
                "Stopping: requests in flight finish, the rest are recorded as skipped.",
                file=sys.stderr,
            )
    if "error" in outcome:
        raise outcome["error"]
    results: list[ResetResult] = outcome["results"]
    return results


def _date_from(args: argparse.Namespace, now_ms: int) -> DateFrom:
    """The instant to send, resolved once against ``now_ms`` and kept with the text typed."""
    from ..plans import resolve_date_from

    if args.no_date_from:
        return resolve_date_from(None, args.tz, now_ms=now_ms)
    text: str = args.date_from
    if not text.strip():
        return resolve_date_from(text, args.tz, now_ms=now_ms)  # the "empty" message
    try:
        return resolve_date_from(text, args.tz, now_ms=now_ms)
    except ValidationError as exc:
        raise ValidationError(f"--date-from: {exc}") from None


def _not_sent(plan: Plan, args: argparse.Namespace) -> int:
    """Stop after the plan (exit 3); with ``--format json`` the plan goes to stdout."""
    if args.yes and plan.needs_force:
        why = "Nothing sent: the warning above needs --force as well as --yes."
    else:
        force = " --force" if plan.needs_force and not args.force else ""
        why = (
            f"Nothing sent. Add --yes{force} to send these resets, or --dry-run to record a "
            "dry run."
        )
    print(why, file=sys.stderr)
    if args.format == "json":
        json.dump(plan.to_json(), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    return EXIT_NOT_CONFIRMED


def report(results: list[ResetResult], fmt: str, note: str) -> int:
    """The results on stdout in ``fmt``, a summary and ``note`` on stderr; the exit code: 0
    only when every task succeeded (or was dry-run)."""
    counts = Counter(r.outcome for r in results)
    summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
    try:
        render(results, RESULT_COLUMNS, fmt)
    finally:  # a reader that stops early (| head) still leaves the summary on stderr
        print(f"{summary}. {note}", file=sys.stderr)
    return EXIT_OK if all(r.outcome in _OK_OUTCOMES for r in results) else EXIT_FAILED


def run(args: argparse.Namespace) -> int:
    def body() -> int:
        if args.concurrency < 1:
            raise ValidationError("--concurrency must be at least 1.")
        check_export_arguments(args)
        now = time.time_ns() // 1_000_000  # the one clock reading of this plan
        date_from = _date_from(args, now)
        ms = date_from.ms
        task_ids = _unique(args.task_ids)
        with client_from_args(args) as client:
            log, where = None, ""
            if args.yes or args.dry_run:
                with history_refusals():
                    log, where = _open_log(client, args.history)
            try:
                instance = resolve_instance(client, args.instance)
                tasks = _targets(client, instance, task_ids)
                if args.export is not None:
                    from ..plans import Procedure

                    reset = Procedure.reset(allow_forward=args.allow_forward)
                    return export(client, instance, tasks, date_from, reset, now, args)
                plan = build_plan(
                    client.environment,
                    instance,
                    tasks,
                    date_from,
                    dry_run=args.dry_run,
                    retention=args.retention_days,
                    now_ms=now,
                )
                for line in plan.lines():
                    print(line, file=sys.stderr)
                sending = args.dry_run or (args.yes and (args.force or not plan.needs_force))
                if log is None or not sending:
                    return _not_sent(plan, args)
                results = _send(client, tasks, ms, log, args)
            finally:
                if log is not None:
                    log.close()
        return report(results, args.format, f"History: {where}")

    return run_guarded("roma-nb reset", body, _WORDS)
