"""Small pieces shared by the widgets: escaped text, message lists, capped tables, CSS classes.

Everything that came from the service or from a person is escaped: a task may be named
``<script>``. Tables are capped because a browser tab chokes on ten thousand rows; the cap is
always said out loud, and the full frame stays available from code.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["classed", "esc", "frame_html", "label_html", "messages_html", "pre_html", "table_html"]

W = TypeVar("W")

_TONES = {
    "error": "color:#b00020",
    "warning": "color:#8a5300",
    "info": "color:#444",
    "ok": "color:#1b5e20",
}


def classed(widget: W, css_class: str) -> W:
    """``widget`` with its stable CSS class (what the browser tests and users' CSS select)."""
    holder: Any = widget
    holder.add_class(css_class)
    return widget


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def messages_html(items: Iterable[tuple[str, str]]) -> str:
    """``(tone, text)`` pairs as a list; tone is error, warning, info or ok."""
    rows = [
        f'<div class="roma-message roma-message-{esc(tone)}" style="{_TONES.get(tone, "")}">'
        f"{esc(text)}</div>"
        for tone, text in items
    ]
    return "".join(rows)


def pre_html(text: str, *, max_height: str = "20em") -> str:
    return (
        f'<pre style="white-space:pre-wrap;max-height:{max_height};overflow:auto;margin:0">'
        f"{esc(text)}</pre>"
    )


def frame_html(
    frame: pd.DataFrame, *, limit: int, columns: Sequence[str] | None = None, what: str = "rows"
) -> str:
    """The first ``limit`` rows of ``frame`` as an escaped HTML table, with a note if capped."""
    shown = frame if columns is None else frame[[c for c in columns if c in frame.columns]]
    return table_html(shown, limit=limit, what=what)


_LABELS: dict[str, tuple[str, str]] = {
    "success": ("#ffffff", "#2e7d32"),
    "dry-run": ("#0d47a1", "#e3f2fd"),
    "failed": ("#ffffff", "#c62828"),
    "unknown": ("#000000", "#ffb300"),
    "skipped": ("#37474f", "#e0e0e0"),
    "left-stopped": ("#ffffff", "#7f0000"),
    "unverified": ("#4e342e", "#ffe0b2"),
    "pending": ("#0d47a1", "#bbdefb"),
    "running": ("#1b5e20", "#c8e6c9"),
    "stopped": ("#37474f", "#e0e0e0"),
    "error": ("#ffffff", "#c62828"),
}
"""Text and background colour per outcome or state: the label reads at a glance, and its
words are still there for a screen reader or a black-and-white print."""


def label_html(text: str) -> str:
    """``text`` as a coloured label (an outcome, a task state); plain text if it has no colour."""
    colours = _LABELS.get(text.strip().lower())
    if colours is None:
        return esc(text)
    fg, bg = colours
    style = (
        f"color:{fg};background:{bg};padding:1px 6px;border-radius:3px;"
        "white-space:nowrap;font-weight:600"
    )
    return f'<span class="roma-label" style="{style}">{esc(text)}</span>'


_CELL = "padding:3px 8px;vertical-align:top;text-align:left;border-bottom:1px solid #e0e0e0"


_DATE_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})")


def _cell(column: str, value: object, labels: Sequence[str], ids: Sequence[str]) -> str:
    text = "" if value is None else str(value)
    if _DATE_TIME.match(text):  # the date and time stay on one line; the offset may wrap
        return _DATE_TIME.sub('<span style="white-space:nowrap">\\1 \\2</span>', esc(text), 1)
    if column in labels:
        return label_html(text)
    if column in ids:  # whole and selectable with one click: an id is copied, never retyped
        return f'<code style="white-space:nowrap;user-select:all">{esc(text)}</code>'
    if " " not in text and len(text) > 40:  # a path or JSON without spaces may break anywhere
        return f'<code style="overflow-wrap:anywhere">{esc(text)}</code>'
    return esc(text).replace("_", "_<wbr>")  # snake_case names may wrap after an underscore


def table_html(
    frame: pd.DataFrame,
    *,
    limit: int,
    what: str = "rows",
    labels: Sequence[str] = (),
    ids: Sequence[str] = (),
    headers: Mapping[str, str] | None = None,
    max_height: str = "28em",
    scroll_after: int = 12,
) -> str:
    """``frame``'s first ``limit`` rows as an escaped table that fits its container's width:
    long text wraps as sentences, ``ids`` columns are whole ``<code>`` (never cut), ``labels``
    columns coloured labels, missing values empty. A table taller than ``max_height`` scrolls,
    and above ``scroll_after`` rows a line says so, so no row is hidden without a cue."""
    import pandas as pd

    total = len(frame)
    names = [str(c) for c in frame.columns]
    head = "".join(f'<th style="{_CELL}">{esc((headers or {}).get(n, n))}</th>' for n in names)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td style="{_CELL}">'
            + _cell(
                n,
                None if v is None or (not isinstance(v, str) and bool(pd.isna(v))) else v,
                labels,
                ids,
            )
            + "</td>"
            for n, v in zip(names, row, strict=True)
        )
        + "</tr>"
        for row in frame.head(limit).itertuples(index=False, name=None)
    )
    notes = ""
    if total > limit:
        notes += f"<div><i>Showing {limit:,} of {total:,} {esc(what)}.</i></div>"
    if min(total, limit) > scroll_after:
        notes += (
            f'<div class="roma-scroll-cue"><i>{min(total, limit):,} {esc(what)}: the table '
            "scrolls — every one is listed.</i></div>"
        )
    table = (
        '<table style="border-collapse:collapse;width:100%;font-size:90%;line-height:1.35">'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )
    box = f"max-height:{max_height};overflow:auto;max-width:100%"
    return notes + f'<div style="{box}">{table}</div>'
