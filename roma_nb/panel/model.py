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
  after) through ``reset_many``; ``results`` is that log's frame, limited to this model's rows.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from ..client import Progress, StopSignal
from ..dates import DEFAULT_RETENTION, Ambiguous, Nonexistent, resolve_zone
from ..errors import ValidationError
from ..history import ResultLog
from ..models import Instance, ResetResult
from .catalog import Catalog, TaskEntry
from .choice import DateChoice, Resolution, choice_from_value
from .errors import ConfirmationRequired, PanelError, PlanChanged
from .logs import TrackedLog, default_log
from .memory import remember_instance
from .plan import PlannedTask, ResetPlan, describe_changes
from .preview import preview_frame
from .runs import BatchRunner, Done

if TYPE_CHECKING:
    import pandas as pd

    from ..client import RomaClient

__all__ = ["UNSET", "PanelModel"]


class _Unset(enum.Enum):
    UNSET = "UNSET"


UNSET = _Unset.UNSET
"""``select``'s "leave this as it is" (``None`` already means "empty" for ``date_from``)."""


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
        self._tracked = TrackedLog(self.log)
        self._runner = BatchRunner(client, self._tracked, concurrency=concurrency)
        self._lock = threading.RLock()
        self._instance_id: str | None = None
        self._tasks: tuple[TaskEntry, ...] = ()
        self._choice = DateChoice.unset(tz)
        self._retention = retention
        self._dry_run = False
        self._previewed: ResetPlan | None = None
        self._created = datetime.now(timezone.utc)

    def __repr__(self) -> str:
        return (
            f"PanelModel(environment={self.environment!r}, instance_id={self._instance_id!r}, "
            f"tasks={len(self._tasks)}, date_from={self._choice.kind})"
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
    def instance_id(self) -> str | None:
        return self._instance_id

    @property
    def instance(self) -> Instance | None:
        return None if self._instance_id is None else self.catalog.instance(self._instance_id)

    @property
    def selected(self) -> tuple[TaskEntry, ...]:
        """The selected tasks, in selection order."""
        return self._tasks

    @property
    def task_ids(self) -> tuple[str, ...]:
        return tuple(e.task_id for e in self._tasks)

    @property
    def date_choice(self) -> DateChoice:
        return self._choice

    @property
    def zone(self) -> str:
        return self._choice.zone

    @property
    def retention(self) -> timedelta:
        return self._retention

    @retention.setter
    def retention(self, value: timedelta) -> None:
        _check_retention(value)
        self._retention = value

    @property
    def dry_run(self) -> bool:
        return self._dry_run

    @dry_run.setter
    def dry_run(self, value: bool) -> None:
        self._dry_run = bool(value)

    @property
    def concurrency(self) -> int:
        return self._runner.concurrency

    def select(
        self,
        *,
        instance_id: str | _Unset | None = UNSET,
        task_ids: Sequence[str] | _Unset = UNSET,
        date_from: object = UNSET,
        tz: str | _Unset = UNSET,
        ambiguous: Ambiguous = "raise",
        nonexistent: Nonexistent = "raise",
        retention: timedelta | _Unset = UNSET,
        dry_run: bool | _Unset = UNSET,
    ) -> None:
        """Change any part of the selection; what is not given stays as it is.

        ``instance_id`` must be an instance of the project; choosing another instance clears the
        task selection (unless ``task_ids`` are given in the same call). ``task_ids`` must be
        combined tasks of the selected instance. ``date_from``: ``None`` for "empty, let the
        service decide", a naive ``datetime`` for a wall time in ``tz`` (default: the current
        zone), or anything ``to_epoch_ms`` accepts for an exact instant; ``ambiguous`` /
        ``nonexistent`` answer a DST fold or gap. Raises ``ValidationError`` and changes nothing
        when a value cannot be used.
        """
        with self._lock:
            zone = self._choice.zone if isinstance(tz, _Unset) else tz
            resolve_zone(zone)
            if not isinstance(retention, _Unset):
                _check_retention(retention)
            new_instance = self._instance_id
            new_tasks = self._tasks
            if not isinstance(instance_id, _Unset) and instance_id != self._instance_id:
                if instance_id is not None and self.catalog.instance(instance_id) is None:
                    raise ValidationError(
                        f"Instance {instance_id!r} is not an instance of {self.environment}. "
                        "Refresh the instance list if it was created just now."
                    )
                new_instance, new_tasks = instance_id, ()
            if not isinstance(task_ids, _Unset):
                new_tasks = self._entries(new_instance, task_ids)
            if not isinstance(date_from, _Unset):
                choice = choice_from_value(
                    date_from, zone, ambiguous=ambiguous, nonexistent=nonexistent
                )
            elif not isinstance(tz, _Unset):
                choice = self._choice.with_zone(zone)
            else:
                choice = self._choice
            self._instance_id, self._tasks, self._choice = new_instance, new_tasks, choice
            if not isinstance(retention, _Unset):
                self._retention = retention
            if not isinstance(dry_run, _Unset):
                self._dry_run = bool(dry_run)
            if not isinstance(instance_id, _Unset):
                remember_instance(self.environment, new_instance)

    def set_date_choice(self, choice: DateChoice) -> None:
        """Take a ``DateChoice`` as the picker holds it (the widget's way in)."""
        with self._lock:
            self._choice = choice

    def _entries(self, instance_id: str | None, task_ids: Sequence[str]) -> tuple[TaskEntry, ...]:
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
        return self._choice.resolve()

    def warnings(self) -> list[str]:
        """Warnings about the chosen instant now: empty, future, older than the retention."""
        return self._choice.warnings(now_ms=self.clock(), retention=self._retention)

    def last_log_instant(self) -> int:
        """The "last monitor log" preset: when the newest monitor log of the selected task began.

        With several tasks, the earliest of their newest logs, so every task re-reads at least
        from its own last log. Raises ``PanelError`` when there is no task or no log.
        """
        instance_id, entries = self._instance_id, self._tasks
        if instance_id is None or not entries:
            raise PanelError("Select a task first: the preset uses its last monitor log.")
        starts = {e.task_id: self.catalog.last_log_start(instance_id, e.task_id) for e in entries}
        found = [ms for ms in starts.values() if ms is not None]
        if not found:
            raise PanelError("The selected tasks have no monitor logs to start from.")
        return min(found)

    # -- plan, preview, confirmation --------------------------------------------------------

    def plan(self) -> ResetPlan:
        """The plan the current selection describes; ``ValidationError`` says what is missing."""
        with self._lock:
            instance_id, entries, choice = self._instance_id, self._tasks, self._choice
            dry_run = self._dry_run
        if instance_id is None:
            raise ValidationError("Select an instance first.")
        if not entries:
            raise ValidationError("Select at least one combined task.")
        resolution = choice.resolve()
        if not resolution.ok:
            raise ValidationError(resolution.message or "date_from cannot be used.")
        instance = self.catalog.instance(instance_id)
        return ResetPlan(
            environment=self.environment,
            instance_id=instance_id,
            instance_name=instance.name if instance is not None else "",
            targets=tuple(PlannedTask(e.task_id, e.task_name) for e in entries),
            date_from=resolution.ms,
            zone=choice.zone,
            dry_run=dry_run,
            warnings=tuple(choice.warnings(now_ms=self.clock(), retention=self._retention)),
        )

    def preview(self) -> pd.DataFrame:
        """One row per planned call (see ``PREVIEW_COLUMNS``); this plan may now be confirmed."""
        plan = self.plan()
        frame = preview_frame(plan, self.client)
        with self._lock:
            self._previewed = plan
        return frame

    @property
    def previewed(self) -> ResetPlan | None:
        """The plan last previewed and not yet run, if any."""
        return self._previewed

    def preview_is_current(self) -> bool:
        """True when a preview exists and the selection still describes the same plan."""
        previewed = self._previewed
        if previewed is None:
            return False
        try:
            return self.plan() == previewed
        except ValidationError:
            return False

    def confirmation_text(self) -> str:
        """What a person confirms: environment, instance, instant, every task, warnings.

        Raises ``ConfirmationRequired`` without a current preview.
        """
        previewed = self._previewed
        if previewed is None:
            raise ConfirmationRequired("Preview the plan first; the confirmation describes it.")
        self._check_same(previewed, self.plan())
        return previewed.confirmation_text()

    @staticmethod
    def _check_same(previewed: ResetPlan, current: ResetPlan) -> None:
        if current != previewed:
            raise PlanChanged(
                f"The selection changed since the preview ({describe_changes(previewed, current)})"
                ": nothing was sent. Preview and confirm again."
            )

    # -- running ----------------------------------------------------------------------------

    def run(
        self,
        confirm: bool = False,
        dry_run: bool | None = None,
        progress: Progress | None = None,
        stop: StopSignal | None = None,
    ) -> list[ResetResult]:
        """Run the previewed plan; one ``ResetResult`` per task, in order.

        ``confirm=True`` is required, and the current selection must be the previewed plan.
        ``dry_run=None`` uses the model's setting; ``dry_run=True`` may always replace a
        previewed real run (nothing is sent), but a real run needs a preview of a real run.
        ``progress(done, total, result)`` is called as results arrive; ``stop`` (anything with
        ``is_set()``) stops the batch like ``stop()`` does. Never raises for one task's failure.
        """
        plan = self._claim(confirm, dry_run)
        return self._runner.execute(plan, progress, stop)

    def run_in_background(
        self,
        confirm: bool = False,
        dry_run: bool | None = None,
        progress: Progress | None = None,
        stop: StopSignal | None = None,
        done: Done | None = None,
    ) -> threading.Thread:
        """``run`` on a thread: the checks (and the claim on the run) happen here, before
        returning, so a second call is refused at once. ``done`` gets the outcome; ``wait()``
        joins the thread.
        """
        plan = self._claim(confirm, dry_run)
        return self._runner.launch(plan, progress, stop, done)

    def _claim(self, confirm: bool, dry_run: bool | None) -> ResetPlan:
        with self._lock:
            self._runner.check_idle(self.environment)
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
            current = self.plan()
            mode = current.dry_run if dry_run is None else bool(dry_run)
            current = replace(current, dry_run=mode)
            downgrade = mode and current == replace(previewed, dry_run=True)
            if not downgrade:
                self._check_same(previewed, current)
            self._runner.claim(self.environment)
            self._previewed = None
            return current

    @property
    def running(self) -> bool:
        return self._runner.running

    @property
    def progress(self) -> tuple[int, int]:
        """``(done, total)`` of the current or last run."""
        return self._runner.progress

    @property
    def last_plan(self) -> ResetPlan | None:
        """The plan of the most recent run (what ``retry_unknown`` draws from)."""
        return self._runner.last_plan

    @property
    def last_results(self) -> list[ResetResult]:
        """One result per target of ``last_plan``, updated by ``retry_unknown``."""
        return self._runner.last_results

    def stop(self) -> bool:
        """Ask the running batch to stop: targets not yet sent become ``skipped``.

        Returns False when nothing was running. Requests already sent are not recalled.
        """
        return self._runner.stop()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a background run to end; True when none is running any more."""
        return self._runner.wait(timeout)

    # -- retrying ---------------------------------------------------------------------------

    def unknown_targets(self) -> list[ResetResult]:
        """The last run's results whose outcome is ``unknown`` (may or may not have happened)."""
        return self._runner.unknown_targets()

    def retry_unknown(
        self, progress: Progress | None = None, stop: StopSignal | None = None
    ) -> list[ResetResult]:
        """Re-send, to the same instant, only the last run's targets whose outcome is unknown.

        Safe because a reset to the same instant is idempotent; the person already confirmed
        these targets and this instant. ``last_results`` is updated in place of the old ones.
        """
        return self._runner.execute(self._runner.claim_retry(), progress, stop, merge=True)

    def retry_unknown_in_background(
        self,
        progress: Progress | None = None,
        stop: StopSignal | None = None,
        done: Done | None = None,
    ) -> threading.Thread:
        return self._runner.launch(self._runner.claim_retry(), progress, stop, done, merge=True)

    # -- results ----------------------------------------------------------------------------

    @property
    def results(self) -> pd.DataFrame:
        """The history's frame for the attempts this model made, most recent first.

        The full history (other notebooks included, if the log is shared) is ``log.to_frame()``.
        """
        frame = self.log.to_frame(since=self._created)
        ids = self._tracked.row_ids
        mine: pd.DataFrame = frame.loc[frame["id"].isin(ids)]
        ordered: pd.DataFrame = mine.sort_values("id", ascending=False, ignore_index=True)
        return ordered


def _check_retention(value: object) -> None:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise ValidationError(f"retention must be a positive timedelta, not {value!r}.")
