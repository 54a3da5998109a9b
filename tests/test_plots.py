"""The notebooks' pictures (``roma_nb.plots``), drawn with matplotlib's Agg backend and read back.

What a person reads off a plot is asserted on the drawn figure: the axis label names the zone,
every x tick carries its date, counts have no ``1e6`` offset, the legend lists what the plot
draws (executions by status, failure codes in words, each reset outcome, the instant reset to)
and a reset that was not sent is not drawn like one that was. The pictures themselves, from the
notebooks run against the sandbox, are ``docs/explore-plot.png`` and
``docs/troubleshoot-timeline.png`` (``tests/test_notebooks.py``).
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from roma_nb.models import monitor_side  # noqa: E402
from roma_nb.plots import (  # noqa: E402
    count_axis,
    date_axis,
    status_order,
    timeline,
)

DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
T0 = pd.Timestamp("2024-03-01 00:00", tz="UTC")


@pytest.fixture(autouse=True)
def _close_figures() -> Any:
    yield
    plt.close("all")


def logs() -> pd.DataFrame:
    """Six executions: scheduler successes, a writer failure (503), a task-level code (99)."""
    starts = [T0 + pd.Timedelta(hours=h) for h in (0, 6, 12, 18, 24, 30)]
    frame: pd.DataFrame = pd.DataFrame(
        {
            "start": starts,
            "end": [s + pd.Timedelta(minutes=30) for s in starts],
            "code": pd.array([901, 901, 503, 901, 99, 913], dtype="Int64"),
            "execute_status": ["SUCCESS", "SUCCESS", "ERROR", "SUCCESS", "RUNNING", "ERROR"],
        }
    )
    return frame


def resets() -> pd.DataFrame:
    """A rewind (look and reset rows) that succeeded, a failed reset and a dry run."""
    at = [T0 + pd.Timedelta(hours=h) for h in (20, 20, 26, 28)]
    frame: pd.DataFrame = pd.DataFrame(
        {
            "at": at,
            "date_from": [T0 + pd.Timedelta(hours=h) for h in (10, 10, 11, 12)],
            "outcome": ["success", "success", "failed", "dry-run"],
            "step": ["look", "reset", None, None],
        }
    ).assign(step=lambda f: f["step"].astype("string"))
    return frame


def drawn_ticks(ax: Any) -> list[str]:
    ax.figure.canvas.draw()
    return [t.get_text() for t in ax.get_xticklabels() if t.get_text()]


def legend_labels(fig: Any) -> list[str]:
    return [t.get_text() for legend in fig.legends for t in legend.get_texts()]


def test_timeline_says_its_zone_and_shows_full_dates() -> None:
    fig = timeline(logs(), resets(), title="t", zone="Asia/Shanghai")
    (ax,) = fig.axes
    assert ax.get_xlabel() == "start of execution (Asia/Shanghai)"
    ticks = drawn_ticks(ax)
    assert len(ticks) >= 3 and all(DAY.search(t) for t in ticks)
    # The first execution, 2024-03-01 00:00 UTC, is 08:00 in Shanghai: the ticks are in the zone.
    assert any(t.startswith("2024-03-01") for t in ticks)
    assert not any(t.startswith("2024-02-29") for t in ticks)


def test_timeline_legend_lists_executions_codes_in_words_and_each_reset_outcome() -> None:
    fig = timeline(logs(), resets(), title="t")
    labels = legend_labels(fig)
    # one status order everywhere: healthy first, ERROR last
    assert labels[:3] == ["execution: RUNNING", "execution: SUCCESS", "execution: ERROR"]
    assert "failed with 503: target error" in labels
    assert "failed with 913: scheduling request failed" in labels
    assert {"reset sent: success", "reset sent: failed", "dry run: not sent"} <= set(labels)
    assert labels[-1] == "reset to (instant)"
    assert not any("skipped" in label or "unknown" in label for label in labels)  # none drawn


def test_timeline_draws_unsent_and_failed_resets_unlike_successful_ones() -> None:
    fig = timeline(logs(), resets(), title="t")
    (ax,) = fig.axes
    # One vertical line per reset attempt: the rewind's look row is not a reset.
    verticals = [line for line in ax.get_lines() if len(set(line.get_xdata())) == 1]
    verticals = [line for line in verticals if list(line.get_ydata()) == [0, 1]]
    assert len(verticals) == 3
    styles = {(line.get_color(), line.get_linestyle()) for line in verticals}
    assert len(styles) == 3  # success, failed and dry run each look different
    solid = [line for line in verticals if line.get_linestyle() == "-"]
    assert len(solid) == 1  # only the reset that was sent and succeeded is a solid line


def test_timeline_puts_each_execution_on_the_lane_of_its_code() -> None:
    fig = timeline(logs(), resets().iloc[:0], title="t")
    (ax,) = fig.axes
    lanes = [t.get_text() for t in ax.get_yticklabels()]
    assert lanes == [
        "task (code < 100)",
        "reader: source (100–499)",
        "writer: target (500–899)",
        "scheduler (900+)",
    ]
    bars = sorted((round(p.get_y() + p.get_height() / 2), p.get_x()) for p in ax.patches)
    assert [lane for lane, _ in bars] == [0, 2, 3, 3, 3, 3]  # 99; 503; four 9xx codes


def test_counts_read_as_numbers_without_an_offset() -> None:
    fig, ax = plt.subplots()
    ax.bar([0, 1, 2], [1_250_000, 8_900_000, 3_000_000])
    count_axis(ax.yaxis, "rows synced per 3 h")
    fig.canvas.draw()
    assert ax.yaxis.get_offset_text().get_text() == ""
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert "8,000,000" in labels
    assert ax.get_ylabel() == "rows synced per 3 h"


def test_date_axis_in_utc_by_default() -> None:
    _, ax = plt.subplots()
    ax.plot([T0, T0 + pd.Timedelta(days=2)], [0, 1])
    date_axis(ax, what="last execution")
    assert ax.get_xlabel() == "last execution (UTC)"
    ticks = drawn_ticks(ax)
    assert ticks and all(DAY.search(t) and re.search(r"\d{2}:\d{2}", t) for t in ticks)


def test_status_order_is_the_same_whatever_order_statuses_come_in() -> None:
    assert status_order(["UNSTARTED", "ERROR", "RUNNING", "CANCELLED"]) == [
        "RUNNING",
        "UNSTARTED",
        "CANCELLED",
        "ERROR",
    ]
    assert status_order(["ZZZ", "ERROR", "AAA"]) == ["ERROR", "AAA", "ZZZ"]


@pytest.mark.parametrize(
    ("code", "side"),
    [
        *((None, None), (-1, None), (0, "task"), (16, "task"), (99, "task"), (100, "reader")),
        *((499, "reader"), (500, "writer"), (899, "writer"), (900, "other"), (916, "other")),
    ],
)
def test_monitor_side_follows_the_documented_ranges(code: int | None, side: str | None) -> None:
    assert monitor_side(code) == side
