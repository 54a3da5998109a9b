"""What the panel's tables say, as plain text a person decides with (no widgets, no HTML here).

The preview and the confirmation show one compact row per task: its name, its full id, its
state, when it last ran, and what will happen to it in words (the steps, and how much a reset
to ``date_from`` replays or skips, from ``roma_nb.plans.move_of``). The results show each
attempt newest first, times to the second in the chosen zone, and messages as sentences: never
``<NA>``, never an epoch integer to decode. The widgets only colour and lay these out.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..dates import format_duration, from_epoch_ms, resolve_zone
from ..errors import ValidationError
from ..plans import PlannedTask, Position, move_of
from ..procedure import plan_steps
from .plan import PlannedRun, task_state

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "RERUN_OUTCOMES",
    "RESULT_VIEW_COLUMNS",
    "TASK_COLUMNS",
    "TaskFacts",
    "in_flight",
    "results_view",
    "skip_warnings",
    "task_frame",
    "wall_second",
]

TASK_COLUMNS: tuple[str, ...] = ("task", "task_id", "state", "last_run", "will_happen")
"""One row per task of a preview or confirmation; ``task_id`` is always the whole id."""

RESULT_VIEW_COLUMNS: tuple[str, ...] = (
    "at",
    "task",
    "task_id",
    "step",
    "outcome",
    "date_from",
    "message",
)
"""The results table: one row per attempt or rewind step, newest first, all text."""

RERUN_OUTCOMES: tuple[str, ...] = ("skipped", "failed")
"""The outcomes "Re-run skipped / failed" takes back to the confirmation: nothing happened to
these tasks (or it was refused), so running them again is a new decision, confirmed again."""


def wall_second(ms: int | None, zone: str) -> str:
    """``2024-06-01 09:30:05 +08:00``: an instant to the second in ``zone`` (with its offset,
    so a time in a DST fold is not ambiguous); ``""`` for None, the integer if it is no time."""
    if ms is None:
        return ""
    try:
        local = from_epoch_ms(int(ms)).astimezone(resolve_zone(zone))
    except (ValidationError, OverflowError, ValueError):
        return str(ms)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M:%S} {offset[:3]}:{offset[3:]}"


@dataclass(frozen=True, slots=True)
class TaskFacts:
    """What the preview knows of one task besides the plan: when it last ran, and the best
    evidence of where it is now (``roma_nb.plans.where_now``)."""

    last_run_ms: int | None = None
    position: Position = field(default_factory=Position)


def _steps_words(plan: PlannedRun, task: PlannedTask) -> str:
    """``stop, reset, start again, verify`` (the instant is said once, above the table)."""
    if not plan.rewinds:
        return "reset only (raw reset: not stopped, not started)"
    if task.was_running is None:
        return "look first, then as a running or a stopped task"
    words: list[str] = []
    for step in plan_steps(task.was_running, plan.restart, plan.verify):
        if step == "start":
            words.append("start again" if task.was_running else "start")
        else:
            words.append(step)
    if "verify" not in words and not any(w.startswith("start") for w in words):
        words.append("leave stopped")
    return ", ".join(words)


def _known(task: PlannedTask, facts: Mapping[str, TaskFacts]) -> TaskFacts:
    """What the preview read of ``task``; without that (a plan loaded from a file), where the
    plan says the task was when it was planned (a loaded plan's last run is then "not read")."""
    return facts.get(task.id) or TaskFacts(position=task.position)


def task_frame(plan: PlannedRun, facts: Mapping[str, TaskFacts]) -> pd.DataFrame:
    """The plan's tasks, one row each, with ``TASK_COLUMNS`` (text; ``""`` where unknown)."""
    import pandas as pd

    rows = []
    for task in plan.tasks:
        known = _known(task, facts)
        move = move_of(plan.date_from, known.position)
        happens = f"{_steps_words(plan, task)}; {move.row_text()}"
        rows.append(
            (
                task.name or "(no name)",
                task.id,
                task_state(task),
                wall_second(known.last_run_ms, plan.zone)
                or ("not read" if plan.loaded and task.id not in facts else "never"),
                happens,
            )
        )
    frame: pd.DataFrame = pd.DataFrame.from_records(rows, columns=list(TASK_COLUMNS))
    return frame


def skip_warnings(plan: PlannedRun, facts: Mapping[str, TaskFacts]) -> list[str]:
    """The warning naming the tasks a reset to ``date_from`` may move *forward*
    (``Plan.skip_warning``), with where the preview read each task to be; empty when none may
    skip."""
    warning = plan.plan.skip_warning({task_id: f.position for task_id, f in facts.items()})
    return [] if warning is None else [warning]


def _text(value: Any) -> str:
    """A cell as text: missing values (None, NaN, NA, NaT) are ``""``."""
    import pandas as pd

    if value is None or (not isinstance(value, str) and bool(pd.isna(value))):
        return ""
    return str(value)


def _ms_of(value: Any) -> int | None:
    """Epoch ms of a history timestamp (a ``Timestamp``) or integer; None when missing."""
    if not _text(value):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    return int(value.value // 1_000_000)  # a Timestamp's value is in ns, whatever its unit


def _waited(now_ms: int, since_ms: int) -> str:
    """``12 s``, ``3 min 5 s``: how long a request has been waiting, to the second."""
    seconds = max(0, now_ms - since_ms) // 1000
    return format_duration(seconds * 1000) if seconds else "0 s"


def _sentence(row: Mapping[str, Any], now_ms: int | None) -> str:
    """The attempt's answer as one sentence: message, error, HTTP status, request id."""
    outcome = _text(row.get("outcome"))
    if outcome == "pending":
        started = _ms_of(row.get("at"))
        if now_ms is not None and started is not None:
            return f"Waiting for the answer: sent {_waited(now_ms, started)} ago."
        return "Waiting for the answer."
    parts: list[str] = []
    message = _text(row.get("message")).strip()
    if message:
        parts.append(message if message.endswith((".", "!", "?")) else f"{message}.")
    code, error = _text(row.get("error_code")), _text(row.get("error_msg")).strip()
    said = f"{code}: {error}" if code and error else code or error
    if said and not all(part in message for part in (code, error) if part):
        parts.append(said if said.endswith(".") else f"{said}.")
    details: list[str] = []  # what the message does not already say
    status = _text(row.get("status_code"))
    if status and status not in ("200", "204") and f"HTTP {status}" not in message:
        details.append(f"HTTP {status}")
    attempts = _text(row.get("attempts"))
    if attempts and attempts not in ("0", "1"):
        details.append(f"{attempts} attempts")
    request = _text(row.get("request_id"))
    if request and request not in message:
        details.append(f"request id {request}")
    if details:
        parts.append(f"({', '.join(details)})")
    return " ".join(parts)


def results_view(frame: pd.DataFrame, zone: str, *, now_ms: int | None = None) -> pd.DataFrame:
    """A history frame (``ResultLog.to_frame``) as the panel's results: ``RESULT_VIEW_COLUMNS``,
    strictly newest first (start time, then write order), every cell text."""
    import pandas as pd

    if frame.empty:
        empty: pd.DataFrame = pd.DataFrame(columns=list(RESULT_VIEW_COLUMNS))
        return empty
    ordered = frame.assign(_ms=[_ms_of(v) or 0 for v in frame["at"]])
    ordered = ordered.sort_values(["_ms", "id"], ascending=False, kind="stable")
    rows = []
    for record in ordered.to_dict("records"):
        date_from = _text(record.get("date_from_ms"))
        rows.append(
            (
                wall_second(_ms_of(record.get("at")), zone),
                _text(record.get("task_name")) or "(no name)",
                _text(record.get("task_id")),
                _text(record.get("step")) or "reset",
                _text(record.get("outcome")),
                wall_second(int(date_from), zone) if date_from else "none sent",
                _sentence(record, now_ms),
            )
        )
    view: pd.DataFrame = pd.DataFrame.from_records(rows, columns=list(RESULT_VIEW_COLUMNS))
    return view


def in_flight(frame: pd.DataFrame, now_ms: int) -> list[str]:
    """Each request still waiting for its answer, oldest first: ``orders (id): reset, 12 s``."""
    if frame.empty:
        return []
    pending = frame[frame["outcome"].astype(str) == "pending"]
    lines: list[tuple[int, str]] = []
    for record in pending.to_dict("records"):
        started = _ms_of(record.get("at")) or now_ms
        name = _text(record.get("task_name")) or "(no name)"
        step = _text(record.get("step")) or "reset"
        waited = _waited(now_ms, started)
        lines.append((started, f"{name} ({_text(record.get('task_id'))}): {step}, {waited}"))
    return [line for _, line in sorted(lines, key=lambda item: item[0])]
