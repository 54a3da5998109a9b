"""The reset panel's model: everything its buttons do, as plain Python (no widgets here).

``PanelModel`` holds the ``Selection`` (instance, tasks, ``date_from`` choice, retention, dry
run), derives one ``PanelState`` per update (the instant, the ``PlannedRun``: a ``plans.Plan``
and its mode, or what is missing, whether the preview is current), and runs a plan only after a
confirmation of that same plan; ``load_plan`` takes a reviewed plan file instead.
``roma_nb.widgets`` draws it; code and tests can drive it directly. pandas is only imported
when a frame is asked for.
"""

from __future__ import annotations

from .catalog import STATES, Catalog, SearchResult, TaskEntry, TaskIndex, instance_warning
from .choice import DateChoice, Resolution, choice_from_value, hour_ago, start_of_today
from .errors import ConfirmationRequired, PanelError, PlanChanged, RunInProgress
from .logs import TrackedLog, default_log
from .memory import forget_instances, recall_instance, remember_instance
from .model import UNSET, PanelModel
from .plan import PROCEDURES, PanelProcedure, PlannedRun
from .preview import PREVIEW_COLUMNS, preview_frame
from .runs import BatchRunner, RunResult
from .state import PanelState, Selection
from .stopped import OUTCOME_COLUMNS, outcome_frame
from .views import (
    RERUN_OUTCOMES,
    RESULT_VIEW_COLUMNS,
    TASK_COLUMNS,
    TaskFacts,
    in_flight,
    results_view,
    task_frame,
    wall_second,
)

__all__ = [
    "OUTCOME_COLUMNS",
    "PREVIEW_COLUMNS",
    "PROCEDURES",
    "RERUN_OUTCOMES",
    "RESULT_VIEW_COLUMNS",
    "STATES",
    "TASK_COLUMNS",
    "UNSET",
    "BatchRunner",
    "Catalog",
    "ConfirmationRequired",
    "DateChoice",
    "PanelError",
    "PanelModel",
    "PanelProcedure",
    "PanelState",
    "PlanChanged",
    "PlannedRun",
    "Resolution",
    "RunInProgress",
    "RunResult",
    "SearchResult",
    "Selection",
    "TaskEntry",
    "TaskFacts",
    "TaskIndex",
    "TrackedLog",
    "choice_from_value",
    "default_log",
    "forget_instances",
    "hour_ago",
    "in_flight",
    "instance_warning",
    "outcome_frame",
    "preview_frame",
    "recall_instance",
    "remember_instance",
    "results_view",
    "start_of_today",
    "task_frame",
    "wall_second",
]
