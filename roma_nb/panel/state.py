"""What a panel holds (``Selection``), and one reading of all that follows from it (``PanelState``).

A person's edit changes the selection; everything else — the instant it names, the plan, why
there is no plan, whether the preview still describes it — is derived. ``PanelModel.state()``
derives it once per update, so a view reads one consistent snapshot instead of asking the model
(and resolving the ``date_from`` choice) once per button.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from ..dates import DEFAULT_RETENTION
from ..models import Restart
from .choice import DateChoice, Resolution
from .plan import PanelProcedure, PlannedRun

__all__ = ["PanelState", "Selection"]


@dataclass(frozen=True, slots=True)
class Selection:
    """What is chosen: instance, tasks (in selection order), ``date_from``, retention, dry run,
    the procedure (a rewind by default; a raw reset for experts) and when a rewind restarts.

    Plain data compared with ``==``: it is ``ResetPanel.value``, so ``observe`` hears each change
    once and ``link`` can copy a selection to another panel (which checks it against its own
    service). ``PanelModel.select(selection)`` applies one.
    """

    instance_id: str | None = None
    task_ids: tuple[str, ...] = ()
    date_from: DateChoice = field(default_factory=DateChoice.unset)
    retention: timedelta = DEFAULT_RETENTION
    dry_run: bool = False
    procedure: PanelProcedure = "rewind"
    restart: Restart = "as_before"


@dataclass(frozen=True, slots=True)
class PanelState:
    """One snapshot of a panel: the selection and what it means now.

    ``plan`` is the plan the selection describes, or None and ``problem`` says what is missing.
    ``current``: a preview exists and ``plan`` is still the previewed plan (it may be confirmed).
    ``unknown``: how many targets of the last run ended ``unknown`` (what "Retry" would send);
    ``rerun``: how many ended ``skipped`` or ``failed`` (what "Re-run" takes back to the
    confirmation).
    """

    selection: Selection
    resolution: Resolution
    plan: PlannedRun | None
    problem: str | None
    previewed: PlannedRun | None
    current: bool
    running: bool
    unknown: int
    rerun: int = 0
