"""What ``roma-nb reset`` and ``roma-nb rewind`` share: their arguments, the targets check, the
history, the plan-first flow, Ctrl-C, the exit codes, and ``--export`` (``_export``).

Both commands: check the history first (exit 2), look the tasks up (every one a combined task of
the instance, exit 2 otherwise), print the plan on stderr, stop there without ``--yes`` (exit 3,
the plan as JSON on stdout with ``--format json``), else send in a worker thread so Ctrl-C
stops cleanly (what was not sent is ``skipped``), print one row per task on stdout and exit 0
only when every task succeeded (or was a dry run), 1 otherwise. ``--date-from`` takes relative
times (``2h ago``, ``-90m``, ``PT2H``, ``now-1d``, ``yesterday 02:00`` in ``--tz``), resolved once
against one reading of the clock; the plan shows the text typed and the instant it meant.
``apply`` shares the confirming flags, the history and the report.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import RecordingFailed, RomaError, ValidationError
from ._common import (
    EXIT_FAILED,
    EXIT_OK,
    Column,
    add_connection_arguments,
    add_format_argument,
    client_from_args,
    history_refusals,
    iso_utc,
    render,
    resolve_instance,
    run_guarded,
)
from ._export import PLAN_WORDS, check_export_arguments, export
from ._plan import PlanPreview, preview_plan
from ._wording import Words

if TYPE_CHECKING:
    from ..client import RomaClient
    from ..history import ResultLog
    from ..models import Instance, Task
    from ..plans import DateFrom, Position, Procedure

TASK_COLUMNS = (
    Column("instance_id", lambda r: r.instance_id),
    Column("task_id", lambda r: r.task_id),
    Column("task_name", lambda r: r.task_name),
    Column("date_from", lambda r: r.date_from),
    Column("date_from_utc", lambda r: iso_utc(r.date_from)),
)
"""The first result columns of ``reset`` and ``rewind``: which task, and the instant."""

__all__ = [
    "EXIT_NOT_CONFIRMED",
    "TASK_COLUMNS",
    "WORDS",
    "Command",
    "add_confirm_arguments",
    "add_deadline_argument",
    "add_sending_arguments",
    "report",
    "run_command",
    "run_stoppable",
    "send_recorded",
]

T = TypeVar("T")

EXIT_NOT_CONFIRMED = 3
"""The plan was shown but neither ``--yes`` nor ``--dry-run`` was given: nothing was sent."""

_OK_OUTCOMES = ("success", "dry-run")
WORDS: Words = (
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


def _positive_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError("the deadline must be more than 0 seconds")
    return seconds


def add_deadline_argument(
    parser: argparse.ArgumentParser,
    skipped: str = "resets not yet sent are recorded as skipped",
) -> None:
    """``--deadline``, an overall budget in seconds (``reset``, ``rewind``, ``apply``);
    ``skipped`` says what becomes of what was not done by then."""
    parser.add_argument(
        "--deadline",
        type=_positive_seconds,
        metavar="SECONDS",
        help=f"stop sending after this many seconds (when throttled, a batch can take long); "
        f"{skipped}",
    )


def add_sending_arguments(parser: argparse.ArgumentParser, verb: str) -> None:
    """INSTANCE, TASK_ID..., ``--date-from``/``--no-date-from``, ``--tz``, ``--dry-run``,
    ``--yes``, ``--force``, ``--concurrency``, ``--retention-days``, ``--history``, ``--format``
    and the connection flags; ``verb`` names what ``--yes`` sends (``the resets``)."""
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
    add_confirm_arguments(
        parser,
        verb,
        force_help=(
            "with --yes, send even when the plan warns of a future date_from, a move forward "
            "(a date_from after where a task is: changes skipped) or an instance that is not "
            "RUNNING"
        ),
    )
    parser.add_argument(
        "--retention-days",
        type=_positive_days,
        default=timedelta(days=2),
        metavar="DAYS",
        help="how long the source keeps CDC logs, for the warning (default 2)",
    )
    add_format_argument(parser)
    add_connection_arguments(parser)


def add_confirm_arguments(parser: argparse.ArgumentParser, verb: str, *, force_help: str) -> None:
    """What every command that sends takes (``reset``, ``rewind``, ``apply``): how to confirm,
    how many in flight, where the history goes."""
    parser.add_argument(
        "--dry-run", action="store_true", help="record a dry run in the history; send nothing"
    )
    parser.add_argument("--yes", action="store_true", help=f"send {verb} (after the plan)")
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


def _targets(client: RomaClient, instance: Instance, task_ids: list[str]) -> list[Task]:
    """The tasks, in the order given; every one must be a combined task of the instance."""
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


def run_stoppable(work: Callable[[threading.Event], T], name: str) -> T:
    """``work(stop)`` in a worker thread, so Ctrl-C here sets ``stop`` and the work ends
    cleanly (what was not sent is recorded as skipped) instead of dying mid-request."""
    stop = threading.Event()
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = work(stop)
        except BaseException as exc:  # re-raised in the main thread
            outcome["error"] = exc

    worker = threading.Thread(target=run, name=name)
    worker.start()
    while worker.is_alive():
        try:
            worker.join(0.2)
        except KeyboardInterrupt:
            stop.set()
            print(
                "Stopping: requests in flight finish, the rest are recorded as skipped "
                "(tasks already stopped are started again).",
                file=sys.stderr,
            )
    if "error" in outcome:
        raise outcome["error"]
    result: T = outcome["result"]
    return result


def send_recorded(
    work: Callable[[threading.Event], Sequence[Any]], name: str
) -> tuple[Sequence[Any], str]:
    """``run_stoppable(work, name)`` and what the history could not record ("" when all was):
    a history that fails mid-batch (a full disk) stops the batch, and its results so far are
    still reported, with the message saying what was sent (``report``'s ``unrecorded``)."""
    try:
        return run_stoppable(work, name), ""
    except RecordingFailed as exc:
        return exc.results, str(exc)


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


def _not_sent(plan: PlanPreview, args: argparse.Namespace, what: str) -> int:
    """Stop after the plan (exit 3); with ``--format json`` the plan goes to stdout."""
    if args.yes and plan.needs_force:
        why = "Nothing sent: the warning above needs --force as well as --yes."
    else:
        force = " --force" if plan.needs_force and not args.force else ""
        why = f"Nothing sent. Add --yes{force} to send {what}, or --dry-run to record a dry run."
    print(why, file=sys.stderr)
    if args.format == "json":
        json.dump(plan.to_json(), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    return EXIT_NOT_CONFIRMED


@dataclass(frozen=True)
class Command:
    """What differs between ``reset`` and ``rewind``: the name, what ``--yes`` sends, the
    sending, the result columns, and the ``plans.Procedure`` its plan records (the raw reset,
    or the rewind with ``--restart`` and ``--no-verify``), shown before sending and written by
    ``--export`` (``add_export_arguments``)."""

    name: str
    what: str
    send: Callable[
        [RomaClient, list[Task], int | None, ResultLog, argparse.Namespace, threading.Event],
        Sequence[Any],
    ]
    columns: Sequence[Column]
    procedure: Callable[[argparse.Namespace], Procedure]

    def plan(
        self, client: RomaClient, instance: Instance, tasks: list[Task], date_from: DateFrom,
        args: argparse.Namespace, now_ms: int,
    ) -> PlanPreview:  # fmt: skip
        from ..plans import Environment

        return preview_plan(
            Environment.of(client),
            instance,
            tasks,
            date_from,
            self.procedure(args),
            dry_run=args.dry_run,
            retention=args.retention_days,
            expires_in=timedelta(hours=args.expires_in),
            now_ms=now_ms,
            positions=_positions(client, instance, tasks, date_from),
        )


def _positions(
    client: RomaClient, instance: Instance, tasks: list[Task], date_from: DateFrom
) -> dict[str, Position] | RomaError:
    """Where each task is now (``plans.where_tasks_are``), so the plan can say what each reset
    replays or skips; nothing is read without a ``date_from``. A read that fails is no
    evidence: the error is returned for the plan to say why the direction is unknown."""
    from ..plans import where_tasks_are

    if date_from.ms is None:
        return {}
    try:
        return where_tasks_are(client, instance.id, (t.task_id for t in tasks))
    except RomaError as exc:
        return exc


def run_command(command: Command, args: argparse.Namespace) -> int:
    """The plan-first flow of a sending command (module docstring); its exit code."""

    def body() -> int:
        if args.concurrency < 1:
            raise ValidationError("--concurrency must be at least 1.")
        check_export_arguments(args)
        now = time.time_ns() // 1_000_000  # the one clock reading of this plan
        date_from = _date_from(args, now)
        ms = date_from.ms
        task_ids = list(dict.fromkeys(args.task_ids))
        with client_from_args(args) as client:
            log, where = None, ""
            if args.yes or args.dry_run:
                with history_refusals():
                    log, where = _open_log(client, args.history)
            try:
                instance = resolve_instance(client, args.instance)
                tasks = _targets(client, instance, task_ids)
                if args.export is not None:
                    procedure = command.procedure(args)
                    return export(client, instance, tasks, date_from, procedure, now, args)
                plan = command.plan(client, instance, tasks, date_from, args, now)
                for line in plan.lines():
                    print(line, file=sys.stderr)
                sending = args.dry_run or (args.yes and (args.force or not plan.needs_force))
                if log is None or not sending:
                    return _not_sent(plan, args, command.what)
                sent_log = log

                def work(stop: threading.Event) -> Sequence[Any]:
                    return command.send(client, tasks, ms, sent_log, args, stop)

                results, unrecorded = send_recorded(work, f"roma-nb-{command.name}")
            finally:
                if log is not None:
                    log.close()
        return report(results, command.columns, args.format, f"History: {where}", unrecorded)

    return run_guarded(f"roma-nb {command.name}", body, WORDS)


def report(
    results: Sequence[Any], columns: Sequence[Column], fmt: str, note: str, unrecorded: str = ""
) -> int:
    """The results on stdout in ``fmt``, a summary and ``note`` on stderr (and ``unrecorded``,
    what the history could not record); the exit code: 0 only when every task succeeded (or
    was a dry run) and everything was recorded."""
    counts = Counter(r.outcome for r in results)
    summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
    try:
        render(results, columns, fmt)
    finally:  # a reader that stops early (| head) still leaves the summary on stderr
        print(f"{summary}. {note}", file=sys.stderr)
        if unrecorded:
            print(unrecorded, file=sys.stderr)
    if unrecorded:
        return EXIT_FAILED
    return EXIT_OK if all(r.outcome in _OK_OUTCOMES for r in results) else EXIT_FAILED
