"""``BatchRunner``: one batch at a time — a ``rewind`` (the default) or a raw ``reset_many`` —
stoppable, on a thread if asked.

The model decides *whether* a plan may run (preview, confirmation); this module makes sure only
one runs at a time and keeps what the last one did. Claiming is separate from running so a
caller can claim synchronously (the click that started a run is the one that holds it) and then
send on a background thread, leaving the kernel free to process the Stop click.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..client import BatchOutlook, BatchWatch, Progress, StopSignal
from ..models import ResetResult, RewindResult, RewindStep
from .errors import PanelError, RunInProgress
from .logs import TrackedLog
from .plan import PlannedRun

if TYPE_CHECKING:
    from ..client import RomaClient

__all__ = ["BatchRunner", "Done", "RunResult", "StepProgress"]

logger = logging.getLogger("roma_nb.panel")

RunResult = ResetResult | RewindResult
"""One task's result: a ``RewindResult`` of a rewind, a ``ResetResult`` of a raw reset."""

StepProgress = Callable[[RewindStep], None]
"""Called with each finished step row of a rewind (look, stop, reset, start, verify)."""

Done = Callable[[list[RunResult] | None, BaseException | None], None]
"""Called when a background run ends: ``(results, None)`` or ``(None, error)``."""


class _AnyStop:
    """A stop signal that is set when any of its signals is set."""

    def __init__(self, *signals: StopSignal | None) -> None:
        self._signals = [s for s in signals if s is not None]

    def is_set(self) -> bool:
        return any(s.is_set() for s in self._signals)


class BatchRunner:
    """Runs claimed plans with ``client.rewind`` or ``client.reset_many`` (per the plan's
    procedure), writing every step or attempt to ``recorder``."""

    def __init__(self, client: RomaClient, recorder: TrackedLog, *, concurrency: int = 8) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.client = client
        self.recorder = recorder
        self.concurrency = concurrency
        self._lock = threading.Lock()
        self._running = False
        self._retrying = False
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_plan: PlannedRun | None = None
        self.last_results: list[RunResult] = []
        self.progress: tuple[int, int] = (0, 0)
        self.last_step: RewindStep | None = None
        self._watch: BatchWatch | None = None

    @property
    def running(self) -> bool:
        return self._running

    def outlook(self) -> BatchOutlook | None:
        """Where the running batch of resets stands (pace, throttling, time left, deadline): a
        raw reset run's, or a rewind's reset step while it runs; None otherwise. Read from any
        thread, e.g. by the panel's in-flight line while the gateway throttles the batch and no
        result arrives."""
        watch = self._watch
        outlook = watch.outlook() if watch is not None and self._running else None
        if outlook is None or outlook.done >= outlook.total:
            return None  # not started, or over (a rewind goes on to its starts)
        return outlook

    def claim(self, make_plan: Callable[[], PlannedRun], *, retry: bool = False) -> PlannedRun:
        """Hold the one run slot for the plan ``make_plan()`` returns (it may refuse by raising);
        ``execute`` or ``launch`` sends it and releases the slot. ``retry``: the plan re-sends
        some targets of the last run, whose results it then replaces.
        """
        with self._lock:
            if self._running:
                raise RunInProgress(
                    f"A run is already in flight on {self.client.environment}; this one was "
                    "refused, not queued. Wait for it, or press Stop."
                )
            plan = make_plan()
            self._running, self._retrying = True, retry
            self._stop_event = threading.Event()
            return plan

    def unknown_targets(self) -> list[RunResult]:
        return [r for r in self.last_results if r.outcome == "unknown"]

    def retry_plan(self) -> PlannedRun:
        """The last plan narrowed to its unknown targets (same instant, same mode)."""
        plan, unknown = self.last_plan, self.unknown_targets()
        if plan is None or not unknown:
            raise PanelError("Nothing to retry: no target of the last run is unknown.")
        return plan.narrowed({r.task_id for r in unknown})

    def execute(
        self,
        plan: PlannedRun,
        progress: Progress | None,
        stop: StopSignal | None,
        steps: StepProgress | None = None,
    ) -> list[RunResult]:
        """Send a claimed plan and release the claim, whatever happens.

        ``progress(done, total, result)`` hears each raw reset; ``steps(row)`` each finished
        step of a rewind (``progress`` is then ``(steps done, steps planned)``).
        """
        if not self._running:
            raise PanelError("Nothing was sent: a plan must be claimed before it is sent.")
        self.progress = (0, len(plan.tasks))
        recorder = self.recorder
        if plan.file_plan_id is not None:  # a plan file's rows carry its plan_id
            recorder = recorder.for_plan(plan.file_plan_id)
        self.last_step = None
        signal = _AnyStop(self._stop_event, stop)

        def on_progress(done: int, total: int, result: ResetResult) -> None:
            self.progress = (done, total)
            if progress is not None:
                progress(done, total, result)

        planned = plan.step_count()

        def on_step(row: RewindStep) -> None:
            done = self.progress[0] + 1
            self.progress = (done, max(done, planned))
            self.last_step = row
            if steps is not None:
                steps(row)

        try:
            results: list[RunResult]
            if plan.rewinds:
                self.progress = (0, planned)
                self._watch = BatchWatch()  # the reset step's batch: its time left, throttled
                results = list(
                    self.client.rewind(
                        plan.targets(),
                        plan.date_from,
                        restart=plan.restart,
                        verify=plan.verify,
                        concurrency=self.concurrency,
                        log=recorder,
                        dry_run=plan.dry_run,
                        progress=on_step,
                        reset_progress=self._watch,
                        stop=signal,
                    )
                )
            else:
                self._watch = BatchWatch(on_progress)
                results = list(
                    self.client.reset_many(
                        plan.targets(),
                        plan.date_from,
                        concurrency=self.concurrency,
                        log=recorder,
                        dry_run=plan.dry_run,
                        progress=self._watch,
                        stop=signal,
                    )
                )
            with self._lock:
                if self._retrying and self.last_plan is not None:
                    fresh = {(r.instance_id, r.task_id): r for r in results}
                    self.last_results = [
                        fresh.get((r.instance_id, r.task_id), r) for r in self.last_results
                    ]
                else:
                    self.last_plan = plan
                    self.last_results = list(results)
        finally:
            with self._lock:
                self._running = False
        return results

    def launch(
        self,
        plan: PlannedRun,
        progress: Progress | None,
        stop: StopSignal | None,
        done: Done | None,
        steps: StepProgress | None = None,
    ) -> threading.Thread:
        """``execute`` a claimed plan on a daemon thread; ``done`` hears how it ended."""

        def work() -> None:
            try:
                results = self.execute(plan, progress, stop, steps)
            except BaseException as exc:
                logger.exception("background run failed")
                if done is not None:
                    done(None, exc)
                return
            if done is not None:
                done(results, None)

        thread = threading.Thread(target=work, name="roma-panel-run", daemon=True)
        self._thread = thread
        try:
            thread.start()
        except BaseException:
            with self._lock:
                self._running = False
            raise
        return thread

    def stop(self) -> bool:
        """Set the running batch's stop flag; False when nothing runs."""
        with self._lock:
            if not self._running:
                return False
            self._stop_event.set()
            return True

    def wait(self, timeout: float | None = None) -> bool:
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()
