"""The notebooks' pictures, drawn one way: units and zone on every axis, full dates on every tick.

A person reads these plots to decide what to reset and to which instant, so a time axis must say
its zone and show the day (``11-28 18`` is not a date), a count must read as a number (never
``1e6`` above the axis), statuses come in one order with one colour in every plot, and monitor
codes read as words (roma-api.md §2a). The explore and troubleshoot notebooks call these
helpers; ``tests/test_plots.py`` renders them.

matplotlib is an optional dependency (extra ``plots``): it is imported inside the functions, so
``import roma_nb.plots`` works without it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

from .models import MONITOR_STATUS_CODES, monitor_side

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "EXECUTE_STATUS_COLOURS",
    "LANES",
    "RESET_STYLES",
    "count_axis",
    "date_axis",
    "legend_below",
    "status_colour",
    "status_order",
    "timeline",
]

EXECUTE_STATUS_COLOURS: dict[str, str] = {
    "RUNNING": "#2e7d32",
    "SUCCESS": "#66bb6a",
    "WAITING": "#90caf9",
    "UNSTARTED": "#bdbdbd",
    "CANCELLED": "#ffb74d",
    "ERROR": "#c62828",
}
"""Execute statuses in the order every legend lists them (healthy first, ERROR last)."""

_OTHER_STATUS = "#7e57c2"

LANES: dict[str, str] = {
    "task": "task (code < 100)",
    "reader": "reader: source (100–499)",
    "writer": "writer: target (500–899)",
    "other": "scheduler (900+)",
}
"""The timeline's lanes, top to bottom, by ``monitor_side`` of each execution's code."""

LineStyle = Literal["-", "--", ":"]

RESET_STYLES: dict[str, tuple[str, str, LineStyle]] = {
    "success": ("reset sent: success", "#1565c0", "-"),
    "unknown": ("reset sent: outcome unknown", "#ef6c00", "--"),
    "failed": ("reset sent: failed", "#c62828", "--"),
    "pending": ("reset sent: no answer recorded", "#ef6c00", "--"),
    "skipped": ("reset skipped: not sent", "#616161", ":"),
    "dry-run": ("dry run: not sent", "#9e9e9e", ":"),
}
"""History outcome -> (legend label, colour, line style) of a reset on the timeline."""


def status_order(statuses: Iterable[str]) -> list[str]:
    """The statuses present, in ``EXECUTE_STATUS_COLOURS`` order, unknown ones after, sorted."""
    present = set(statuses)
    known = [s for s in EXECUTE_STATUS_COLOURS if s in present]
    return known + sorted(present - set(known))


def status_colour(status: str) -> str:
    return EXECUTE_STATUS_COLOURS.get(status, _OTHER_STATUS)


def date_axis(ax: Any, zone: str = "UTC", what: str = "time") -> None:
    """Full date and time on the x ticks (``2024-05-01`` over ``02:00``), shown in ``zone``,
    and the label ``what (zone)``."""
    from zoneinfo import ZoneInfo

    import matplotlib.dates as mdates

    tz = ZoneInfo(zone)
    locator = mdates.AutoDateLocator(tz=tz, minticks=4, maxticks=9)  # type: ignore[no-untyped-call]
    formatter = mdates.DateFormatter("%Y-%m-%d\n%H:%M", tz=tz)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(formatter)
    ax.set_xlabel(f"{what} ({zone})")


def count_axis(axis: Any, label: str) -> None:
    """Whole numbers with thousands separators (``8,000,000``, never ``8`` under ``1e6``)."""
    from matplotlib.ticker import MaxNLocator, StrMethodFormatter

    axis.set_major_locator(MaxNLocator(integer=True))
    axis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    axis.set_label_text(label)


def legend_below(fig: Any, handles: list[Any], *, title: str | None = None, ncol: int = 2) -> None:
    """The legend under the plot, across its width, the figure made taller to hold it; then the
    layout tightened. Long labels (codes in words) then never squeeze the plot itself."""
    rows = -(-len(handles) // ncol) + (1 if title else 0)
    extra = 0.1 + 0.2 * rows  # inches: the legend rows (tight_layout places the tick labels)
    height = fig.get_figheight()
    fig.set_figheight(height + extra)
    fig.legend(
        handles=handles, title=title, loc="lower center", ncol=ncol, fontsize=8, frameon=False
    )
    fig.tight_layout(rect=(0, extra / (height + extra), 1, 1))


def _code_words(code: int) -> str:
    return f"{code}: {MONITOR_STATUS_CODES.get(code, 'undocumented status')}"


def timeline(
    logs: pd.DataFrame,
    resets: pd.DataFrame,
    *,
    title: str,
    zone: str = "UTC",
) -> Any:
    """One task's executions on lanes by side, and its resets from the history; the figure.

    ``logs``: one row per monitor log with ``start``, ``end`` (UTC datetimes), ``code`` (the
    numeric status) and ``execute_status``. ``resets``: the history's frame for the task
    (``at``, ``date_from``, ``outcome``; a rewind's other steps are left out). Each execution is
    a bar coloured by its execute status; a failed one carries its code, which the legend says in
    words. Each reset is a vertical line when it was sent, styled by its outcome (a dry run or a
    skipped reset is dotted grey: nothing was sent), with an arrow above the lanes to the
    instant it reset to.
    """
    import matplotlib.pyplot as plt
    import pandas as pd
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    sides = [monitor_side(None if pd.isna(c) else int(c)) for c in logs["code"]]
    lanes = [lane for lane in LANES if lane != "task" or "task" in sides]
    fig, ax = plt.subplots(figsize=(12, 1.9 + 0.55 * len(lanes)))
    handles: list[Any] = []

    statuses = status_order(logs["execute_status"].dropna())
    failed_codes: set[int] = set()
    for side, (_, log) in zip(sides, logs.iterrows(), strict=True):
        if side is None or pd.isna(log["start"]):
            continue
        end = log["end"] if not pd.isna(log["end"]) else log["start"]
        width = max(end - log["start"], pd.Timedelta(minutes=20)) / pd.Timedelta(days=1)
        y = lanes.index(side)
        status = log["execute_status"]
        ax.barh(y, width, left=log["start"], height=0.6, color=status_colour(status))
        if status == "ERROR" and not pd.isna(log["code"]):
            failed_codes.add(int(log["code"]))
            ax.annotate(
                str(int(log["code"])),
                (log["start"], y - 0.32),
                fontsize=7,
                color=status_colour("ERROR"),
                ha="center",
                va="bottom",
            )
    handles += [Patch(color=status_colour(s), label=f"execution: {s}") for s in statuses]
    handles += [
        Patch(color="none", label=f"failed with {_code_words(c)}") for c in sorted(failed_codes)
    ]

    shown = resets
    if len(shown) and "step" in shown.columns:
        shown = shown[shown["step"].isna() | shown["step"].eq("reset")]
    start = logs["start"].min() if len(logs) else None
    arrow_y = -0.85
    outcomes: set[str] = set()
    pointed = False
    for _, row in shown.iterrows():
        outcome = str(row["outcome"])
        _, colour, style = RESET_STYLES.get(outcome, RESET_STYLES["failed"])
        outcomes.add(outcome)
        ax.axvline(row["at"], color=colour, linestyle=style, linewidth=1.4)
        target = row["date_from"]
        if not pd.isna(target) and (start is None or target >= start):
            pointed = True
            ax.annotate(
                "",
                xy=(target, arrow_y),
                xytext=(row["at"], arrow_y),
                arrowprops={"arrowstyle": "-|>", "color": colour, "linestyle": style},
            )
            ax.plot([target], [arrow_y], marker="v", color=colour, markersize=7)
    handles += [
        Line2D([], [], color=colour, linestyle=style, label=label)
        for outcome, (label, colour, style) in RESET_STYLES.items()
        if outcome in outcomes
    ]
    if pointed:
        instant = "reset to (instant)"
        handles.append(Line2D([], [], color="#1565c0", marker="v", ls="none", label=instant))

    ax.set_yticks(range(len(lanes)), [LANES[lane] for lane in lanes])
    ax.set_ylim(len(lanes) - 0.5, -1.3)
    date_axis(ax, zone, "start of execution")
    ax.set_title(title)
    legend_below(fig, handles, ncol=3)
    return fig
