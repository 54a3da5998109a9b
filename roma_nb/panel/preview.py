"""The preview table: one row per call a plan would make, with the request exactly as it is sent.

The request comes from ``client.reset_call`` — the same function the client uses to send — so the
preview cannot drift from what goes on the wire, and a bad id is refused here, before anything
is sent. pandas is imported inside the function so ``import roma_nb.panel`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .plan import PlannedRun

if TYPE_CHECKING:
    import pandas as pd

    from ..client import RomaClient

__all__ = ["PREVIEW_COLUMNS", "preview_frame"]

PREVIEW_COLUMNS: tuple[str, ...] = (
    "environment",
    "instance_id",
    "instance_name",
    "task_name",
    "task_id",
    "date_from_utc",
    "date_from_local",
    "zone",
    "date_from",
    "dry_run",
    "request",
    "body",
)
"""``date_from_utc`` / ``date_from_local`` are text (ISO UTC, wall time with offset in ``zone``);
``date_from`` is the integer sent (nullable ``Int64``: ``<NA>`` when none is sent);
``request`` is ``METHOD /path`` and ``body`` the JSON body, byte for byte."""


def preview_frame(plan: PlannedRun, client: RomaClient) -> pd.DataFrame:
    """The planned calls as a DataFrame with ``PREVIEW_COLUMNS``; ``attrs["warnings"]`` too."""
    import pandas as pd

    view = plan.instant()
    rows = []
    for target in plan.tasks:
        call = client.reset_call(plan.instance_id, target.id, plan.date_from)
        rows.append(
            (
                plan.environment,
                plan.instance_id,
                plan.plan.instance_name,
                target.name,
                target.id,
                None if view is None else view.utc_iso,
                None if view is None else view.local_iso,
                plan.zone,
                plan.date_from,
                plan.dry_run,
                f"{call.method} {call.target}",
                (call.body or b"").decode(),
            )
        )
    frame = pd.DataFrame.from_records(rows, columns=list(PREVIEW_COLUMNS))
    dtypes = dict.fromkeys(PREVIEW_COLUMNS, "string")
    dtypes["date_from"] = "Int64"
    dtypes["dry_run"] = "boolean"
    typed: pd.DataFrame = frame.astype(dtypes)
    typed.attrs["warnings"] = list(plan.warnings)
    return typed
