"""``TaskPicker``: an instance's combined tasks as a table to decide with, several selectable.

Each task is a row with its checkbox, name, full id, state (running / stopped / error,
colour-coded) and last run; a click ticks one row and never replaces the selection. The list
filters by text as the person types and by state with one click.

Built for thousands of tasks: the filter runs over ``TaskIndex``'s precomputed keys and only the
first ``limit`` matches (500 by default) become rows, because ten thousand rows are what freezes a
browser tab. The selection is kept apart from what is shown, so tasks filtered out of view stay
selected — and the picker lists them under "Selected: N", so nothing is selected invisibly.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import traitlets

from ..models import Task
from ..panel.catalog import STATES, Catalog, TaskEntry, TaskIndex
from ._html import classed, esc, messages_html
from ._sink import ErrorSink
from .check_list import CheckList, Ids
from .instance_picker import as_catalog

if TYPE_CHECKING:
    from ..client import RomaClient

__all__ = ["TaskIds", "TaskPicker"]

TaskIds = Ids  # the name this module exported before the check list shared it

_LISTED = 200  # selected tasks listed under "Selected: N"; the rest are counted
_OPEN_UP_TO = 5  # a selection this small is listed open; a larger one is folded
_ALL = "all"

# Columns: name, id, state, last run. Every column may shrink and wrap, so the list never
# scrolls sideways; the id wraps anywhere rather than being cut.
_GRID = (
    "display:grid;grid-template-columns:minmax(0,3fr) minmax(0,3fr) minmax(7em,1.3fr) "
    "minmax(0,2fr);column-gap:0.8em;align-items:center;line-height:1.35;padding:1px 0"
)
_STATE_STYLES = {
    "running": "background:#e8f5e9;color:#1b5e20;border:1px solid #81c784",
    "stopped": "background:#eceff1;color:#37474f;border:1px solid #b0bec5",
    "error": "background:#fdecea;color:#b00020;border:1px solid #e57373",
    "unknown": "background:#fff3e0;color:#8a5300;border:1px solid #ffb74d",
}


def _second_utc(ms: int | None) -> str:
    if ms is None:
        return "never run"
    try:
        return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return f"{ms} (not a valid time)"


def state_badge(state: str) -> str:
    """A task's state as a coloured word (the word carries it; the colour only helps)."""
    style = _STATE_STYLES.get(state, _STATE_STYLES["unknown"])
    return (
        f'<span class="roma-state roma-state-{esc(state)}" style="{style};border-radius:3px;'
        f'padding:0 0.4em;white-space:nowrap;font-weight:600">{esc(state)}</span>'
    )


def task_row_html(entry: TaskEntry) -> str:
    """One task as a row of the list: name, full id (one click selects it), state, last run."""
    if entry.state == "error":
        detail = f"task {entry.task.status_text}"
    else:  # the execute status, when it says more than the state (cancelled, unstarted)
        detail = (entry.execute_status or "").lower()
        detail = "" if detail == entry.state else detail
    note = f' <small style="color:#555">{esc(detail)}</small>' if detail else ""
    return (
        f'<div class="roma-task-cells" style="{_GRID}">'
        f'<span style="overflow-wrap:anywhere">{esc(entry.task_name or "(no name)")}</span>'
        f'<code style="overflow-wrap:anywhere;user-select:all">{esc(entry.task_id)}</code>'
        f"<span>{state_badge(entry.state)}{note}</span>"
        f"<span>{esc(_second_utc(entry.last_execute_time))}</span></div>"
    )


_HEADER = (
    f'<div style="{_GRID};font-weight:bold;border-bottom:1px solid #ccc;margin-left:1.8em">'
    "<span>Name</span><span>Id</span><span>State</span><span>Last run (UTC)</span></div>"
)


class TaskPicker(w.VBox):  # type: ignore[misc]
    """Pick combined tasks of one instance. ``value`` is the tuple of selected task ids.

    ``value`` is a traitlet (``observe`` / ``link``), in selection order, filtered-out tasks
    included; setting it selects those tasks (ids that are not combined tasks of the instance
    are a ``ValueError``).

    ``select`` is the ``CheckList`` of shown tasks: its ``options`` are ``(label, task id)``
    pairs, a label reading ``name · id · status · execute status · last run (UTC)``. Filter
    terms (separated by spaces) must all appear in the task's name or id, case-insensitively;
    ``state_filter`` keeps one state (``STATES``) or all.

    CSS classes: ``roma-task-picker`` (the box), ``roma-task-filter`` (Text),
    ``roma-task-state`` (ToggleButtons), ``roma-task-select`` (the CheckList), ``roma-task-row``
    (a row) and ``roma-task-row-check`` (its Checkbox), ``roma-state-<state>`` (a state's
    badge), ``roma-task-info`` (HTML: match counts), ``roma-task-selected`` (HTML: the
    selection, hidden ones included), ``roma-task-select-shown``, ``roma-task-clear`` and
    ``roma-task-refresh`` (Buttons).
    """

    value = Ids()

    def __init__(
        self,
        source: RomaClient | Catalog,
        instance_id: str | None = None,
        *,
        sink: ErrorSink | None = None,
        limit: int = 500,
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.catalog = as_catalog(source)
        self.sink = sink if sink is not None else ErrorSink()
        self.limit = limit
        self._instance_id: str | None = None
        self._index = TaskIndex(())
        self._shown: tuple[str, ...] = ()
        self._total_matches = 0
        self._quiet = False
        self.filter = classed(
            w.Text(
                description="Filter",
                placeholder="part of a task name or id",
                continuous_update=True,
                layout=w.Layout(width="40em", max_width="calc(100% - 8px)"),
            ),
            "roma-task-filter",
        )
        self.state_filter = classed(
            w.ToggleButtons(
                options=[("All", _ALL)],
                value=_ALL,
                description="State",
                style={"button_width": "auto"},
                layout=w.Layout(width="auto"),
            ),
            "roma-task-state",
        )
        self.select = classed(
            CheckList(
                description="Tasks",
                render=self._row_html,
                header=_HEADER,
                row_class="roma-task-row",
            ),
            "roma-task-select",
        )
        self.info = classed(w.HTML(), "roma-task-info")
        self.selected_html = classed(w.HTML(layout=w.Layout(width="auto")), "roma-task-selected")
        self.select_shown_button = classed(
            # as wide as its label: "Tick all shown (1,250)" must not end in "…"
            w.Button(
                description="Tick all shown",
                icon="check-square-o",
                layout=w.Layout(width="auto", min_width="148px"),
            ),
            "roma-task-select-shown",
        )
        self.clear_button = classed(
            w.Button(description="Clear selection", icon="times"), "roma-task-clear"
        )
        self.refresh_button = classed(
            w.Button(description="Refresh tasks", icon="refresh"), "roma-task-refresh"
        )
        row = w.Layout(flex_flow="row wrap", width="auto")
        children = [
            w.HBox([self.filter, self.refresh_button], layout=row),
            w.HBox([self.state_filter], layout=row),
            self.info,
            self.select,
            w.HBox([self.select_shown_button, self.clear_button], layout=row),
            self.selected_html,
        ]
        if sink is None:
            children.append(self.sink.output)
        super().__init__(children)
        self.add_class("roma-task-picker")
        guard = self.sink.guard
        self.filter.observe(guard("Filtering the tasks")(lambda _c: self._render()), "value")
        self.state_filter.observe(guard("Filtering by state")(self._state_picked), "value")
        self.select.observe(guard("Selecting tasks")(self._picked), "value")
        self.select_shown_button.on_click(
            guard("Ticking the shown tasks")(lambda _b: self.select_shown())
        )
        self.clear_button.on_click(guard("Clearing the selection")(lambda _b: self.clear()))
        self.refresh_button.on_click(guard("Refreshing the tasks")(lambda _b: self.refresh()))
        self._render()
        if instance_id is not None:
            guard("Listing the tasks")(self.load)(instance_id)

    # -- reading ----------------------------------------------------------------------------

    @property
    def instance_id(self) -> str | None:
        return self._instance_id

    @property
    def index(self) -> TaskIndex:
        return self._index

    @traitlets.validate("value")
    def _combined(self, proposal: dict[str, Any]) -> tuple[str, ...]:
        task_ids: tuple[str, ...] = proposal["value"]
        missing = [t for t in task_ids if self._index.get(t) is None]
        if missing:
            raise ValueError(f"not combined tasks of this instance: {missing[:5]}")
        return task_ids

    @traitlets.observe("value")
    def _selected(self, change: dict[str, Any]) -> None:
        self._sync_select()
        self._summarise()

    @property
    def entries(self) -> tuple[TaskEntry, ...]:
        """The selected tasks' entries, in selection order."""
        return tuple(e for e in map(self._index.get, self.value) if e is not None)

    @property
    def tasks(self) -> list[Task]:
        return [e.task for e in self.entries]

    @property
    def shown(self) -> tuple[str, ...]:
        """Ids of the tasks currently offered (the first ``limit`` matches of the filter)."""
        return self._shown

    @property
    def total_matches(self) -> int:
        return self._total_matches

    # -- changing ---------------------------------------------------------------------------

    def load(self, instance_id: str | None, *, refresh: bool = False) -> None:
        """Show the combined tasks of ``instance_id`` (None: none).

        Reloading the same instance keeps the selected tasks that still exist; another instance
        starts with an empty selection.
        """
        same = instance_id == self._instance_id
        self._instance_id = instance_id
        try:
            index = (
                TaskIndex(())
                if instance_id is None
                else self.catalog.tasks(instance_id, refresh=refresh)
            )
        except Exception:
            self._index = TaskIndex(())
            self.value = ()
            self._render()
            self.info.value = messages_html(
                [("error", "The tasks could not be listed; see the message below.")]
            )
            raise
        self._index = index
        self.value = tuple(t for t in self.value if same and index.get(t) is not None)
        self._render()

    def refresh(self) -> None:
        """List the tasks again (status and last run change); the selection is kept."""
        self.load(self._instance_id, refresh=True)

    def clear(self) -> None:
        self.value = ()

    def select_shown(self) -> None:
        """Tick every task shown (the filters' first ``limit`` matches), keeping the others."""
        self.value = (*self.value, *self._shown)

    @property
    def state(self) -> str | None:
        """The state the list is filtered by (one of ``STATES``), or None for all."""
        chosen = self.state_filter.value
        return None if chosen == _ALL else str(chosen)

    def _row_html(self, task_id: str, label: str) -> str:
        entry = self._index.get(task_id)
        return esc(label) if entry is None else task_row_html(entry)

    def _state_picked(self, change: dict[str, object]) -> None:
        if not self._quiet:
            self._render()

    def _render(self) -> None:
        """Apply the filters: offer the first ``limit`` matches, keep the selection as it is."""
        result = self._index.search(self.filter.value, self.limit, self.state)
        self._shown = tuple(e.task_id for e in result.shown)
        self._total_matches = result.total
        self._quiet = True
        try:
            self._count_states(result.states)
            self.select.options = [(e.label, e.task_id) for e in result.shown]
        finally:
            self._quiet = False
        self._sync_select()
        self._summarise()
        self.select_shown_button.description = f"Tick all shown ({len(self._shown):,})"
        self.select_shown_button.disabled = not self._shown
        self.info.value = messages_html(self._info_lines(result.total, len(result.shown)))

    def _count_states(self, counts: Mapping[str, int]) -> None:
        """The state filter's buttons with the count each would show ("Running (57)")."""
        chosen = self.state_filter.value
        options = [(f"All ({sum(counts.values()):,})", _ALL)]
        options += [
            (f"{state.capitalize()} ({counts.get(state, 0):,})", state)
            for state in STATES
            if counts.get(state, 0) or state != "unknown" or chosen == state
        ]
        if options != list(self.state_filter.options):
            self.state_filter.options = options
        self.state_filter.value = chosen

    def _info_lines(self, total: int, shown: int) -> list[tuple[str, str]]:
        lines: list[tuple[str, str]] = []
        count = len(self._index)
        state = self.state
        if self._instance_id is None:
            lines.append(("info", "Choose an instance to list its combined tasks."))
        elif count == 0:
            lines.append(("warning", f"{self._of()} has no combined tasks."))
        elif not self.filter.value.strip() and state is None:
            lines.append(("info", f"{count:,} combined tasks in {self._of()}."))
        else:
            which = " and ".join(
                part
                for part in (
                    "the filter" if self.filter.value.strip() else "",
                    f"state {state}" if state else "",
                )
                if part
            )
            lines.append(
                ("info", f"{total:,} of {count:,} combined tasks in {self._of()} match {which}.")
            )
        if shown < total:
            lines.append(
                (
                    "warning",
                    f"Showing the first {shown:,}; {total - shown:,} more — refine the filter.",
                )
            )
        note = self.catalog.notes.get(self._instance_id or "")
        if note:
            lines.append(("warning", note))
        return lines

    def _of(self) -> str:
        """The listed instance as the info line names it (the page shows whose tasks these are)."""
        if self._instance_id is None:
            return "no instance"
        try:
            instance = self.catalog.instance(self._instance_id)
        except Exception:  # the list of instances failed: the id still says it
            instance = None
        return f"instance {instance.name if instance and instance.name else self._instance_id}"

    def _sync_select(self) -> None:
        chosen = set(self.value)
        self._quiet = True
        try:
            self.select.value = tuple(t for t in self._shown if t in chosen)
        finally:
            self._quiet = False

    def _picked(self, change: dict[str, object]) -> None:
        """The person ticked or unticked visible tasks: hidden ones stay as they were."""
        if self._quiet:
            return
        visible, shown = set(self.select.value), set(self._shown)
        kept = [t for t in self.value if t not in shown or t in visible]
        self.value = (*kept, *(t for t in self._shown if t in visible and t not in kept))

    def _summarise(self) -> None:
        """ "Selected: N" and the list of them, folded when long (hidden ones say so)."""
        entries = list(self.entries)
        if not entries:
            self.selected_html.value = "<i>No task selected.</i>"
            return
        shown = set(self._shown)
        hidden = sum(1 for e in entries if e.task_id not in shown)
        note = f" ({hidden:,} hidden by the filter, still selected)" if hidden else ""
        items = "".join(
            f"<li>{esc(e.task_name or '(no name)')} <code>{esc(e.task_id)}</code> "
            f"{state_badge(e.state)}</li>"
            for e in entries[:_LISTED]
        )
        more = (
            f"<li><i>and {len(entries) - _LISTED:,} more</i></li>" if len(entries) > _LISTED else ""
        )
        opened = " open" if len(entries) <= _OPEN_UP_TO else ""
        self.selected_html.value = (
            f"<details{opened}><summary><b>Selected: {len(entries):,}</b>{esc(note)}</summary>"
            f'<ol style="margin:0.2em 0;max-height:14em;overflow:hidden auto;'
            f'overflow-wrap:anywhere">{items}{more}</ol></details>'
        )
