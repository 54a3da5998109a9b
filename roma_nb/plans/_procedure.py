"""``Procedure``: how a plan is carried out: the rewind procedure or the raw reset, and options.

The option names and values are the procedure's own (``client.rewind``'s ``restart`` and
``verify``), so a plan hands them over unchanged. ``allow_forward`` is the plan's: it permits a
move that skips changes (``_position``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from ..errors import ValidationError
from ..models import RESTARTS, Restart

__all__ = ["KINDS", "RESTARTS", "Kind", "Procedure", "Restart"]

Kind = Literal["rewind", "reset"]
KINDS: tuple[Kind, ...] = get_args(Kind)


@dataclass(frozen=True, slots=True)
class Procedure:
    """How the plan is carried out.

    ``kind="rewind"``: the procedure (stop if running → reset → start per ``restart`` → verify if
    ``verify``). ``kind="reset"``: the raw reset call only; ``restart`` and ``verify`` are
    ``None`` (it neither stops nor starts). ``allow_forward`` permits moves that skip changes.
    Use ``Procedure.rewind(...)`` / ``Procedure.reset(...)``.
    """

    kind: Kind = "rewind"
    restart: Restart | None = "as_before"
    verify: bool | None = True
    allow_forward: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValidationError(f"kind must be one of {KINDS}, not {self.kind!r}.")
        if type(self.allow_forward) is not bool:
            raise ValidationError(
                f"allow_forward must be True or False, not {self.allow_forward!r}."
            )
        if self.kind == "reset":
            if self.restart is not None or self.verify is not None:
                raise ValidationError(
                    "A raw reset neither stops, starts nor verifies a task: restart and verify "
                    "are options of kind='rewind' (use Procedure.reset())."
                )
            return
        if self.restart not in RESTARTS:
            raise ValidationError(f"restart must be one of {RESTARTS}, not {self.restart!r}.")
        if type(self.verify) is not bool:
            raise ValidationError(f"verify must be True or False, not {self.verify!r}.")

    @classmethod
    def rewind(
        cls, *, restart: Restart = "as_before", verify: bool = True, allow_forward: bool = False
    ) -> Procedure:
        return cls("rewind", restart, verify, allow_forward)

    @classmethod
    def reset(cls, *, allow_forward: bool = False) -> Procedure:
        return cls("reset", None, None, allow_forward)

    def describe(self) -> str:
        forward = "forward moves allowed" if self.allow_forward else "forward moves refused"
        if self.kind == "reset":
            return f"raw reset only (tasks are neither stopped nor started); {forward}"
        start = {
            "as_before": "start again the tasks that were running",
            "always": "start every task",
            "never": "leave every task stopped",
        }[self.restart or "as_before"]
        check = "verify from monitor data" if self.verify else "no verification"
        return f"rewind: stop if running, reset, {start}, {check}; {forward}"
