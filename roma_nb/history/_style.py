"""A notebook view of the history: outcome coloured, times readable, the data untouched.

Styling needs jinja2 (pandas' own requirement for ``DataFrame.style``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from pandas.io.formats.style import Styler

__all__ = ["style_frame"]

_OUTCOME_STYLE = {
    "success": "background-color: #d4edda; color: #155724",
    "failed": "background-color: #f8d7da; color: #721c24",
    "unknown": "background-color: #ffe5b4; color: #7a4100; font-weight: bold",
    "pending": "background-color: #fff3cd; color: #856404; font-style: italic",
    "dry-run": "background-color: #e2e3f3; color: #383d6e",
    "skipped": "background-color: #e9ecef; color: #495057",
}


def _format_time(value: Any) -> str:
    import pandas as pd

    if value is None or pd.isna(value):
        return ""
    try:
        text: str = value.strftime("%Y-%m-%d %H:%M:%S")
    except (ValueError, OverflowError):  # beyond year 9999: datetime cannot format it
        text = str(value.isoformat()).replace("+00:00", "")
    return f"{text} UTC"


def style_frame(frame: pd.DataFrame) -> Styler:
    """A pandas ``Styler`` for notebooks: outcome coloured, times readable; data unchanged.

    Needs jinja2 (pandas' own requirement for styling).
    """

    def colour(column: pd.Series) -> list[str]:
        return [_OUTCOME_STYLE.get(str(value), "") for value in column]

    styler = frame.style
    if "outcome" in frame.columns:
        styler = styler.apply(colour, subset=["outcome"], axis=0)
    # One format() call: a second one would reset the columns the first one formatted.
    formats: dict[str, Any] = {
        name: _format_time for name in ("at", "completed_at", "date_from") if name in frame
    }
    if "elapsed_ms" in frame.columns:
        formats["elapsed_ms"] = "{:,.0f} ms"
    styler = styler.format(formats, na_rep="")
    styled: Styler = styler.hide(axis="index")
    return styled
