"""What ``roma-nb reset`` and ``roma-nb rewind`` share: their arguments, the targets check, the
history, the plan-first flow, Ctrl-C, and the exit codes.

Both commands: check the history first (exit 2), look the tasks up (every one a combined task of
the instance, exit 2 otherwise), print the plan on stderr, stop there without ``--yes`` (exit 3,
the plan as JSON on stdout with ``--format json``), else send in a worker thread so Ctrl-C
stops cleanly (what was not sent is ``skipped``), print one row per task on stdout and exit 0
only when every task succeeded (or was a dry run), 1 otherwise.
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

from ..errors import RecordingFailed, ValidationError
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
from ._plan import Plan, RewindSteps, build_plan
from ._wording import Words

if TYPE_CHECKING:
    from ..client import RomaClient
    from ..history import ResultLog
    from ..models import Instance, Task

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
    "add_sending_arguments",
    "run_command",
    "run_stoppable",
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
)


def _positive_days(text: str) -> timedelta:
    try:
        days = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days") from None
    if not days > 0:
        raise argparse.ArgumentTypeError("the retention must be more than 0 days")
    return timedelta(days=days)


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
            "ISO-8601 (without an offset it is read in --tz) or integer epoch milliseconds; "
            "relative times such as -2h are not taken yet"
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
    parser.add_argument(
        "--dry-run", action="store_true", help="record a dry run in the history; send nothing"
    )
    parser.add_argument("--yes", action="store_true", help=f"send {verb} (after the plan)")
    parser.add_argument(
        "--force",
        action="store_true",
        help=(
            "with --yes, send even when the plan warns of a future date_from or an instance "
            "that is not RUNNING"
        ),
    )
    parser.add_argument(
        "--concurrency", type=int, default=8, metavar="N", help="requests in flight (default 8)"
    )
    parser.add_argument(
        "--retention-days",
        type=_positive_days,
        default=timedelta(days=2),
        metavar="DAYS",
        help="how long the source keeps CDC logs, for the warning (default 2)",
    )
    parser.add_argument(
        "--history",
        type=Path,
        metavar="PATH",
        help="history file (default: $ROMA_NB_HISTORY, else the per-user data directory)",
    )
    add_format_argument(parser)
    add_connection_arguments(parser)


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


def _open_log(client: RomaClient, path: Path | None) -> tuple[ResultLog, str]:
    from ..history import RecordContext, ResultLog

    context = RecordContext.of(client)
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


def _is_relative(text: str, tz: str) -> bool:
    from ..dates import resolve_time_text

    try:
        resolve_time_text(text, tz, now_ms=time.time_ns() // 1_000_000)
    except ValidationError:
        return False
    return True


def _date_from(args: argparse.Namespace, command: str) -> int | None:
    """The instant to send: absolute only (relative targets come with plans)."""
    from ..dates import to_epoch_ms

    if args.no_date_from:
        return None
    text: str = args.date_from
    try:
        return to_epoch_ms(text, args.tz)
    except ValidationError:
        if not _is_relative(text, args.tz):
            raise
    raise ValidationError(
        f"--date-from {text!r} is a relative time, which {command} does not take yet. Give an "
        "ISO-8601 time (2024-05-01T02:00 is read in --tz; 2024-05-01T02:00Z or "
        "2024-05-01T10:00+08:00 is exact) or integer epoch milliseconds (1714528800000), or "
        "--no-date-from. (monitors and history do take 2h, -2h, 90m, 7d as 'that long ago'.)"
    )


def _not_sent(plan: Plan, args: argparse.Namespace, what: str) -> int:
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
    sending, the result columns, and for a rewind the steps its plan describes."""

    name: str
    what: str
    send: Callable[
        [RomaClient, list[Task], int | None, ResultLog, argparse.Namespace, threading.Event],
        Sequence[Any],
    ]
    columns: Sequence[Column]
    steps: Callable[[argparse.Namespace], RewindSteps] | None = None

    def plan(
        self, client: RomaClient, instance: Instance, tasks: list[Task], ms: int | None,
        args: argparse.Namespace,
    ) -> Plan:  # fmt: skip
        return build_plan(
            client.environment,
            instance,
            tasks,
            ms,
            tz=args.tz,
            dry_run=args.dry_run,
            retention=args.retention_days,
            now_ms=time.time_ns() // 1_000_000,
            rewind=None if self.steps is None else self.steps(args),
        )


def run_command(command: Command, args: argparse.Namespace) -> int:
    """The plan-first flow of a sending command (module docstring); its exit code."""

    def body() -> int:
        if args.concurrency < 1:
            raise ValidationError("--concurrency must be at least 1.")
        ms = _date_from(args, command.name)
        task_ids = list(dict.fromkeys(args.task_ids))
        unrecorded = ""
        with client_from_args(args) as client:
            log, where = None, ""
            if args.yes or args.dry_run:
                with history_refusals():
                    log, where = _open_log(client, args.history)
            try:
                instance = resolve_instance(client, args.instance)
                tasks = _targets(client, instance, task_ids)
                plan = command.plan(client, instance, tasks, ms, args)
                for line in plan.lines():
                    print(line, file=sys.stderr)
                sending = args.dry_run or (args.yes and (args.force or not plan.needs_force))
                if log is None or not sending:
                    return _not_sent(plan, args, command.what)
                sent_log = log

                def work(stop: threading.Event) -> Sequence[Any]:
                    return command.send(client, tasks, ms, sent_log, args, stop)

                try:
                    results = run_stoppable(work, f"roma-nb-{command.name}")
                except RecordingFailed as exc:  # a full disk mid-batch: say what is known
                    results, unrecorded = exc.results, str(exc)
            finally:
                if log is not None:
                    log.close()
        counts = Counter(r.outcome for r in results)
        summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
        try:
            render(results, command.columns, args.format)
        finally:  # a reader that stops early (| head) still leaves the summary on stderr
            print(f"{summary}. History: {where}", file=sys.stderr)
            if unrecorded:
                print(unrecorded, file=sys.stderr)
        if unrecorded:
            return EXIT_FAILED
        return EXIT_OK if all(r.outcome in _OK_OUTCOMES for r in results) else EXIT_FAILED

    return run_guarded(f"roma-nb {command.name}", body, WORDS)
