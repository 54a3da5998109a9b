"""``ResetPanel``: the pickers, Preview → Confirm → Run, progress and Stop, results, errors.

A thin view over ``PanelModel``: every button calls one model method, and every model method can
be called from code (``panel.select(...)``, ``panel.preview()``, ``panel.run(confirm=True)``).
The view adds only what a person needs on top:

* the flow's buttons are enabled only when their step makes sense, and all of them (but Stop)
  are disabled while a run is in flight;
* the confirmation is a second, explicit step — the Confirm button shows what will happen
  (environment, instance, instant, every task) and a checkbox must be ticked before Run works;
  any change to the selection hides it and unticks it;
* in a kernel the batch runs on a thread (``background=True``), so the Stop click can be
  processed while requests are in flight; ``wait()`` joins it;
* every exception in a callback lands in ``errors`` and the output area (see ``ErrorSink``);
* a reviewed plan file (``roma-nb reset/rewind … --export``) can be loaded by its path (Load
  plan): it is shown read-only with its confirmation, refused with the check's sentences, and
  Run then runs exactly it (``PanelModel.load_plan``). A path on the kernel's machine, which is
  where JupyterLab and Voilà both read files.

``value`` is the ``Selection`` as a traitlet (``observe`` it, ``link`` it, set it), the pickers
report through their own ``value`` traitlets, every update reads one ``PanelState`` snapshot, and
Run and Retry (buttons or code) go through one path: claim a plan, show it started, send it.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import traitlets

from ..dates import DEFAULT_RETENTION
from ..errors import RomaError
from ..history import RESULT_COLUMNS
from ..models import RESTARTS, ResetResult, RewindStep
from ..panel.errors import ConfirmationRequired, PanelError
from ..panel.model import PanelModel
from ..panel.plan import PROCEDURES, PlannedRun
from ..panel.preview import preview_frame
from ..panel.runs import RunResult
from ..panel.state import PanelState, Selection
from ..panel.views import in_flight, results_view
from ._html import classed, esc, frame_html, messages_html, pre_html, table_html
from ._sink import ErrorSink
from .banner import EnvironmentBanner
from .date_picker import DateFromPicker
from .instance_picker import InstancePicker
from .task_picker import TaskPicker

if TYPE_CHECKING:
    import pandas as pd

    from ..client import RomaClient
    from ..history import ResultLog

__all__ = ["RESULT_COLUMNS", "ResetPanel"]

_RESTART_LABELS = {
    "as_before": "as before (only the tasks that were running)",
    "always": "always",
    "never": "never (leave them stopped)",
}
_TASK_HEADERS = {"task_id": "id", "last_run": "last run", "will_happen": "what will happen"}
_OUTCOME_LABELS = ("outcome", "stop", "reset", "start", "verify")
_TICK_S = 1.0
"""How often the in-flight line says how long each request has been waiting."""
_PANEL_CSS = """<style>
.roma-reset-panel .roma-warning-tick { height: auto; align-items: flex-start; }
.roma-reset-panel .roma-warning-tick label, .roma-reset-panel .roma-warning-tick label span {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
  height: auto !important; line-height: 1.4; }
</style>"""
"""A warning's tick says the whole warning, wrapped: ipywidgets draws a checkbox's description
on one line cut with "…", and a warning cut short cannot be read before it is ticked."""
_LEFT_STOPPED_STYLE = (
    "background:#fdecea;border:2px solid #b71c1c;color:#7f0000;padding:6px 10px;border-radius:4px"
)


def _notice(result: RunResult) -> str:
    """A failed, unknown or left-stopped task, in one line for the output area."""
    name = result.task_name or result.task_id
    line = f"{result.outcome.upper()}: {name} ({result.task_id}): {result.message or ''}"
    if isinstance(result, ResetResult):
        line = f"{result.outcome.upper()}: {name} ({result.task_id}): "
        line += result.error_msg or result.message or ""
        if result.request_id:
            line += f" [request id {result.request_id}]"
    return line


def _checkbox(description: str, css_class: str, **layout: str) -> Any:
    """An unticked checkbox whose description is its label."""
    box = w.Checkbox(value=False, description=description, indent=False, layout=w.Layout(**layout))
    return classed(box, css_class)


def _counted_button(words: str, icon: str, tooltip: str, css_class: str) -> Any:
    """An after-run button that shows how many tasks it would act on: ``Retry unknown (2)``."""
    button = w.Button(
        description=f"{words} (0)", icon=icon, tooltip=tooltip, layout=w.Layout(width="auto")
    )
    return classed(button, css_class)


class ResetPanel(w.VBox):  # type: ignore[misc]
    """Reset combined tasks to a chosen instant, safely, from a notebook.

    ``ResetPanel(client, *, log=None, tz="UTC", dry_run=True)``. ``dry_run``: the panel opens
    with "Dry run" ticked, as every notebook's panel does — a person unticks it to send; code
    that means to send passes ``dry_run=False``. ``log`` is the ``ResultLog`` every attempt is
    written to; by default an in-memory log against the SANDBOX and the durable
    ``ResultLog.default()`` against a real service (see ``roma_nb.panel.default_log``).
    ``tz`` is the zone the time picker starts in. ``background=False`` runs batches in the
    calling thread (plain scripts and tests); ``concurrency`` is ``reset_many``'s.

    Code does what the buttons do: ``select(...)``, ``preview()``, ``confirmation_text()``,
    ``run(confirm=True)``, ``stop()``, ``retry_unknown()``, ``rerun()``, ``wait()``;
    ``results`` is this panel's part of the history, newest first; ``errors`` every exception a
    callback raised.
    ``value`` (a traitlet) is the ``Selection``: ``observe(callback, "value")`` hears every
    change, and setting it (or ``link``-ing it) selects, checked like ``select``.

    ``procedure_choice`` picks what Run does: the rewind (stop, reset, start, verify; the default)
    or the raw reset (experts); ``restart_choice`` when a rewind starts tasks again. A red
    banner lists the tasks a rewind left stopped, with "Start them again".

    The preview and the confirmation show one compact row per task (name, whole id, state, last
    run, what will happen: the steps and how much is replayed or skipped); the requests as sent
    wait behind a "Details" toggle. While a run is in flight a line says which requests wait, and
    for how long. After it, "Retry unknown (n)" re-sends the unknown ones and "Re-run skipped /
    failed (n)" (``rerun()``) takes the others back to the confirmation. A new preview clears
    the last run's notices. The panel takes its output's width and its tables wrap to fit it.

    CSS classes of the flow: ``roma-reset-panel`` (box), ``roma-procedure`` / ``roma-restart``
    (Dropdowns), ``roma-left-stopped`` (HTML) and ``roma-start-again`` (Button) of the banner,
    ``roma-steps-table`` and ``roma-outcomes-table`` (HTML), ``roma-dry-run`` (Checkbox),
    ``roma-preview`` / ``roma-confirm`` / ``roma-run`` / ``roma-stop`` / ``roma-retry-unknown``
    / ``roma-rerun`` (Buttons), ``roma-confirm-check`` and ``roma-warning-tick`` (Checkboxes),
    ``roma-preview-table``, ``roma-preview-details``, ``roma-confirmation``, ``roma-status``,
    ``roma-in-flight``, ``roma-results-table`` (HTML), ``roma-progress`` (IntProgress),
    ``roma-output`` (Output), ``roma-plan-path`` (Text) and ``roma-load-plan`` (Button) of a
    plan file; the pickers' classes are listed on each picker.
    """

    value = traitlets.Instance(Selection)

    def __init__(
        self,
        client: RomaClient,
        *,
        log: ResultLog | None = None,
        tz: str = "UTC",
        retention: timedelta = DEFAULT_RETENTION,
        background: bool = True,
        concurrency: int = 8,
        clock: Callable[[], int] | None = None,
        task_limit: int = 500,
        table_rows: int = 200,
        dry_run: bool = True,
    ) -> None:
        self.model = PanelModel(
            client, log=log, tz=tz, retention=retention, concurrency=concurrency, clock=clock
        )
        self.model.select(dry_run=dry_run)
        self.background = background
        self.table_rows = table_rows
        self.sink = ErrorSink()
        self._syncing = False
        self._confirmation_shown = False
        self._ui_lock = threading.RLock()
        self.banner = EnvironmentBanner(
            self.model.environment, sandbox=self.model.is_sandbox, note=self.model.log_note
        )
        self.instance_picker = InstancePicker(self.model.catalog, sink=self.sink, load=False)
        self.task_picker = TaskPicker(self.model.catalog, sink=self.sink, limit=task_limit)
        self.date_picker = DateFromPicker(
            tz=tz,
            retention=retention,
            clock=self.model.clock,
            last_log=self.model.last_log_instant,
            sink=self.sink,
        )
        self._build_flow()
        super().__init__(
            [
                w.HTML(_PANEL_CSS, layout=w.Layout(display="none")),
                self.banner,
                self.instance_picker,
                self.task_picker,
                self.date_picker,
                self.left_stopped_box,
                w.HBox([self.procedure_choice, self.restart_choice]),
                w.HBox([self.dry_run_box]),
                w.HBox([self.plan_path, self.load_button, self.save_button]),
                w.HBox([self.preview_button, self.confirm_button]),
                self.hint,
                self.steps_html,
                self.preview_html,
                self.details_html,
                self.confirmation_html,
                self.warning_ticks,
                self.confirm_box,
                w.HBox([self.run_button, self.stop_button, self.progress_bar]),
                self.status,
                self.in_flight_html,
                w.HBox([self.retry_button, self.rerun_button]),
                self.outcomes_html,
                self.results_html,
                self.sink.output,
            ],
            layout=w.Layout(width="100%", max_width="100%", overflow="hidden"),
        )
        self.add_class("roma-reset-panel")
        self.dry_run_box.value = self.model.dry_run
        self._wire()
        self.sink.guard("Listing the instances")(self.instance_picker.refresh)(initial=True)
        self.value = self.model.selection
        self._show_left_stopped()

    def _build_flow(self) -> None:
        self.procedure_choice = classed(
            w.Dropdown(
                options=[(label, key) for key, label in PROCEDURES.items()],
                value="rewind",
                description="Procedure",
                style={"description_width": "initial"},
                layout=w.Layout(width="auto"),
            ),
            "roma-procedure",
        )
        self.restart_choice = classed(
            w.Dropdown(
                options=[(_RESTART_LABELS[r], r) for r in RESTARTS],
                value="as_before",
                description="Start again",
                style={"description_width": "initial"},
                layout=w.Layout(width="auto"),
            ),
            "roma-restart",
        )
        self.left_stopped_html = classed(w.HTML(layout=w.Layout(width="100%")), "roma-left-stopped")
        self.start_again_button = classed(
            w.Button(description="Start them again", icon="play", button_style="danger"),
            "roma-start-again",
        )
        self.left_stopped_box = w.VBox(
            [self.left_stopped_html, self.start_again_button], layout=w.Layout(display="none")
        )
        self.outcomes_html = classed(w.HTML(layout=w.Layout(width="100%")), "roma-outcomes-table")
        self.dry_run_box = _checkbox(
            "Dry run: send nothing, record what would be sent", "roma-dry-run", width="auto"
        )
        self.plan_path = classed(
            w.Text(
                placeholder="plan.json from roma-nb reset/rewind … --export",
                description="Plan file",
                layout=w.Layout(width="32em"),
            ),
            "roma-plan-path",
        )
        self.load_button = classed(
            w.Button(description="Load plan", icon="folder-open"), "roma-load-plan"
        )
        self.save_button = classed(w.Button(description="Save plan", icon="save"), "roma-save-plan")
        self.preview_button = classed(w.Button(description="Preview", icon="eye"), "roma-preview")
        self.confirm_button = classed(
            w.Button(description="Confirm…", icon="check"), "roma-confirm"
        )
        self.steps_html = classed(w.HTML(layout=w.Layout(width="100%")), "roma-steps-table")
        self.preview_html = classed(w.HTML(layout=w.Layout(width="100%")), "roma-preview-table")
        self.details_html = classed(w.HTML(layout=w.Layout(width="100%")), "roma-preview-details")
        self.confirmation_html = classed(w.HTML(layout=w.Layout(width="100%")), "roma-confirmation")
        self.warning_ticks = classed(w.VBox([]), "roma-warning-ticks")
        self.confirm_box = _checkbox(
            "I have read this and want to run it", "roma-confirm-check", display="none"
        )
        self.run_button = classed(
            w.Button(description="Run", icon="play", button_style="danger"), "roma-run"
        )
        self.stop_button = classed(
            w.Button(description="Stop", icon="stop", button_style="warning"), "roma-stop"
        )
        self.progress_bar = classed(
            w.IntProgress(value=0, min=0, max=1, description="Progress"), "roma-progress"
        )
        self.hint = classed(w.HTML(), "roma-hint")
        self.status = classed(w.HTML(), "roma-status")
        self.in_flight_html = classed(w.HTML(layout=w.Layout(width="100%")), "roma-in-flight")
        self.retry_button = _counted_button(
            "Retry unknown",
            "redo",
            "Send again, to the same instant, only the tasks whose outcome is unknown (safe: a "
            "reset to the same instant is idempotent)",
            "roma-retry-unknown",
        )
        self.rerun_button = _counted_button(
            "Re-run skipped / failed",
            "undo",
            "Select the tasks of the last run that were skipped or failed, and go back to the "
            "confirmation",
            "roma-rerun",
        )
        self.results_html = classed(w.HTML(layout=w.Layout(width="100%")), "roma-results-table")

    def _wire(self) -> None:
        guard = self.sink.guard
        self.instance_picker.observe(guard("Choosing an instance")(self._instance_chosen), "value")
        self.task_picker.observe(guard("Selecting tasks")(self._picked), "value")
        self.date_picker.observe(guard("Choosing date_from")(self._picked), ["choice", "retention"])
        self.dry_run_box.observe(guard("Switching dry run")(self._picked), "value")
        self.procedure_choice.observe(guard("Choosing the procedure")(self._picked), "value")
        self.restart_choice.observe(guard("Choosing when to start again")(self._picked), "value")
        self.start_again_button.on_click(
            guard("Starting the tasks left stopped")(lambda _b: self.start_left_stopped())
        )
        self.confirm_box.observe(guard("Confirming")(lambda _c: self._update()), "value")
        self.preview_button.on_click(guard("Preview")(lambda _b: self.preview()))
        self.load_button.on_click(guard("Loading a plan file")(lambda _b: self._load_clicked()))
        self.save_button.on_click(guard("Saving a plan file")(lambda _b: self._save_clicked()))
        self.confirm_button.on_click(guard("Confirm")(lambda _b: self._confirm_clicked()))
        self.run_button.on_click(guard("Run")(lambda _b: self._clicked(self._confirmed_claim)))
        self.stop_button.on_click(guard("Stop")(lambda _b: self._stop_clicked()))
        self.retry_button.on_click(
            guard("Retry unknown")(lambda _b: self._clicked(lambda: self.model.claim(retry=True)))
        )
        self.rerun_button.on_click(guard("Re-run skipped / failed")(lambda _b: self._rerun()))

    # -- what code uses ---------------------------------------------------------------------

    @property
    def errors(self) -> list[BaseException]:
        """Every exception raised in a callback of this panel, oldest first."""
        return self.sink.errors

    @property
    def output(self) -> Any:
        """The ``Output`` widget where errors and notices are written."""
        return self.sink.output

    @property
    def results(self) -> pd.DataFrame:
        """This panel's attempts from the history (``ResultLog`` frame), newest first."""
        return self.model.results

    def select(self, selection: Selection | None = None, /, **changes: Any) -> None:
        """``PanelModel.select`` (a ``Selection``, or instance_id, task_ids, date_from, tz,
        ambiguous, nonexistent, retention, dry_run), then show it in the pickers."""
        self.model.select(selection, **changes)
        self.value = self.model.selection

    def preview(self) -> pd.DataFrame:
        """One row per planned call; shows it in the panel and makes it confirmable."""
        frame = self.model.preview()
        self.sink.clear()  # the last run's notices are not about this preview
        self.status.value = ""
        self._show_preview(frame)
        return frame

    def load_plan(self, path: str) -> PlannedRun:
        """Load a plan file (``PanelModel.load_plan``): its steps and calls are shown, and its
        confirmation opened, read-only; Run then runs exactly it."""
        run = self.model.load_plan(path)
        self.sink.clear()  # an earlier file's refusal, the last run's notices: not this plan's
        self._show_choices_of(run)
        self._show_preview(preview_frame(run, self.model.client))
        self._confirm_clicked()
        return run

    def _show_choices_of(self, run: PlannedRun) -> None:
        """Set the pickers to the loaded plan's choices, so nothing above contradicts it (an
        empty date picker said "nothing can be sent" above a plan ready to run). The plan runs
        as loaded whatever the pickers hold; a choice they cannot show (a task no longer
        listed) leaves them as they were."""
        plan = run.plan
        with contextlib.suppress(RomaError):  # ``select`` changes nothing when it refuses
            self.select(
                instance_id=plan.instance_id,
                task_ids=[task.id for task in plan.tasks],
                date_from=plan.date_from.ms,
                tz=plan.date_from.zone,
                procedure=plan.procedure.kind,
                restart=run.restart,
            )

    def save_plan(self, path: str) -> Path:
        """Save the previewed plan as a plan file (``PanelModel.save_plan``)."""
        return self.model.save_plan(path)

    def _typed_path(self, asking: str) -> str | None:
        """The plan file path typed beside Load / Save plan; None (and ``asking`` said) if empty."""
        path = self.plan_path.value.strip()
        if not path:
            self.status.value = messages_html([("warning", asking)])
        return path or None

    def _save_clicked(self) -> None:
        """Save plan clicked: the previewed plan goes to the typed path, for review."""
        path = self._typed_path("Type the path to save the previewed plan to (e.g. plan.json).")
        if path is None:
            return
        try:
            plan = self.model.plan_to_save()
            saved = plan.save(path)
        except RomaError as exc:
            self.status.value = messages_html([("error", str(exc))])
            return
        plan_id = plan.plan_id
        self.status.value = messages_html(
            [
                (
                    "info",
                    f"Plan {plan_id[:16]}… saved to {saved}: have it reviewed, then apply it "
                    "with roma-nb apply, the runbook's plan_file, or Load plan. Nothing was sent.",
                )
            ]
        )

    def _load_clicked(self) -> None:
        """Load plan clicked: a refused file is said in sentences, never as a traceback."""
        path = self._typed_path("Type the path of a plan file (roma-nb reset/rewind … --export).")
        if path is None:
            return
        try:
            run = self.load_plan(path)
        except RomaError as exc:
            self._hide_confirmation()
            self.status.value = messages_html([("error", str(exc))])
            self.sink.notice(str(exc))
            self._update()
            return
        self.status.value = messages_html(
            [
                (
                    "info",
                    f"Plan {run.plan.plan_id[:16]}… loaded from {run.source}: read its "
                    "confirmation above, tick it, then Run.",
                )
            ]
        )

    def _show_preview(self, frame: pd.DataFrame) -> None:
        self._hide_confirmation()
        warnings = [("warning", text) for text in frame.attrs.get("warnings", [])]
        plan = self.model.previewed
        assert plan is not None  # preview() just set it
        self.steps_html.value = f"<b>Steps: {esc(plan.steps_summary())}</b>"
        self.preview_html.value = (
            f"<div>date_from: {esc(plan.describe_instant())}</div>"
            + messages_html(warnings)
            + self._tasks_table()
        )
        calls = frame[["task_id", "request", "body"]]  # the rows above name each task
        self.details_html.value = (
            f"<details><summary>Details: the {len(frame)} request"
            f"{'' if len(frame) == 1 else 's'} as sent (path and JSON body)</summary>"
            + table_html(calls, limit=self.table_rows, what="requests", ids=("task_id",))
            + "</details>"
        )
        self._update()

    def _tasks_table(self) -> str:
        """The previewed plan, one compact row per task (the preview's and the confirmation's)."""
        return table_html(
            self.model.task_rows(),
            limit=self.table_rows,
            what="tasks",
            labels=("state",),
            ids=("task_id",),
            headers={**_TASK_HEADERS, "last_run": f"last run ({self.model.zone})"},
        )

    def confirmation_text(self) -> str:
        return self.model.confirmation_text()

    def run(self, confirm: bool = False, dry_run: bool | None = None) -> list[RunResult]:
        """Run the previewed plan in this thread (``confirm=True`` required), as Run does."""
        results = self._start(lambda: self.model.claim(confirm=confirm, dry_run=dry_run))
        assert results is not None
        return results

    def rerun(self) -> None:
        """ "Re-run skipped / failed": select the last run's skipped and failed tasks (same
        instance, instant, procedure and mode), preview them and show the confirmation again:
        nothing runs until it is read, ticked and Run is pressed."""
        self.value = self.model.select_rerun()
        self.preview()
        self._confirm_clicked()

    def _rerun(self) -> None:
        if self.model.running:
            self.sink.notice("A run is in flight: wait for it before re-running.")
            return
        self.rerun()

    def retry_unknown(self) -> list[RunResult]:
        """Re-send only the last run's unknown targets, in this thread."""
        results = self._start(lambda: self.model.claim(retry=True))
        assert results is not None
        return results

    def stop(self) -> bool:
        """Ask the running batch to stop (False when none runs); unsent tasks become skipped."""
        stopped = self.model.stop()
        if stopped:
            text = "Stop requested: tasks not yet sent will be recorded as skipped."
            self.sink.notice(text)
            self.status.value = messages_html([("warning", text)])
        return stopped

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a background run to end (True when nothing runs any more)."""
        return self.model.wait(timeout)

    def start_left_stopped(self) -> None:
        """ "Start them again": start the tasks a rewind left stopped, then show what is left."""
        results = self.model.start_left_stopped()
        for result in results:
            if not result.ok:
                name = result.task_name or result.task_id
                self.sink.notice(f"START FAILED: {name} ({result.task_id}): {result.message}")
        self._show_left_stopped()

    def _show_left_stopped(self) -> None:
        """The red banner: every task a rewind stopped and did not start again."""
        frame = self.model.left_stopped
        if frame.empty:
            self.left_stopped_box.layout.display = "none"
            self.left_stopped_html.value = ""
            return
        count = len(frame)
        self.left_stopped_html.value = (
            f'<div style="{_LEFT_STOPPED_STYLE}"><b>{count} task{"" if count == 1 else "s"} '
            "LEFT STOPPED by a rewind: they do not sync until started again.</b>"
            + frame_html(
                frame,
                limit=self.table_rows,
                columns=("task_name", "task_id", "instance_id", "at", "rewind_id"),
                what="tasks",
            )
            + "</div>"
        )
        self.left_stopped_box.layout.display = None

    # -- the selection --------------------------------------------------------------------

    @traitlets.validate("value")
    def _selected(self, proposal: dict[str, Any]) -> Selection:
        """A selection given from outside is applied to the model, checked like ``select``."""
        if proposal["value"] != self.model.selection:
            self.model.select(proposal["value"])
        return self.model.selection

    @traitlets.observe("value")
    def _show_selection(self, change: dict[str, Any]) -> None:
        """Show the model's selection in the pickers (without echoing it back), then update."""
        chosen = self.model.selection
        self._syncing = True
        try:
            self.instance_picker.value = chosen.instance_id
            if self.task_picker.instance_id != chosen.instance_id:
                self.task_picker.load(chosen.instance_id)
            self.task_picker.value = chosen.task_ids
            self.date_picker.choice = chosen.date_from
            self.date_picker.retention = chosen.retention
            self.dry_run_box.value = chosen.dry_run
            self.procedure_choice.value = chosen.procedure
            self.restart_choice.value = chosen.restart
        finally:
            self._syncing = False
        self._update()

    def _instance_chosen(self, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        self.model.select(instance_id=change["new"])
        self.task_picker.load(change["new"])
        self.value = self.model.selection

    def _picked(self, change: dict[str, Any]) -> None:
        """Tasks, ``date_from``, retention or dry run changed in a picker: take them all."""
        if self._syncing:
            return
        self.value = self.model.select(
            task_ids=self.task_picker.value,
            date_from=self.date_picker.choice,
            retention=self.date_picker.retention,
            dry_run=bool(self.dry_run_box.value),
            procedure=self.procedure_choice.value,
            restart=self.restart_choice.value,
        )

    # -- the flow ---------------------------------------------------------------------------

    def _confirm_clicked(self) -> None:
        self.model.confirmation_text()  # refuses a stale preview
        plan = self.model.previewed
        assert plan is not None  # confirmation_text checked it
        tone = "#e8f5e9" if plan.sandbox else "#fdecea"
        facts = [
            ("environment", plan.environment),
            ("instance", plan.instance_shown()),
            ("date_from", plan.describe_instant()),
            ("procedure", PROCEDURES[plan.plan.procedure.kind]),
            ("steps", plan.steps_summary()),
        ]
        lines = "".join(
            f'<tr><th style="text-align:left;padding:1px 8px 1px 0;vertical-align:top">'
            f"{esc(name)}</th><td>{esc(value)}</td></tr>"
            for name, value in facts
        )
        self.confirmation_html.value = (
            f'<div style="background:{tone};padding:6px 8px;border-radius:4px">'
            f"<b>{esc(plan.confirmation_headline())}</b><div>{esc(plan.headline())}</div>"
            + (pre_html("\n".join(plan.file_lines())) if plan.loaded else "")
            + f'<table style="margin:4px 0">{lines}</table>'
            f"<b>tasks ({len(plan.tasks)}):</b>{self._tasks_table()}</div>"
        )
        self.warning_ticks.children = [self._warning_tick(text) for text in plan.warnings]
        self.confirm_box.value = False
        self.confirm_box.layout.display = None
        self._confirmation_shown = True
        self._update()

    def _warning_tick(self, text: str) -> Any:
        """One checkbox per warning: each must be read and ticked on its own before Run."""
        box = w.Checkbox(
            value=False,
            description=f"⚠ I have read this warning: {text}",
            indent=False,
            layout=w.Layout(width="auto", max_width="100%", height="auto"),
            style={"description_width": "initial"},
        )
        box.add_class("roma-warning-tick")
        box.observe(self.sink.guard("Ticking a warning")(lambda _c: self._update()), "value")
        return box

    @property
    def warnings_ticked(self) -> bool:
        """True when every warning of the shown confirmation has its tick."""
        return all(box.value for box in self.warning_ticks.children)

    def _hide_confirmation(self) -> None:
        """No confirmation shown (a new preview, a changed selection, a run): Run needs one."""
        self._confirmation_shown = False
        self.confirmation_html.value = ""
        self.confirm_box.value = False
        self.confirm_box.layout.display = "none"
        self.warning_ticks.children = []

    def _confirmed_claim(self) -> PlannedRun:
        """Run's claim: the confirmation must be shown and ticked, then the model checks."""
        if not (self._confirmation_shown and self.confirm_box.value and self.warnings_ticked):
            raise ConfirmationRequired(
                "Nothing was sent: press Confirm, read the confirmation, tick each warning and "
                "the confirmation box."
            )
        return self.model.claim(confirm=True)

    def _clicked(self, claim: Callable[[], PlannedRun]) -> None:
        """Run or Retry clicked: a refusal is a notice, never an error."""
        if self.model.running:
            self.sink.notice("A run is already in flight: this click was ignored, nothing queued.")
            return
        try:
            self._start(claim, background=self.background)
        except PanelError as exc:
            self.sink.notice(str(exc))

    def _start(
        self, claim: Callable[[], PlannedRun], *, background: bool = False
    ) -> list[RunResult] | None:
        """Run and Retry, from a button or from code: claim a plan (the one run slot, after
        every check), show that it started, send it here or on a thread (then None)."""
        try:
            with self._ui_lock:  # the run's progress waits until the start is shown
                plan = claim()
                self._progress(0, plan.step_count())
                if background:
                    self.model.send_in_background(
                        plan, self._progress, done=self._done_in_thread, steps=self._step_done
                    )
                    threading.Thread(target=self._tick, name="roma-panel-tick", daemon=True).start()
                    self._update()
                    return None
            results = self.model.send(plan, progress=self._progress, steps=self._step_done)
        except BaseException as exc:
            self.status.value = messages_html([("warning", str(exc))])
            self._update()
            raise
        self._finished(results, None)
        return results

    def _tick(self) -> None:
        """While a run is in flight, say every second which requests wait, and for how long."""
        while self.model.running:
            try:
                self.show_in_flight()
            except Exception as exc:  # the run goes on; the output says why the line stopped
                self.sink.error("Showing the requests in flight", exc)
                return
            time.sleep(_TICK_S)

    def show_in_flight(self, now_ms: int | None = None) -> list[str]:
        """The in-flight line: each request still waiting for its answer, with its wait so
        far (``now_ms``: the clock, real time by default). Returns the lines shown."""
        now = time.time_ns() // 1_000_000 if now_ms is None else now_ms
        waiting = in_flight(self.model.results, now) if self.model.running else []
        outlook = self.model.outlook()
        ahead = outlook.describe() if outlook is not None else ""
        if ahead:  # throttled (or long): how long the rest is expected to take
            waiting.append(f"the batch is {ahead}")
        with self._ui_lock:  # the run's end clears the line under this lock: never undo that
            if not self.model.running:
                waiting = []
            self.in_flight_html.value = (
                messages_html([("info", "Waiting for: " + "; ".join(waiting))]) if waiting else ""
            )
        return waiting

    def _stop_clicked(self) -> None:
        if not self.stop():
            self.sink.notice("Nothing is running: there is nothing to stop.")

    def _progress(self, done: int, total: int, result: ResetResult | None = None) -> None:
        try:
            with self._ui_lock:
                self.progress_bar.max = max(total, 1)
                self.progress_bar.value = done
                self.status.value = messages_html([("info", f"Running: {done} of {total} done…")])
        except Exception as exc:
            self.sink.error("Showing progress", exc)

    def _step_done(self, row: RewindStep) -> None:
        """A step of a rewind finished: progress counts steps, the status names the last."""
        done, total = self.model.progress
        self._progress(done, total)
        name = row.task_name or row.task_id
        try:
            with self._ui_lock:
                self.status.value = messages_html(
                    [
                        (
                            "info",
                            f"Running: {done} of {total} steps; {name}: {row.step} {row.outcome}",
                        )
                    ]
                )
        except Exception as exc:
            self.sink.error("Showing progress", exc)

    def _done_in_thread(self, results: list[RunResult] | None, error: BaseException | None) -> None:
        try:
            self._finished(results, error)
        except Exception as exc:
            self.sink.error("Showing the results", exc)

    def _finished(self, results: list[RunResult] | None, error: BaseException | None) -> None:
        with self._ui_lock:
            self._show_outcome(results, error)

    def _show_outcome(self, results: list[RunResult] | None, error: BaseException | None) -> None:
        self._hide_confirmation()
        self.in_flight_html.value = ""
        if error is not None:
            self.sink.error("The run", error)
            self.status.value = messages_html([("error", "The run failed; see below.")])
        elif results is not None:
            self.progress_bar.value = self.progress_bar.max
            counts = Counter(r.outcome for r in results)
            summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
            tone = "ok" if set(counts) <= {"success", "dry-run"} else "warning"
            self.status.value = messages_html([(tone, f"Done: {summary or 'nothing to do'}.")])
            for result in results:
                if result.outcome in ("failed", "unknown", "left-stopped"):
                    self.sink.notice(_notice(result))
        self.steps_html.value = ""
        self.details_html.value = ""
        self.preview_html.value = messages_html(
            [("info", "That preview has been run. Preview again to run another batch.")]
        )
        self._show_results()
        self._refresh_states()
        self._update()

    def _refresh_states(self) -> None:
        """A run changed the tasks (stopped, reset, started): list them again, so the picker and
        the next preview do not show the states from before the run."""
        if self.task_picker.instance_id is not None:
            self.sink.guard("Refreshing the task states")(self.task_picker.refresh)()

    def _show_results(self) -> None:
        outcomes = self.model.outcomes()
        states = {True: "running", False: "stopped"}
        outcomes["was_running"] = [states.get(v, "") for v in outcomes["was_running"].tolist()]
        if not self.model.last_plan or not self.model.last_plan.rewinds:
            outcomes = outcomes.drop(columns=["was_running", "stop", "reset", "start", "verify"])
        self.outcomes_html.value = (
            ""
            if outcomes.empty
            else "<b>Outcome per task</b>"
            + table_html(
                outcomes.drop(columns=["verified_by"])
                if outcomes["verified_by"].isna().all()
                else outcomes,
                limit=self.table_rows,
                what="tasks",
                labels=("was_running", *_OUTCOME_LABELS),
                ids=("task_id",),
                headers={"task_name": "task", "task_id": "id", "was_running": "was"},
            )
        )
        self._show_left_stopped()
        frame = self.model.results
        if frame.empty:
            self.results_html.value = ""
            return
        zone = self.model.zone
        self.results_html.value = (
            f"<b>Results (newest first; times in {esc(zone)})</b>"
            + table_html(
                results_view(frame, zone),
                limit=self.table_rows,
                what="attempts",
                labels=("outcome",),
                ids=("task_id",),
                headers={"task_id": "id"},
            )
        )

    def _update(self) -> None:
        """Enable each button only when its step makes sense; say what is missing.

        Reads one ``PanelState``. Runs on the kernel thread and on the run's thread: the lock
        makes each pass read the model and set the buttons as one step, so the last pass always
        shows the latest state.
        """
        with self._ui_lock:
            state = self.model.state()
            busy = state.running
            if not busy and self._confirmation_shown and not state.current:
                self._hide_confirmation()
            if not busy and state.previewed is not None and not state.current:
                self.steps_html.value = ""
                self.preview_html.value = messages_html(
                    [("warning", "The selection changed since this preview: preview again.")]
                )
            self.preview_button.disabled = busy or state.plan is None
            self.confirm_button.disabled = busy or not state.current
            self.confirm_box.disabled = busy
            self.run_button.disabled = busy or not (
                state.current
                and self._confirmation_shown
                and self.confirm_box.value
                and self.warnings_ticked
            )
            self.stop_button.disabled = not busy
            self.dry_run_box.disabled = busy
            self.retry_button.disabled = busy or state.unknown == 0
            self.retry_button.description = f"Retry unknown ({state.unknown})"
            self.rerun_button.disabled = busy or state.rerun == 0
            self.rerun_button.description = f"Re-run skipped / failed ({state.rerun})"
            self.hint.value = messages_html([("info", self._next_step(state))])

    def _next_step(self, state: PanelState) -> str:
        step = self._step(state)
        if not state.running and state.previewed is not None and state.previewed.loaded:
            return f"A plan file is loaded: the choices above do not change it. {step}"
        return step

    def _step(self, state: PanelState) -> str:
        if state.running:
            return "A run is in flight: Stop records what was not sent yet as skipped."
        if state.problem is not None:
            return state.problem
        if not state.current:
            return "Next: Preview the planned calls."
        if not self._confirmation_shown:
            return "Next: Confirm, and read what will be sent."
        unticked = sum(1 for box in self.warning_ticks.children if not box.value)
        if unticked:
            return f"Next: read and tick each warning ({unticked} left), then the confirmation box."
        if not self.confirm_box.value:
            return "Next: tick the confirmation box, then Run."
        return "Ready: Run sends exactly the confirmed plan."
