"""``PanelModel``: everything the reset panel does, as plain Python, so code can do it too.

The widgets are a thin view: each button calls one method here. The safety rules live here,
where they can be tested without a browser:

* **Preview, then confirm.** ``run`` refuses without ``confirm=True`` and without a preview of
  the *same* plan (environment, instance, tasks, instant, dry or real). Changing anything after
  the preview voids the confirmation. A run consumes its preview: the next run needs a new one,
  so a second click on "Run" never sends the batch twice.
* **One run at a time.** A ``run`` while another is in flight is refused (``RunInProgress``),
  never queued.
* **Stop.** ``stop()`` makes the batch record every target not yet sent as ``skipped``.
* **Retry unknown.** ``retry_unknown()`` re-sends only the targets whose last outcome was
  ``unknown`` (the request may have reached the service); a reset to the same instant is
  idempotent, so this is safe, and it is never done without being asked.
* **History.** Every attempt goes to the ``ResultLog`` (pending before its request, completed
  after) through ``reset_many``; ``results`` is that log's frame, limited in SQL to this
  model's rows.
* **Plan files.** ``load_plan(path)`` makes a reviewed plan file (``roma-nb reset/rewind …
  --export``) the previewed run, whatever the selection: it is shown read-only, checked against
  the world (``plans.check_apply_now``) when loaded and again when Run claims it, and refused
  with the check's sentences; its history rows carry its ``plan_id``.

The selection is one value (``Selection``); ``state()`` derives everything else from it once
(``PanelState``). Run and Retry share one path: ``claim`` a plan (the one run slot, after the
checks), then ``send`` it, here or on a thread.
"""

from __future__ import annotations

import enum
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from ..client import BatchOutlook, Progress, StopSignal
from ..dates import DEFAULT_RETENTION, Ambiguous, Nonexistent, resolve_zone
from ..errors import RomaError, ValidationError
from ..history import ResultLog
from ..models import RESTARTS, Instance, Restart, StepResult
from ..plans import (
    DEFAULT_EXPIRY,
    ApplyCheck,
    DateFrom,
    Environment,
    Plan,
    PlannedTask,
    Position,
    Procedure,
    check_apply_now,
    planner_name,
    where_now,
)
from .catalog import Catalog, TaskEntry, instance_warning
from .choice import DateChoice, Resolution, choice_from_value
from .errors import ConfirmationRequired, PanelError, PlanChanged
from .logs import TrackedLog, default_log
from .memory import remember_instance
from .plan import PROCEDURES, PanelProcedure, PlannedRun, describe_changes
from .preview import preview_frame
from .runs import BatchRunner, Done, RunResult, StepProgress
from .state import PanelState, Selection
from .stopped import outcome_frame, start_again
from .views import RERUN_OUTCOMES, TaskFacts, skip_warnings, task_frame

if TYPE_CHECKING:
    import pandas as pd

    from ..client import RomaClient

__all__ = ["LOG_LOOKUPS", "UNSET", "PanelModel"]

logger = logging.getLogger("roma_nb.panel")


class _Unset(enum.Enum):
    UNSET = "UNSET"


UNSET = _Unset.UNSET
"""``select``'s "leave this as it is" (``None`` already means "empty" for ``date_from``)."""


LOG_LOOKUPS = 20
"""A preview reads each task's monitor logs (one request per task) to say how much a reset
replays or skips, for up to this many tasks; beyond, each task's last execution time is the
evidence, so a preview of hundreds of tasks stays one click, not minutes of requests."""

_ONE_MS = timedelta(milliseconds=1)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class PanelModel:
    """The state and actions of a reset panel: select, preview, confirm, run, stop, retry.

    ``client`` is a ``RomaClient``. ``log`` is where attempts are recorded (default: see
    ``default_log``). ``tz`` is the zone wall times are read in (default UTC, any IANA name).
    ``retention`` is how long the source keeps CDC logs (default 2 days, Huawei's advice): older
    instants get a warning. ``clock`` returns "now" in epoch ms (tests pass a fixed one).
    """

    def __init__(
        self,
        client: RomaClient,
        *,
        log: ResultLog | None = None,
        tz: str = "UTC",
        retention: timedelta = DEFAULT_RETENTION,
        concurrency: int = 8,
        clock: Callable[[], int] | None = None,
        catalog: Catalog | None = None,
    ) -> None:
        resolve_zone(tz)
        _check_retention(retention)
        if not hasattr(client, "reset_many") or not hasattr(client, "reset_call"):
            raise TypeError(f"PanelModel needs a RomaClient, not {type(client).__name__}.")
        self.client = client
        self.catalog = catalog if catalog is not None else Catalog(client)
        if log is None:
            self.log, self.log_note = default_log(client)
        else:
            self.log, self.log_note = log, None
        self.clock: Callable[[], int] = clock if clock is not None else _now_ms
        self.place = Environment.of(client)
        """Where this panel's plans are for (and where a loaded plan must be for)."""
        self._planner = planner_name()
        self._tracked = TrackedLog(self.log)
        self._runner = BatchRunner(client, self._tracked, concurrency=concurrency)
        self._lock = threading.RLock()
        self._selection = Selection(date_from=DateChoice.unset(tz), retention=retention)
        self._entries: tuple[TaskEntry, ...] = ()
        self._previewed: PlannedRun | None = None
        self._facts: dict[str, TaskFacts] = {}
        self._left_stopped = self.log.left_stopped()

    def __repr__(self) -> str:
        chosen = self._selection
        return (
            f"PanelModel(environment={self.environment!r}, instance_id={chosen.instance_id!r}, "
            f"tasks={len(chosen.task_ids)}, date_from={chosen.date_from.kind})"
        )

    # -- state ------------------------------------------------------------------------------

    @property
    def environment(self) -> str:
        """``SANDBOX`` or ``host / project X``: what every confirmation names."""
        return str(self.client.environment)

    @property
    def is_sandbox(self) -> bool:
        return bool(self.client.is_sandbox)

    @property
    def selection(self) -> Selection:
        """Everything chosen, as one value (see ``select``)."""
        return self._selection

    @property
    def instance_id(self) -> str | None:
        return self._selection.instance_id

    @property
    def instance(self) -> Instance | None:
        chosen = self._selection.instance_id
        return None if chosen is None else self.catalog.instance(chosen)

    @property
    def selected(self) -> tuple[TaskEntry, ...]:
        """The selected tasks, in selection order."""
        return self._entries

    @property
    def task_ids(self) -> tuple[str, ...]:
        return self._selection.task_ids

    @property
    def date_choice(self) -> DateChoice:
        return self._selection.date_from

    @property
    def zone(self) -> str:
        return self._selection.date_from.zone

    @property
    def retention(self) -> timedelta:
        return self._selection.retention

    @property
    def dry_run(self) -> bool:
        return self._selection.dry_run

    @property
    def concurrency(self) -> int:
        return self._runner.concurrency

    def select(
        self,
        selection: Selection | None = None,
        /,
        *,
        instance_id: str | _Unset | None = UNSET,
        task_ids: Sequence[str] | _Unset = UNSET,
        date_from: object = UNSET,
        tz: str | _Unset = UNSET,
        ambiguous: Ambiguous = "raise",
        nonexistent: Nonexistent = "raise",
        retention: timedelta | _Unset = UNSET,
        dry_run: bool | _Unset = UNSET,
        procedure: PanelProcedure | _Unset = UNSET,
        restart: Restart | _Unset = UNSET,
    ) -> Selection:
        """Change any part of the selection; what is not given stays as it is. Returns it.

        ``selection`` (a whole ``Selection``) gives every part at once; keywords override it.
        ``instance_id`` must be an instance of the project; choosing another instance clears the
        task selection (unless ``task_ids`` are given in the same call). ``task_ids`` must be
        combined tasks of the selected instance. ``date_from``: ``None`` for "empty, let the
        service decide", a naive ``datetime`` for a wall time in ``tz`` (default: the current
        zone), a ``DateChoice`` as a picker holds it, or anything ``to_epoch_ms`` accepts for an
        exact instant; ``ambiguous`` / ``nonexistent`` answer a DST fold or gap.
        ``procedure``: ``"rewind"`` (stop, reset, start, verify: the default) or ``"reset"`` (the
        raw reset call, for experts); ``restart``: when a rewind starts a task again. Raises
        ``ValidationError`` and changes nothing when a value cannot be used.
        """
        if selection is not None:
            instance_id = selection.instance_id if instance_id is UNSET else instance_id
            task_ids = selection.task_ids if task_ids is UNSET else task_ids
            date_from = selection.date_from if date_from is UNSET else date_from
            retention = selection.retention if retention is UNSET else retention
            dry_run = selection.dry_run if dry_run is UNSET else dry_run
            procedure = selection.procedure if procedure is UNSET else procedure
            restart = selection.restart if restart is UNSET else restart
        with self._lock:
            old = self._selection
            zone = old.date_from.zone if isinstance(tz, _Unset) else tz
            resolve_zone(zone)
            if not isinstance(retention, _Unset):
                _check_retention(retention)
            if not isinstance(procedure, _Unset) and procedure not in PROCEDURES:
                raise ValidationError(
                    f"procedure={procedure!r} is not one of {', '.join(map(repr, PROCEDURES))}."
                )
            if not isinstance(restart, _Unset) and restart not in RESTARTS:
                raise ValidationError(
                    f"restart={restart!r} is not one of {', '.join(map(repr, RESTARTS))}."
                )
            chosen, entries = old.instance_id, self._entries
            if not isinstance(instance_id, _Unset) and instance_id != chosen:
                if instance_id is not None and self.catalog.instance(instance_id) is None:
                    raise ValidationError(
                        f"Instance {instance_id!r} is not an instance of {self.environment}. "
                        "Refresh the instance list if it was created just now."
                    )
                chosen, entries = instance_id, ()
            if not isinstance(task_ids, _Unset):
                entries = self._entries_of(chosen, task_ids)
            choice = old.date_from
            if isinstance(date_from, DateChoice):
                choice = date_from if isinstance(tz, _Unset) else date_from.with_zone(zone)
            elif date_from is not UNSET:
                choice = choice_from_value(
                    date_from, zone, ambiguous=ambiguous, nonexistent=nonexistent
                )
            elif not isinstance(tz, _Unset):
                choice = choice.with_zone(zone)
            self._selection = Selection(
                instance_id=chosen,
                task_ids=tuple(e.task_id for e in entries),
                date_from=choice,
                retention=old.retention if isinstance(retention, _Unset) else retention,
                dry_run=old.dry_run if isinstance(dry_run, _Unset) else bool(dry_run),
                procedure=old.procedure if isinstance(procedure, _Unset) else procedure,
                restart=old.restart if isinstance(restart, _Unset) else restart,
            )
            self._entries = entries
            if not isinstance(instance_id, _Unset):
                remember_instance(self.environment, chosen)
            return self._selection

    def _entries_of(
        self, instance_id: str | None, task_ids: Sequence[str]
    ) -> tuple[TaskEntry, ...]:
        if isinstance(task_ids, str):
            raise ValidationError("task_ids must be a list of task ids, not one string.")
        ids = list(dict.fromkeys(task_ids))
        if not ids:
            return ()
        if instance_id is None:
            raise ValidationError("Select an instance before selecting tasks.")
        index = self.catalog.tasks(instance_id)
        missing = [t for t in ids if index.get(t) is None]
        if missing:
            shown = ", ".join(repr(t) for t in missing[:5])
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            raise ValidationError(
                f"Not combined tasks of instance {instance_id}: {shown}{more}. Only combined "
                "(CDC) tasks can be reset; refresh the task list if they were created just now."
            )
        return tuple(e for e in (index.get(t) for t in ids) if e is not None)

    # -- the instant --------------------------------------------------------------------------

    def resolution(self) -> Resolution:
        """What the current date choice means (an instant, none, or a question)."""
        return self._selection.date_from.resolve()

    def warnings(self) -> list[str]:
        """Warnings about the chosen instant now: empty, future, older than the retention."""
        chosen = self._selection
        return chosen.date_from.warnings(now_ms=self.clock(), retention=chosen.retention)

    def last_log_instant(self) -> int:
        """The "last monitor log" preset: when the newest monitor log of the selected task began.

        With several tasks, the earliest of their newest logs, so every task re-reads at least
        from its own last log. Raises ``PanelError`` when there is no task or no log.
        """
        instance_id, entries = self._selection.instance_id, self._entries
        if instance_id is None or not entries:
            raise PanelError("Select a task first: the preset uses its last monitor log.")
        starts = {e.task_id: self.catalog.last_log_start(instance_id, e.task_id) for e in entries}
        found = [ms for ms in starts.values() if ms is not None]
        if not found:
            raise PanelError("The selected tasks have no monitor logs to start from.")
        return min(found)

    # -- plan, preview, confirmation --------------------------------------------------------

    def state(self) -> PanelState:
        """One snapshot: the selection, the instant, the plan or what is missing, the preview."""
        with self._lock:
            chosen, entries, previewed = self._selection, self._entries, self._previewed
        resolution = chosen.date_from.resolve()
        plan: PlannedRun | None = None
        problem: str | None = None
        if chosen.instance_id is None:
            problem = "Select an instance first."
        elif not entries:
            problem = "Select at least one combined task."
        elif not resolution.ok:
            problem = resolution.message or "date_from cannot be used."
        else:
            plan = self._plan(chosen, entries, resolution)
        loaded = previewed is not None and previewed.loaded
        return PanelState(
            selection=chosen,
            resolution=resolution,
            plan=plan,
            problem=None if loaded else problem,
            previewed=previewed,
            current=previewed is not None and (loaded or plan == previewed),
            running=self._runner.running,
            unknown=len(self._runner.unknown_targets()),
            rerun=len(self.rerun_targets()),
        )

    def _plan(
        self, chosen: Selection, entries: tuple[TaskEntry, ...], resolution: Resolution
    ) -> PlannedRun:
        assert chosen.instance_id is not None
        instance = self.catalog.instance(chosen.instance_id)
        now = self.clock()
        warnings = resolution.warnings(now_ms=now, retention=chosen.retention)
        warnings += _state_warnings(instance, entries, rewind=chosen.procedure == "rewind")
        procedure = (
            Procedure.rewind(restart=chosen.restart)
            if chosen.procedure == "rewind"
            else Procedure.reset()
        )
        plan = Plan(
            environment=self.place,
            instance_id=chosen.instance_id,
            instance_name=(instance.name or "") if instance is not None else "",
            tasks=tuple(PlannedTask.of(e.task) for e in entries),
            date_from=DateFrom(resolution.ms, chosen.date_from.zone),
            procedure=procedure,
            planner=self._planner,
            created_ms=now,
            expires_ms=now + DEFAULT_EXPIRY // _ONE_MS,
            retention_ms=max(1, chosen.retention // _ONE_MS),
            warnings=tuple(warnings),
        )
        return PlannedRun(plan, chosen.dry_run)

    def plan(self) -> PlannedRun:
        """The plan the current selection describes; ``ValidationError`` says what is missing."""
        state = self.state()
        if state.plan is None:
            raise ValidationError(state.problem or "Nothing to plan.")
        return state.plan

    def preview(self) -> pd.DataFrame:
        """One row per planned call (see ``PREVIEW_COLUMNS``); this plan may now be confirmed.

        Also reads where each task is now (``task_rows``), and warns about a reset that would
        skip changes: that warning is one more tick in the confirmation.
        """
        plan = self.plan()
        facts = self._task_facts(plan)
        skips = skip_warnings(plan, facts)
        plan = replace(plan, plan=replace(plan.plan, warnings=(*plan.plan.warnings, *skips)))
        frame = preview_frame(plan, self.client)
        with self._lock:
            self._previewed, self._facts = plan, facts
        return frame

    def task_rows(self) -> pd.DataFrame:
        """The previewed plan, one compact row per task (``views.TASK_COLUMNS``): name, id,
        state, last run in the chosen zone, and what will happen to it in words."""
        plan = self._previewed
        if plan is None:
            raise ConfirmationRequired("Preview the plan first; its rows describe it.")
        return task_frame(plan, self._facts)

    def _task_facts(self, plan: PlannedRun) -> dict[str, TaskFacts]:
        """When each task last ran and where it is now (``plans.where_now``): its monitor logs
        for up to ``LOG_LOOKUPS`` tasks, else its monitor entry; a failed read is no evidence."""
        facts: dict[str, TaskFacts] = {}
        entries = {e.task_id: e for e in self._entries}
        read_logs = len(plan.tasks) <= LOG_LOOKUPS
        for task in plan.tasks:
            entry = entries.get(task.id)
            monitor = entry.monitor if entry is not None else None
            logs = []
            if read_logs:
                try:
                    logs = list(self.client.monitor_logs(plan.instance_id, task.id))
                except RomaError as exc:
                    logger.warning("monitor logs of %s unavailable: %s", task.id, exc)
            try:
                position = where_now(logs=logs, monitor=monitor)
            except ValidationError:
                position = Position()
            last_run = entry.last_execute_time if entry is not None else None
            facts[task.id] = TaskFacts(last_run_ms=last_run, position=position)
        return facts

    def save_plan(self, path: str | os.PathLike[str]) -> Path:
        """Write the previewed plan as a plan file for a second person to review and apply
        (``roma-nb apply``, the runbook's ``plan_file``, ``load_plan``); an existing file is
        kept (``PlanFileError``). ``ConfirmationRequired`` before a preview; a loaded plan is
        already a file."""
        return self.plan_to_save().save(path)

    def plan_to_save(self) -> Plan:
        """The plan file ``save_plan`` writes: the previewed plan with where each task was at
        the preview, as ``roma-nb rewind --export`` writes it, so ``apply`` can warn when a
        task has moved past the instant since it was planned. Its ``plan_id`` covers those
        positions. (The previewed run keeps its tasks without them: positions are evidence,
        not the work, and the run is compared with the pickers' plan before it may run.)"""
        with self._lock:
            run, facts = self._previewed, self._facts
        if run is None:
            raise ConfirmationRequired("Preview the plan first: the plan file is what it shows.")
        if run.loaded:
            raise PanelError(f"This plan was loaded from {run.source}: that file is the plan.")
        tasks = tuple(
            replace(task, position=facts[task.id].position) if task.id in facts else task
            for task in run.plan.tasks
        )
        return replace(run.plan, tasks=tasks)

    def load_plan(self, path: str | os.PathLike[str]) -> PlannedRun:
        """Make the plan file at ``path`` the previewed run, to be confirmed and run as it is
        (the selection does not change it; a new ``preview`` replaces it).

        ``PlanFileError`` when the file is not an unedited plan; ``PanelError`` with the
        check's sentences when the world refuses it now (another environment or project,
        expired, a task gone or no longer combined). Its warnings (a task whose state changed
        since planning, ...) are the run's warnings: each needs a tick before Run.
        """
        source = Path(path).expanduser()
        plan = Plan.load(source)
        verdict = self.check_plan(plan)
        if not verdict.ok:
            raise PanelError(_refused(verdict))
        run = PlannedRun(plan, self._selection.dry_run, source, verdict.warnings, plan.plan_id)
        with self._lock:
            self._previewed, self._facts = run, {}
        return run

    def check_plan(self, plan: Plan) -> ApplyCheck:
        """``plans.check_apply_now`` for ``plan`` in the world this panel's client sees now."""
        return check_apply_now(self.client, plan, self.clock())

    @property
    def previewed(self) -> PlannedRun | None:
        """The plan last previewed and not yet run, if any."""
        return self._previewed

    def preview_is_current(self) -> bool:
        """True when a preview exists and the selection still describes the same plan."""
        return self.state().current

    def confirmation_text(self) -> str:
        """What a person confirms: environment, instance, instant, every task, warnings.

        Raises ``ConfirmationRequired`` without a current preview.
        """
        previewed = self._previewed
        if previewed is None:
            raise ConfirmationRequired("Preview the plan first; the confirmation describes it.")
        if not previewed.loaded:
            self._check_same(previewed, self.plan())
        return previewed.confirmation_text()

    @staticmethod
    def _check_same(previewed: PlannedRun, current: PlannedRun) -> None:
        if current != previewed:
            raise PlanChanged(
                f"The selection changed since the preview ({describe_changes(previewed, current)})"
                ": nothing was sent. Preview and confirm again."
            )

    # -- running: claim a plan, then send it ------------------------------------------------

    def claim(
        self, *, confirm: bool = False, dry_run: bool | None = None, retry: bool = False
    ) -> PlannedRun:
        """Take the one run slot for a plan and return it; ``send`` it next (here or on a thread).

        The plan is the previewed one (``confirm=True`` required, see ``run``), or with
        ``retry=True`` the last run's unknown targets (see ``retry_unknown``). Raises
        ``RunInProgress`` while a run is in flight, and ``PanelError`` when nothing may run.
        """
        if retry:
            return self._runner.claim(self._runner.retry_plan, retry=True)
        return self._runner.claim(lambda: self._confirmed(confirm, dry_run))

    def _confirmed(self, confirm: bool, dry_run: bool | None) -> PlannedRun:
        """The previewed plan if it may run now; uses the preview up."""
        with self._lock:
            if confirm is not True:
                raise ConfirmationRequired(
                    "Nothing was sent: running needs confirm=True, after preview() and reading "
                    "confirmation_text()."
                )
            previewed = self._previewed
            if previewed is None:
                raise ConfirmationRequired(
                    "Nothing was sent: preview the plan and confirm it first (a run uses up its "
                    "preview, so each run needs its own)."
                )
            if previewed.loaded:
                run = previewed if dry_run is None else previewed.with_dry_run(bool(dry_run))
                self._check_loaded(run)
                self._previewed = None
                return run
            current = self.plan()
            mode = current.dry_run if dry_run is None else bool(dry_run)
            current = current.with_dry_run(mode)
            downgrade = mode and current == previewed.with_dry_run(True)
            if not downgrade:
                self._check_same(previewed, current)
            self._previewed = None
            return current

    def _check_loaded(self, run: PlannedRun) -> None:
        """A loaded plan is checked again when it is about to run: the world may have moved
        since it was loaded. A refusal, or a warning the person did not tick, sends nothing."""
        verdict = self.check_plan(run.plan)
        if not verdict.ok:
            raise PanelError(_refused(verdict))
        new = [w for w in verdict.warnings if w not in run.apply_warnings]
        if new:
            raise PlanChanged(
                "Nothing was sent: the world changed since the plan was loaded ("
                + " ".join(new)
                + ") Load the plan again and read its warnings."
            )

    def send(
        self,
        plan: PlannedRun,
        progress: Progress | None = None,
        stop: StopSignal | None = None,
        steps: StepProgress | None = None,
    ) -> list[RunResult]:
        """Send a plan ``claim`` returned, in this thread; one result per target: a
        ``RewindResult`` for a rewind, a ``ResetResult`` for a raw reset.

        ``progress(done, total, result)`` is called as raw resets finish, ``steps(row)`` as each
        step of a rewind does; ``stop`` (anything with ``is_set()``) stops the batch like
        ``stop()`` does. Never raises for one task's failure. The history is then read again
        for tasks left stopped (``left_stopped``).
        """
        try:
            return self._runner.execute(plan, progress, stop, steps)
        finally:
            self.read_left_stopped()

    def send_in_background(
        self,
        plan: PlannedRun,
        progress: Progress | None = None,
        stop: StopSignal | None = None,
        done: Done | None = None,
        steps: StepProgress | None = None,
    ) -> threading.Thread:
        """``send`` on a thread; ``done(results, error)`` hears how it ended; ``wait()`` joins."""

        def finished(results: list[RunResult] | None, error: BaseException | None) -> None:
            self.read_left_stopped()
            if done is not None:
                done(results, error)

        return self._runner.launch(plan, progress, stop, finished, steps)

    def run(
        self,
        confirm: bool = False,
        dry_run: bool | None = None,
        progress: Progress | None = None,
        stop: StopSignal | None = None,
        steps: StepProgress | None = None,
    ) -> list[RunResult]:
        """Run the previewed plan; one result per task, in order (see ``send``).

        ``confirm=True`` is required, and the current selection must be the previewed plan.
        ``dry_run=None`` uses the model's setting; ``dry_run=True`` may always replace a
        previewed real run (nothing is sent), but a real run needs a preview of a real run.
        """
        return self.send(self.claim(confirm=confirm, dry_run=dry_run), progress, stop, steps)

    def run_in_background(
        self,
        confirm: bool = False,
        dry_run: bool | None = None,
        progress: Progress | None = None,
        stop: StopSignal | None = None,
        done: Done | None = None,
        steps: StepProgress | None = None,
    ) -> threading.Thread:
        """``run`` on a thread: the checks (and the claim on the run) happen here, before
        returning, so a second call is refused at once.
        """
        plan = self.claim(confirm=confirm, dry_run=dry_run)
        return self.send_in_background(plan, progress, stop, done, steps)

    def retry_unknown(
        self, progress: Progress | None = None, stop: StopSignal | None = None
    ) -> list[RunResult]:
        """Re-send, to the same instant, only the last run's targets whose outcome is unknown.

        Safe because a reset to the same instant is idempotent; the person already confirmed
        these targets and this instant. ``last_results`` is updated in place of the old ones.
        """
        return self.send(self.claim(retry=True), progress, stop)

    def retry_unknown_in_background(
        self,
        progress: Progress | None = None,
        stop: StopSignal | None = None,
        done: Done | None = None,
    ) -> threading.Thread:
        return self.send_in_background(self.claim(retry=True), progress, stop, done)

    @property
    def running(self) -> bool:
        return self._runner.running

    def outlook(self) -> BatchOutlook | None:
        """Where a running raw reset batch stands (``BatchOutlook``: throttled, time left,
        deadline); None when none runs. What the in-flight line adds while the gateway throttles."""
        return self._runner.outlook()

    @property
    def progress(self) -> tuple[int, int]:
        """``(done, total)`` of the current or last run."""
        return self._runner.progress

    @property
    def last_plan(self) -> PlannedRun | None:
        """The plan of the most recent run (what ``retry_unknown`` draws from)."""
        return self._runner.last_plan

    @property
    def last_results(self) -> list[RunResult]:
        """One result per target of ``last_plan``, updated by ``retry_unknown``."""
        return self._runner.last_results

    def rerun_targets(self) -> list[RunResult]:
        """The last run's results whose outcome is ``skipped`` or ``failed``: nothing (or a
        refused call) happened to them, so running them again is a new, confirmed decision."""
        return [r for r in self._runner.last_results if r.outcome in RERUN_OUTCOMES]

    def select_rerun(self) -> Selection:
        """Select the last run's skipped and failed tasks with that run's instance, instant,
        procedure and mode, for a new preview and confirmation ("Re-run skipped / failed").

        Raises ``PanelError`` when the last run has none.
        """
        plan, again = self._runner.last_plan, self.rerun_targets()
        if plan is None or not again:
            raise PanelError("Nothing to re-run: no task of the last run was skipped or failed.")
        self.catalog.tasks(plan.instance_id, refresh=True)  # their states changed since
        instant = (
            DateChoice.empty(plan.zone)
            if plan.date_from is None
            else DateChoice.exact(plan.date_from, plan.zone)
        )
        return self.select(
            instance_id=plan.instance_id,
            task_ids=[r.task_id for r in again],
            date_from=instant,
            dry_run=plan.dry_run,
            procedure=plan.plan.procedure.kind,
            restart=plan.restart,
        )

    def unknown_targets(self) -> list[RunResult]:
        """The last run's results whose outcome is ``unknown`` (may or may not have happened)."""
        return self._runner.unknown_targets()

    def stop(self) -> bool:
        """Ask the running batch to stop: targets not yet sent become ``skipped``.

        Returns False when nothing was running. Requests already sent are not recalled.
        """
        return self._runner.stop()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a background run to end; True when none is running any more."""
        return self._runner.wait(timeout)

    # -- results ----------------------------------------------------------------------------

    @property
    def results(self) -> pd.DataFrame:
        """The history's frame for the attempts this model made, most recent first.

        Read in SQL by row id, however large the (shared) history is; the full history, other
        notebooks included, is ``log.to_frame()``.
        """
        frame = self.log.to_frame(row_id=self._tracked.row_ids)
        newest_first: pd.DataFrame = frame.iloc[::-1].reset_index(drop=True)
        return newest_first

    def outcomes(self) -> pd.DataFrame:
        """The last run, one row per task (see ``outcome_frame``): its outcome (``success``,
        ``failed``, ``unknown``, ``left-stopped``, ``unverified``, ``dry-run``, ``skipped``), each
        step's outcome and the message, with the monitor log that decided the verification."""
        return outcome_frame(self._runner.last_results)

    # -- tasks a rewind left stopped --------------------------------------------------------

    def read_left_stopped(self) -> pd.DataFrame:
        """Read the history again for tasks a rewind stopped and did not start again (by this
        panel or any other writer of the same log, a killed process included); ``left_stopped``
        then holds them. A history that cannot be read leaves the last reading as it was."""
        try:
            frame = self.log.left_stopped()
        except Exception:  # the banner must not break the panel; the log says why
            logger.exception("reading the tasks left stopped failed")
            return self._left_stopped
        self._left_stopped = frame
        return frame

    @property
    def left_stopped(self) -> pd.DataFrame:
        """The last reading of ``read_left_stopped`` (read when the model was made and after
        each run): one row per task left stopped, empty when there are none."""
        return self._left_stopped

    def start_left_stopped(self) -> list[StepResult]:
        """Start the tasks left stopped again (one batch start call per instance), record each
        start in the history (a successful one clears the task from ``left_stopped``), and read
        the history again. One ``StepResult`` per task; a failed start stays listed."""
        results = start_again(self.client, self._tracked, self._left_stopped)
        self.read_left_stopped()
        return results


def _refused(verdict: ApplyCheck) -> str:
    """The check's refusals as sentences: why a plan file may not run here, now."""
    return "Nothing was sent: the plan is refused. " + " ".join(verdict.refusals)


def _state_warnings(
    instance: Instance | None, entries: Sequence[TaskEntry], *, rewind: bool
) -> list[str]:
    """Warnings about what is reset: a FROZEN or not RUNNING instance, and for a raw reset the
    tasks that are running (a rewind stops them first, which its steps line says).

    Each is one line of the confirmation, and the panel asks a tick for each before Run.
    """
    frozen = instance_warning(instance)
    warnings: list[str] = [] if frozen is None else [frozen]
    running = [e for e in entries if e.task.status_text == "running"]
    if running and not rewind:
        names = ", ".join(e.task_name or e.task_id for e in running[:5])
        more = f" and {len(running) - 5} more" if len(running) > 5 else ""
        warnings.append(
            f"{len(running)} of the {len(entries)} tasks are running ({names}{more}): Huawei "
            "advises stopping a task before resetting it."
        )
    return warnings


def _check_retention(value: object) -> None:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise ValidationError(f"retention must be a positive timedelta, not {value!r}.")
