"""Small pieces shared by the widgets: escaped text, message lists, capped tables, CSS classes.

Everything that came from the service or from a person is escaped: a task may be named
``<script>``. Tables are capped because a browser tab chokes on ten thousand rows; the cap is
always said out loud, and the full frame stays available from code.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["classed", "esc", "frame_html", "messages_html", "pre_html"]

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
    total = len(shown)
    table = shown.head(limit).to_html(index=False, escape=True, na_rep="", border=0)
    note = ""
    if total > limit:
        note = f"<div><i>Showing {limit:,} of {total:,} {esc(what)}.</i></div>"
    box = "max-height:28em;max-width:calc(100vw - 48px);overflow:auto;font-size:90%"
    return note + f'<div style="{box}">{table}</div>'
