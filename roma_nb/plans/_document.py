"""``Plan``: what will happen to each task, as a document a second person can review.

A plan is a value: environment, instance, tasks (with their state and where they were when
planned), the instant, the procedure options, who planned it, when, and until when it may be
applied. ``to_document`` turns it into plain JSON data (format version 1; the README of
``roma_nb.plans`` shows a file) whose ``plan_id`` is the SHA-256 of its canonical form
(``_canonical``). ``save`` writes it atomically; ``load`` / ``from_document`` (``_reading``)
refuse, with a sentence, anything that is not exactly such a document.

Derived fields (``date_from.utc`` / ``local``, each task's ``move``) are written for the reader
and checked on load against the data they derive from.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, get_args

from ..dates import format_duration, format_instant
from ..errors import ValidationError
from ..ids import check_id
from ..models import Task
from ._canonical import content_id
from ._environment import Environment
from ._position import Move, Position, move_of
from ._procedure import Procedure
from ._target import DateFrom

__all__ = [
    "DEFAULT_EXPIRY",
    "FORMAT",
    "FORMAT_VERSION",
    "Plan",
    "PlanFileError",
    "PlannedTask",
    "Status",
]

FORMAT = "roma-nb plan"
FORMAT_VERSION = 1
DEFAULT_EXPIRY = timedelta(hours=24)
"""How long a plan may be applied after it was made, unless the planner says otherwise."""

Status = Literal["running", "stopped", "unknown"]
STATUSES: tuple[Status, ...] = get_args(Status)


class PlanFileError(ValidationError):
    """A plan file or document that cannot be applied as it is: nothing was sent."""


def _text(value: object, what: str) -> str:
    """``value`` if it is a string a plan file can hold (UTF-8: no lone surrogates)."""
    if not isinstance(value, str):
        raise ValidationError(f"{what} must be a string, not {type(value).__name__}.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(f"{what} {value!r} is not valid Unicode text.") from None
    return value


@dataclass(frozen=True, slots=True)
class PlannedTask:
    """One task as it was when planned: id, name, state, and where it was."""

    id: str
    name: str = ""
    status: Status = "unknown"
    """``running`` / ``stopped`` / ``unknown``: ``Task.status_text``."""
    execute_status: str | None = None
    position: Position = field(default_factory=Position)

    def __post_init__(self) -> None:
        check_id("task_id", self.id)
        _text(self.name, "The task name")
        if self.status not in STATUSES:
            raise ValidationError(f"status must be one of {STATUSES}, not {self.status!r}.")
        if self.execute_status is not None:
            _text(self.execute_status, "execute_status")
        if not isinstance(self.position, Position):
            raise ValidationError("position must be a Position.")

    @classmethod
    def of(cls, task: Task, position: Position | None = None) -> PlannedTask:
        status: Status = (
            "running" if task.status == 1 else "stopped" if task.status == 0 else "unknown"
        )
        return cls(
            task.task_id, task.task_name, status, task.execute_status, position or Position()
        )

    @property
    def shown(self) -> str:
        return f"{self.name or '(no name)'} ({self.id})"

    @property
    def was_running(self) -> bool | None:
        """The state when planned as a rewind's steps read it (None: not known; the rewind
        looks again before acting)."""
        return {"running": True, "stopped": False}.get(self.status)

    def state(self) -> str:
        """``running (RUNNING)``: what a warning compares with the task's state at apply."""
        return f"{self.status} ({self.execute_status})" if self.execute_status else self.status


def _iso(ms: int) -> str:
    return format_instant(ms).utc_iso


@dataclass(frozen=True, slots=True)
class Plan:
    """One reviewed unit of work. Build it with ``build_plan``; this class checks only shape."""

    environment: Environment
    instance_id: str
    instance_name: str
    tasks: tuple[PlannedTask, ...]
    date_from: DateFrom
    procedure: Procedure
    planner: str
    created_ms: int
    expires_ms: int
    retention_ms: int
    """The change-log retention the plan was checked against; applying checks it again."""
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_id("instance_id", self.instance_id)
        _text(self.instance_name, "The instance name")
        _text(self.planner, "planner")
        if not self.tasks:
            raise ValidationError("A plan needs at least one task.")
        ids = [task.id for task in self.tasks]
        if len(set(ids)) != len(ids):
            raise ValidationError("A plan lists each task once.")
        for name in ("created_ms", "expires_ms", "retention_ms"):
            value = getattr(self, name)
            if type(value) is not int or value < 1:
                raise ValidationError(f"{name} must be a positive int, not {value!r}.")
        _iso(self.created_ms)
        _iso(self.expires_ms)
        if self.expires_ms <= self.created_ms:
            raise ValidationError("A plan must expire after it was made.")
        for warning in self.warnings:
            _text(warning, "A warning")

    # --- what it does ------------------------------------------------------------------------

    def move(self, task: PlannedTask) -> Move:
        return move_of(self.date_from.ms, task.position)

    def targets(self) -> list[Task]:
        """The tasks as ``Task`` records for ``client.rewind`` / ``reset_many``."""
        return [
            Task(task_id=t.id, task_name=t.name, instance_id=self.instance_id) for t in self.tasks
        ]

    @property
    def plan_id(self) -> str:
        return content_id(self._content())

    def skip_warning(self, positions: Mapping[str, Position] | None = None) -> str | None:
        """One sentence naming the tasks a reset to ``date_from`` may move *forward*: the
        changes in between would never be read, so the target never gets them (None when none
        may skip). ``positions`` (task id → where it is now) wins over where the plan says a
        task was. "May": a running task has usually read further than it is known to have."""
        known = positions or {}
        skipping = [
            (task, move)
            for task in self.tasks
            for move in [move_of(self.date_from.ms, known.get(task.id, task.position))]
            if move.forward
        ]
        if not skipping:
            return None
        named = ", ".join(
            f"{task.name or task.id} ({format_duration(move.amount_ms or 0)})"
            for task, move in skipping[:5]
        )
        more = f" and {len(skipping) - 5} more" if len(skipping) > 5 else ""
        return (
            f"{len(skipping)} of the {len(self.tasks)} tasks may SKIP changes ({named}{more}): "
            "date_from is after the last point each is known to have read, so changes in "
            "between may never be read, and the target would never receive them."
        )

    def work(self) -> tuple[object, ...]:
        """What carrying the plan out does, and where: two plans with equal ``work`` send the
        same calls. When and by whom a plan was made, its expiry, retention and warnings are
        left out (they move with the clock): a panel compares the plan it previewed with the
        one it is about to run this way."""
        return (
            self.environment,
            self.instance_id,
            self.instance_name,
            self.tasks,
            self.date_from,
            self.procedure,
        )

    # --- the document ------------------------------------------------------------------------

    def _content(self) -> dict[str, Any]:
        date_from = self.date_from
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": _iso(self.created_ms),
            "expires_at": _iso(self.expires_ms),
            "planner": self.planner,
            "environment": {
                "label": self.environment.label,
                "endpoint": self.environment.endpoint,
                "project_id": self.environment.project_id,
            },
            "instance": {"id": self.instance_id, "name": self.instance_name},
            "date_from": {
                "ms": date_from.ms,
                "utc": date_from.utc_iso,
                "zone": date_from.zone,
                "local": date_from.local,
                "typed": date_from.typed,
            },
            "procedure": {
                "kind": self.procedure.kind,
                "restart": self.procedure.restart,
                "verify": self.procedure.verify,
                "allow_forward": self.procedure.allow_forward,
            },
            "retention_ms": self.retention_ms,
            "tasks": [self.task_document(task) for task in self.tasks],
            "warnings": list(self.warnings),
        }

    def task_document(self, task: PlannedTask) -> dict[str, Any]:
        """One task as the plan file writes it: id, name, state, position and move."""
        move = self.move(task)
        at = task.position.at_ms
        return {
            "id": task.id,
            "name": task.name,
            "status": task.status,
            "execute_status": task.execute_status,
            "position": {
                "evidence": task.position.evidence,
                "at": None if at is None else _iso(at),
            },
            "move": {
                "direction": move.direction,
                "amount_ms": move.amount_ms,
                "text": move.summary(),
            },
        }

    def to_document(self) -> dict[str, Any]:
        """The plan as JSON data, ``plan_id`` second so a reader sees it at the top."""
        content = self._content()
        first = {"format": content.pop("format"), "plan_id": content_id(self._content())}
        return {**first, **content}

    def to_json(self) -> str:
        """The readable file text: indented, UTF-8 as is, one trailing newline."""
        return json.dumps(self.to_document(), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_document(cls, document: object, *, source: str = "The plan") -> Plan:
        """The plan a parsed JSON document describes, or ``PlanFileError`` saying why not."""
        from ._reading import read_document

        return read_document(document, source)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Plan:
        """Read a plan file; ``PlanFileError`` if it is not one, or not as it was planned."""
        from ._reading import load_plan

        return load_plan(path)

    def save(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write the plan file atomically (a reader sees the old file or the new, never half).

        An existing file is kept unless ``overwrite=True``: it may be a plan someone reviewed.
        """
        target = Path(path).expanduser()
        if target.exists() and not overwrite:
            raise PlanFileError(
                f"{target} already exists; choose another name or pass overwrite=True."
            )
        data = self.to_json().encode("utf-8")
        try:
            handle, temporary = tempfile.mkstemp(
                prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
            )
        except OSError as exc:
            raise PlanFileError(f"Cannot write the plan file {target}: {exc.strerror}.") from None
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, target)
        except OSError as exc:
            Path(temporary).unlink(missing_ok=True)
            raise PlanFileError(f"Cannot write the plan file {target}: {exc.strerror}.") from None
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return target

    # --- for people --------------------------------------------------------------------------

    def headline(self) -> str:
        count = len(self.tasks)
        noun = "combined task" if count == 1 else "combined tasks"
        verb = "REWIND" if self.procedure.kind == "rewind" else "RESET"
        return f"{verb} {count} {noun} on {self.environment.label}"

    def review_text(self) -> str:
        """Everything a reviewer approves, one fact per line, ending with the full ``plan_id``."""
        instance = self.instance_id
        if self.instance_name and self.instance_name != self.instance_id:
            instance = f"{self.instance_name} ({self.instance_id})"
        lines = [
            f"PLAN: {self.headline()}",
            f"environment: {self.environment.label} ({self.environment.shown()})",
            f"instance:    {instance}",
            f"date_from:   {self.date_from.describe()}",
            f"procedure:   {self.procedure.describe()}",
            f"tasks ({len(self.tasks)}):",
        ]
        for task in self.tasks:
            move = self.move(task)
            lines.append(
                f"  - {task.shown}, {task.state()}: {move.summary()} "
                f"(from {task.position.describe()}): {move.consequence()}"
            )
        lines.append(
            f"planned by {self.planner} at {_iso(self.created_ms)}; expires "
            f"{_iso(self.expires_ms)}; change-log retention "
            f"{format_duration(self.retention_ms)}"
        )
        if self.warnings:
            lines.append("warnings:")
            lines.extend(f"  ! {warning}" for warning in self.warnings)
        lines.append(f"plan_id: {self.plan_id}")
        return "\n".join(lines)
