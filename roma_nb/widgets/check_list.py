"""``CheckList``: several choices as a column of checkboxes, read and set like ``SelectMultiple``.

A ``SelectMultiple`` replaces the whole selection on a plain click (only Ctrl-click adds), so a
person who picked twelve tasks and clicks a thirteenth silently keeps one. Here each row has its
own checkbox: a click ticks or unticks that row and nothing else.

For code it behaves like ``SelectMultiple``: ``options`` is a sequence of ``(label, value)``
pairs, ``value`` (a traitlet) the tuple of ticked values in option order; setting ``value``
ticks those rows. Each row is a checkbox beside an HTML cell (a checkbox's own description is
one line cut with "…", so the text lives in the HTML). Rows are kept per value and reused when
a filter shows them again, so typing in a filter changes which rows are children, not every
row's widgets; rows not shown are dropped (closed) once more than ``keep`` are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as w
import traitlets

from ._html import esc

__all__ = ["CheckList", "Ids"]


class Ids(traitlets.TraitType[tuple[str, ...], Sequence[str]]):
    """Ids (task ids, option values) in order: any sequence of strings may be set, kept as a
    tuple without repeats."""

    default_value: tuple[str, ...] = ()
    info_text = "a sequence of ids"

    def validate(self, obj: Any, value: Any) -> tuple[str, ...]:
        if isinstance(value, str) or not isinstance(value, Sequence):
            self.error(obj, value)
        if not all(isinstance(item, str) for item in value):
            self.error(obj, value)
        return tuple(dict.fromkeys(value))


class _Row(w.HBox):  # type: ignore[misc]
    """One option: its checkbox and its HTML."""

    def __init__(self, value: str, html: str, css_class: str) -> None:
        self.option = value
        self.box = w.Checkbox(
            value=False, description="", indent=False, layout=w.Layout(width="1.8em", flex="none")
        )
        self.box.add_class(f"{css_class}-check")
        self.html = w.HTML(html, layout=w.Layout(flex="1 1 auto", width="auto", min_width="0"))
        # flex none: in the scrolling column a row keeps its height instead of being squeezed
        # onto its neighbours
        layout = w.Layout(width="auto", min_width="0", flex="0 0 auto", align_items="center")
        super().__init__([self.box, self.html], layout=layout)
        self.add_class(css_class)


class CheckList(w.VBox):  # type: ignore[misc]
    """Options as checkbox rows. ``value`` is the tuple of ticked option values.

    ``render(value, label)`` gives a row's HTML (default: the escaped label); ``header`` is
    HTML shown above the rows; ``row_class`` is each row's CSS class (its checkbox gets
    ``<row_class>-check``). The rows scroll vertically within ``max_height``, never sideways.
    """

    value = Ids()
    description = traitlets.Unicode("")

    def __init__(
        self,
        *,
        description: str = "",
        render: Callable[[str, str], str] | None = None,
        header: str = "",
        row_class: str = "roma-check-row",
        max_height: str = "24em",
        keep: int = 2_000,
    ) -> None:
        self._render = render if render is not None else (lambda _value, label: esc(label))
        self._row_class = row_class
        self._keep = keep
        self._options: tuple[tuple[str, str], ...] = ()
        self._rows: dict[str, _Row] = {}
        self._quiet = False
        self.header = w.HTML(header, layout=w.Layout(width="auto"))
        self.body = w.VBox(
            [], layout=w.Layout(width="auto", max_height=max_height, overflow="hidden auto")
        )
        super().__init__([self.header, self.body], layout=w.Layout(width="auto"))
        self.description = description

    @property
    def options(self) -> tuple[tuple[str, str], ...]:
        return self._options

    @options.setter
    def options(self, options: Sequence[tuple[str, str]]) -> None:
        """Show these rows; ticked values that are still offered stay ticked."""
        self._options = tuple((str(label), str(value)) for label, value in options)
        offered = {value for _label, value in self._options}
        rows = [self._row(value, label) for label, value in self._options]
        self._drop_unshown(offered)
        self.body.children = rows
        self.value = tuple(v for v in self.value if v in offered)
        self._tick()

    def _row(self, value: str, label: str) -> _Row:
        html = self._render(value, label)
        row = self._rows.get(value)
        if row is None:
            row = _Row(value, html, self._row_class)
            row.box.observe(lambda _c: self._clicked(), "value")
            self._rows[value] = row
        elif row.html.value != html:
            row.html.value = html
        return row

    def _drop_unshown(self, offered: set[str]) -> None:
        if len(self._rows) <= self._keep:
            return
        for value in [v for v in self._rows if v not in offered]:
            self._rows.pop(value).close()

    @traitlets.validate("value")
    def _offered(self, proposal: dict[str, Any]) -> tuple[str, ...]:
        wanted = tuple(proposal["value"])
        offered = {value for _label, value in self._options}
        unknown = [v for v in wanted if v not in offered]
        if unknown:
            raise traitlets.TraitError(f"not among the options: {unknown[:5]}")
        chosen = set(wanted)
        return tuple(value for _label, value in self._options if value in chosen)

    @traitlets.observe("value")
    def _ticked(self, _change: dict[str, Any]) -> None:
        self._tick()

    def _tick(self) -> None:
        """Make the checkboxes show ``value`` (without hearing them as clicks)."""
        chosen = set(self.value)
        self._quiet = True
        try:
            for _label, value in self._options:
                self._rows[value].box.value = value in chosen
        finally:
            self._quiet = False

    def _clicked(self) -> None:
        if self._quiet:
            return
        self.value = tuple(v for _l, v in self._options if self._rows[v].box.value)

    def row(self, value: str) -> Any:
        """The checkbox of ``value``'s row (what a person clicks)."""
        return self._rows[value].box
