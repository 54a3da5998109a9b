"""The reset panel's widgets (ipywidgets): ``ResetPanel`` and its parts.

``ResetPanel(client)`` is the whole tool; ``InstancePicker``, ``TaskPicker`` and
``DateFromPicker`` work on their own too; ``EnvironmentBanner`` names the environment. They are
views over ``roma_nb.panel`` (plain Python), which holds the rules. Importing this package
imports ipywidgets; ``import roma_nb`` does not (it maps these names lazily).
"""

from __future__ import annotations

from ._sink import ErrorSink
from .banner import EnvironmentBanner
from .date_picker import DateFromPicker
from .instance_picker import InstancePicker
from .panel import RESULT_COLUMNS, ResetPanel
from .task_picker import TaskPicker

__all__ = [
    "RESULT_COLUMNS",
    "DateFromPicker",
    "EnvironmentBanner",
    "ErrorSink",
    "InstancePicker",
    "ResetPanel",
    "TaskPicker",
]
