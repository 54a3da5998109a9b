"""Why the panel refused to do something: each refusal says what to do next.

These are refusals, not failures: nothing was sent when one is raised. They are ``RomaError``s so
``except RomaError`` in a notebook catches them with everything else roma_nb raises.
"""

from __future__ import annotations

from ..errors import RomaError

__all__ = ["ConfirmationRequired", "PanelError", "PlanChanged", "RunInProgress"]


class PanelError(RomaError):
    """Base of the panel's refusals; nothing was sent."""


class ConfirmationRequired(PanelError):
    """``run`` without ``confirm=True``, or without a preview of the plan to run."""


class PlanChanged(ConfirmationRequired):
    """The selection changed after the preview: the confirmation no longer describes the plan."""


class RunInProgress(PanelError):
    """A run is already in flight; a second one is refused, never queued (double-click safety)."""
