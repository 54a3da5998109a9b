"""The reset panel's model: everything its buttons do, as plain Python (no widgets here).

``PanelModel`` holds the ``Selection`` (instance, tasks, ``date_from`` choice, retention, dry
run), derives one ``PanelState`` per update (the instant, the ``ResetPlan`` or what is missing,
whether the preview is current), and runs a plan only after a confirmation of that same plan.
``roma_nb.widgets`` draws it; code and tests can drive it directly. pandas is only imported
when a frame is asked for.
"""

from __future__ import annotations

from .catalog import Catalog, SearchResult, TaskEntry, TaskIndex
from .choice import DateChoice, Resolution, choice_from_value, hour_ago, start_of_today
from .errors import ConfirmationRequired, PanelError, PlanChanged, RunInProgress
from .logs import TrackedLog, default_log
from .memory import forget_instances, recall_instance, remember_instance
from .model import UNSET, PanelModel
from .plan import PlannedTask, ResetPlan
from .preview import PREVIEW_COLUMNS, preview_frame
from .runs import BatchRunner
from .state import PanelState, Selection

__all__ = [
    "PREVIEW_COLUMNS",
    "UNSET",
    "BatchRunner",
    "Catalog",
    "ConfirmationRequired",
    "DateChoice",
    "PanelError",
    "PanelModel",
    "PanelState",
    "PlanChanged",
    "PlannedTask",
    "ResetPlan",
    "Resolution",
    "RunInProgress",
    "SearchResult",
    "Selection",
    "TaskEntry",
    "TaskIndex",
    "TrackedLog",
    "choice_from_value",
    "default_log",
    "forget_instances",
    "hour_ago",
    "preview_frame",
    "recall_instance",
    "remember_instance",
    "start_of_today",
]
