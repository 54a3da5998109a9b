"""``TaskPicker``: an instance's combined tasks, filter-as-you-type, several selectable.

Built for thousands of tasks: the filter runs over ``TaskIndex``'s precomputed keys and only the
first ``limit`` matches (500 by default) become options, because a ``SelectMultiple`` with ten
thousand options is what freezes a browser tab. The selection is kept apart from what is shown,
so tasks filtered out of view stay selected — and the picker lists them, so nothing is selected
invisibly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import traitlets

from ..models import Task
from ..panel.catalog import Catalog, TaskEntry, TaskIndex
from ._html import classed, esc, messages_html
from ._sink import ErrorSink
from .instance_picker import as_catalog

if TYPE_CHECKING:
    from ..client import RomaClient

__all__ = ["TaskIds", "TaskPicker"]

_LISTED = 20  # selected tasks named in the summary line; the rest are counted


class TaskIds(traitlets.TraitType[tuple[str, ...], Sequence[str]]):
    """Task ids in selection order: any sequence of strings may be set, kept as a tuple without
    repeats."""

    default_value: tuple[str, ...] = ()
    info_text = "a sequence of task ids"

    def validate(self, obj: Any, value: Any) -> tuple[str, ...]:
        if isinstance(value, str) or not isinstance(value, Sequence):
            self.error(obj, value)
        if not all(isinstance(item, str) for item in value):
            self.error(obj, value)
        return tuple(dict.fromkeys(value))


class TaskPicker(w.VBox):  # type: ignore[misc]
    """Pick combined tasks of one instance. ``value`` is the tuple of selected task ids.

    ``value`` is a traitlet (``observe`` / ``link``), in selection order, filtered-out tasks
    included; setting it selects those tasks (ids that are not combined tasks of the instance
    are a ``ValueError``).

    Each option reads ``name · id · status · execute status · last run (UTC)``. Filter terms
    (separated by spaces) must all appear in the task's name or id, case-insensitively.

    CSS classes: ``roma-task-picker`` (the box), ``roma-task-filter`` (Text),
    ``roma-task-select`` (SelectMultiple), ``roma-task-info`` (HTML: match counts),
    ``roma-task-selected`` (HTML: the selection, hidden ones included), ``roma-task-clear`` and
    ``roma-task-refresh`` (Buttons).
    """

    value = TaskIds()

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
                layout=w.Layout(width="40em"),
            ),
            "roma-task-filter",
        )
        self.select = classed(
            w.SelectMultiple(
                options=[], description="Tasks", rows=12, layout=w.Layout(width="100%")
            ),
            "roma-task-select",
        )
        self.info = classed(w.HTML(), "roma-task-info")
        self.selected_html = classed(w.HTML(), "roma-task-selected")
        self.clear_button = classed(
            w.Button(description="Clear selection", icon="times"), "roma-task-clear"
        )
        self.refresh_button = classed(
            w.Button(description="Refresh tasks", icon="refresh"), "roma-task-refresh"
        )
        children = [
            w.HBox([self.filter, self.refresh_button, self.clear_button]),
            self.info,
            self.select,
            self.selected_html,
        ]
        if sink is None:
            children.append(self.sink.output)
        super().__init__(children)
        self.add_class("roma-task-picker")
        guard = self.sink.guard
        self.filter.observe(guard("Filtering the tasks")(lambda _c: self._render()), "value")
        self.select.observe(guard("Selecting tasks")(self._picked), "value")
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

    def _render(self) -> None:
        """Apply the filter: offer the first ``limit`` matches, keep the selection as it is."""
        result = self._index.search(self.filter.value, self.limit)
        self._shown = tuple(e.task_id for e in result.shown)
        self._total_matches = result.total
        self._quiet = True
        try:
            self.select.options = [(e.label, e.task_id) for e in result.shown]
        finally:
            self._quiet = False
        self._sync_select()
        self._summarise()
        self.info.value = messages_html(self._info_lines(result.total, len(result.shown)))

    def _info_lines(self, total: int, shown: int) -> list[tuple[str, str]]:
        lines: list[tuple[str, str]] = []
        count = len(self._index)
        if self._instance_id is None:
            lines.append(("info", "Choose an instance to list its combined tasks."))
        elif count == 0:
            lines.append(("warning", "This instance has no combined tasks."))
        elif not self.filter.value.strip():
            lines.append(("info", f"{count:,} combined tasks."))
        else:
            lines.append(("info", f"{total:,} of {count:,} combined tasks match the filter."))
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

    def _sync_select(self) -> None:
        chosen = set(self.value)
        self._quiet = True
        try:
            self.select.value = tuple(t for t in self._shown if t in chosen)
        finally:
            self._quiet = False

    def _picked(self, change: dict[str, object]) -> None:
        """The person (un)selected visible tasks: hidden ones stay as they were."""
        if self._quiet:
            return
        visible, shown = set(self.select.value), set(self._shown)
        kept = [t for t in self.value if t not in shown or t in visible]
        self.value = (*kept, *(t for t in self._shown if t in visible and t not in kept))

    def _summarise(self) -> None:
        entries = list(self.entries)
        if not entries:
            self.selected_html.value = "<i>No task selected.</i>"
            return
        shown = set(self._shown)
        hidden = sum(1 for e in entries if e.task_id not in shown)
        names = ", ".join(
            f"{esc(e.task_name or '(no name)')} <code>{esc(e.task_id)}</code>"
            for e in entries[:_LISTED]
        )
        more = f" and {len(entries) - _LISTED:,} more" if len(entries) > _LISTED else ""
        note = f" ({hidden:,} hidden by the filter, still selected)" if hidden else ""
        self.selected_html.value = (
            f"<b>Selected: {len(entries):,}</b>{esc(note)} — {names}{esc(more)}"
        )
